"""Nodes pane: one row per node (control plane first), a header with version skew, and the
node-upgrade board (issue 5).

The ``upgrade`` column shows each node's step, a progress bar and the time in the step; a
detail line under the table tells the selected node's state in words, with the error and the
failing command's last output lines when it failed; ``l`` opens a log view streaming the
selected node's SSH output. The board (``cockpit.ui.board``) is fed by the upgrade
controller's Progress events (``apply_progress``) and by the Node annotations, so a restarted
cockpit shows the same board. While an upgrade is on the board the column takes the room the
taints use otherwise (maximise the pane to see both).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, RichLog, Static

from cockpit.ui import views
from cockpit.ui.board import LOCK_KEY, LOG_LINES, UpgradeBoard, log_line, upgrade_cell
from cockpit.ui.panes.base import Cells, Pane, SortText, sort_by_first

# Well-known taint key prefixes left out of the compact form (``control-plane:NoSchedule``).
TAINT_PREFIXES = ("node-role.kubernetes.io/", "node.kubernetes.io/", "node.cloudprovider.kubernetes.io/")

IDLE_COLUMNS = (
    ("name", "name", 9),
    ("role", "role", 13),
    ("kubelet", "kubelet", 7),
    ("ready", "ready", 10),
    ("sched", "sched", 10),
    ("pods", "pods", 4),
    ("taints", "taints", 10),
    ("upgrade", "upgrade", 0),
)
ACTIVE_COLUMNS = (*IDLE_COLUMNS[:6], ("taints", "taints", 0), ("upgrade", "upgrade", 20))


def compact_taint(taint: Any) -> str:
    """``node-role.kubernetes.io/control-plane:NoSchedule`` -> ``control-plane:NoSchedule``."""
    key = next((taint.key[len(p):] for p in TAINT_PREFIXES if taint.key.startswith(p)), taint.key)
    value = f"={taint.value}" if taint.value else ""
    return f"{key}{value}:{taint.effect}"


class NodesPane(Pane):
    """Nodes with role, kubelet version, readiness, schedulability, pod count, taints, upgrade."""

    PANE = "nodes"
    TITLE = "Nodes"
    KINDS = ("nodes", "pods", "leases")  # leases: who holds the upgrade lock
    COLUMNS = IDLE_COLUMNS
    FLEX = (("taints", None),)
    TABLE_BINDINGS: ClassVar = [
        Binding("l", "pane('toggle_log')", "Log", id="upgrade.log", tooltip="show the selected node's SSH output"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pod_node: dict[str, str] = {}  # pod uid -> node name, to move counts on change
        self._pod_count: dict[str, int] = {}
        self._node_uid: dict[str, str] = {}  # node name -> uid
        self.board = UpgradeBoard()
        self._log_node: str | None = None
        self._header_version: str | None = None
        self._lock_seen: str | None = None

    def compose_extra(self) -> ComposeResult:
        self._detail = Static("", classes="upgrade-detail")
        self._log = RichLog(max_lines=LOG_LINES, wrap=True, markup=False, classes="upgrade-log",
                            id="upgrade-log")
        yield self._detail
        yield self._log

    # -- rows --------------------------------------------------------------------------------

    def refresh_from(self, cache: Any, changes: dict[str, set[str] | None]) -> None:
        """Move pod counts for changed pods, then redraw the nodes that changed or moved."""
        nodes = cache.store("nodes")
        changed = set(views.all_uids(nodes) if changes.get("nodes", ()) is None else changes.get("nodes", ()))
        dirty = set(changed)
        if "pods" in changes:
            dirty |= self._count_pods(cache.store("pods"), changes["pods"])
        was_active = self.board.active()
        for record in filter(None, map(nodes.get, changed)):
            self.board.from_annotations(record.name, record.annotations)
        self.sync((uid, self._cells(nodes.get(uid), uid)) for uid in dirty)
        if "nodes" in changes or self._lock_changed(cache, changes):
            self._refresh_header(cache)
        if "nodes" in changes:
            self._after_board_change(was_active)

    def _lock_changed(self, cache: Any, changes: dict[str, set[str] | None]) -> bool:
        """Did the upgrade lock Lease change? (Leases also carry node heartbeats: look it up by key.)"""
        if "leases" not in changes:
            return False
        lease = cache.store("leases").get_by_key(LOCK_KEY)
        seen = (lease.resource_version if lease else None)
        changed, self._lock_seen = seen != self._lock_seen, seen
        return changed

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
        taints = ",".join(compact_taint(t) for t in node.taints) or "-"
        return (SortText(node.name, (not node.is_control_plane, node.name)), role, node.kubelet_version or "-",
                ready, sched, str(self._pod_count.get(node.name, 0)), Text(taints), self._upgrade_cell(node.name))

    def _upgrade_cell(self, name: str) -> Text:
        progress = self.board.progress(name)
        return upgrade_cell(progress, self.app.now(), self.colour) if progress else Text("")

    def _forget(self, uid: str) -> None:
        for name, known in list(self._node_uid.items()):
            if known == uid:
                del self._node_uid[name]
                self.board.forget(name)

    def resort(self) -> None:
        """Control-plane nodes first, then by name."""
        sort_by_first(self.table, "name")

    def selected_record(self, cache: Any) -> Any:
        """The selected Node record."""
        key = self.selected_key()
        return cache.store("nodes").get(key) if key else None

    def selected_node(self) -> str | None:
        """Name of the node under the cursor."""
        record = self.selected_record(self.app.cache)
        return record.name if record is not None else None

    # -- the upgrade board -------------------------------------------------------------------

    def apply_progress(self, event: Any) -> None:
        """One upgrade Progress event for a node: redraw its row, the detail and the log."""
        was_active = self.board.active()
        name = self.board.from_event(event)
        if (getattr(event, "data", None) or {}).get("log"):
            self._log_appended(name)
            return
        self._redraw_node(name)
        self._log_appended(name)
        self._refresh_header(self.app.cache)
        self._after_board_change(was_active)

    def set_run_line(self, message: str, level: str = "info") -> None:
        """The latest run-level event (batch, paused, halted, done ...) for the header."""
        self.board.run_line = (message, level)
        self._refresh_header(self.app.cache)

    def _redraw_node(self, name: str) -> None:
        uid = self._node_uid.get(name)
        record = self.app.cache.store("nodes").get(uid) if uid else None
        if record is not None:
            self.sync([(uid, self._cells(record, uid))])
        if name == self.selected_node():
            self._show_detail()

    def _refresh_header(self, cache: Any) -> None:
        self._header_version = getattr(cache, "server_version", None)
        header = views.nodes_header(list(views.all_records(cache.store("nodes"))), cache)
        leases = cache.store("leases") if "leases" not in (getattr(cache, "forbidden", None) or ()) else None
        summary = self.board.header(leases.get_by_key(LOCK_KEY) if leases else None, self.colour)
        if summary.plain:
            header.append("\n")
            header.append_text(summary)
        self.set_header(header)

    def _after_board_change(self, was_active: bool) -> None:
        """Make room for the upgrade column when the board becomes active (and give it back)."""
        active = self.board.active()
        if active != was_active or (active and self.COLUMNS is not ACTIVE_COLUMNS):
            self.COLUMNS = ACTIVE_COLUMNS if active else IDLE_COLUMNS
            self.FLEX = (("upgrade", 12), ("taints", None)) if active else (("taints", None),)
            self._widths = []
            self.on_resize()
        self._show_detail()

    def tick(self, cache: Any) -> None:
        """Once a second: the elapsed time of running steps moves; the header catches up with
        the API server version (it can arrive after the nodes, or change in an upgrade)."""
        for name in self.board.running():
            self._redraw_node(name)
        if self.rows and getattr(cache, "server_version", None) != self._header_version:
            self._refresh_header(cache)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The cursor moved: the detail line and the log follow the selected node."""
        if event.data_table is self.table:
            self._show_detail()
            if self.has_class("-log"):
                self._fill_log()

    def _show_detail(self) -> None:
        name = self.selected_node()
        text = self.board.detail(name, self.app.now(), self.colour) if name else Text("")
        self._detail.update(text)
        self._detail.display = bool(text.plain)

    # -- the log view ------------------------------------------------------------------------

    def toggle_log(self) -> None:
        """``l``: show or hide the selected node's SSH output."""
        self.set_class(not self.has_class("-log"), "-log")
        if self.has_class("-log"):
            self._fill_log()

    def _fill_log(self) -> None:
        name = self.selected_node()
        self._log_node = name
        self._log.clear()
        self._log.border_title = f"{name or '-'}: upgrade output (l hides)"
        for stream, line in self.board.logs.get(name or "", ()):
            self._log.write(log_line(stream, line, self.colour))

    def _log_appended(self, name: str) -> None:
        if self.has_class("-log") and name == self._log_node and self.board.logs.get(name):
            stream, line = self.board.logs[name][-1]
            self._log.write(log_line(stream, line, self.colour))

    def log_lines(self) -> list[str]:
        """The log view's lines as plain text (tests)."""
        return [strip.text for strip in self._log.lines]


def _not_ready(node: Any) -> str:
    return "NotReady" if node.ready_status == "False" else f"NotReady({node.ready_status})"
