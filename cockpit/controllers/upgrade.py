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
from cockpit.controllers.operation import StepJournal
from cockpit.controllers.transient import Outage, is_transient, retrying
from cockpit.controllers.upgrade_facts import (drain_warnings, facts_from, plan_lines, plan_to_dict, probe_nodes,
                                               read_snapshot, teach_addresses)
from cockpit.controllers.upgrade_lock import LockLost, RunLock
from cockpit.controllers.upgrade_steps import NodeSteps
from cockpit.domain import versions
from cockpit.domain.drain import DrainOptions
from cockpit.domain.steps import STEP_LABELS, NodeProgress, RunBoard, State, Step
from cockpit.domain.upgrade import PlannedNode, UpgradePlan, plan_upgrade
from cockpit.domain.versions import try_parse
from cockpit.errors import CockpitError
from cockpit.kube.paths import path_for

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


class UpgradeController(NodeSteps):
    """Plans and runs a kubeadm upgrade; the operations in :mod:`.upgrade_ops` drive it."""

    def __init__(self, client, pool, steps: StepJournal | None, options: UpgradeOptions,
                 reporter: Reporter | None = None, *, lock: RunLock | None = None,
                 node_event: NodeEventFn | None = None) -> None:
        self.client = client
        self.pool = pool
        self.steps = steps  # None until a run attaches its journal (plans only read)
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

    def attach(self, reporter: Reporter | None, node_event: NodeEventFn | None = None,
               steps: StepJournal | None = None) -> None:
        """From now on report progress to ``reporter``, record node Events with ``node_event`` and
        journal each node's steps in ``steps`` (the driving operation's)."""
        self.reporter = reporter
        self.steps = steps or self.steps
        self._cluster = Emitter(reporter, "upgrade", "cluster")
        self.node_event = node_event

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

    async def run_locked(self, on_locked: Callable[[], Awaitable[None]] | None = None) -> RunResult:
        """Take the lock (journaling a stale holder taken over), run the last plan, release the lock.

        ``on_locked`` is awaited once the lock is ours, before any node is touched.
        """
        assert self.plan_ is not None and not self.plan_.refused
        previous = await self.lock.acquire(self.options.target, self.run_id)
        if previous is not None:
            now = datetime.now(timezone.utc)
            self._journal(self.journal_target, "lock-takeover", previous=previous.to_dict())
            self._cluster("lock", f"took over a stale lock from {previous.describe(now)}", "warn",
                          previous=previous.identity)
        renewer = asyncio.create_task(self._renew_loop())
        try:
            if on_locked is not None:
                await on_locked()
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
