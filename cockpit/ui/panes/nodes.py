"""Nodes pane: one row per node (control plane first) and a header with version skew.

The ``upgrade`` column is reserved for the node-upgrade board (issue 5): the upgrade
controller's progress fills it through :meth:`NodesPane.set_step` (maximise the pane to see
it in full).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from cockpit.ui import views
from cockpit.ui.fmt import bar
from cockpit.ui.panes.base import Cells, Pane, SortText, sort_by_first


class NodesPane(Pane):
    """Nodes with role, kubelet version, readiness, schedulability, pod count and taints."""

    PANE = "nodes"
    TITLE = "Nodes"
    KINDS = ("nodes", "pods")
    COLUMNS = (
        ("name", "name", 9),
        ("role", "role", 13),
        ("kubelet", "kubelet", 8),
        ("ready", "ready", 10),
        ("sched", "sched", 10),
        ("pods", "pods", 4),
        ("taints", "taints", 10),
        ("upgrade", "upgrade", 8),
    )
    FLEX = (("taints", None),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pod_node: dict[str, str] = {}  # pod uid -> node name, to move counts on change
        self._pod_count: dict[str, int] = {}
        self._node_uid: dict[str, str] = {}  # node name -> uid
        self._steps: dict[str, tuple[str, float | None, str]] = {}

    def refresh_from(self, cache: Any, changes: dict[str, set[str] | None]) -> None:
        """Move pod counts for changed pods, then redraw the nodes that changed or moved."""
        nodes = cache.store("nodes")
        dirty = set(views.all_uids(nodes) if changes.get("nodes", ()) is None else changes.get("nodes", ()))
        if "pods" in changes:
            dirty |= self._count_pods(cache.store("pods"), changes["pods"])
        self.sync((uid, self._cells(nodes.get(uid), uid)) for uid in dirty)
        if "nodes" in changes:
            self.set_header(views.nodes_header(list(views.all_records(nodes)), cache))

    def _count_pods(self, pods: Any, uids: set[str] | None) -> set[str]:
        touched: set[str] = set()
        for uid in views.all_uids(pods) if uids is None else uids:
            pod = pods.get(uid)
            new = pod.node_name if pod is not None and not views.pod_finished(pod) else ""
            old = self._pod_node.pop(uid, "")
            if new:
                self._pod_node[uid] = new
            if old != new:
                for name, delta in ((old, -1), (new, 1)):
                    if name:
                        self._pod_count[name] = self._pod_count.get(name, 0) + delta
                        touched.add(self._node_uid.get(name, ""))
        return touched - {""}

    def _cells(self, node: Any, uid: str) -> Cells | None:
        if node is None:
            self._forget(uid)
            return None
        self._node_uid[node.name] = uid
        ok, bad = self.colour("state-complete"), self.colour("state-failed")
        ready = Text("✔ Ready", style=ok) if node.ready else Text(f"✘ {_not_ready(node)}", style=bad)
        sched = Text("⊘ cordoned", style=self.colour("state-paused")) if node.unschedulable else Text("● yes")
        role = "control-plane" if node.is_control_plane else (",".join(node.roles) or "worker")
        taints = ",".join(str(t) for t in node.taints) or "-"
        return (SortText(node.name, (not node.is_control_plane, node.name)), role, node.kubelet_version or "-",
                ready, sched, str(self._pod_count.get(node.name, 0)), Text(taints), self._upgrade_cell(node.name))

    def _upgrade_cell(self, name: str) -> Text:
        """``drain ▓▓░ 40%`` from the upgrade board's last report for the node (empty if none)."""
        step, fraction, level = self._steps.get(name, ("", None, "info"))
        text = Text(step, style=self.colour("state-failed") if level == "error" else "")
        if fraction is not None:
            text.append(" ")
            text.append_text(bar(fraction, 3, self.colour("bar-filled"), self.colour("bar-empty")))
            text.append(f"{round(fraction * 100):>4}%")
        return text

    def _forget(self, uid: str) -> None:
        for name, known in list(self._node_uid.items()):
            if known == uid:
                del self._node_uid[name]

    def resort(self) -> None:
        """Control-plane nodes first, then by name."""
        sort_by_first(self.table, "name")

    def selected_record(self, cache: Any) -> Any:
        """The selected Node record."""
        key = self.selected_key()
        return cache.store("nodes").get(key) if key else None

    def set_step(self, node: str, step: str, fraction: float | None = None, level: str = "info") -> None:
        """Hook for the upgrade board: show a node's current step and progress."""
        self._steps[node] = (step, fraction, level)
        uid = self._node_uid.get(node)
        record = self.app.cache.store("nodes").get(uid) if uid else None
        if record is not None:
            self.sync([(uid, self._cells(record, uid))])


def _not_ready(node: Any) -> str:
    return "NotReady" if node.ready_status == "False" else f"NotReady({node.ready_status})"
