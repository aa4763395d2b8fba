"""What a simulated node answers over SSH: a tiny shell that emulates kubeadm, apt/dnf,
systemctl and friends with realistic output, exit codes and (speed-scaled) durations.

``NodeShell(cluster, node, state_dir).run(command_line, io)`` interprets one SSH exec request:
``a && b``, ``a || b``, ``a; b``, ``sh -c '...'``, ``sudo [-n] ...`` and ``VAR=value cmd``.
Effects are real in the simulation (they go through the SimCluster / NodeRuntime API):
installing a package changes ``NodeRuntime.installed``, ``kubeadm upgrade apply`` moves the
control plane, ``systemctl restart kubelet`` restarts the simulated kubelet. Unknown commands
exit 127 like bash. Faults (``cluster.faults``): ``ssh_fail`` / ``ssh_hang`` / ``ssh_drop``
map a node to a command prefix (matched with and without ``sudo``), ``kubelet_never_returns``.
Packages (apt, dnf, dpkg-query, rpm) are in :mod:`cockpit.sim.nodes.packages`, kubeadm in
:mod:`cockpit.sim.nodes.kubeadm`, kubectl on control-plane nodes in
:mod:`cockpit.sim.nodes.kubectl`.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import shlex
from pathlib import Path
from typing import Any

from cockpit.sim.nodes import kubeadm, kubectl, packages
from cockpit.sim.nodes.base import CONTROL_PLANE_LABEL, DropConnection, ShellIO

__all__ = ["NodeShell", "DropConnection", "ShellIO", "split_chain"]

_OPERATORS = ("&&", "||", ";")
OS_RELEASE = {
    "debian": ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
               'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'
               'HOME_URL="https://www.debian.org/"\n'),
    "rhel": ('NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
             'VERSION_ID="9.4"\nPLATFORM_ID="platform:el9"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n'),
}


def split_chain(script: str) -> list[tuple[str, list[str]]]:
    """``a && b; c`` -> [("", argv_a), ("&&", argv_b), (";", argv_c)]."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    steps: list[tuple[str, list[str]]] = []
    op, argv = "", []
    for token in lexer:
        if token in _OPERATORS:
            steps.append((op, argv))
            op, argv = token, []
        else:
            argv.append(token)
    steps.append((op, argv))
    return [(o, a) for o, a in steps if a]


