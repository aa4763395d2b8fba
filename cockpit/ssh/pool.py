"""One reused SSH connection per node, and commands run over it with streamed output.

Usage::

    pool = SshPool(ssh_config=args.ssh_config, accept_new_host_keys=False, sudo=True)
    pool.set_address("worker-1", "10.0.0.21")      # InternalIP fallback (optional)
    result = await pool.run("worker-1", commands.kubeadm_upgrade_node(), timeout=600,
                            on_line=lambda stream, line: log(stream, line))
    if not result.ok: ...                            # or run(..., check=True) -> CommandFailed
    await pool.close()

``run`` raises HostKeyUnknown / HostKeyChanged (refused host keys), SshAuthFailed,
SshUnreachable, SshDropped (connection lost mid-command: the outcome on the node is unknown),
CommandTimeout (channel closed after ``timeout`` seconds), CommandFailed (``check=True`` only),
UnsafeArgument (bad argv). A dropped connection is forgotten and the next call reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncssh

from cockpit.ssh import commands
from cockpit.ssh.config import SshClientConfig, SshTarget
from cockpit.ssh.errors import (CommandFailed, CommandTimeout, SshAuthFailed, SshDropped,
                                SshUnreachable)
from cockpit.ssh.hostkeys import HostKeyJudge, load_known_hosts

# asyncssh logs every connection and channel at INFO; cockpit reports its own progress, so
# keep it quiet unless someone configured that logger on purpose.
if logging.getLogger("asyncssh").level == logging.NOTSET:
    logging.getLogger("asyncssh").setLevel(logging.WARNING)

LineCallback = Callable[[str, str], None]
"""``on_line(stream, line)``: stream is ``"stdout"`` or ``"stderr"``, line has no newline."""


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one remote command."""

    node: str
    command: str
    exit_status: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_status == 0

    def tail(self, lines: int = 5) -> list[str]:
        """The last lines of output (stderr preferred), for failure messages and panes."""
        text = self.stderr.strip() or self.stdout.strip()
        return text.splitlines()[-lines:]


class _Client(asyncssh.SSHClient):
    """Hands unknown host keys to the judge and notices a dropped connection."""

    def __init__(self, judge: HostKeyJudge) -> None:
        self.judge = judge
        self.lost = asyncio.Event()

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        return self.judge.judge(host, addr, port, key)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


@dataclass
class _Connection:
    conn: asyncssh.SSHClientConnection
    client: _Client
    target: SshTarget

    @property
    def alive(self) -> bool:
        return not self.client.lost.is_set()


