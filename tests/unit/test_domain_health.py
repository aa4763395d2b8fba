"""Node health as kubectl shows it."""

from __future__ import annotations

from cockpit.domain import health as h
from cockpit.domain.records import decode


def node(name, ready="True", cordoned=False, reason="", pressures=()):
    conds = [{"type": "Ready", "status": ready, "reason": reason}] + [{"type": p, "status": "True"} for p in pressures]
    return decode("nodes", {"metadata": {"name": name, "uid": name},
                            "spec": {"unschedulable": cordoned}, "status": {"conditions": conds}})


def test_node_health():
    assert h.node_health(node("a")).status == "Ready"
    cordoned = h.node_health(node("a", cordoned=True))
    assert cordoned.status == "Ready,SchedulingDisabled" and not cordoned.schedulable
    sick = h.node_health(node("a", ready="False", reason="KubeletNotReady", pressures=("MemoryPressure",)))
    assert (sick.status, sick.problems) == ("NotReady", ("KubeletNotReady", "MemoryPressure"))
    assert h.node_health(node("a", ready="Unknown")).status == "Unknown"
