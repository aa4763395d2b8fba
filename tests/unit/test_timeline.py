"""The merged timeline: Events, the journal, cockpit Events of other operators, filters, transitions."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

from cockpit.domain.records import decode
from cockpit.domain.snapshot import ClusterSnapshot
from cockpit.domain.timeline import (
    EntryKind,
    Severity,
    TimelineFilter,
    build_timeline,
    filter_entries,
    journal_entries,
)
from cockpit.domain.transitions import TransitionTracker
from cockpit.kube.events import event_record
from tests.support import builders as b

T = datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc)


def iso(seconds: float) -> str:
    return (T + timedelta(seconds=seconds)).isoformat()


def v1_event(reason: str, note: str, seconds: float, *, type_: str = "Normal", controller: str = "kubelet",
             kind: str = "Pod", name: str = "checkout-9f8e-q9", namespace: str = "shop") -> dict:
    return {"metadata": {"name": f"{name}.{reason}", "namespace": namespace or "default", "uid": reason + note[:5]},
            "eventTime": iso(seconds).replace("+00:00", "Z"), "type": type_, "reason": reason, "note": note,
            "regarding": {"kind": kind, "name": name, **({"namespace": namespace} if namespace else {})},
            "reportingController": controller}


JOURNAL = [
    {"ts": iso(10), "user": "alice", "context": "prod", "event": "preview", "action": "undo", "target": "shop/checkout"},
    {"ts": iso(11), "user": "alice", "context": "prod", "event": "start", "action": "undo", "target": "shop/checkout",
     "before": {"revision": 2}, "after": {"revision": 1}},
    {"ts": iso(12), "user": "alice", "context": "prod", "event": "result", "action": "undo", "target": "shop/checkout",
     "ok": True, "message": "rolled back shop/checkout to revision 1", "before": {"revision": 2},
     "after": {"revision": 1}},
    {"ts": iso(20), "user": "alice", "context": "prod", "event": "refused", "action": "drain", "target": "worker-2",
     "reason": "read-only mode"},
]


def test_journal_rows_carry_before_and_after_and_skip_previews():
    rows = journal_entries(JOURNAL)
    assert [r.text for r in rows] == ["undo shop/checkout started", "undo: rolled back shop/checkout to revision 1",
                                      "drain refused: read-only mode"]
    assert rows[1].object == "Deployment/checkout" and rows[1].namespace == "shop"
    assert rows[1].details == ("before: revision=2", "after: revision=1")
    assert rows[2].severity is Severity.WARNING and rows[2].object == "Node/worker-2"
    assert rows[0].source == "cockpit alice@prod"


def test_merge_orders_by_time_with_warnings_first_at_equal_times_and_drops_repeated_cockpit_events():
    events = [event_record(e) for e in (
        v1_event("Pulled", "pulled", 5),
        v1_event("Failed", "Failed to pull image", 5, type_="Warning"),
        # the Event this journal's undo recorded: repeats the result, so it is dropped
        v1_event("RolloutUndone", "rolled back shop/checkout to revision 1 (by alice via cockpit, context prod)",
                 12.5, controller="cockpit", kind="Deployment", name="checkout"),
        # another operator's action: kept, as an action row
        v1_event("ServiceSwitched", "switched shop/web to green (by bob via cockpit, context prod)", 30,
                 controller="cockpit", kind="Service", name="web"),
    )]
    rows = build_timeline(events, JOURNAL)
    assert [r.text.split(":")[0] for r in rows] == [
        "Failed", "Pulled", "undo shop/checkout started", "undo", "drain refused", "ServiceSwitched"]
    assert rows[0].severity is Severity.WARNING and rows[0].kind is EntryKind.EVENT
    assert rows[-1].kind is EntryKind.ACTION and rows[-1].source == "cockpit"


def test_filters_by_kind_namespace_severity_and_time():
    events = [event_record(v1_event("Failed", "x", 5, type_="Warning")),
              event_record(v1_event("NodeReady", "ready", 6, kind="Node", name="cp-1", namespace=""))]
    rows = build_timeline(events, JOURNAL)
    assert {r.kind for r in filter_entries(rows, TimelineFilter(kinds=frozenset({EntryKind.EVENT})))} == {EntryKind.EVENT}
    assert all(r.namespace == "shop" for r in filter_entries(rows, TimelineFilter(namespaces=frozenset({"shop"}))))
    loud = filter_entries(rows, TimelineFilter(min_severity=Severity.WARNING))
    assert [r.text.split(":")[0] for r in loud] == ["Failed", "drain refused"]
    assert len(filter_entries(rows, TimelineFilter(since=T + timedelta(seconds=15)))) == 1


def test_v1_event_fields():
    record = event_record(v1_event("Failed", "boom", 5, type_="Warning"))
    assert record.source == "kubelet" and record.object_kind == "Pod" and record.object_namespace == "shop"
    assert record.last_seen == T + timedelta(seconds=5) and record.count == 1


def snapshot(objs: dict) -> ClusterSnapshot:
    return ClusterSnapshot.of(decode(kind, o) for kind, items in objs.items() if kind != "httproutes"
                              for o in items)


def test_transitions_switch_back_node_not_ready_and_rollout_complete():
    objs = b.demo_objects()
    tracker = TransitionTracker()
    assert tracker.observe(snapshot(objs), T) == []  # the baseline
    changed = copy.deepcopy(objs)
    changed["services"][0]["spec"]["selector"]["color"] = "green"
    changed["nodes"][4] = b.node("worker-2", ready=False)
    rows = tracker.observe(snapshot(changed), T + timedelta(seconds=1))
    assert {r.text for r in rows} == {"switch done: color blue -> green", "node worker-2 is NotReady (KubeletNotReady)"}
    assert all(r.kind is EntryKind.TRANSITION for r in rows)
    back = copy.deepcopy(objs)
    back["deployments"][2] = b.deployment("shop", "checkout", image="registry.example/checkout:2.3.1", revision=3)
    rows = tracker.observe(snapshot(back), T + timedelta(seconds=2))
    assert {r.text for r in rows} == {"switched back: color green -> blue", "node worker-2 is Ready again",
                                      "rollout started: revision 3 (registry.example/checkout:2.3.1)",
                                      "rollout complete at revision 3"}


def test_transitions_upgrade_steps_and_blocked_drain():
    objs = b.demo_objects()
    objs["poddisruptionbudgets"] = [pdb()]
    tracker = TransitionTracker()
    tracker.observe(snapshot(objs), T)
    step = copy.deepcopy(objs)
    step["nodes"][3] = annotated(b.node("worker-1", unschedulable=True), "draining", "running")
    tracker.observe(snapshot(step), T + timedelta(seconds=1))
    rows = tracker.observe(snapshot(step), T + timedelta(seconds=2))
    assert rows == []  # nothing changed
    failed = copy.deepcopy(step)
    failed["nodes"][3] = annotated(b.node("worker-1"), "upgrading-kubelet", "failed", error="apt exited 100")
    rows = tracker.observe(snapshot(failed), T + timedelta(seconds=3))
    assert [r.text for r in rows] == ["upgrade step upgrading kubelet failed: apt exited 100"]
    assert rows[0].severity is Severity.ERROR


def test_blocked_drain_is_a_transition():
    objs = b.demo_objects()
    objs["poddisruptionbudgets"] = [pdb()]
    tracker = TransitionTracker()
    tracker.observe(snapshot(objs), T)
    cordoned = copy.deepcopy(objs)
    cordoned["nodes"][3] = b.node("worker-1", unschedulable=True)
    rows = tracker.observe(snapshot(cordoned), T + timedelta(seconds=1))
    assert [r.text for r in rows] == ["drain of worker-1 blocked by PDB shop/web"]


def pdb() -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "shop", "uid": "pdb-web", "resourceVersion": "1"},
            "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "web", "color": "blue"}}},
            "status": {"currentHealthy": 3, "desiredHealthy": 3, "disruptionsAllowed": 0, "expectedPods": 3}}


def annotated(node: dict, step: str, state: str, error: str = "") -> dict:
    ann = {"cockpit.dev/upgrade-step": step, "cockpit.dev/upgrade-state": state,
           "cockpit.dev/upgrade-target": "1.33.1"}
    if error:
        ann["cockpit.dev/upgrade-error"] = error
    node["metadata"]["annotations"] = ann
    return node
