"""The kubeadm upgrade orchestrator: plan, run (resumable, halting), pause, skip, abort, status.

``UpgradeController.plan()`` reads the cluster and returns the pure plan (refused with the
violated rule, or ordered with per-node commands). ``run()`` takes the Lease lock, then walks
the batches; each node goes through the steps of :mod:`cockpit.domain.steps`, recording every
step on the Node before and after it, so a killed run resumes where it stopped. The first
failure halts the run: nodes of the same batch stop at their next step boundary and no other
node is touched until the operator retries (``run()`` again), skips or aborts.

Progress events (action ``"upgrade"``):
- per node (target = node name): ``step`` = a Step value; ``data`` = {node, step, state, label,
  started (ISO, step start), elapsed (s), fraction (0..1), last_lines, run, target, error};
  ``level`` "error" when a step failed (then also ``failing_lines``), "ok" when the node is done.
- output lines (SSH stdout/stderr, drain messages): same shape plus ``log: True``, ``stream``
  ("stdout" | "stderr" | "drain"), ``line``; drain events also carry ``drain`` (the drain data).
- run level (target ``"cluster"``): ``step`` in plan (data.plan = plan_to_dict), lock, batch
  (data.nodes), paused, resumed, halted, done, aborted (data: run, target, summary).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cockpit.controllers.base import Emitter, Progress, Reporter
from cockpit.controllers.drain import DrainController, list_all
from cockpit.controllers.guard import ActionGuard
from cockpit.controllers.upgrade_facts import (STATIC_COMPONENTS, drain_warnings, facts_from, kubelet_version,
                                               plan_lines, plan_to_dict, probe_nodes, read_snapshot,
                                               static_pods_behind, teach_addresses)
from cockpit.controllers.upgrade_lock import RunLock
from cockpit.domain import drain as drain_rules
from cockpit.domain.drain import DrainOptions
from cockpit.domain.steps import (STEP_LABELS, NodeProgress, RunBoard, State, Step, clear_annotations,
                                  progress_from_annotations)
from cockpit.domain import versions
from cockpit.domain.upgrade import CONTROL_PLANE, FIRST_CONTROL_PLANE, PlannedNode, UpgradePlan, plan_upgrade
from cockpit.domain.versions import try_parse
from cockpit.errors import CockpitError
from cockpit.kube.paths import path_for
from cockpit.ssh import commands

TAIL = 20  # output lines kept per node for the Nodes pane and failure messages


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

    def __post_init__(self) -> None:
        # One spelling of the target everywhere (plan, commands, node annotations, journal);
        # text that is no version stays as typed so the plan refuses it by name.
        self.target = versions.bare(self.target)


class StepFailed(CockpitError):
    """A step's command or check failed; the message says what and shows the last lines."""


class Aborted(CockpitError):
    """The operator aborted the run."""


@dataclass
class RunResult:
    """How a run ended: ``outcome`` is done, halted, paused or aborted."""

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


