"""The change record of an upgrade run, as Markdown: plan, skew check, rollback plan, steps, verification.

An upgrade run is found in the audit journal (the ``upgrade`` action on ``cluster->X.Y.Z``,
with the per-node ``command``/``note`` entries and the drains it ran) or, on a machine whose
journal does not have it, in the cockpit Events of the cluster (``UpgradeStarted``,
``UpgradeNodeStarted``, ``UpgradeNodeCompleted``, ``UpgradeStepFailed``...). Node steps come
from the journal when it has them; otherwise each node's start and end come from its Events.
Verification always reads the cluster as it is now.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cockpit.domain import markdown as md
from cockpit.domain.actions_log import ActionRecord, group_actions, note_operator
from cockpit.domain.records import EventRecord, NodeRecord
from cockpit.domain.skew import control_plane_versions, skew_violations
from cockpit.domain.snapshot import ClusterSnapshot
from cockpit.domain.steps import A_STATE, A_STEP, A_TARGET, Step
from cockpit.domain.timeline import event_time, is_cockpit_event, parse_time

CLUSTER_PREFIX = "cluster->"
NODE_PARTS = ("upgrade", "drain", "cordon", "uncordon")
_RUN_NOTE = re.compile(r"upgrade to (?P<target>\d+\.\d+\.\d+) \((?P<run>[^)]+)\)")
_STEP_OF_ACTION = {"drain": Step.DRAINING.value, "cordon": Step.DRAINING.value, "uncordon": Step.UNCORDONING.value}


@dataclass(frozen=True)
class UpgradeRun:
    """One run: its target version, the journaled action (None when known from Events only),
    the node-level journal entries and the cockpit upgrade Events."""

    target: str
    action: ActionRecord | None
    node_entries: tuple[Mapping[str, Any], ...]
    events: tuple[EventRecord, ...]
    run_id: str = ""

    @property
    def started(self) -> datetime | None:
        """When the run began."""
        if self.action is not None and self.action.time:
            return self.action.time
        return min((event_time(e) for e in self.events), default=None)


def upgrade_runs(journal: Iterable[Mapping[str, Any]], events: Iterable[EventRecord],
                 snapshot: ClusterSnapshot) -> list[UpgradeRun]:
    """The upgrade runs of the window: journaled ones, else the one the cluster's Events show."""
    journal = list(journal)
    upgrade_events = tuple(e for e in events if is_cockpit_event(e) and e.reason.startswith("Upgrade"))
    runs = []
    for action in group_actions(journal):
        if action.action == "upgrade" and action.target.startswith(CLUSTER_PREFIX):
            runs.append(_journaled_run(action, journal, upgrade_events))
    if not runs and upgrade_events:
        runs.append(_run_from_events(upgrade_events))
    return runs


def _journaled_run(action: ActionRecord, journal: list, events: tuple[EventRecord, ...]) -> UpgradeRun:
    start, end = action.started or action.finished, action.finished
    inside = tuple(e for e in journal if e.get("action") in NODE_PARTS
                   and not str(e.get("target", "")).startswith(CLUSTER_PREFIX) and _between(e, start, end))
    mine = tuple(e for e in events if start is None or event_time(e) >= start)
    match = next((m for m in (_RUN_NOTE.search(e.message) for e in mine) if m), None)
    return UpgradeRun(action.target.removeprefix(CLUSTER_PREFIX), action, inside, mine, match["run"] if match else "")


def _between(entry: Mapping[str, Any], start: datetime | None, end: datetime | None) -> bool:
    ts = parse_time(entry.get("ts"))
    return ts is not None and (start is None or ts >= start) and (end is None or ts <= end)


def _run_from_events(events: tuple[EventRecord, ...]) -> UpgradeRun:
    match = next((m for m in (_RUN_NOTE.search(e.message) for e in events) if m), None)
    return UpgradeRun(match["target"] if match else "?", None, (), events, match["run"] if match else "")


# ----- the document -----------------------------------------------------------------------------


def change_record(run: UpgradeRun, snapshot: ClusterSnapshot, api_version: str = "") -> str:
    """The change record of ``run`` as one Markdown section."""
    return "".join([
        md.heading(2, f"Change record: upgrade to {run.target}" + (f" ({run.run_id})" if run.run_id else "")),
        _overview(run),
        _plan(run),
        _skew(run, snapshot, api_version),
        _rollback(run, snapshot),
        _steps(run),
        _verification(run, snapshot, api_version),
    ])


def _overview(run: UpgradeRun) -> str:
    a = run.action
    if a is None:
        who = next((note_operator(e.message) for e in run.events if note_operator(e.message)), None)
        operator, context = who or ("?", "?")
        return md.bullets([f"Operator: {operator}", f"Context: {context}", f"Started: {md.stamp(run.started)} UTC",
                           "Recorded from the cockpit Events on the cluster "
                           "(this machine's journal has no entry)"]) + "\n"
    return md.bullets([f"Operator: {a.operator}", f"Context: {a.context}", f"Started: {md.stamp(a.started)} UTC",
                       f"Finished: {md.stamp(a.finished)} UTC", f"Outcome: {a.outcome}: {a.message}",
                       f"Before: {a.before_line() or '-'}", f"After: {a.after_line() or '-'}"]) + "\n"


