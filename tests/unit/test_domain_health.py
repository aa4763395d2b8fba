"""Node health, pod STATUS text, pods per node, latest warnings."""

from __future__ import annotations

from cockpit.domain import health as h
from cockpit.domain.records import decode


def node(name, ready="True", cordoned=False, cp=False, reason="", pressures=()):
    labels = {"node-role.kubernetes.io/control-plane": ""} if cp else {}
    conds = [{"type": "Ready", "status": ready, "reason": reason}] + [{"type": p, "status": "True"} for p in pressures]
    return decode("nodes", {"metadata": {"name": name, "uid": name, "labels": labels},
                            "spec": {"unschedulable": cordoned}, "status": {"conditions": conds}})


def pod(name, phase="Running", node_name="w1", waiting=None, deleting=False, reason=""):
    meta = {"name": name, "namespace": "ns", "uid": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    statuses = [{"name": "c", "state": {"waiting": {"reason": waiting}}}] if waiting else []
    return decode("pods", {"metadata": meta, "spec": {"nodeName": node_name},
                           "status": {"phase": phase, "reason": reason, "containerStatuses": statuses}})


def test_node_health():
    assert h.node_health(node("a")).status == "Ready"
    cordoned = h.node_health(node("a", cordoned=True))
    assert cordoned.status == "Ready,SchedulingDisabled" and not cordoned.schedulable
    sick = h.node_health(node("a", ready="False", reason="KubeletNotReady", pressures=("MemoryPressure",)))
    assert (sick.status, sick.problems) == ("NotReady", ("KubeletNotReady", "MemoryPressure"))
    assert h.node_health(node("a", ready="Unknown")).status == "Unknown"


def test_node_order_control_plane_first():
    nodes = [node("w1"), node("cp-2", cp=True), node("a0"), node("cp-1", cp=True)]
    assert [n.name for n in sorted(nodes, key=h.node_sort_key)] == ["cp-1", "cp-2", "a0", "w1"]


def test_pod_status_text():
    assert h.pod_status_text(pod("a")) == "Running"
    assert h.pod_status_text(pod("a", waiting="CrashLoopBackOff")) == "CrashLoopBackOff"
    assert h.pod_status_text(pod("a", deleting=True, waiting="CrashLoopBackOff")) == "Terminating"
    assert h.pod_status_text(pod("a", phase="Failed", reason="Evicted")) == "Evicted"


def test_pods_per_node_skips_finished():
    pods = [pod("a"), pod("b"), pod("c", phase="Succeeded"), pod("d", node_name="w2"), pod("e", node_name="")]
    assert h.pods_per_node(pods) == {"w1": 2, "w2": 1}


def test_warning_events_newest_first():
    def ev(name, type_, ts):
        return decode("events", {"metadata": {"name": name, "namespace": "ns", "uid": name},
                                 "type": type_, "lastTimestamp": ts, "involvedObject": {"kind": "Pod", "name": "p"}})
    events = [ev("old", "Warning", "2026-01-01T00:00:00Z"), ev("new", "Warning", "2026-01-01T01:00:00Z"),
              ev("normal", "Normal", "2026-01-01T02:00:00Z"), ev("nots", "Warning", None)]
    assert [e.name for e in h.warning_events(events)] == ["new", "old", "nots"]
    assert len(h.warning_events(events, limit=1)) == 1
