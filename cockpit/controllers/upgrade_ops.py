"""The upgrade controls as operations: run (and retry), pause, resume, skip, abort.

Each is an :class:`~cockpit.controllers.operation.Operation` that the one driver runs for the CLI
and the TUI alike (read-only refusal, preview, confirmation, re-check, journal, apply, Kubernetes
Event). Every control reads the run's Lease first: skip, retry and abort are refused, naming the
holder, while another live run holds it (a skip of a node mid kubelet restart would be
overwritten by that run); pause and resume are requests to that live run, sent through the Lease.
Run-level controls record their Event on the Lease, node-level ones on the Node.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cockpit.controllers.base import Check
from cockpit.controllers.driver import Services
from cockpit.controllers.operation import Plan, Result, Run, dry_run_result
from cockpit.controllers.transient import is_transient
from cockpit.controllers.upgrade import PlanRefused, UpgradeController, UpgradeOptions
from cockpit.controllers.upgrade_lock import (A_ABORT, LEASE_NAME, LEASE_NAMESPACE, LEASE_REF, LockHolder, RunLock,
                                              live_holder)
from cockpit.domain import drain as drain_rules
from cockpit.domain.records import NodeRecord
from cockpit.domain.steps import (STEP_LABELS, NodeProgress, State, Step, clear_annotations,
                                  progress_from_annotations)
from cockpit.errors import CockpitError
from cockpit.kube.api import ObjectRef
from cockpit.kube.events import EventRecorder
from cockpit.kube.paths import path_for
from cockpit.kube.typed import get_record, list_records


@dataclass(frozen=True)
class LocalRun:
    """This process's own run, when the control comes from the cockpit that runs it (the TUI)."""

    pause: Callable[[], None]
    resume: Callable[[], None]
    stop: Callable[[], Awaitable[None]]  # abort at the next step boundary and wait for the run to end


def now_utc() -> datetime:
    """The current time (UTC)."""
    return datetime.now(timezone.utc)


def node_ref(name: str) -> ObjectRef:
    """The Event subject for a node-level step or control."""
    return ObjectRef("Node", "v1", name)


async def read_nodes(api: Any) -> list[NodeRecord]:
    """Every Node as a record, control plane first, then by name."""
    nodes = await list_records(api, NodeRecord, path_for("nodes"))
    return sorted(nodes, key=lambda n: (not n.is_control_plane, n.name))


def progress_of(node: NodeRecord) -> NodeProgress:
    """The node's recorded upgrade progress."""
    return progress_from_annotations(node.name, node.annotations)


def touched(progress: NodeProgress) -> bool:
    """An upgrade left something recorded on the node that an abort clears."""
    return not (progress.state in (State.PENDING, State.DONE) and progress.step in (Step.PENDING, Step.DONE))


def lock_check(holder: LockHolder | None, now: datetime, *, ours: bool = False) -> Check:
    """``no other live run holds the upgrade lock``, naming the holder when one does."""
    live = live_holder(holder, now)
    if live is None:
        return Check("no other live run holds the upgrade lock", True,
                     f"stale lock of {holder.identity} may be taken over" if holder and holder.identity else "free")
    if ours:
        return Check("no other live run holds the upgrade lock", True, "the run is this cockpit's own")
    return Check("no other live run holds the upgrade lock", False, f"held by {live.describe(now)}")


def fingerprint(*parts: Any) -> str:
    """A short digest of what a plan was built from (the driver's re-check compares it)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def node_states(nodes: list[NodeRecord]) -> dict[str, dict[str, Any]]:
    """Per node: kubelet, cordon and recorded progress (journal before/after)."""
    out = {}
    for node in nodes:
        p = progress_of(node)
        out[node.name] = {"kubelet": node.kubelet_version, "unschedulable": node.unschedulable,
                          "step": p.step.value, "state": p.state.value, "target": p.target}
    return out


class Events:
    """Kubernetes Events for node-level steps, recorded during a run; a failure is only reported."""

    def __init__(self, services: Services, say: Callable[[str], None]) -> None:
        self.services = services
        self.recorder = EventRecorder(services.api)
        self.say = say

    async def node(self, name: str, reason: str, message: str, warning: bool = False) -> None:
        """Record one Event on node ``name``."""
        await self.on(node_ref(name), reason, "upgrade", message, warning)

    async def on(self, subject: ObjectRef, reason: str, action: str, message: str, warning: bool = False) -> None:
        """Record one Event on ``subject`` with cockpit's operator note."""
        note = f"{message} (by {self.services.operator} via cockpit, context {self.services.context or '?'})"
        try:
            await self.recorder.record(subject, reason, action, note, "Warning" if warning else "Normal")
        except Exception as exc:  # noqa: BLE001 - the step happened; losing its Event must not hide that
            self.say(f"could not record the Kubernetes Event {reason}: {exc}")


