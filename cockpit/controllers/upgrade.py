"""The kubeadm upgrade engine: plan, then run (resumable, halting) under the Lease lock.

``UpgradeController.plan()`` reads the cluster and returns the pure plan (refused with the
violated rule, or ordered with per-node commands). ``run_locked()`` takes the Lease lock, then
walks the batches; each node goes through the steps of :mod:`cockpit.domain.steps`, recording
every step on the Node before and after it, so a killed run resumes where it stopped. The first
failure halts the run: nodes of the same batch stop at their next step boundary and no other
node is touched until the operator retries, skips or aborts. The operations that the CLI and
the TUI drive (run, pause, resume, skip, abort) are in :mod:`.upgrade_ops`.

Reads and cockpit's own annotation writes ride out a short API outage (:mod:`.api_retry`);
a longer one stops the run, saying on which node and step, with the node's step left recorded
so that the next run continues there.

Progress events (action ``"upgrade"``) feed log lines and run-level messages; the board itself
reads the Node annotations and the Lease:
- per node (target = node name): ``step`` = a Step value; ``data`` = {node, step, state, label,
  started, elapsed, fraction, last_lines, run, target, error}; ``level`` "error" when a step
  failed (then also ``failing_lines``), "ok" when the node is done.
- output lines (SSH stdout/stderr, drain messages): same shape plus ``log: True``, ``stream``
  ("stdout" | "stderr" | "drain"), ``line``.
- run level (target ``"cluster"``): ``step`` in plan, lock, api, batch (data.nodes), paused,
  resumed, halted, stopped, done, aborted (data: run, target, summary).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cockpit.controllers.base import Emitter, Progress, Reporter
from cockpit.controllers.drain import DrainController, list_all
from cockpit.controllers.guard import ActionGuard
from cockpit.controllers.transient import Outage, is_transient, retrying
from cockpit.controllers.upgrade_facts import (STATIC_COMPONENTS, drain_warnings, facts_from, plan_lines,
                                               plan_to_dict, probe_nodes, read_snapshot, static_pods_behind,
                                               teach_addresses)
from cockpit.controllers.upgrade_lock import LockLost, RunLock
from cockpit.domain import versions
from cockpit.domain.drain import DrainOptions
from cockpit.domain.records import NodeRecord, PodRecord, decode
from cockpit.domain.steps import STEP_LABELS, NodeProgress, RunBoard, State, Step
from cockpit.domain.upgrade import CONTROL_PLANE, FIRST_CONTROL_PLANE, PlannedNode, UpgradePlan, plan_upgrade
from cockpit.domain.versions import try_parse
from cockpit.errors import CockpitError
from cockpit.kube.paths import path_for
from cockpit.kube.typed import as_records
from cockpit.ssh import commands

TAIL = 20  # output lines kept per node for the Nodes pane and failure messages
# (node, reason, message, warning): records a Kubernetes Event on the Node; never raises.
NodeEventFn = Callable[[str, str, str, bool], Awaitable[None]]


@dataclass
class UpgradeOptions:
    """Knobs of a run (CLI flags; tests shrink the timeouts)."""

    target: str
    concurrency: int = 1
    drain: DrainOptions = field(default_factory=lambda: DrainOptions(ignore_daemonsets=True, timeout=600))
    command_timeout: float = 900.0
    ready_timeout: float = 300.0
    poll_interval: float = 1.0
    lease_duration: int = 30
    sudo: bool = True
    api_outage_budget: float = 60.0  # how long reads and annotation writes retry an unreachable API

    def __post_init__(self) -> None:
        # One spelling of the target everywhere (plan, commands, node annotations, journal);
        # text that is no version stays as typed so the plan refuses it by name.
        self.target = versions.bare(self.target)


class StepFailed(CockpitError):
    """A step's command or check failed; the message says what and shows the last lines."""


class PlanRefused(CockpitError):
    """The plan breaks a skew rule (the message names it)."""

    exit_status = 1

    def __init__(self, message: str, plan: UpgradePlan) -> None:
        super().__init__(message)
        self.plan = plan