def _plan(run: UpgradeRun) -> str:
    out = md.heading(3, "Plan")
    if run.action is not None and run.action.details:
        return out + md.block(run.action.details) + "\n"
    nodes = [e.object_name for e in run.events if e.reason == "UpgradeNodeStarted"]
    order = ", ".join(dict.fromkeys(nodes)) or "unknown"
    return out + (f"The journaled plan is on the acting operator's machine; nodes in the order they started: "
                  f"{order}.\n\n")


def _skew(run: UpgradeRun, snapshot: ClusterSnapshot, api_version: str) -> str:
    out = md.heading(3, "Version-skew check")
    checks = run.action.checks if run.action is not None else ()
    if checks:
        out += "Before the run (the preview's checks):\n\n" + md.table(
            ("Check", "Result", "Detail"),
            ((c.get("name"), "ok" if c.get("ok") else "FAILED", c.get("detail", "")) for c in checks)) + "\n"
    if api_version:
        now = skew_violations(api_version, snapshot.nodes, control_plane_versions(snapshot.pods))
        out += "Now: " + ("no skew violation." if not now else "") + "\n\n"
        if now:
            out += md.bullets(v.line() for v in now) + "\n"
    return out


def _rollback(run: UpgradeRun, snapshot: ClusterSnapshot) -> str:
    previous = _previous_version(run, snapshot)
    lines = [
        f"Stop the run: {md.code('cockpit upgrade abort')} (clears unfinished progress, lifts cockpit's cordons, "
        "releases the lock).",
        f"Workers and kubelets, one node at a time: drain it, install the previous packages "
        f"({md.code(f'apt-get install -y --allow-downgrades kubelet={previous}-* kubectl={previous}-*')} or "
        f"{md.code(f'dnf downgrade -y kubelet-{previous} kubectl-{previous}')}), "
        f"{md.code('systemctl daemon-reload && systemctl restart kubelet')}, then uncordon.",
        "Control plane: kubeadm has no downgrade; restore the static Pod manifests it backed up under "
        f"{md.code('/etc/kubernetes/tmp/kubeadm-backup-manifests-*')} and, if etcd was upgraded, the etcd data "
        f"from {md.code('/etc/kubernetes/tmp/kubeadm-backup-etcd-*')}, node by node.",
    ]
    return md.heading(3, "Rollback plan") + f"Back to {previous}:\n\n" + "".join(
        f"{i}. {line}\n" for i, line in enumerate(lines, 1)) + "\n"


def _previous_version(run: UpgradeRun, snapshot: ClusterSnapshot) -> str:
    before = run.action.before if run.action is not None else None
    nodes = (before or {}).get("nodes") if isinstance(before, Mapping) else None
    versions = sorted({str(n.get("kubelet", "")).lstrip("v") for n in (nodes or {}).values() if isinstance(n, Mapping)})
    if versions and versions[0]:
        return versions[0]
    older = sorted(n.kubelet_version.lstrip("v") for n in snapshot.nodes if n.kubelet_version.lstrip("v") != run.target)
    return older[0] if older else "the previous version"


# ----- node steps --------------------------------------------------------------------------------


@dataclass
class _StepRow:
    node: str
    step: str
    started: datetime | None
    finished: datetime | None
    commands: int = 0
    failures: int = 0
    note: str = ""


def _steps(run: UpgradeRun) -> str:
    out = md.heading(3, "Node steps")
    rows = step_rows(run)
    failed = {(e.object_name, _failed_step(e)) for e in run.events if e.reason == "UpgradeStepFailed"}
    table_rows = [(r.node, r.step, md.stamp(r.started), md.stamp(r.finished), _duration(r),
                   _step_result(r, failed), r.note) for r in rows]
    if not rows:
        table_rows = _rows_from_events(run)
        out += "From the cluster's Events (the step detail is in the acting operator's journal):\n\n"
    return out + md.table(("Node", "Step", "Started", "Finished", "Duration", "Result", "Notes"), table_rows) + "\n"


def step_rows(run: UpgradeRun) -> list[_StepRow]:
    """One row per (node, step) in the order the steps began.

    A step ends where the node's next step begins: a later entry labelled with an earlier step
    (a re-check of the OS before installing the kubelet) does not stretch it. The wait for
    Ready journals nothing, so its row spans the gap between the kubelet restart and the uncordon.
    """
    by_node: dict[str, list[tuple[datetime, str, Mapping[str, Any]]]] = {}
    for entry in run.node_entries:
        step = str(entry.get("step") or _STEP_OF_ACTION.get(str(entry.get("action")), ""))
        ts = parse_time(entry.get("ts"))
        if step and ts is not None:
            by_node.setdefault(str(entry.get("target", "")), []).append((ts, step, entry))
    rows: list[_StepRow] = []
    for node, entries in by_node.items():
        rows += _node_rows(node, sorted(entries, key=lambda item: item[0]))
    return rows