# ---------------------------------------------------------------------- run / retry


class UpgradeRun:
    """``cockpit upgrade run --to V`` (and ``retry``): run or resume the upgrade under the lock."""

    action = "upgrade"

    def __init__(self, services: Services, pool: Any, options: UpgradeOptions, *, retry: bool = False,
                 on_started: Callable[[UpgradeController], None] | None = None, own_pool: bool = False) -> None:
        self.services = services
        self.pool = pool
        self.own_pool = own_pool
        self.options = options
        self.retry = retry
        self.on_started = on_started
        self.target = f"cluster->{options.target}"

    async def preview(self) -> Plan[UpgradeController]:
        """The ordered plan (or the skew rule it breaks), the lock, and what remains to do."""
        ctl = UpgradeController(self.services.api, self.pool, None, self.options)  # run.steps at apply
        plan = await ctl.plan()
        nodes = await read_nodes(self.services.api)
        holder = await ctl.lock.holder()
        now = now_utc()
        remaining = [n for n in plan.order() if not plan.nodes[n].done] if not plan.refused else []
        checks = [Check(f"version skew [{v.rule}]", False, v.line()) for v in plan.violations] or \
            [Check("version skew", True, f"{plan.cluster_version} -> {self.options.target} is allowed")]
        checks.append(lock_check(holder, now))
        if self.retry:
            checks.append(self._retry_check(nodes, remaining))
        total = len(plan.nodes) or len(nodes)
        done = total - len(remaining)
        title = (f"upgrade {len(remaining)} node(s) to {self.options.target}"
                 + (f" ({done} of {total} already done)" if done else ""))
        lines = ctl.plan_lines()
        return Plan(
            self.action, self.target, ("retry: " if self.retry else "") + title,
            before=f"API {plan.cluster_version or '?'}; kubelets: {kubelet_counts(nodes)}",
            after=f"{len(remaining)} remaining node(s) at {self.options.target}, one batch at a time",
            reason="UpgradeRun", subject=LEASE_REF,
            commands=(f"cockpit upgrade run --to {self.options.target}",), checks=tuple(checks),
            details=tuple(lines), dry_run="nothing is sent: a dry run only shows this plan",
            noop="" if remaining or plan.refused else f"every node is already at {self.options.target}",
            version=fingerprint(node_states(nodes), holder.identity if live_holder(holder, now) else ""),
            before_state={"nodes": node_states(nodes), "lock": holder.to_dict() if holder else None},
            after_state={"target": self.options.target, "nodes": remaining}, spec=ctl)

    async def close(self) -> None:
        """Close the SSH pool if this operation owns it (the TUI's runs do; the CLI's session owns its own)."""
        if self.own_pool and self.pool is not None:
            await self.pool.close()

    def _retry_check(self, nodes: list[NodeRecord], remaining: list[str]) -> Check:
        recorded = [p for p in map(progress_of, nodes) if p.target == self.options.target]
        if not recorded or not remaining:
            return Check("an unfinished run to retry", False,
                         f"no unfinished run to {self.options.target} is recorded on the nodes")
        stopped = [f"{p.node} ({p.state.value} at {p.step.value})" for p in recorded
                   if p.state in (State.FAILED, State.PAUSED, State.RUNNING)]
        return Check("an unfinished run to retry", True,
                     ", ".join(stopped) or f"{len(remaining)} node(s) remain")

    async def apply(self, plan: Plan[UpgradeController], run: Run) -> Result:
        """Take the lock and run the plan's remaining nodes; the Result carries the outcome."""
        if run.dry_run:
            return dry_run_result(plan, f"a run would upgrade {len(plan.after_state['nodes'])} node(s)")
        ctl = plan.spec
        assert ctl is not None
        if ctl.plan_ is None or ctl.plan_.refused:
            raise PlanRefused("upgrade refused: the plan changed", ctl.plan_)
        events = Events(self.services, lambda line: run.say("event", line, "warn"))
        ctl.attach(run.reporter, events.node, run.steps)

        async def locked() -> None:
            if self.on_started is not None:
                self.on_started(ctl)
            await events.on(LEASE_REF, "UpgradeStarted", "upgrade", f"upgrade to {self.options.target} "
                            f"({ctl.run_id}): {len(plan.after_state['nodes'])} node(s)")

        outcome = await ctl.run_locked(locked)
        try:
            after = node_states(await read_nodes(self.services.api))
        except Exception as exc:  # noqa: BLE001 - the run's outcome must be reported even without the API
            if not is_transient(exc):
                raise
            after = outcome.nodes
        return Result(self.action, self.target, outcome.outcome == "done", outcome.message,
                      before=plan.before_state, after={"nodes": after},
                      details={"outcome": outcome.outcome, "run": outcome.run, "to_version": outcome.target,
                               "node_results": outcome.nodes})


