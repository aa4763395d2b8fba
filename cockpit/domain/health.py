"""A node's health verdict as kubectl shows it (STATUS with SchedulingDisabled, problems)."""

from __future__ import annotations

from msgspec import Struct

from cockpit.domain.records import NodeRecord


class NodeHealth(Struct, frozen=True):
    """``status`` Ready / NotReady / Unknown (kubectl's STATUS, plus ``SchedulingDisabled``
    when cordoned), and the problems worth a glance (pressure conditions, NotReady reason)."""

    status: str
    ready: bool
    schedulable: bool
    problems: tuple[str, ...]


def node_health(node: NodeRecord) -> NodeHealth:
    """The verdict for one node, worded as kubectl get nodes words it."""
    base = {"True": "Ready", "False": "NotReady"}.get(node.ready_status, "Unknown")
    status = f"{base},SchedulingDisabled" if node.unschedulable else base
    problems = list(node.pressures)
    if not node.ready and node.ready_reason:
        problems.insert(0, node.ready_reason)
    return NodeHealth(status, node.ready, not node.unschedulable, tuple(problems))
