"""State transitions derived from successive snapshots, as timeline rows (pure).

A :class:`TransitionTracker` is fed one :class:`ClusterSnapshot` after another and returns the
rows for what changed in between: rollout started / stalled / complete, switch done / switched
back, node NotReady / Ready, drain blocked by a PDB, upgrade step done / failed. The first
snapshot only sets the baseline (a cockpit that starts mid-incident shows the state through its
runbook problems, not as a burst of "changes").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cockpit.domain.records import DeploymentRecord, NodeRecord, ServiceRecord
from cockpit.domain.rollout import RolloutState, diagnose, rollout_status
from cockpit.domain.runbooks import blocking_pdbs
from cockpit.domain.snapshot import ClusterSnapshot
from cockpit.domain.steps import STEP_LABELS, State, Step, progress_from_annotations
from cockpit.domain.timeline import EntryKind, Severity, TimelineEntry

SELECTOR_HISTORY = 8  # selectors remembered per Service to recognise a switch back


@dataclass(frozen=True)
class _Rollout:
    revision: int
    state: RolloutState
    stalled: bool


@dataclass
class TransitionTracker:
    """Remembers the last snapshot's facts; :meth:`observe` returns what changed since."""

    _started: bool = False
    _rollouts: dict[str, _Rollout] = field(default_factory=dict)
    _selectors: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    _ready: dict[str, str] = field(default_factory=dict)
    _blocked: dict[str, frozenset[str]] = field(default_factory=dict)
    _steps: dict[str, tuple[Step, State]] = field(default_factory=dict)

    def observe(self, snap: ClusterSnapshot, at: datetime) -> list[TimelineEntry]:
        """The transitions between the previous snapshot and ``snap`` (none for the first one)."""
        rows = [*self._deployments(snap, at), *self._services(snap, at), *self._nodes(snap, at)]
        baseline, self._started = not self._started, True
        return [] if baseline else rows

    # -- rollouts ------------------------------------------------------------------------

    def _deployments(self, snap: ClusterSnapshot, at: datetime) -> list[TimelineEntry]:
        rows = []
        for d in snap.deployments:
            now = _rollout_of(snap, d)
            before = self._rollouts.get(d.key)
            self._rollouts[d.key] = now
            if before is not None:
                rows += _rollout_rows(d, before, now, at)
        return rows

    # -- Services ------------------------------------------------------------------------

    def _services(self, snap: ClusterSnapshot, at: datetime) -> list[TimelineEntry]:
        rows = []
        for service in snap.services:
            history = self._selectors.setdefault(service.key, [])
            if history and history[-1] != service.selector:
                rows.append(_switch_row(service, history, at))
            if not history or history[-1] != service.selector:
                history.append(dict(service.selector))
                del history[:-SELECTOR_HISTORY]
        return rows

    # -- nodes ---------------------------------------------------------------------------

    def _nodes(self, snap: ClusterSnapshot, at: datetime) -> list[TimelineEntry]:
        rows = []
        for node in snap.nodes:
            rows += self._readiness(node, at)
            rows += self._drain(snap, node, at)
            rows += self._upgrade(node, at)
        return rows

    def _readiness(self, node: NodeRecord, at: datetime) -> list[TimelineEntry]:
        before, self._ready[node.name] = self._ready.get(node.name), node.ready_status
        if before is None or before == node.ready_status:
            return []
        if node.ready_status == "True":
            return [_node_row(node, at, Severity.INFO, f"node {node.name} is Ready again")]
        reason = f" ({node.ready_reason})" if node.ready_reason else ""
        return [_node_row(node, at, Severity.ERROR, f"node {node.name} is NotReady{reason}")]

    def _drain(self, snap: ClusterSnapshot, node: NodeRecord, at: datetime) -> list[TimelineEntry]:
        blockers = frozenset(blocking_pdbs(snap, node.name)) if node.unschedulable else frozenset()
        before, self._blocked[node.name] = self._blocked.get(node.name, frozenset()), blockers
        new = sorted(blockers - before)
        if not new:
            return []
        return [_node_row(node, at, Severity.WARNING, f"drain of {node.name} blocked by PDB {', '.join(new)}")]

    def _upgrade(self, node: NodeRecord, at: datetime) -> list[TimelineEntry]:
        progress = progress_from_annotations(node.name, node.annotations)
        now = (progress.step, progress.state)
        before, self._steps[node.name] = self._steps.get(node.name), now
        if before is None or before == now:
            return []
        if progress.state is State.FAILED:
            error = f": {progress.error}" if progress.error else ""
            return [_node_row(node, at, Severity.ERROR, f"upgrade step {STEP_LABELS[progress.step]} failed{error}")]
        if progress.step is Step.DONE and before[0] is not Step.DONE:
            return [_node_row(node, at, Severity.INFO, f"upgrade of {node.name} done at {progress.target}")]
        if progress.step is not before[0] and before[0] is not Step.PENDING and progress.state is State.RUNNING:
            return [_node_row(node, at, Severity.INFO, f"upgrade step {STEP_LABELS[before[0]]} done")]
        return []


def _rollout_of(snap: ClusterSnapshot, d: DeploymentRecord) -> _Rollout:
    status = rollout_status(d)
    sets = snap.replicasets_of(d)
    stalled = status.failed or diagnose(d, sets, [p for rs in sets for p in snap.pods_of(rs)]).failing
    return _Rollout(d.revision, status.state, stalled)


def _rollout_rows(d: DeploymentRecord, before: _Rollout, now: _Rollout, at: datetime) -> list[TimelineEntry]:
    rows = []
    if now.revision > before.revision:
        images = ", ".join(d.images)
        rows.append(_deployment_row(d, at, Severity.INFO, f"rollout started: revision {now.revision} ({images})"))
    if now.stalled and not before.stalled:
        rows.append(_deployment_row(d, at, Severity.WARNING, f"rollout stalled at revision {now.revision}"))
    if now.state is RolloutState.COMPLETE and before.state is not RolloutState.COMPLETE:
        rows.append(_deployment_row(d, at, Severity.INFO, f"rollout complete at revision {now.revision}"))
    return rows


def _switch_row(service: ServiceRecord, history: list[dict[str, str]], at: datetime) -> TimelineEntry:
    previous, now = history[-1], service.selector
    changed = ", ".join(f"{k} {previous.get(k, '-')} -> {now.get(k, '-')}"
                        for k in sorted(set(previous) | set(now)) if previous.get(k) != now.get(k))
    back = now in history[:-1]
    text = f"switched back: {changed}" if back else f"switch done: {changed}"
    return TimelineEntry(at, Severity.INFO, EntryKind.TRANSITION, service.namespace, f"Service/{service.name}", text,
                         "derived")


def _deployment_row(d: DeploymentRecord, at: datetime, severity: Severity, text: str) -> TimelineEntry:
    return TimelineEntry(at, severity, EntryKind.TRANSITION, d.namespace, f"Deployment/{d.name}", text, "derived")


def _node_row(node: NodeRecord, at: datetime, severity: Severity, text: str) -> TimelineEntry:
    return TimelineEntry(at, severity, EntryKind.TRANSITION, "", f"Node/{node.name}", text, "derived")