def kubelet_counts(nodes: list[NodeRecord]) -> str:
    """``9 at v1.32.4`` / ``3 at v1.33.1, 6 at v1.32.4``."""
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.kubelet_version or "?"] = counts.get(node.kubelet_version or "?", 0) + 1
    return ", ".join(f"{n} at {v}" for v, n in sorted(counts.items())) or "no nodes"


# ---------------------------------------------------------------------- pause / resume


class UpgradeSteer:
    """``cockpit upgrade pause|resume``: a request to the live run, through its Lease."""

    def __init__(self, services: Services, pause: bool, *, local: LocalRun | None = None) -> None:
        self.services = services
        self.pause = pause
        self.local = local
        self.action = "upgrade-pause" if pause else "upgrade-resume"
        self.target = "cluster"
        self.lock = RunLock(services.api)

    async def preview(self) -> Plan[None]:
        """Who runs the upgrade, and whether the request is new."""
        holder = await self.lock.holder()
        now = now_utc()
        live = live_holder(holder, now)
        verb = "pause" if self.pause else "resume"
        check = (Check("a live run holds the upgrade lock", True, live.describe(now)) if live else
                 Check("a live run holds the upgrade lock", False,
                       "no live run" + (f" (the lock of {holder.identity} is stale)" if holder and holder.identity
                                        else "") + "; resume a stopped run with `cockpit upgrade run --to VERSION`"))
        already = live is not None and live.paused == self.pause and self.local is None
        value = "true" if self.pause else "null"
        return Plan(
            self.action, self.target, f"{verb} the upgrade at the next step boundary" if self.pause
            else "resume the paused upgrade",
            before=("pause requested" if live and live.paused else "running") + (f" ({live.identity})" if live else ""),
            after="pause requested: the run stops before its next step" if self.pause else "running",
            reason="UpgradePauseRequested" if self.pause else "UpgradeResumeRequested", subject=LEASE_REF,
            commands=(f"kubectl annotate lease -n {LEASE_NAMESPACE} {LEASE_NAME} "
                      f"cockpit.dev/pause-requested{'=true --overwrite' if self.pause else '-'}",),
            checks=(check,), dry_run=f"PATCH lease {LEASE_NAMESPACE}/{LEASE_NAME} "
                                      f"(pause-requested={value}) with dryRun=All",
            noop=("" if not already else f"pause already requested from {live.identity}" if self.pause
                  else f"the run of {live.identity} is not paused"),
            version=fingerprint(live.identity if live else "", live.paused if live else None),
            before_state={"lock": holder.to_dict() if holder else None}, after_state={"pauseRequested": self.pause})

    async def apply(self, plan: Plan[None], run: Run) -> Result:
        """Write the request on the Lease (and steer this cockpit's own run at once)."""
        holder = await self.lock.request_pause(self.pause, dry_run=run.dry_run)
        if run.dry_run:
            return dry_run_result(plan, f"{plan.title} was not sent")
        if self.local is not None:
            (self.local.pause if self.pause else self.local.resume)()
        message = (f"pause requested from {holder.identity}: it stops before its next step" if self.pause
                   else f"resume requested from {holder.identity}")
        return Result(self.action, self.target, True, message, before=plan.before_state,
                      after={"lock": holder.to_dict()})


# ---------------------------------------------------------------------- skip


