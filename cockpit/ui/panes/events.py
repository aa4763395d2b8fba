"""Events pane: the latest Warning events, newest first, with object and age."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rich.text import Text

from cockpit.ui import views
from cockpit.ui.fmt import age
from cockpit.ui.panes.base import Cells, Pane, SortText, sort_by_first

MAX_EVENTS = 200  # newest N; an event storm must not grow the table without bound
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class EventsPane(Pane):
    """Warning events keyed by uid; ages tick once a second."""

    PANE = "events"
    TITLE = "Warning events"
    KINDS = ("events",)
    # The reason leads the message cell ("Failed ×5 · Error: ImagePullBackOff"), so the text
    # that says what happened gets all the width the pane has left.
    COLUMNS = (
        ("age", "age", 3),
        ("object", "object", 18),
        ("message", "reason · message", 16),
    )
    FLEX = (("object", 4), ("message", None))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen: dict[str, datetime] = {}  # uid -> last seen, for ordering and trimming

    def refresh_from(self, cache: Any, changes: dict[str, set[str] | None]) -> None:
        """Add/update/remove the changed events, keep only the newest MAX_EVENTS."""
        store = cache.store("events")
        uids = changes.get("events")
        uids = views.all_uids(store) if uids is None else uids
        self.sync((uid, self._cells(store.get(uid), uid)) for uid in uids)
        self._trim()

    def _cells(self, event: Any, uid: str) -> Cells | None:
        if event is None or event.type != "Warning":
            self._seen.pop(uid, None)
            return None
        self._seen[uid] = event.last_seen or event.created or _EPOCH
        obj = f"{event.object_kind.lower()}/{event.object_name}"
        if event.object_namespace:
            obj = f"{event.object_namespace} {obj}"
        # Spaces end the styled run instead of starting the next one (some SVG renderers drop
        # a run's leading spaces, which glued "Failed×5" together in the screenshots).
        message = Text().append(f"{event.reason} ", style=f"bold {self.colour('state-failed')}")
        if event.count > 1:
            message.append(f"×{event.count} ")
        if event.message:
            message.append(f"· {event.message.splitlines()[0]}")
        message.rstrip()
        return (SortText(age(self.now(), self._seen[uid]), (self._seen[uid], uid)), Text(obj), message)

    def _trim(self) -> None:
        if len(self._seen) <= MAX_EVENTS:
            return
        oldest = sorted(self._seen, key=self._seen.__getitem__)[: len(self._seen) - MAX_EVENTS]
        self.sync((uid, None) for uid in oldest)
        for uid in oldest:
            self._seen.pop(uid, None)

    def resort(self) -> None:
        """Newest first (the age cell carries the timestamp it was computed from)."""
        sort_by_first(self.table, "age", reverse=True)

    def tick(self, cache: Any) -> None:
        """Refresh the age column of the rows (at most MAX_EVENTS cells)."""
        now = self.now()
        table = self.table
        for uid, seen in self._seen.items():
            if uid in table.rows:
                new = SortText(age(now, seen), (seen, uid))
                old = self.rows[uid]
                if old[0] != new:
                    self.rows[uid] = (new, *old[1:])
                    table.update_cell(uid, "age", new)