class SshPool:
    """SSH connections to nodes, one per node, opened on first use and reused."""

    def __init__(self, ssh_config: str | None = None, accept_new_host_keys: bool = False, sudo: bool = False,
                 keepalive_interval: float = 15, connect_timeout: float = 10) -> None:
        self.config = SshClientConfig(ssh_config)
        self.accept_new_host_keys = accept_new_host_keys
        self.sudo = sudo
        self.keepalive_interval = keepalive_interval
        self.connect_timeout = connect_timeout
        self._addresses: dict[str, str] = {}
        self._connections: dict[str, _Connection] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def set_address(self, node: str, address: str | None) -> None:
        """Remember a node's InternalIP, used when the config has no Host entry for its name."""
        if address:
            self._addresses[node] = address
        else:
            self._addresses.pop(node, None)

    def target(self, node: str) -> SshTarget:
        """How ``node`` will be reached (for plans and confirmation screens)."""
        return self.config.target(commands.validate_node_name(node), self._addresses.get(node))

    async def connect(self, node: str) -> asyncssh.SSHClientConnection:
        """The open connection to ``node``, connecting (or reconnecting) if needed."""
        return (await self._entry(node)).conn

    async def run(self, node: str, argv: Sequence[str], *, timeout: float | None,
                  on_line: LineCallback | None = None, sudo: bool | None = None,
                  check: bool = False, address: str | None = None) -> CommandResult:
        """Run ``argv`` on ``node`` (quoted; ``sudo -n`` in front when sudo applies).

        stdout and stderr are streamed line by line through ``on_line`` as they arrive and
        also collected in the result. ``timeout`` (seconds, None = no limit) bounds the whole
        command; on expiry the channel is closed and CommandTimeout raised. ``address`` is
        the node's InternalIP (same as ``set_address``).
        """
        if address:
            self.set_address(node, address)
        use_sudo = self.sudo if sudo is None else sudo
        command = commands.to_shell(commands.with_sudo(argv) if use_sudo else list(argv))
        started = time.monotonic()
        process, entry = await self._start(node, command)
        exit_status, out, err = await self._finish(entry, process, command, timeout, on_line)
        result = CommandResult(node, command, exit_status, out, err, time.monotonic() - started)
        if check and not result.ok:
            raise CommandFailed(f"{command!r} on {node} exited {exit_status}: "
                                f"{' | '.join(result.tail(3)) or 'no output'}", result)
        return result

    async def close(self) -> None:
        """Close every connection."""
        entries, self._connections = list(self._connections.values()), {}
        for entry in entries:
            entry.conn.close()
        for entry in entries:
            await entry.conn.wait_closed()

    async def __aenter__(self) -> SshPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- internals -----------------------------------------------------------------------

    async def _entry(self, node: str) -> _Connection:
        # One lock per node: concurrent first commands share one connection attempt.
        lock = self._locks.setdefault(node, asyncio.Lock())
        async with lock:
            current = self._connections.get(node)
            if current is not None and current.alive:
                return current
            self._connections.pop(node, None)
            opened = await self._open(self.target(node))
            self._connections[node] = opened
            return opened

    async def _open(self, target: SshTarget) -> _Connection:
        judge = HostKeyJudge(target, load_known_hosts(target.known_hosts), self.accept_new_host_keys)
        client = _Client(judge)
        try:
            conn = await asyncio.wait_for(asyncssh.connect(
                target.host, config=list(self.config.paths), known_hosts=judge.known,
                client_factory=lambda: client, keepalive_interval=self.keepalive_interval,
                keepalive_count_max=3, connect_timeout=self.connect_timeout),
                timeout=self.connect_timeout * 2)
        except asyncssh.HostKeyNotVerifiable as exc:
            raise judge.refusal or SshUnreachable(f"ssh to {target.describe()}: {exc}") from None
        except asyncssh.PermissionDenied:
            raise SshAuthFailed(f"ssh to {target.describe()} was refused: no offered key was accepted "
                                f"(check IdentityFile in the ssh config, ssh-agent and authorized_keys)") from None
        except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
            reason = str(exc) or type(exc).__name__
            raise SshUnreachable(f"cannot reach {target.describe()} over ssh: {reason}") from None
        return _Connection(conn, client, target)

    async def _start(self, node: str, command: str) -> tuple[asyncssh.SSHClientProcess, _Connection]:
        """Open a channel for ``command``; a reused connection that died quietly is replaced once
        (safe: nothing ran yet)."""
        for attempt in (1, 2):
            entry = await self._entry(node)
            try:
                process = await entry.conn.create_process(command, encoding="utf-8", errors="replace")
                return process, entry
            except (asyncssh.Error, OSError) as exc:
                self._forget(node, entry)
                if attempt == 2:
                    raise SshDropped(f"ssh connection to {node} failed before {command!r} started: {exc}") from None
        raise AssertionError("unreachable")

    async def _finish(self, entry: _Connection, process: asyncssh.SSHClientProcess, command: str,
                      timeout: float | None, on_line: LineCallback | None) -> tuple[int, str, str]:
        node = entry.target.node
        try:
            out, err = await asyncio.wait_for(_collect(process, on_line), timeout)
        except asyncio.TimeoutError:
            process.close()
            raise CommandTimeout(f"{command!r} on {node} did not finish within {timeout:g}s "
                                 f"(channel closed; the command may still be running on the node)") from None
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError) as exc:
            self._forget(node, entry)
            raise _dropped(node, command, exc) from None
        except BaseException:
            process.close()  # cancelled, or on_line raised: do not leave the channel open
            raise
        try:
            # Both streams hit EOF; the exit status arrives with the channel close.
            await asyncio.wait_for(process.wait_closed(), 5)
        except (asyncio.TimeoutError, asyncssh.Error, OSError):
            pass  # judged below: no exit status means the connection went away
        if process.exit_status is None and process.exit_signal is None:
            self._forget(node, entry)
            raise _dropped(node, command, None)
        return _exit_status(process), out, err

    def _forget(self, node: str, entry: _Connection) -> None:
        if self._connections.get(node) is entry:
            del self._connections[node]
        entry.conn.abort()


async def _collect(process: asyncssh.SSHClientProcess, on_line: LineCallback | None) -> tuple[str, str]:
    """Read stdout and stderr concurrently, line by line, until both reach EOF."""
    out, err = await asyncio.gather(_pump(process.stdout, "stdout", on_line),
                                    _pump(process.stderr, "stderr", on_line))
    return out, err


async def _pump(reader: asyncssh.SSHReader, stream: str, on_line: LineCallback | None) -> str:
    chunks: list[str] = []
    async for line in reader:
        chunks.append(line)
        if on_line is not None:
            on_line(stream, line.rstrip("\r\n"))
    return "".join(chunks)


def _exit_status(process: asyncssh.SSHClientProcess) -> int:
    """The exit status; a command killed by a signal reports 128+n like a shell does."""
    if process.exit_status is not None and process.exit_status >= 0:
        return process.exit_status
    signals = {"HUP": 1, "INT": 2, "KILL": 9, "TERM": 15}
    name = process.exit_signal[0] if process.exit_signal else "TERM"
    return 128 + signals.get(name, 15)


def _dropped(node: str, command: str, exc: BaseException | None) -> SshDropped:
    detail = f" ({exc})" if exc and str(exc) else ""
    return SshDropped(f"ssh connection to {node} dropped while running {command!r}{detail}; "
                      f"its outcome on the node is unknown: check the node, then retry")