class UpgradeSkip:
    """``cockpit upgrade skip NODE``: leave the node as it is; the run moves past it."""

    action = "upgrade-skip"

    def __init__(self, services: Services, node: str) -> None:
        self.services = services
        self.node = node
        self.target = node
        self.lock = RunLock(services.api)

    async def preview(self) -> Plan[dict]:
        """The node's recorded step, the lock, and whether cockpit's cordon gets lifted."""
        node = await get_record(self.services.api, NodeRecord, path_for("nodes", name=self.node))
        progress = progress_of(node)
        now = now_utc()
        holder = await self.lock.holder()
        lift, cordon_words = drain_rules.uncordon_decision(node, False)
        checks = (Check("node not done", progress.state is not State.DONE,
                        f"node/{self.node} is already done" + (f" at {progress.target}" if progress.target else "")
                        if progress.state is State.DONE else f"{progress.state.value} at {progress.step.value}"),
                  Check("node not already skipped", progress.state is not State.SKIPPED,
                        f"skipped at {progress.step.value}" if progress.state is State.SKIPPED else ""),
                  lock_check(holder, now))
        commands = [f"kubectl annotate node {self.node} cockpit.dev/upgrade-state=skipped --overwrite"]
        if lift:
            commands.append(f"kubectl uncordon {self.node}")
        return Plan(
            self.action, self.node, f"skip {self.node} in the upgrade",
            before=f"{STEP_LABELS[progress.step]} ({progress.state.value}), kubelet {node.kubelet_version}"
                   + (", cordoned" if node.unschedulable else ""),
            after=f"skipped at {progress.step.value}: the run moves past it; {cordon_words}",
            reason="UpgradeNodeSkipped", subject=node_ref(self.node), commands=tuple(commands), checks=checks,
            dry_run=f"PATCH node/{self.node} annotations with dryRun=All",
            version=fingerprint(progress, node.unschedulable, live_holder(holder, now) is not None),
            before_state={"progress": progress, "unschedulable": node.unschedulable},
            after_state={"state": State.SKIPPED.value, "step": progress.step.value, "uncordon": lift},
            spec={"progress": progress, "lift": lift})

    async def apply(self, plan: Plan[dict], run: Run) -> Result:
        """Record the skip on the Node, then lift cockpit's own cordon."""
        progress: NodeProgress = plan.spec["progress"]
        body = {"metadata": {"annotations": progress.skip().annotations()}}
        await self.services.api.patch(path_for("nodes", name=self.node), body, "merge", dry_run=run.dry_run)
        if run.dry_run:
            return dry_run_result(plan, f"node/{self.node} would be skipped at {progress.step.value}")
        from cockpit.controllers.drain import DrainController

        _, message = await DrainController(self.services.api, run.steps, None).uncordon(self.node)
        run.say("uncordon", message)
        node = await get_record(self.services.api, NodeRecord, path_for("nodes", name=self.node))
        return Result(self.action, self.node, True, f"node/{self.node} skipped at {progress.step.value}; {message}",
                      before=plan.before_state,
                      after={"progress": progress_of(node), "unschedulable": node.unschedulable})


# ---------------------------------------------------------------------- abort