class NodeShell:
    """One node's command interpreter (a new one per SSH exec request is fine)."""

    def __init__(self, cluster: Any, node: str, state_dir: str | Path) -> None:
        self.cluster = cluster
        self.node = node
        self.state_dir = Path(state_dir)

    @property
    def runtime(self) -> Any:
        """The node's NodeRuntime (package versions, kubelet state, OS)."""
        return self.cluster.node_runtime(self.node)

    async def run(self, command: str, io: ShellIO) -> int:
        """Run one command line; returns its exit status."""
        try:
            steps = split_chain(command)
        except ValueError as exc:
            io.err(f"bash: -c: syntax error: {exc}\n")
            return 2
        status = 0
        for op, argv in steps:
            if (op == "&&" and status != 0) or (op == "||" and status == 0):
                continue
            status = await self.run_argv(argv, io, last_status=status)
        return status

    async def run_argv(self, argv: list[str], io: ShellIO, last_status: int = 0) -> int:
        """Run one simple command (after sudo / env prefixes), applying the SSH faults."""
        argv = _strip_prefixes(argv)
        if not argv:
            return 0
        if argv[0] not in ("sh", "bash"):  # a nested script expands its own `$?`
            # `$?` is the only expansion supported: handy in hand-typed chains.
            argv = [a.replace("$?", str(last_status)) for a in argv]
        try:
            await self._apply_faults(argv, io)
        except _ExitNow as stop:
            return stop.status
        handler = self._handlers().get(argv[0])
        if handler is None or not self._installed_here(argv[0]):
            io.err(f"bash: {argv[0]}: command not found\n")
            return 127
        return await handler(argv[1:], io)

    # -- faults ----------------------------------------------------------------------------

    async def _apply_faults(self, argv: list[str], io: ShellIO) -> None:
        faults = self.cluster.faults
        line = shlex.join(argv)
        if _matches(faults.ssh_hang.get(self.node), line):
            await asyncio.Event().wait()  # never completes; cancelled when the channel closes
        if _matches(faults.ssh_drop.get(self.node), line):
            await self.cluster.clock.sleep(1)
            raise DropConnection(line)
        if _matches(faults.ssh_fail.get(self.node), line):
            io.err(f"{argv[0]}: simulated failure (cockpit sim fault ssh_fail on {self.node})\n")
            raise _ExitNow(1)

    # -- dispatch --------------------------------------------------------------------------

    def _handlers(self) -> dict:
        emulator = kubectl.KubectlEmulator(self)
        return {
            "true": self._true, "false": self._false, "echo": self._echo, "sleep": self._sleep,
            "sh": self._sh, "bash": self._sh, "cat": self._cat, "uname": self._uname,
            "hostname": self._hostname, "kubeadm": self._kubeadm, "systemctl": self._systemctl,
            "apt-mark": self._apt_mark, "apt-get": self._apt_get, "apt": self._apt_get,
            "dnf": self._dnf, "yum": self._dnf, "kubectl": emulator.run, "dpkg-query": self._dpkg_query,
            "rpm": self._rpm, "journalctl": self._journalctl,
        }

    def _installed_here(self, program: str) -> bool:
        os_id = getattr(self.runtime, "os_id", "debian")
        if program in ("apt-get", "apt", "apt-mark"):
            return os_id == "debian"
        if program in ("dnf", "yum", "rpm"):
            return os_id == "rhel"
        if program == "dpkg-query":
            return os_id == "debian"
        if program == "kubectl":
            return bool(self._installed("kubectl"))
        return True

    # -- small builtins --------------------------------------------------------------------

    async def _true(self, args: list[str], io: ShellIO) -> int:
        return 0

    async def _false(self, args: list[str], io: ShellIO) -> int:
        return 1

    async def _echo(self, args: list[str], io: ShellIO) -> int:
        io.out(" ".join(args) + "\n")
        return 0

    async def _sleep(self, args: list[str], io: ShellIO) -> int:
        try:
            await self.cluster.clock.sleep(float(args[0].rstrip("s")))
        except (IndexError, ValueError):
            io.err("sleep: missing operand\n")
            return 1
        return 0

    async def _sh(self, args: list[str], io: ShellIO) -> int:
        if len(args) >= 2 and args[0] == "-c":
            return await self.run(args[1], io)
        io.err("sh: only 'sh -c COMMAND' is supported on simulated nodes\n")
        return 2

    async def _cat(self, args: list[str], io: ShellIO) -> int:
        status = 0
        for path in args:
            if path == "/etc/os-release":
                io.out(OS_RELEASE.get(getattr(self.runtime, "os_id", "debian"), OS_RELEASE["debian"]))
            elif path == "/etc/kubernetes/admin.conf" and self.is_control_plane():
                io.out("apiVersion: v1\nkind: Config\n# (simulated admin.conf)\n")
            else:
                io.err(f"cat: {path}: No such file or directory\n")
                status = 1
        return status

    async def _uname(self, args: list[str], io: ShellIO) -> int:
        kernel = getattr(self.runtime, "kernel", "6.1.0-28-amd64")
        if args and args[0] == "-a":
            io.out(f"Linux {self.node} {kernel} #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\n")
        elif args and args[0] == "-r":
            io.out(kernel + "\n")
        else:
            io.out("Linux\n")
        return 0

    async def _hostname(self, args: list[str], io: ShellIO) -> int:
        io.out(self.node + "\n")
        return 0

    # -- helpers shared with the package / kubeadm emulation --------------------------------

    def is_control_plane(self) -> bool:
        """Whether the Node object carries the control-plane role label."""
        node = self.cluster.store.get("nodes", None, self.node)
        return bool(node) and CONTROL_PLANE_LABEL in (node["metadata"].get("labels") or {})

    def _installed(self, package: str) -> str | None:
        rt = self.runtime
        installed = getattr(rt, "installed", None) or {}
        return installed.get(package) or getattr(rt, f"{package}_version", None)

    def _set_installed(self, package: str, version: str) -> None:
        rt = self.runtime
        rt.installed[package] = version
        # The running kubelet keeps its version until restarted; the CLIs change at once.
        if package in ("kubeadm", "kubectl") and hasattr(rt, f"{package}_version"):
            setattr(rt, f"{package}_version", version)

    async def pause(self, sim_seconds: float) -> None:
        """Take ``sim_seconds`` of simulated time."""
        await self.cluster.clock.sleep(sim_seconds)

    async def call_cluster(self, method: str, *args: Any) -> Any:
        """Call a SimCluster method that may be sync or async."""
        result = getattr(self.cluster, method)(*args)
        return await result if inspect.isawaitable(result) else result

    # -- systemctl -------------------------------------------------------------------------

    async def _systemctl(self, args: list[str], io: ShellIO) -> int:
        verb, units = (args[0], args[1:]) if args else ("", [])
        if verb == "daemon-reload":
            await self.pause(0.5)
            return 0
        if verb not in ("restart", "start", "stop", "is-active", "status") or units[:1] not in (["kubelet"],
                                                                                               ["kubelet.service"]):
            io.err(f"Failed to {verb or 'run'} {' '.join(units) or 'command'}: Unit not supported by the simulated node.\n")
            return 5
        return await self._kubelet_unit(verb, io)

    async def _kubelet_unit(self, verb: str, io: ShellIO) -> int:
        if verb == "restart" or (verb == "start" and not hasattr(self.cluster, "start_kubelet")):
            await self.pause(1)
            await self.call_cluster("restart_kubelet", self.node)
            return 0
        if verb == "start":
            await self.call_cluster("start_kubelet", self.node)
            return 0
        if verb == "stop":
            await self.call_cluster("stop_kubelet", self.node)
            return 0
        state = self._kubelet_state()
        if verb == "status":
            io.out(f"● kubelet.service - kubelet: The Kubernetes Node Agent\n     Active: {state}\n")
        else:
            io.out(state + "\n")
        return 0 if state == "active" else 3

    def _kubelet_state(self) -> str:
        if self.node in self.cluster.faults.kubelet_never_returns:
            return "activating"
        return "active" if getattr(self.runtime, "kubelet_running", True) else "inactive"

    async def _journalctl(self, args: list[str], io: ShellIO) -> int:
        if self.node in self.cluster.faults.kubelet_never_returns:
            io.out("kubelet.service: Main process exited, code=exited, status=1/FAILURE\n"
                   "kubelet.service: Failed with result 'exit-code'.\n"
                   "kubelet.service: Scheduled restart job, restart counter is at 7.\n")
        else:
            io.out(f"Started kubelet.service - kubelet: The Kubernetes Node Agent.\n"
                   f"I0000 kubelet.go:1566] \"Started kubelet\" version=\"v{self._installed('kubelet')}\"\n")
        return 0

    # -- packages and kubeadm live in the second half of this module -------------------------

    async def _dpkg_query(self, args: list[str], io: ShellIO) -> int:
        return packages.dpkg_query(self, args, io)

    async def _rpm(self, args: list[str], io: ShellIO) -> int:
        return packages.rpm(self, args, io)

    async def _apt_mark(self, args: list[str], io: ShellIO) -> int:
        return await packages.apt_mark(self, args, io)

    async def _apt_get(self, args: list[str], io: ShellIO) -> int:
        return await packages.apt_get(self, args, io)

    async def _dnf(self, args: list[str], io: ShellIO) -> int:
        return await packages.dnf(self, args, io)

    async def _kubeadm(self, args: list[str], io: ShellIO) -> int:
        return await kubeadm.run(self, args, io)


class _ExitNow(Exception):
    """Internal: stop the command with an exit status (used by the ssh_fail fault)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _strip_prefixes(argv: list[str]) -> list[str]:
    """Drop ``sudo [-n] [-E] [--]`` and leading ``VAR=value`` assignments."""
    while argv:
        if argv[0] == "sudo":
            argv = argv[1:]
            while argv and argv[0].startswith("-"):
                stop = argv[0] == "--"
                argv = argv[1:]
                if stop:
                    break
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):
            argv = argv[1:]
        else:
            return argv
    return argv


def _matches(prefix: str | None, line: str) -> bool:
    """A fault's command prefix applies to ``line`` (``*`` matches every command)."""
    return bool(prefix) and (prefix == "*" or line.startswith(prefix))
