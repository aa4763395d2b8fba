"""The Timeline: one chronological list of Events, cockpit actions (this and other cockpits),
derived transitions and detected problems, with filters; Enter jumps to the object's pane.

:class:`TimelineFeed` holds the rows (fed from the cache, the journal and the cluster's
cockpit Events by the app); :class:`TimelineScreen` shows them newest first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from cockpit.domain.records import EventRecord
from cockpit.domain.runbooks import Problem
from cockpit.domain.snapshot import ClusterSnapshot
from cockpit.domain.timeline import (
    EntryKind,
    Severity,
    TimelineEntry,
    TimelineFilter,
    build_timeline,
    event_time,
    filter_entries,
)
from cockpit.domain.transitions import TransitionTracker

# cache kind -> ClusterSnapshot field
SNAPSHOT_FIELDS = {"nodes": "nodes", "pods": "pods", "deployments": "deployments", "replicasets": "replicasets",
                   "services": "services", "endpointslices": "endpointslices", "poddisruptionbudgets": "pdbs",
                   "events": "events", "leases": "leases"}
KEEP_DERIVED = 500
KEEP_EVENTS = 2000  # the newest Events kept for the timeline (the cache has its own bounds)
KIND_CYCLE: tuple[frozenset[EntryKind], ...] = (frozenset(), *(frozenset({k}) for k in EntryKind))
SEVERITY_STYLE = {Severity.INFO: "", Severity.WARNING: "bold yellow", Severity.ERROR: "bold red"}
PANE_OF_KIND = {"Deployment": "rollouts", "Service": "traffic", "HTTPRoute": "traffic", "Node": "nodes",
                "Pod": "events"}


def snapshot_parts(cache: Any) -> dict[str, tuple]:
    """The cache's records per :class:`ClusterSnapshot` field (kinds the cache does not hold are
    left out). Each kind is one C-level copy of its store, cheap enough for the UI's loop at
    150,000 pods; the records themselves are immutable, so the copy is a consistent view to
    analyse on another thread."""
    parts: dict[str, tuple] = {}
    for kind, name in SNAPSHOT_FIELDS.items():
        try:
            parts[name] = tuple(cache.store(kind).values())
        except KeyError:
            continue
    return parts


def snapshot_of(cache: Any, taken_at: datetime | None = None) -> ClusterSnapshot:
    """The cache's records as one snapshot (kinds the cache does not hold are left empty)."""
    return ClusterSnapshot(**snapshot_parts(cache), taken_at=taken_at)


