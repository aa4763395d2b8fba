"""Rollouts pane: one row per Deployment; Enter shows its ReplicaSets and pods below."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from cockpit.domain import rollout
from cockpit.domain.images import short_image
from cockpit.ui import views
from cockpit.ui.fmt import age, bar, shorten
from cockpit.ui.panes.base import Cells, FitText, Pane, SortText, middle_ellipsis, sort_by_first

# Condition reasons in words that fit a narrow state column (kubectl says "timed out progressing").
SHORT_REASONS = {"ProgressDeadlineExceeded": "timed out", "ReplicaSetCreateError": "cannot create pods"}

# State word -> (shape, semantic colour). Shape + word, never colour alone.
STATE_LOOK = {
    "Failed": ("✘", "state-failed"),
    "Progressing": ("◐", "state-progressing"),
    "Paused": ("‖", "state-paused"),
    "Complete": ("✔", "state-complete"),
}


class RolloutsPane(Pane):
    """Deployments with rollout state; failed ones sort first."""

    PANE = "rollouts"
    TITLE = "Rollouts"
    KINDS = ("deployments", "replicasets", "pods")
    COLUMNS = (
        ("name", "namespace/name", 17),
        ("strategy", "strategy", 8),
        ("counts", "d/u/r/a", 7),
        ("revision", "rev", 3),
        ("images", "image", 12),
        ("state", "state", 19),
        ("progress", "progress", 8),
    )
    # Names and images grow to their content (a maximised pane shows full image references);
    # the state's reason takes what is left.
    FIT = ("name", "images")
    FLEX = (("state", 16), ("images", 24), ("state", None))
    TABLE_BINDINGS: ClassVar = [
        Binding("enter", "pane('toggle_expand')", "Expand", id="rollout.expand"),
    ]
    DETAIL_COLUMNS = (("kind", 4), ("name", 26), ("rev", 3), ("ready", 5), ("phase", 8),
                      ("rst", 3), ("node", 9), ("age", 4), ("reason", 12))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expanded: str | None = None
        self._children: dict[str, set[str]] = {}  # owner uid -> child uids (RS and pods)
        self._owner_of: dict[str, str] = {}
        self._detail_reason_width = 0

    def compose_extra(self) -> ComposeResult:
        self._detail = DataTable(classes="detail", cursor_type="row", id="rollout-detail")
        yield self._detail

    def _detail_columns(self, detail: DataTable) -> None:
        """(Re)create the detail columns so the reason column takes the pane's spare width."""
        fixed = sum(w for _, w in self.DETAIL_COLUMNS[:-1]) + 2 * len(self.DETAIL_COLUMNS) + 2
        reason = max(self.DETAIL_COLUMNS[-1][1], self.content_size.width - fixed)
        if detail.columns and self._detail_reason_width == reason:
            detail.clear()
            return
        self._detail_reason_width = reason
        detail.clear(columns=True)
        for label, width in (*self.DETAIL_COLUMNS[:-1], ("reason", reason)):
            detail.add_column(label, key=label, width=width)

    # -- rows --------------------------------------------------------------------------------

    def refresh_from(self, cache: Any, changes: dict[str, set[str] | None]) -> None:
        """Diff the rows of changed Deployments and of those whose RS/pods changed."""
        deployments = cache.store("deployments")
        touched = self._index_children(cache, changes)
        uids = changes.get("deployments", set())
        uids = set(views.all_uids(deployments)) if uids is None else set(uids)
        uids |= {uid for uid in touched if uid in deployments or uid in self.rows}
        self.sync((uid, self._cells(deployments.get(uid), cache)) for uid in uids)
        if self.expanded and self.expanded in uids:
            self.show_detail(cache)

    def _owned(self, cache: Any, dep_uid: str) -> tuple[list[Any], list[Any]]:
        """The Deployment's ReplicaSets and their pods, from the owner index (no full scan)."""
        rs_store, pod_store = cache.store("replicasets"), cache.store("pods")
        sets = [r for r in (rs_store.get(u) for u in self._children.get(dep_uid, ())) if r is not None]
        pods = [p for rs in sets for p in (pod_store.get(u) for u in self._children.get(rs.uid, ())) if p]
        return sets, pods

    def _cells(self, dep: Any, cache: Any) -> Cells | None:
        if dep is None:
            return None
        status = rollout.rollout_status(dep)
        diagnosis = rollout.diagnose(dep, *self._owned(cache, dep.uid))
        state = self._state_cell(status, diagnosis)
        counts = f"{dep.replicas}/{dep.updated_replicas}/{dep.ready_replicas}/{dep.available_replicas}"
        images = self._images_text(dep.images)
        progress = Text(f"{round(status.progress * 100):>3}% ")
        progress.append_text(bar(status.progress, 4, self.colour("bar-filled"), self.colour("bar-empty")))
        order = rollout.sort_key(status, dep, diagnosis)
        return (SortText(dep.key, order, width=self._column_width("name")), "Rolling" if dep.strategy == "RollingUpdate" else dep.strategy,
                counts, str(dep.revision or "-"), images, state, progress)

    def _images_text(self, images: tuple[str, ...]) -> FitText:
        """The full image references when they fit the column, else ``name:tag`` each, shortened in
        the middle when even that does not fit (the tag's end, e.g. ``-broken``, stays readable)."""
        width = self._column_width("images")
        full = ",".join(images) or "-"
        short = ",".join(short_image(i) for i in images) or "-"
        text = full if len(full) <= width else middle_ellipsis(short, width)
        return FitText(text, len(short))

    def _state_cell(self, status: Any, diagnosis: Any) -> Text:
        """``✘ Failed: ProgressDeadlineExceeded``, shortened to ``✘ Failed: timed out`` when the
        column is narrow; ``◐ Progressing ⚠ 2 pods CrashLoopBackOff`` when pods are failing."""
        shape, colour = STATE_LOOK.get(str(status.state), ("?", "state-muted"))
        state = Text(f"{shape} {status.state}", style=self.colour(colour))
        if status.reason and status.reason != "DeploymentPaused":
            room = self._column_width("state") - len(state.plain) - 2
            reason = status.reason if len(status.reason) <= room else SHORT_REASONS.get(status.reason, status.reason)
            state.append(f": {reason}")
        elif diagnosis.failing:
            state.append(f" ⚠ {diagnosis.reasons[0]}", style=self.colour("state-failed"))
        return state

    def _column_width(self, key: str) -> int:
        widths = getattr(self, "_widths", None) or self.column_widths(0)
        return widths[[k for k, _, _ in self.COLUMNS].index(key)]

    def resort(self) -> None:
        """Failed rollouts first, then by namespace/name."""
        sort_by_first(self.table, "name")

    def selected_record(self, cache: Any) -> Any:
        """The selected Deployment record."""
        key = self.selected_key()
        return cache.store("deployments").get(key) if key else None

    # -- expansion ---------------------------------------------------------------------------

    def _index_children(self, cache: Any, changes: dict[str, set[str] | None]) -> set[str]:
        """Track owner -> children from changed RS/pods only; returns deployment uids touched."""
        touched: set[str] = set()
        for kind in ("replicasets", "pods"):
            if kind not in changes:
                continue
            store = cache.store(kind)
            uids = changes[kind]
            for uid in views.all_uids(store) if uids is None else uids:
                touched |= self._reindex(uid, store.get(uid), cache)
        return touched

    def _reindex(self, uid: str, record: Any, cache: Any) -> set[str]:
        old_owner = self._owner_of.pop(uid, None)
        if old_owner:
            self._children.get(old_owner, set()).discard(uid)
        owners = {old_owner} if old_owner else set()
        if record is not None and record.owner_uid:
            self._owner_of[uid] = record.owner_uid
            self._children.setdefault(record.owner_uid, set()).add(uid)
            owners.add(record.owner_uid)
        # A pod change touches its ReplicaSet's Deployment.
        return owners | {self._owner_of.get(o, "") for o in owners} - {""}

    def on_resize(self) -> None:
        """Refit the columns (and the detail's reason column) to the new width."""
        widths = [self._column_width(key) for key in ("name", "state", "images")]
        super().on_resize()
        if [self._column_width(key) for key in ("name", "state", "images")] != widths and self.rows:
            self.retheme(self.cache)  # the name, state and image texts depend on their column's width
        if self.expanded:
            self.show_detail(self.cache)

    def toggle_expand(self) -> None:
        """Enter: show (or hide) the selected Deployment's ReplicaSets and pods."""
        key = self.selected_key()
        if key is None or key == self.expanded:
            self.collapse()
            return
        self.expanded = key
        self.add_class("-expanded")
        self.show_detail(self.cache)

    def collapse(self) -> bool:
        """Hide the detail view; True when something was open."""
        if self.expanded is None:
            return False
        self.expanded = None
        self.remove_class("-expanded")
        self._detail.clear()
        return True

    def back(self) -> bool:
        """Esc: clear the filter first, then collapse."""
        return super().back() or self.collapse()

    def show_detail(self, cache: Any) -> None:
        """Redraw the detail table for the expanded Deployment (its RS and their pods)."""
        detail = self._detail
        dep = cache.store("deployments").get(self.expanded)
        if dep is None:
            self.collapse()
            return
        self._detail_columns(detail)
        now = self.now()
        sets, pods = self._owned(cache, dep.uid)
        for rs in sorted(sets, key=lambda r: -r.revision):
            detail.add_row(*self._rs_cells(rs, now), key=rs.uid)
            for pod in sorted((p for p in pods if p.owner_uid == rs.uid), key=lambda p: p.name):
                detail.add_row(*self._pod_cells(pod, now), key=pod.uid)
        self._detail.border_title = f"{dep.key}: ReplicaSets and pods"

    def _rs_cells(self, rs: Any, now: Any) -> Cells:
        return ("RS", Text(f"{rs.pod_template_hash or rs.name}"), str(rs.revision),
                f"{rs.ready_replicas}/{rs.replicas}", "", "", "", age(now, rs.created),
                Text(",".join(short_image(i) for i in rs.images)))

    def _pod_cells(self, pod: Any, now: Any) -> Cells:
        reason = pod.waiting_reason or ("Terminating" if pod.terminating else "")
        reason_text = Text(reason, style=self.colour("state-failed") if pod.waiting_reason else "")
        return ("  pod", Text(shorten(pod.name, 26)), "", f"{pod.ready_containers}/{pod.total_containers}",
                pod.phase, str(pod.restarts), pod.node_name or "-", age(now, pod.start_time or pod.created),
                reason_text)

    def tick(self, cache: Any) -> None:
        """Ages in the detail view move with the clock: redraw it (one Deployment's rows)."""
        if self.expanded:
            self.show_detail(cache)
