"""Nodes pane: one row per node (control plane first), a header with version skew, and the
node-upgrade board.

The ``upgrade`` column shows each node's step, a progress bar and the time in the step; a
detail line under the table tells the selected node's state in words, with the error and the
failing command's last output lines when it failed; ``l`` opens a log view streaming the
selected node's SSH output. The board's progress comes from the Node annotations and the lock
Lease only (``cockpit.ui.board``), so every cockpit shows the same board. This cockpit's own
run is a worker of this pane (:meth:`NodesPane.host_operation`); its controller's Progress
events arrive as :class:`NodesPane.UpgradeProgress` messages and feed the log lines and the
run-level message only. While an upgrade is on the board the column takes the room the taints
use otherwise (maximise the pane to see both).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, RichLog, Static

from cockpit.controllers.base import Progress
from cockpit.controllers.driver import ConfirmFn, Driver, Services
from cockpit.controllers.operation import Result
from cockpit.errors import CockpitError
from cockpit.ui import views
from cockpit.ui.board import LOCK_KEY, LOG_LINES, UpgradeBoard, log_line, upgrade_cell
from cockpit.ui.panes.base import Cells, Pane, SortText, sort_by_first
from cockpit.ui.upgrade_session import PaneUpgrade

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
    FIT = ("name",)  # names are never cut into look-alikes (worker-00001, worker-00002...)
    FLEX = (("taints", None),)
    TABLE_BINDINGS: ClassVar = [
        Binding("l", "pane('toggle_log')", "Log", id="upgrade.log", tooltip="show the selected node's SSH output"),
    ]

    class UpgradeProgress(Message):
        """A Progress event of this cockpit's upgrade run (log lines, step and run messages)."""

        def __init__(self, progress: Progress) -> None:
            super().__init__()
            self.progress = progress

    class UpgradeEnded(Message):
        """This cockpit's upgrade run ended: its Result, or the one-line reason it failed."""

        def __init__(self, result: Result | None, error: str = "") -> None:
            super().__init__()
            self.result = result
            self.error = error

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.upgrade = PaneUpgrade()
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
        name = SortText(node.name, (not node.is_control_plane, node.name), width=self.column_width("name"))
        return (name, role, node.kubelet_version or "-",
                ready, sched, str(self._pod_count.get(node.name, 0)), Text(taints), self._upgrade_cell(node.name))

    def _upgrade_cell(self, name: str) -> Text:
        progress = self.board.progress(name)
        return upgrade_cell(progress, self.now(), self.colour) if progress else Text("")

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
        record = self.selected_record(self.cache)
        return record.name if record is not None else None

    # -- the upgrade board -------------------------------------------------------------------

    def apply_progress(self, event: Any) -> None:
        """One upgrade Progress event: a node's log line or step message, or the run's message."""
        target = str(getattr(event, "target", "")).removeprefix("node/")
        if target == "cluster":
            level = str(getattr(event, "level", "info"))
            if getattr(event, "step", "") not in ("plan", "lock") or level != "info":
                self.set_run_line(str(getattr(event, "message", "")), level)
            return
        name = self.board.from_event(event)
        self._log_appended(name)
        if name == self.selected_node():
            self._show_detail()

    def on_nodes_pane_upgrade_progress(self, message: UpgradeProgress) -> None:
        """The run worker's events arrive here (on the pane's message queue)."""
        self.apply_progress(message.progress)
        if message.progress.target == "cluster" and message.progress.step in ("paused", "resumed"):
            level = message.progress.level
            self.notify(message.progress.message, title="upgrade",
                        severity="warning" if level == "warn" else "information")

    def on_nodes_pane_upgrade_ended(self, message: UpgradeEnded) -> None:
        """Say how this cockpit's run ended."""
        result = message.result
        if result is None:
            self.set_run_line(f"upgrade: {message.error}", "error")
            self.notify(message.error, title="upgrade failed to run", severity="error")
            return
        outcome = str(result.details.get("outcome", "done" if result.ok else "halted"))
        severity = {"done": "information", "halted": "error", "stopped": "error"}.get(outcome, "warning")
        self.notify(result.message, title=f"upgrade {outcome}", severity=severity, timeout=10)

    # -- this cockpit's run (a worker of this pane) ---------------------------------------------

    async def host_operation(self, operation: Any, services: Services, screen: Any,
                             confirm: ConfirmFn) -> Result:
        """Run an upgrade ``operation`` through the driver in this pane's worker.

        ``confirm`` is the app's confirmation (the screen's question, and in production the typed
        name after it). ``screen`` (the OperationScreen) shows the plan and follows the progress until the
        run has taken the lock; then this returns a "started" Result for the screen, which
        points to the board, and the run goes on here. A refusal, a decline, a dry run or a
        no-op ends before that and is returned (or raised) to the screen as usual.
        """
        if self.upgrade.running():
            raise CockpitError("an upgrade is already running in this cockpit: pause (P) or abort (A) it")
        loop = asyncio.get_running_loop()
        started: asyncio.Future[Any] = loop.create_future()
        finished: asyncio.Future[Result] = loop.create_future()
        operation.on_started = lambda ctl: self._started(ctl, started)

        def report(progress: Progress) -> None:
            if not started.done():
                screen.report(progress)
            self.post_message(self.UpgradeProgress(progress))

        driver = Driver(services, confirm, report)
        worker = self.run_worker(self._drive(driver, operation, finished), group="upgrade",
                                 name=f"upgrade {operation.target}", exit_on_error=False)
        self.upgrade.begin(worker)
        try:
            await asyncio.wait({started, finished}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            if not started.done():  # Esc before the run took the lock: nothing may go on unseen
                worker.cancel()
            raise
        if not started.done():
            return finished.result()
        ctl = started.result()
        return Result(operation.action, operation.target, True,
                      f"upgrade to {ctl.options.target} started ({ctl.run_id}); this screen is done: follow the run "
                      "on the Nodes board (l shows a node's log, P pauses, A aborts)", changed=False)

    def _started(self, controller: Any, started: asyncio.Future[Any]) -> None:
        self.upgrade.controller = controller
        if not started.done():
            started.set_result(controller)

    async def _drive(self, driver: Driver, operation: Any, finished: asyncio.Future[Result]) -> None:
        try:
            result = await driver.run(operation)
        except asyncio.CancelledError:
            self.upgrade.end(None, "cancelled")
            raise
        except Exception as exc:  # noqa: BLE001 - refused, declined or broken: a message, not a crash
            error = str(exc) or type(exc).__name__
            self.upgrade.end(None, error)
            if not finished.done():
                finished.set_exception(exc)
            if self.upgrade.controller is not None:
                self.post_message(self.UpgradeEnded(None, error))
            return
        finally:
            await operation.close()
        self.upgrade.end(result)
        if not finished.done():
            finished.set_result(result)
        if self.upgrade.controller is not None:
            self.post_message(self.UpgradeEnded(result))

    def set_run_line(self, message: str, level: str = "info") -> None:
        """The latest run-level event (batch, paused, halted, done ...) for the header."""
        self.board.run_line = (message, level)
        self._refresh_header(self.cache)

    def _redraw_node(self, name: str) -> None:
        uid = self._node_uid.get(name)
        record = self.cache.store("nodes").get(uid) if uid else None
        if record is not None:
            self.sync([(uid, self._cells(record, uid))])
        if name == self.selected_node():
            self._show_detail()

    def _refresh_header(self, cache: Any) -> None:
        self._header_version = getattr(cache, "server_version", None)
        header = views.nodes_header(list(views.all_records(cache.store("nodes"))), cache,
                                    upgrading=self.board.active())
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
        text = self.board.detail(name, self.now(), self.colour) if name else Text("")
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