def _node_rows(node: str, entries: list[tuple[datetime, str, Mapping[str, Any]]]) -> list[_StepRow]:
    rows: dict[str, _StepRow] = {}
    for ts, step, entry in entries:
        row = rows.get(step)
        if row is None:
            row = rows[step] = _StepRow(node, step, ts, ts)
        elif list(rows)[-1] == step:
            row.finished = ts
        _count(row, entry)
    ordered = list(rows.values())
    return _with_wait(node, ordered)


def _with_wait(node: str, rows: list[_StepRow]) -> list[_StepRow]:
    """Insert the waiting-ready row between restarting-kubelet and uncordoning when both ran."""
    steps = [r.step for r in rows]
    restart, uncordon = Step.RESTARTING_KUBELET.value, Step.UNCORDONING.value
    if restart not in steps or uncordon not in steps or Step.WAITING_READY.value in steps:
        return rows
    before, after = rows[steps.index(restart)], rows[steps.index(uncordon)]
    wait = _StepRow(node, Step.WAITING_READY.value, before.finished, after.started,
                    note="from the kubelet restart to the uncordon")
    return [*rows[: steps.index(uncordon)], wait, *rows[steps.index(uncordon):]]


def _count(row: _StepRow, entry: Mapping[str, Any]) -> None:
    event = entry.get("event")
    if event == "command":
        row.commands += 1
    elif event in ("command-result", "command-error") and (entry.get("exit_status") not in (0, None) or
                                                           event == "command-error"):
        row.failures += 1
    elif event == "note":
        _add_note(row, str(entry.get("message") or ""))
    elif event == "blocked":
        _add_note(row, f"waited on PDB {entry.get('pdb')}")
    elif event == "result" and entry.get("action") == "drain":
        _add_note(row, str(entry.get("message") or ""))


def _add_note(row: _StepRow, note: str) -> None:
    if note and note not in row.note:
        row.note = f"{row.note}; {note}" if row.note else note


def _step_result(row: _StepRow, failed: set[tuple[str, str]]) -> str:
    if (row.node, row.step) in failed:
        return "failed"
    if row.failures:
        return f"ok ({row.failures} command(s) exited non-zero and were retried or tolerated)"
    return "ok"


def _failed_step(event: EventRecord) -> str:
    return event.message.split(" failed", 1)[0].strip()


def _duration(row: _StepRow) -> str:
    if row.started is None or row.finished is None:
        return "-"
    return f"{(row.finished - row.started).total_seconds():.1f}s"


def _rows_from_events(run: UpgradeRun) -> list[tuple]:
    nodes: dict[str, dict[str, Any]] = {}
    for event in sorted(run.events, key=event_time):
        if event.object_kind != "Node":
            continue
        info = nodes.setdefault(event.object_name, {"started": None, "finished": None, "result": "in progress"})
        if event.reason == "UpgradeNodeStarted":
            info["started"] = info["started"] or event_time(event)
        elif event.reason in ("UpgradeNodeCompleted", "UpgradeNodeSkipped", "UpgradeStepFailed"):
            info["finished"] = event_time(event)
            info["result"] = {"UpgradeNodeCompleted": "done", "UpgradeNodeSkipped": "skipped"}.get(
                event.reason, f"failed: {event.message.split(' (by ')[0]}")
    return [(n, "all steps", md.stamp(i["started"]), md.stamp(i["finished"]), "-", i["result"], "")
            for n, i in nodes.items()]


# ----- verification ------------------------------------------------------------------------------


def _verification(run: UpgradeRun, snapshot: ClusterSnapshot, api_version: str) -> str:
    out = md.heading(3, "Verification")
    touched = {str(e.get("target")) for e in run.node_entries} | {e.object_name for e in run.events
                                                                 if e.object_kind == "Node"}
    nodes = sorted((n for n in snapshot.nodes if n.name in touched), key=lambda n: (not n.is_control_plane, n.name))
    out += (f"API server now reports {api_version}.\n\n" if api_version else "")
    rows = [_verify_row(n, run.target) for n in nodes]
    out += md.table(("Node", "Kubelet", "Ready", "Schedulable", "Recorded state", "At target"), rows) + "\n"
    at_target = sum(1 for r in rows if r[-1] == "yes")
    return out + f"{at_target} of {len(rows)} node(s) the run touched are Ready and schedulable at {run.target}.\n\n"


def _verify_row(node: NodeRecord, target: str) -> tuple:
    ann = node.annotations
    recorded = f"{ann.get(A_STEP, '-')}/{ann.get(A_STATE, '-')}" + (f" -> {ann[A_TARGET]}" if ann.get(A_TARGET) else "")
    ok = node.kubelet_version.lstrip("v") == target and node.ready and not node.unschedulable
    return (node.name, node.kubelet_version, "yes" if node.ready else "no", "no" if node.unschedulable else "yes",
            recorded, "yes" if ok else "no")