class UpgradeAbort:
    """``cockpit upgrade abort``: stop the run, clear unfinished progress, lift cockpit's cordons,
    release the lock. A paused run (or, with ``force``, any live run) is asked to stop first."""

    action = "upgrade-abort"

    def __init__(self, services: Services, *, force: bool = False, local: LocalRun | None = None,
                 wait: float = 60.0) -> None:
        self.services = services
        self.force = force
        self.local = local
        self.wait = wait
        self.target = "cluster"
        self.lock = RunLock(services.api)

    async def preview(self) -> Plan[LockHolder | None]:
        """What is recorded, who holds the lock, and what the abort clears."""
        holder = await self.lock.holder()
        now = now_utc()
        live = live_holder(holder, now)
        nodes = await read_nodes(self.services.api)
        marked = [progress_of(n) for n in nodes if touched(progress_of(n))]
        check = lock_check(holder, now, ours=self.local is not None)
        if not check.ok and (live.paused or self.force):
            check = Check(check.name, True, f"{'paused' if live.paused else 'live (--force)'} run of "
                                            f"{live.identity} is asked to stop first")
        elif not check.ok:
            check = Check(check.name, False, check.detail + "; pause it first (`cockpit upgrade pause`), "
                                                            "or use --force")
        commands = [f"kubectl annotate node {p.node} " + " ".join(f"{k}-" for k in clear_annotations())
                    for p in marked]
        commands += [f"kubectl uncordon {n.name}" for n in nodes
                     if n.unschedulable and drain_rules.CORDONED_BY in n.annotations]
        if holder is not None:
            commands.append(f"kubectl delete lease -n {LEASE_NAMESPACE} {LEASE_NAME}")
        before = "; ".join(f"{p.node}: {p.state.value} at {p.step.value}" for p in marked) or "no node is mid-upgrade"
        return Plan(
            self.action, self.target, "abort the upgrade",
            before=before + (f"; lock held by {holder.identity}" if holder and holder.identity else ""),
            after=("the run stops at its next step boundary; " if live else "")
                  + "unfinished nodes' progress cleared, cockpit's cordons lifted, the lock released",
            reason="UpgradeAborted", subject=LEASE_REF, commands=tuple(commands), checks=(check,),
            dry_run="PATCH each node and DELETE the lease with dryRun=All",
            noop="" if marked or holder is not None else "nothing to abort: no run is recorded",
            # A live run moves its nodes on while the user reads: then only the run itself counts.
            version=fingerprint(live.identity, live.paused) if live else fingerprint(
                [(p.node, p.step, p.state) for p in marked], holder.identity if holder else ""),
            before_state={"nodes": node_states(nodes), "lock": holder.to_dict() if holder else None},
            after_state={"cleared": [p.node for p in marked], "lock": None}, spec=live)

    async def apply(self, plan: Plan[LockHolder | None], run: Run) -> Result:
        """Stop the live run (if any), then clear what it left on the nodes and drop the lock."""
        if plan.spec is not None and not run.dry_run:
            await self._stop_the_run(plan.spec, run)
        lines = await self._clear_nodes(run)
        holder = await self.lock.break_lock(dry_run=run.dry_run)
        if holder is not None:
            lines.append(f"lock released (was {holder.identity or 'released'})")
        if run.dry_run:
            return dry_run_result(plan, "; ".join(lines) or "nothing to clear")
        after = node_states(await read_nodes(self.services.api))
        return Result(self.action, self.target, True, "; ".join(lines) or "nothing to clear",
                      before=plan.before_state, after={"nodes": after, "lock": None}, details={"lines": lines})

    async def _stop_the_run(self, live: LockHolder, run: Run) -> None:
        if self.local is not None:
            run.say("stop", "stopping this cockpit's run at its next step boundary")
            await self.local.stop()
            return
        await self.lock.request(A_ABORT, True)
        run.say("stop", f"asked {live.identity} to stop; waiting up to {self.wait:g}s for it to let go of the lock")
        still = await self.lock.wait_released(self.wait)
        if still is not None and not self.force:
            raise CockpitError(f"the run of {still.identity} did not stop within {self.wait:g}s; nothing was "
                               "cleared (try again, or use --force)")
        if still is not None:
            run.say("stop", f"{still.identity} did not let go: breaking its lock (--force)", "warn")

    async def _clear_nodes(self, run: Run) -> list[str]:
        from cockpit.controllers.drain import DrainController

        lines = []
        drain = DrainController(self.services.api, run.steps, None)
        for node in await read_nodes(self.services.api):
            progress = progress_of(node)
            if not touched(progress):
                continue
            body = {"metadata": {"annotations": clear_annotations()}}
            await self.services.api.patch(path_for("nodes", name=node.name), body, "merge", dry_run=run.dry_run)
            if run.dry_run:
                lines.append(f"node/{node.name}: would clear {progress.step.value} ({progress.state.value})")
                continue
            _, message = await drain.uncordon(node.name)
            lines.append(f"node/{node.name}: cleared {progress.step.value} ({progress.state.value}); {message}")
            run.say("clear", lines[-1])
        return lines


# ---------------------------------------------------------------------- status (reads only)


async def read_status(api: Any, lock: RunLock | None = None) -> dict:
    """The run as recorded in the cluster: the lock holder and every node's progress."""
    holder = await (lock or RunLock(api)).holder()
    now = now_utc()
    rows = []
    for node in await read_nodes(api):
        progress = progress_of(node)
        rows.append({"node": progress.node, "step": progress.step.value, "state": progress.state.value,
                     "label": STEP_LABELS[progress.step], "fraction": progress.fraction, "target": progress.target,
                     "run": progress.run, "error": progress.error, "started": progress.started,
                     "kubelet": node.kubelet_version, "ready": node.ready, "unschedulable": node.unschedulable,
                     "cordoned_by_cockpit": drain_rules.CORDONED_BY in node.annotations})
    lock_doc = holder.to_dict() | {"stale": holder.stale(now), "line": holder.describe(now)} if holder else None
    return {"lock": lock_doc, "nodes": rows}


def ssh_pool(ssh_config: str | None, *, accept_new_host_keys: bool = False, sudo: bool = True) -> Any:
    """The SSH pool an upgrade run uses (``--ssh-config``; strict host keys unless told otherwise)."""
    from cockpit.ssh.pool import SshPool

    return SshPool(ssh_config=ssh_config, accept_new_host_keys=accept_new_host_keys, sudo=sudo)