@dataclass
class RunResult:
    """How a run ended: ``outcome`` is done, halted, stopped (API outage), paused or aborted."""

    outcome: str
    run: str
    target: str
    nodes: dict[str, dict] = field(default_factory=dict)
    message: str = ""

    def journal_fields(self) -> dict:
        """What the journal records at the end of a run."""
        return {"outcome": self.outcome, "run": self.run, "to_version": self.target, "message": self.message,
                "nodes": self.nodes}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    """A short sortable run id."""
    return "run-" + datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def resume_at(step: Step) -> Step:
    """Where a run picks a node up that was left at ``step``: the recorded step (every step is
    idempotent), except that a kubelet not seen Ready gets restarted again, not only waited for
    once more (the restart is skipped when the kubelet already runs the target and is Ready)."""
    return Step.RESTARTING_KUBELET if step is Step.WAITING_READY else step


class UpgradeController:
    """Plans and runs a kubeadm upgrade; the operations in :mod:`.upgrade_ops` drive it."""

    def __init__(self, client, pool, guard: ActionGuard, options: UpgradeOptions,
                 reporter: Reporter | None = None, *, lock: RunLock | None = None,
                 node_event: NodeEventFn | None = None) -> None:
        self.client = client
        self.pool = pool
        self.guard = guard
        self.options = options
        self.reporter = reporter
        self.lock = lock or RunLock(client, duration=options.lease_duration)
        self.node_event = node_event
        self.run_id = new_run_id()
        self.board: RunBoard | None = None
        self.plan_: UpgradePlan | None = None
        self.tails: dict[str, deque[str]] = {}
        self._running = asyncio.Event()
        self._running.set()
        self._halt = asyncio.Event()
        self._aborted = False
        self._abort_reason = ""
        self._lease_paused = False  # the current pause came from a pause request on the Lease
        self._stopped: tuple[str, Step, str] | None = None  # (node, step, why) of an API outage
        self._started: dict[str, float] = {}
        self._cluster = Emitter(reporter, "upgrade", "cluster")

    @property
    def journal_target(self) -> str:
        """The journal target of the run as a whole (``cluster->1.33.1``)."""
        return f"cluster->{self.options.target}"

    # ------------------------------------------------------------------ plan

    async def plan(self, probe_ssh: bool = False) -> UpgradePlan:
        """Read the cluster and build the plan (reads only; SSH probes the OS when asked)."""
        snapshot = await read_snapshot(self.client)
        if self.pool is not None:
            teach_addresses(self.pool, snapshot)
        if probe_ssh and self.pool is not None:
            await probe_nodes(self.pool, snapshot)
        self.plan_ = plan_upgrade(facts_from(snapshot), self.options.target, self.options.concurrency)
        if not self.plan_.refused:
            self.plan_.warnings += drain_warnings(snapshot, self.options.drain)
        self._cluster("plan", f"plan to {self.options.target}: "
                      + ("refused" if self.plan_.refused else f"{len(self.plan_.batches)} batches"),
                      "error" if self.plan_.refused else "info", plan=plan_to_dict(self.plan_, self.options.sudo))
        return self.plan_

    def plan_lines(self) -> list[str]:
        """The last plan as human lines."""
        return plan_lines(self.plan_, self.options.sudo) if self.plan_ else []

    # ------------------------------------------------------------------ in-process controls

    def pause(self) -> None:
        """Pause at the next step boundary."""
        self._running.clear()

    def resume(self) -> None:
        """Continue after a pause."""
        self._running.set()

    def abort(self, reason: str = "aborted by the operator") -> None:
        """Stop at the next step boundary; nodes keep their recorded step."""
        self._aborted = True
        self._abort_reason = reason
        self._running.set()

    # ------------------------------------------------------------------ run

    async def run(self) -> RunResult:
        """Plan, then run (or resume) under the lock. Raises PlanRefused / LockHeld before acting."""
        plan = await self.plan(probe_ssh=False)
        if plan.refused:
            raise PlanRefused("upgrade refused: " + "; ".join(v.line() for v in plan.violations), plan)
        return await self.run_locked()

    async def run_locked(self) -> RunResult:
        """Take the lock (journaling a stale holder taken over), run the last plan, release the lock."""
        assert self.plan_ is not None and not self.plan_.refused
        previous = await self.lock.acquire(self.options.target, self.run_id)
        if previous is not None:
            now = datetime.now(timezone.utc)
            self.guard.record("upgrade", self.journal_target, "lock-takeover", previous=previous.to_dict())
            self._cluster("lock", f"took over a stale lock from {previous.describe(now)}", "warn",
                          previous=previous.identity)
        renewer = asyncio.create_task(self._renew_loop())
        try:
            return await self._run_plan()
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            await self._release()

    async def _release(self) -> None:
        try:
            await self.lock.release()
        except Exception as exc:  # noqa: BLE001 - the lease expires by itself; say so instead
            if not is_transient(exc):
                raise
            self._cluster("lock", f"could not release the lock ({exc}); it expires after "
                                  f"{self.lock.duration}s", "warn")

    async def _renew_loop(self) -> None:
        interval = max(0.2, self.lock.duration / 3)
        last_renewed = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                holder = await self.lock.renew()
            except Exception as exc:  # noqa: BLE001 - judged below
                down = time.monotonic() - last_renewed
                if is_transient(exc) and down + interval < self.lock.duration:
                    self._cluster("api", f"API unreachable for {down:.0f} s, retrying the lock renewal", "warn")
                    continue
                reason = str(exc) if isinstance(exc, (LockLost, CockpitError)) else type(exc).__name__
                self._cluster("lock", f"lock renewal failed: {reason}", "error")
                self.abort(f"stopped: the upgrade lock could not be renewed ({reason})")
                return
            last_renewed = time.monotonic()
            if holder.abort_requested:
                self._cluster("aborted", "abort requested (cockpit upgrade abort)", "warn")
                self.abort("aborted by `cockpit upgrade abort`")
                return
            self._follow_pause_request(holder.paused)

    def _follow_pause_request(self, paused: bool) -> None:
        if paused and self._running.is_set():
            self._cluster("paused", "pause requested (cockpit upgrade pause)", "warn")
            self.pause()
        elif not paused and not self._running.is_set() and self._lease_paused:
            self._cluster("resumed", "resume requested", "info")
            self.resume()
        self._lease_paused = paused

    async def _run_plan(self) -> RunResult:
        plan = self.plan_
        assert plan is not None
        self.board = RunBoard(plan.batches, {name: self._initial_progress(plan.nodes[name]) for name in plan.order()})
        for batch in plan.batches:
            todo = [name for name in batch if not self.board.nodes[name].finished]
            if not todo:
                continue
            self._cluster("batch", f"batch: {', '.join(todo)}", nodes=todo)
            await asyncio.gather(*(self._run_node(plan.nodes[name]) for name in todo))
            if self._stopped:
                return self._finish("stopped", self._stopped_message())
            if self._aborted:
                return self._finish("aborted", self._abort_reason)
            if self.board.halted_on():
                failed = ", ".join(self.board.halted_on())
                return self._finish("halted", f"halted: {failed} failed; no other node was touched "
                                              "(retry with `cockpit upgrade run`, or skip/abort)")
        return await self._verify_done()

    def _stopped_message(self) -> str:
        assert self._stopped is not None
        node, step, why = self._stopped
        return (f"the upgrade stopped on {node} at step {step.value} ({why}); "
                f"run `cockpit upgrade run --to {self.options.target}` to resume")

    def _initial_progress(self, planned: PlannedNode) -> NodeProgress:
        if planned.done:
            return NodeProgress(planned.name, Step.DONE, State.DONE, self.options.target, self.run_id)
        return NodeProgress(planned.name, resume_at(planned.start_step), State.PENDING, self.options.target,
                            self.run_id)

    async def _verify_done(self) -> RunResult:
        version = (await self._api(self.client.version, "read /version")).get("gitVersion", "")
        if try_parse(version) != try_parse(self.options.target):
            return self._finish("halted", f"all nodes finished but /version reports {version}")
        return self._finish("done", f"all nodes at {self.options.target}; /version reports {version}")

    def _finish(self, outcome: str, message: str) -> RunResult:
        nodes = {n: {"step": p.step.value, "state": p.state.value, "error": p.error}
                 for n, p in (self.board.nodes.items() if self.board else [])}
        level = {"done": "ok", "halted": "error", "stopped": "error"}.get(outcome, "warn")
        self._cluster(outcome, message, level, run=self.run_id, target=self.options.target,
                      summary=self.board.summary() if self.board else {})
        return RunResult(outcome, self.run_id, self.options.target, nodes, message)

    async def _api(self, call: Callable[[], Awaitable[Any]], what: str) -> Any:
        """An idempotent API call that rides out a short outage, saying so on the run's line."""
        outage = Outage(lambda line, level: self._cluster("api", f"{what}: {line}", level))
        return await retrying(call, time.monotonic() + self.options.api_outage_budget, outage,
                              first_delay=min(0.2, self.options.poll_interval * 2))

    # ------------------------------------------------------------------ one node

    async def _run_node(self, planned: PlannedNode) -> None:
        assert self.board is not None
        try:
            await self._walk(planned)
        except Exception as exc:  # noqa: BLE001 - only an API outage stops here; the rest is raised
            if not is_transient(exc):
                raise
            step = self.board.nodes[planned.name].step
            self._stopped = self._stopped or (planned.name, step, str(exc))
            self._halt.set()
            self._emit_node(self.board.nodes[planned.name], f"{planned.name}: stopped at "
                            f"{STEP_LABELS[step]}: {exc}", "error")

    async def _walk(self, planned: PlannedNode) -> None:
        assert self.board is not None
        progress = self.board.nodes[planned.name]
        step = progress.resume_step()
        first = True
        while step is not Step.DONE:
            if not await self._boundary(planned.name):
                return
            progress = await self._record(progress.start(step, _now()))
            self._started[planned.name] = time.monotonic()
            self._emit_node(progress, f"{planned.name}: {STEP_LABELS[step]}")
            if first:
                await self._event(planned.name, "UpgradeNodeStarted", f"upgrade to {self.options.target} "
                                  f"({self.run_id}) at step {step.value}")
                first = False
            try:
                await self._do_step(step, planned)
            except (CockpitError, TimeoutError, OSError) as exc:
                if is_transient(exc):
                    raise
                await self._fail(progress, exc)
                return
            progress = await self._record(progress.succeed(_now()))
            step = progress.step
        self._emit_node(progress, f"{planned.name}: done at {self.options.target}", "ok")
        await self._event(planned.name, "UpgradeNodeCompleted", f"node at {self.options.target} ({self.run_id})")

    async def _boundary(self, node: str) -> bool:
        """Step boundary: stop if halted/aborted, wait while paused. False = stop this node."""
        assert self.board is not None
        if self._halt.is_set() or self._aborted:
            await self._stop_here(node)
            return False
        if not self._running.is_set():
            paused = await self._record(self.board.nodes[node].pause())
            self._emit_node(paused, f"{node}: paused before {STEP_LABELS[paused.step]}", "warn")
            await self._running.wait()
            if self._aborted or self._halt.is_set():
                await self._stop_here(node)
                return False
            self._emit_node(paused, f"{node}: resumed")
        return True

    async def _stop_here(self, node: str) -> None:
        """Leave a node of a halted/aborted batch paused at its next step (not 'running')."""
        assert self.board is not None
        current = self.board.nodes[node]
        if current.state is State.RUNNING and not self._stopped:
            why = "aborted" if self._aborted else "halted: " + ", ".join(self.board.halted_on()) + " failed"
            stopped = await self._record(current.pause())
            self._emit_node(stopped, f"{node}: stopped before {STEP_LABELS[stopped.step]} ({why})", "warn")

    async def _fail(self, progress: NodeProgress, exc: BaseException) -> None:
        tail = list(self.tails.get(progress.node, ()))[-5:]
        message = str(exc) or type(exc).__name__
        failed = await self._record(progress.fail(message))
        self._halt.set()
        self._emit_node(failed, f"{progress.node}: {STEP_LABELS[progress.step]} failed: {message}", "error",
                        failing_lines=tail)
        await self._event(progress.node, "UpgradeStepFailed", f"{progress.step.value} failed: {message}",
                          warning=True)

    async def _record(self, progress: NodeProgress) -> NodeProgress:
        """Write the node's progress annotations (the source of truth for resume and the board)."""
        assert self.board is not None
        body = {"metadata": {"annotations": progress.annotations()}}
        path = path_for("nodes", name=progress.node)
        await self._api(lambda: self.client.patch(path, body, "merge"), f"record {progress.node}'s step")
        self.board.nodes[progress.node] = progress
        return progress

    async def _event(self, node: str, reason: str, message: str, *, warning: bool = False) -> None:
        if self.node_event is not None:
            await self.node_event(node, reason, message, warning)

    def _emit_node(self, progress: NodeProgress, message: str, level: str = "info", **extra) -> None:
        started = self._started.get(progress.node)
        data = dict(node=progress.node, step=progress.step.value, state=progress.state.value,
                    label=STEP_LABELS[progress.step], started=progress.started,
                    elapsed=round(time.monotonic() - started, 2) if started else 0.0, fraction=progress.fraction,
                    last_lines=list(self.tails.get(progress.node, ()))[-5:], run=self.run_id,
                    target=self.options.target, error=progress.error, **extra)
        event = Progress("upgrade", progress.node, progress.step.value, message, level, data)
        try:
            if self.reporter is not None:
                self.reporter(event)
        except Exception:  # noqa: BLE001 - a UI bug must not break a node half-way through a step
            pass

    # ------------------------------------------------------------------ steps

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

        ctl = DrainController(self.client, self.guard, relay, run_id=self.run_id)
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
        ctl = DrainController(self.client, self.guard, None, run_id=self.run_id)
        changed, message = await ctl.uncordon(node.name, force=False)
        self._note(node.name, Step.UNCORDONING, message)

    # ------------------------------------------------------------------ helpers

    async def _node(self, name: str) -> NodeRecord:
        raw = await self._api(lambda: self.client.get(path_for("nodes", name=name)), f"read node/{name}")
        return decode("nodes", raw)

    async def _os_family(self, node: PlannedNode) -> str:
        result = await self._ssh(node.name, Step.UPGRADING_KUBEADM, commands.os_release(), sudo=False, quiet=True)
        return commands.os_family_from_os_release(result.stdout)

    def _tail(self, node: str, line: str) -> None:
        self.tails.setdefault(node, deque(maxlen=TAIL)).append(line)

    def _note(self, node: str, step: Step, message: str) -> None:
        self._tail(node, message)
        self.guard.record("upgrade", node, "note", step=step.value, message=message)
        self._emit_node(self.board.nodes[node], f"{node}: {message}")

    async def _ssh(self, node: str, step: Step, argv: list[str], *, check: bool = True,
                   sudo: bool | None = None, quiet: bool = False):
        """Run one command on ``node``, journaling it and its output, streaming lines as events."""
        use_sudo = self.options.sudo if sudo is None else sudo
        line = commands.to_shell(commands.with_sudo(argv) if use_sudo else argv)
        self.guard.record("upgrade", node, "command", step=step.value, command=line)
        self._tail(node, f"$ {line}")

        def on_line(stream: str, text: str) -> None:
            self._tail(node, text)
            if not quiet:
                self._emit_node(self.board.nodes[node], text, log=True, stream=stream, line=text)

        try:
            result = await self.pool.run(node, argv, timeout=self.options.command_timeout, on_line=on_line,
                                         sudo=use_sudo)
        except CockpitError as exc:
            self.guard.record("upgrade", node, "command-error", step=step.value, command=line, error=str(exc))
            raise
        self.guard.record("upgrade", node, "command-result", step=step.value, command=line,
                          exit_status=result.exit_status, duration=round(result.duration, 3),
                          stdout=result.stdout[-8000:], stderr=result.stderr[-8000:])
        if check and not result.ok:
            raise StepFailed(f"`{line}` on {node} exited {result.exit_status}: "
                             f"{' | '.join(result.tail(3)) or 'no output'}")
        return result