class UpgradeController:
    """Plans and runs a kubeadm upgrade; the TUI and the CLI drive the same object."""

    def __init__(self, client, pool, guard: ActionGuard, options: UpgradeOptions,
                 reporter: Reporter | None = None, *, lock: RunLock | None = None) -> None:
        self.client = client
        self.pool = pool
        self.guard = guard
        self.options = options
        self.reporter = reporter
        self.lock = lock or RunLock(client, duration=options.lease_duration)
        self.run_id = new_run_id()
        self.board: RunBoard | None = None
        self.plan_: UpgradePlan | None = None
        self.tails: dict[str, deque[str]] = {}
        self._running = asyncio.Event()
        self._running.set()
        self._halt = asyncio.Event()
        self._aborted = False
        self._abort_reason = ""
        self._lease_paused = False  # the current pause came from `cockpit upgrade pause`
        self._started: dict[str, float] = {}
        self._cluster = Emitter(reporter, "upgrade", "cluster")

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

    # ------------------------------------------------------------------ operator controls

    def pause(self) -> None:
        """Pause at the next step boundary (in-process; ``upgrade pause`` uses the Lease)."""
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
        """Run (or resume) the upgrade to the target. Raises PlanRefused / LockHeld before acting."""
        self.guard.check_mutation_allowed("upgrade", self.options.target)
        plan = await self.plan(probe_ssh=False)
        if plan.refused:
            raise PlanRefused("upgrade refused: " + "; ".join(v.line() for v in plan.violations), plan)
        previous = await self.lock.acquire(self.options.target, self.run_id)
        if previous is not None:
            self._cluster("lock", f"took over a stale lock from {previous.identity}", "warn",
                          previous=previous.identity)
        renewer = asyncio.create_task(self._renew_loop())
        try:
            return await self.guard.run("upgrade", f"cluster->{self.options.target}", self._run_plan,
                                        run=self.run_id, plan=plan_to_dict(plan, self.options.sudo))
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            await self.lock.release()

    async def _renew_loop(self) -> None:
        interval = max(0.2, self.lock.duration / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                paused = await self.lock.renew()
            except CockpitError as exc:
                self._cluster("lock", f"lock renewal failed: {exc}", "error")
                self.abort(f"stopped: the upgrade lock could not be renewed ({exc})")
                return
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
            if self._aborted:
                return self._finish("aborted", self._abort_reason)
            if self.board.halted_on():
                failed = ", ".join(self.board.halted_on())
                return self._finish("halted", f"halted: {failed} failed; no other node was touched "
                                              "(retry with `cockpit upgrade run`, or skip/abort)")
        return await self._verify_done()

    def _initial_progress(self, planned: PlannedNode) -> NodeProgress:
        base = NodeProgress(planned.name, target=self.options.target, run=self.run_id)
        if planned.done:
            return NodeProgress(planned.name, Step.DONE, State.DONE, self.options.target, self.run_id)
        return NodeProgress(planned.name, planned.start_step, State.PENDING, base.target, base.run)

    async def _verify_done(self) -> RunResult:
        version = (await self.client.version()).get("gitVersion", "")
        if try_parse(version) != try_parse(self.options.target):
            return self._finish("halted", f"all nodes finished but /version reports {version}")
        return self._finish("done", f"all nodes at {self.options.target}; /version reports {version}")

    def _finish(self, outcome: str, message: str) -> RunResult:
        nodes = {n: {"step": p.step.value, "state": p.state.value, "error": p.error}
                 for n, p in (self.board.nodes.items() if self.board else [])}
        level = {"done": "ok", "halted": "error"}.get(outcome, "warn")
        self._cluster(outcome, message, level, run=self.run_id, target=self.options.target,
                      summary=self.board.summary() if self.board else {})
        return RunResult(outcome, self.run_id, self.options.target, nodes, message)

    # ------------------------------------------------------------------ one node

    async def _run_node(self, planned: PlannedNode) -> None:
        assert self.board is not None
        progress = self.board.nodes[planned.name]
        step = progress.resume_step()
        while step is not Step.DONE:
            if not await self._boundary(planned.name):
                return
            progress = await self._record(progress.start(step, _now()))
            self._started[planned.name] = time.monotonic()
            self._emit_node(progress, f"{planned.name}: {STEP_LABELS[step]}")
            try:
                await self._do_step(step, planned)
            except (CockpitError, TimeoutError, OSError) as exc:
                await self._fail(progress, exc)
                return
            progress = await self._record(progress.succeed(_now()))
            step = progress.step
        self._emit_node(progress, f"{planned.name}: done at {self.options.target}", "ok")

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
        if current.state is State.RUNNING:
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

    async def _record(self, progress: NodeProgress) -> NodeProgress:
        """Write the node's progress annotations (the source of truth for resume and the TUI)."""
        assert self.board is not None
        self.board.nodes[progress.node] = progress
        body = {"metadata": {"annotations": progress.annotations()}}
        await self.client.patch(path_for("nodes", name=progress.node), body, "merge")
        return progress

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
            version = (await self.client.version()).get("gitVersion", "")
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
            pods = await list_all(self.client, path_for("pods", "kube-system"), params)
            behind = static_pods_behind(pods, node.name, self.options.target)
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
        current = kubelet_version(await self._node(node.name))
        if try_parse(current) == try_parse(self.options.target):
            self._note(node.name, Step.UPGRADING_KUBELET, f"kubelet already reports v{current}; not reinstalling")
            return
        family = await self._os_family(node)
        await self._ssh(node.name, Step.UPGRADING_KUBELET,
                        commands.install_kubelet_kubectl(family, self.options.target))

    async def _restart_kubelet(self, node: PlannedNode) -> None:
        obj = await self._node(node.name)
        if try_parse(kubelet_version(obj)) == try_parse(self.options.target) and drain_rules.is_ready(obj):
            self._note(node.name, Step.RESTARTING_KUBELET, "kubelet already runs the target version; no restart")
            return
        await self._ssh(node.name, Step.RESTARTING_KUBELET, commands.daemon_reload())
        await self._ssh(node.name, Step.RESTARTING_KUBELET, commands.restart_kubelet())

    async def _wait_ready(self, node: PlannedNode) -> None:
        deadline = time.monotonic() + self.options.ready_timeout
        target = try_parse(self.options.target)
        while True:
            obj = await self._node(node.name)
            if drain_rules.is_ready(obj) and try_parse(kubelet_version(obj)) == target:
                return
            if time.monotonic() > deadline:
                raise StepFailed(await self._not_ready_message(node.name, obj))
            await asyncio.sleep(self.options.poll_interval)

    async def _not_ready_message(self, name: str, obj: dict) -> str:
        ready = "Ready" if drain_rules.is_ready(obj) else "NotReady"
        text = (f"node/{name} not Ready at v{self.options.target} within {self.options.ready_timeout:g}s "
                f"(now {ready}, kubelet v{kubelet_version(obj)})")
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

    async def _node(self, name: str) -> dict:
        return await self.client.get(path_for("nodes", name=name))

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


class PlanRefused(CockpitError):
    """The plan breaks a skew rule (the message names it)."""

    exit_status = 1

    def __init__(self, message: str, plan: UpgradePlan) -> None:
        super().__init__(message)
        self.plan = plan


# ---------------------------------------------------------------------- status / skip / abort


async def read_status(client, lock: RunLock | None = None) -> dict:
    """The run as recorded in the cluster: the lock holder and every node's progress."""
    from cockpit.controllers.upgrade_facts import is_control_plane

    lock = lock or RunLock(client)
    holder = await lock.holder()
    nodes = await client.list(path_for("nodes"))
    now = datetime.now(timezone.utc)
    rows = []
    for node in sorted(nodes.get("items") or [], key=lambda n: (not is_control_plane(n), n["metadata"]["name"])):
        progress = progress_from_annotations(node["metadata"]["name"], node["metadata"].get("annotations"))
        rows.append({"node": progress.node, "step": progress.step.value, "state": progress.state.value,
                     "label": STEP_LABELS[progress.step], "fraction": progress.fraction, "target": progress.target,
                     "run": progress.run, "error": progress.error, "started": progress.started,
                     "kubelet": kubelet_version(node), "ready": drain_rules.is_ready(node),
                     "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
                     "cordoned_by_cockpit": drain_rules.read_cordon_record(node) is not None})
    return {"lock": holder.to_dict() | {"stale": holder.stale(now), "line": holder.describe(now)} if holder else None,
            "nodes": rows}


async def skip_node(client, guard: ActionGuard, node: str, reporter: Reporter | None = None) -> str:
    """Mark ``node`` skipped (the run moves past it) and lift cockpit's own cordon on it."""
    guard.check_mutation_allowed("upgrade-skip", node)
    obj = await client.get(path_for("nodes", name=node))
    progress = progress_from_annotations(node, obj["metadata"].get("annotations"))
    skipped = progress.skip()
    guard.record("upgrade-skip", node, "step", before=progress.state.value, step=progress.step.value)
    await client.patch(path_for("nodes", name=node), {"metadata": {"annotations": skipped.annotations()}}, "merge")
    _, message = await DrainController(client, guard, reporter).uncordon(node)
    return f"node/{node} skipped at {progress.step.value}; {message}"


async def abort_run(client, guard: ActionGuard, *, force: bool = False, reporter: Reporter | None = None) -> list[str]:
    """Give up the run: clear unfinished nodes' progress, lift cockpit's cordons, drop the lock."""
    guard.check_mutation_allowed("upgrade-abort", "cluster")
    lock = RunLock(client)
    holder = await lock.holder()
    now = datetime.now(timezone.utc)
    if holder and not holder.stale(now) and not force:
        raise CockpitError(f"a run is live ({holder.describe(now)}); pause or stop it first, or use --force")
    guard.record("upgrade-abort", "cluster", "start", lock=holder.to_dict() if holder else None)
    lines = []
    nodes = await client.list(path_for("nodes"))
    for node in nodes.get("items") or []:
        name = node["metadata"]["name"]
        progress = progress_from_annotations(name, node["metadata"].get("annotations"))
        if progress.state in (State.PENDING, State.DONE) and progress.step in (Step.PENDING, Step.DONE):
            continue
        await client.patch(path_for("nodes", name=name), {"metadata": {"annotations": clear_annotations()}}, "merge")
        _, message = await DrainController(client, guard, reporter).uncordon(name)
        lines.append(f"node/{name}: cleared {progress.step.value} ({progress.state.value}); {message}")
    if holder:
        await lock.break_lock()
        lines.append(f"lock released (was {holder.identity})")
    return lines