class TimelineFeed:
    """The timeline's sources: cluster Events (cache and events.k8s.io), journal entries, and
    the transitions and problems derived from successive snapshots.

    :meth:`observe` may run on a worker thread while the UI adds Events and journal entries and
    reads :meth:`rows`: the lists and the Event map change only under a lock, and the (heavy)
    transition tracking runs outside it (its callers run one pass at a time).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tracker = TransitionTracker()
        self.derived: list[TimelineEntry] = []
        self.problems: list[Problem] = []
        self.cluster_events: dict[str, EventRecord] = {}
        self.journal: list[Mapping[str, Any]] = []

    def observe(self, snap: ClusterSnapshot, at: datetime, problems: Iterable[Problem]) -> None:
        """Take a snapshot: new transitions are kept, problems replaced by the current ones."""
        derived = self.tracker.observe(snap, at)
        with self._lock:
            self.derived += derived
            del self.derived[:-KEEP_DERIVED]
            self.problems = list(problems)
            self._keep(snap.events)

    def add_events(self, events: Iterable[EventRecord]) -> None:
        """Events read through events.k8s.io (other cockpits' actions among them)."""
        with self._lock:
            self._keep(events)

    def _keep(self, events: Iterable[EventRecord]) -> None:
        # core/v1 and events.k8s.io/v1 show the same Event under the same namespace/name
        for event in events:
            key = f"{event.namespace}/{event.name}"
            known = self.cluster_events.get(key)
            if known is event:
                continue  # the same immutable record as last pass: nothing to decide
            # a core/v1 mirror may lack the reporting controller the events.k8s.io view names
            if known is None or event.source or not known.source:
                self.cluster_events[key] = event
        if len(self.cluster_events) > KEEP_EVENTS:
            newest = sorted(self.cluster_events.items(), key=lambda item: event_time(item[1]))[-KEEP_EVENTS:]
            self.cluster_events = dict(newest)

    def add_journal(self, entry: Mapping[str, Any]) -> None:
        """One journal entry of this cockpit."""
        with self._lock:
            self.journal.append(entry)

    def add_earlier_journal(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Entries written before this cockpit started (kept before the ones seen live; an entry
        the bus delivered while the file was being read is kept once)."""
        with self._lock:
            live = {_identity(e) for e in self.journal}
            self.journal[:0] = [e for e in entries if _identity(e) not in live]

    def rows(self, now: datetime) -> list[TimelineEntry]:
        """Everything, oldest first (built from copies taken under the lock)."""
        with self._lock:
            events, journal = list(self.cluster_events.values()), list(self.journal)
            derived, problems = list(self.derived), list(self.problems)
        return build_timeline(events, journal, [*derived, *(p.entry(now) for p in problems)])


def _identity(entry: Mapping[str, Any]) -> tuple:
    return (entry.get("ts"), entry.get("event"), entry.get("action"), entry.get("target"))


class TimelineScreen(Screen[None]):
    """Newest first. ``f`` cycles the kind filter, ``w`` the minimum severity, ``n`` the namespace;
    Enter jumps to the object."""

    DEFAULT_CSS = """
    TimelineScreen #timeline-filter { height: 1; padding: 0 1; background: $panel; }
    TimelineScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,L", "app.pop_screen", "Close", id="timeline.close"),
        Binding("f", "cycle_kind", "Kind filter", id="timeline.kind"),
        Binding("w", "cycle_severity", "Severity", id="timeline.severity"),
        Binding("n", "cycle_namespace", "Namespace", id="timeline.namespace"),
        Binding("enter", "jump", "Go to object", id="timeline.jump"),
    ]

    def __init__(self, feed: TimelineFeed, now: Any, jump: Any = None) -> None:
        super().__init__()
        self.feed, self.now, self.jump = feed, now, jump
        self.filter = TimelineFilter()
        self.shown: list[TimelineEntry] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="timeline-filter")
        yield DataTable(id="timeline-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("time", "sev", "kind", "namespace", "object", "what")
        self.refresh_rows()
        self.set_interval(1.0, self.refresh_rows)

    def refresh_rows(self) -> None:
        """Redraw from the feed (newest first), keeping the filter."""
        rows = list(reversed(filter_entries(self.feed.rows(self.now()), self.filter)))
        if rows == self.shown:
            return
        self.shown = rows
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*_cells(row))
        kinds = ",".join(sorted(k.value for k in self.filter.kinds)) or "all kinds"
        namespaces = ",".join(sorted(self.filter.namespaces)) or "all namespaces"
        self.query_one("#timeline-filter", Static).update(
            f"timeline: {len(rows)} rows │ {kinds} │ {namespaces} │ severity ≥ {self.filter.min_severity.value}")

    def action_cycle_kind(self) -> None:
        """All kinds, then events, actions, transitions and problems alone, in turn."""
        index = KIND_CYCLE.index(self.filter.kinds) if self.filter.kinds in KIND_CYCLE else 0
        self.filter = TimelineFilter(KIND_CYCLE[(index + 1) % len(KIND_CYCLE)], self.filter.namespaces,
                                     self.filter.min_severity)
        self.refresh_rows()

    def action_cycle_severity(self) -> None:
        """Minimum severity: info, warning, error, in turn."""
        order = list(Severity)
        following = order[(order.index(self.filter.min_severity) + 1) % len(order)]
        self.filter = TimelineFilter(self.filter.kinds, self.filter.namespaces, following)
        self.refresh_rows()

    def action_cycle_namespace(self) -> None:
        """All namespaces, then each namespace the timeline has seen, in turn."""
        seen = sorted({row.namespace for row in self.feed.rows(self.now()) if row.namespace})
        choices: list[frozenset[str]] = [frozenset(), *(frozenset({ns}) for ns in seen)]
        index = choices.index(self.filter.namespaces) if self.filter.namespaces in choices else 0
        self.filter = TimelineFilter(self.filter.kinds, choices[(index + 1) % len(choices)], self.filter.min_severity)
        self.refresh_rows()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        """Enter on a row (the table takes the key before the screen's binding)."""
        self.action_jump()

    def action_jump(self) -> None:
        """Close the timeline and select the row's object in its pane."""
        table = self.query_one(DataTable)
        if not self.shown or self.jump is None:
            return
        row = self.shown[table.cursor_row]
        kind, _, name = row.object.partition("/")
        self.app.pop_screen()
        self.jump(PANE_OF_KIND.get(kind, "events"), f"{row.namespace}/{name}" if row.namespace else name)


def _cells(row: TimelineEntry) -> tuple:
    style = SEVERITY_STYLE[row.severity]
    return (row.time.strftime("%H:%M:%S"), Text(row.severity.value, style=style), row.kind.value, row.namespace,
            row.object, Text(row.text + ("  " + "; ".join(row.details) if row.details else ""), style=style))


class TimelineStrip(Static):
    """The newest timeline rows in a few lines (presenter mode keeps the story on screen)."""

    DEFAULT_CSS = """
    TimelineStrip { height: auto; max-height: 3; padding: 0 1; background: $panel; display: none; }
    """
    ROWS = 3

    def show_rows(self, rows: list[TimelineEntry], on: bool) -> None:
        """Show the last :attr:`ROWS` of ``rows`` (oldest of them first) while ``on``."""
        text = Text()
        for row in rows[-self.ROWS:]:
            if text:
                text.append("\n")
            text.append(row.line(), style=SEVERITY_STYLE[row.severity])
        self.update(text)
        self.display = on and bool(rows)
