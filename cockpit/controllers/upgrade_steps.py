"""The steps of one node's kubeadm upgrade, as the upgrade controller runs them.

Each step is idempotent, so a run that resumes at a recorded step can simply run it again:
a package already at the target is not reinstalled, a kubelet already Ready at the target is
not restarted. Every remote command is journaled with its output on the node's journal target,
and streamed line by line as Progress events (``log: True``) for the Nodes pane's log view.
:class:`NodeSteps` is mixed into :class:`~cockpit.controllers.upgrade.UpgradeController`,
which provides the client, the SSH pool, the step journal, the options and the board.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from cockpit.controllers.drain import DrainController, list_all
from cockpit.controllers.operation import StepJournal
from cockpit.controllers.upgrade_facts import STATIC_COMPONENTS, static_pods_behind
from cockpit.domain import versions
from cockpit.domain.records import NodeRecord, PodRecord
from cockpit.domain.steps import Step
from cockpit.domain.upgrade import CONTROL_PLANE, FIRST_CONTROL_PLANE, PlannedNode
from cockpit.domain.versions import try_parse
from cockpit.errors import CockpitError
from cockpit.kube.paths import path_for
from cockpit.kube.typed import as_records, get_record
from cockpit.ssh import commands

TAIL = 20  # output lines kept per node for the Nodes pane and failure messages


class StepFailed(CockpitError):
    """A step's command or check failed; the message says what and shows the last lines."""


