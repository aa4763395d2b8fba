"""Small pure summaries the panes share: node health and order, a pod's kubectl-style STATUS,
pods counted per node, the latest Warning events."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from msgspec import Struct

from cockpit.domain.records import EventRecord, NodeRecord, PodRecord


class NodeHealth(Struct, frozen=True):
    """``status`` Ready / NotReady / Unknown (kubectl's STATUS, plus ``SchedulingDisabled``
    when cordoned), and the problems worth a glance (pressure conditions, NotReady reason)."""

    status: str
    ready: bool
    schedulable: bool
    problems: tuple[str, ...]


def node_health(node: NodeRecord) -> NodeHealth:
    """The Nodes pane verdict for one node."""
    base = {"True": "Ready", "False": "NotReady"}.get(node.ready_status, "Unknown")
    status = f"{base},SchedulingDisabled" if node.unschedulable else base
    problems = list(node.pressures)
    if not node.ready and node.ready_reason:
        problems.insert(0, node.ready_reason)
    return NodeHealth(status, node.ready, not node.unschedulable, tuple(problems))


def node_sort_key(node: NodeRecord) -> tuple:
    """Control-plane nodes first, then by name."""
    return (not node.is_control_plane, node.name)


def pod_status_text(pod: PodRecord) -> str:
    """What ``kubectl get pods`` prints in STATUS: Terminating, a waiting/terminated reason,
    the status reason (Evicted), else the phase."""
    if pod.terminating:
        return "Terminating"
    return pod.waiting_reason or pod.status_reason or pod.phase or "Unknown"


def pod_is_active(pod: PodRecord) -> bool:
    """Whether the pod still occupies its node (not Succeeded/Failed)."""
    return pod.phase not in ("Succeeded", "Failed")


def pods_per_node(pods: Iterable[PodRecord]) -> dict[str, int]:
    """Active pods per node name (as the Nodes pane's pod count)."""
    counts: dict[str, int] = {}
    for pod in pods:
        if pod.node_name and pod_is_active(pod):
            counts[pod.node_name] = counts.get(pod.node_name, 0) + 1
    return counts


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def warning_events(events: Iterable[EventRecord], limit: int = 100) -> list[EventRecord]:
    """The newest ``limit`` Warning events, newest first."""
    warnings = [e for e in events if e.type == "Warning"]
    warnings.sort(key=lambda e: e.last_seen or e.created or _EPOCH, reverse=True)
    return warnings[:limit]