class NodeSteps:
    """The per-node steps (see the module docstring)."""

    client: Any
    pool: Any
    steps: StepJournal | None
    options: Any
    board: Any
    run_id: str
    tails: dict[str, deque[str]]

    async def _do_step(self, step: Step, planned: PlannedNode) -> None:
        handler = {
            Step.UPGRADING_KUBEADM: self._upgrade_kubeadm,
            Step.KUBEADM_UPGRADE: self._kubeadm_upgrade,
            Step.DRAINING: self._drain,
            Step.UPGRADING_KUBELET: self._upgrade_kubelet,
            Step.RESTARTING_KUBELET: self._restart_kubelet,
            Step.WAITING_READY: self._wait_ready,
            Step.UNCORDONING: self._uncordon,
        }[step]
        await handler(planned)

    async def _upgrade_kubeadm(self, node: PlannedNode) -> None:
        target = self.options.target
        probe = await self._ssh(node.name, Step.UPGRADING_KUBEADM, commands.kubeadm_version(), check=False)
        if probe.ok and try_parse(probe.stdout.strip()) == try_parse(target):
            self._note(node.name, Step.UPGRADING_KUBEADM, f"kubeadm is already v{target}; not reinstalling")
            return
        family = await self._os_family(node)
        await self._ssh(node.name, Step.UPGRADING_KUBEADM, commands.install_kubeadm(family, target))
        check = await self._ssh(node.name, Step.UPGRADING_KUBEADM, commands.kubeadm_version())
        if try_parse(check.stdout.strip()) != try_parse(target):
            raise StepFailed(f"kubeadm on {node.name} reports {check.stdout.strip()!r} after the install, "
                             f"not v{target}")

    async def _kubeadm_upgrade(self, node: PlannedNode) -> None:
        if node.role == FIRST_CONTROL_PLANE:
            await self._ssh(node.name, Step.KUBEADM_UPGRADE, commands.kubeadm_upgrade_apply(self.options.target))
            version = (await self._api(self.client.version, "read /version")).get("gitVersion", "")
            if try_parse(version) != try_parse(self.options.target):
                raise StepFailed(f"kubeadm upgrade apply exited 0 but /version reports {version}")
        else:
            await self._ssh(node.name, Step.KUBEADM_UPGRADE, commands.kubeadm_upgrade_node())
        if node.role in (FIRST_CONTROL_PLANE, CONTROL_PLANE):
            await self._wait_static_pods(node)

    async def _wait_static_pods(self, node: PlannedNode) -> None:
        """Poll until ``node``'s control-plane mirror pods run the target images.

        kubeadm's exit status alone is not proof: a static pod manifest can be written while the
        kubelet keeps (or falls back to) the old container, and draining that node next would hide
        it. The deadline is ``ready_timeout`` (the same "come back at the target" allowance as a
        restarted kubelet), measured after kubeadm returns.
        """
        deadline = time.monotonic() + self.options.ready_timeout
        params = {"fieldSelector": f"spec.nodeName={node.name}"}
        while True:
            pods = await self._api(lambda: list_all(self.client, path_for("pods", "kube-system"), params),
                                   f"list {node.name}'s static pods")
            behind = static_pods_behind(as_records(PodRecord, pods), node.name, self.options.target)
            if not behind:
                self._note(node.name, Step.KUBEADM_UPGRADE,
                           f"static pods {', '.join(STATIC_COMPONENTS)} run v{self.options.target}")
                return
            if time.monotonic() > deadline:
                verb = "apply" if node.role == FIRST_CONTROL_PLANE else "node"
                raise StepFailed(f"kubeadm upgrade {verb} on {node.name} exited 0 but its control plane is not at "
                                 f"v{self.options.target} after {self.options.ready_timeout:g}s: "
                                 + "; ".join(behind))
            await asyncio.sleep(self.options.poll_interval)

    async def _drain(self, node: PlannedNode) -> None:
        def relay(event) -> None:
            self._tail(node.name, event.message)
            self._emit_node(self.board.nodes[node.name], event.message, event.level, log=True,
                            stream="drain", line=event.message, drain=event.data)

        ctl = DrainController(self.client, self.steps, relay, run_id=self.run_id)
        await ctl.drain(node.name, self.options.drain)

    async def _upgrade_kubelet(self, node: PlannedNode) -> None:
        current = (await self._node(node.name)).kubelet_version
        if try_parse(current) == try_parse(self.options.target):
            self._note(node.name, Step.UPGRADING_KUBELET, f"kubelet already reports v{current}; not reinstalling")
            return
        family = await self._os_family(node)
        await self._ssh(node.name, Step.UPGRADING_KUBELET,
                        commands.install_kubelet_kubectl(family, self.options.target))

    async def _restart_kubelet(self, node: PlannedNode) -> None:
        obj = await self._node(node.name)
        if try_parse(obj.kubelet_version) == try_parse(self.options.target) and obj.ready:
            self._note(node.name, Step.RESTARTING_KUBELET, "kubelet already runs the target version; no restart")
            return
        await self._ssh(node.name, Step.RESTARTING_KUBELET, commands.daemon_reload())
        await self._ssh(node.name, Step.RESTARTING_KUBELET, commands.restart_kubelet())

    async def _wait_ready(self, node: PlannedNode) -> None:
        deadline = time.monotonic() + self.options.ready_timeout
        target = try_parse(self.options.target)
        while True:
            obj = await self._node(node.name)
            if obj.ready and try_parse(obj.kubelet_version) == target:
                return
            if time.monotonic() > deadline:
                raise StepFailed(await self._not_ready_message(node.name, obj))
            await asyncio.sleep(self.options.poll_interval)

    async def _not_ready_message(self, name: str, obj: NodeRecord) -> str:
        ready = "Ready" if obj.ready else "NotReady"
        text = (f"node/{name} not Ready at v{self.options.target} within {self.options.ready_timeout:g}s "
                f"(now {ready}, kubelet {versions.canonical(obj.kubelet_version)})")
        try:
            probe = await self.pool.run(name, commands.kubelet_is_active(), timeout=15, sudo=False)
            text += f"; systemctl is-active kubelet: {probe.stdout.strip() or probe.exit_status}"
        except CockpitError:
            pass
        return text + "; check `journalctl -xeu kubelet` on the node"

    async def _uncordon(self, node: PlannedNode) -> None:
        ctl = DrainController(self.client, self.steps, None, run_id=self.run_id)
        changed, message = await ctl.uncordon(node.name, force=False)
        self._note(node.name, Step.UNCORDONING, message)

    # ------------------------------------------------------------------ helpers

    async def _node(self, name: str) -> NodeRecord:
        path = path_for("nodes", name=name)
        return await self._api(lambda: get_record(self.client, NodeRecord, path), f"read node/{name}")

    async def _os_family(self, node: PlannedNode) -> str:
        result = await self._ssh(node.name, Step.UPGRADING_KUBEADM, commands.os_release(), sudo=False, quiet=True)
        return commands.os_family_from_os_release(result.stdout)

    def _tail(self, node: str, line: str) -> None:
        self.tails.setdefault(node, deque(maxlen=TAIL)).append(line)

    def _journal(self, node: str, event: str, /, **fields: Any) -> None:
        """Journal one ``upgrade`` step record on ``node`` (raises JournalError: the step must not happen)."""
        if self.steps is None:  # a programming error: only an attached run changes anything
            raise RuntimeError(f"upgrade {node}: no step journal attached; plans only read")
        self.steps.record("upgrade", node, event, **fields)

    def _note(self, node: str, step: Step, message: str) -> None:
        self._tail(node, message)
        self._journal(node, "note", step=step.value, message=message)
        self._emit_node(self.board.nodes[node], f"{node}: {message}")

    async def _ssh(self, node: str, step: Step, argv: list[str], *, check: bool = True,
                   sudo: bool | None = None, quiet: bool = False):
        """Run one command on ``node``, journaling it and its output, streaming lines as events."""
        use_sudo = self.options.sudo if sudo is None else sudo
        line = commands.to_shell(commands.with_sudo(argv) if use_sudo else argv)
        self._journal(node, "command", step=step.value, command=line)
        self._tail(node, f"$ {line}")

        def on_line(stream: str, text: str) -> None:
            self._tail(node, text)
            if not quiet:
                self._emit_node(self.board.nodes[node], text, log=True, stream=stream, line=text)

        try:
            result = await self.pool.run(node, argv, timeout=self.options.command_timeout, on_line=on_line,
                                         sudo=use_sudo)
        except CockpitError as exc:
            self._journal(node, "command-error", step=step.value, command=line, error=str(exc))
            raise
        self._journal(node, "command-result", step=step.value, command=line,
                          exit_status=result.exit_status, duration=round(result.duration, 3),
                          stdout=result.stdout[-8000:], stderr=result.stderr[-8000:])
        if check and not result.ok:
            raise StepFailed(f"`{line}` on {node} exited {result.exit_status}: "
                             f"{' | '.join(result.tail(3)) or 'no output'}")
        return result
