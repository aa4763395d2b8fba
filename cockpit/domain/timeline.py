"""One chronological stream of what happened, for the Timeline pane and the incident report.

Three sources merge into :class:`TimelineEntry` rows:

- Kubernetes Events (kubelet, scheduler, controllers...): kind ``event``; Warning events sort
  before Normal ones at the same time.
- cockpit's own actions: from the local audit journal (``start``, ``result``, ``failure``,
  ``refused``...) and from the Events other cockpits recorded (``reportingController:
  cockpit``): kind ``action``. An Event that merely repeats a journal ``result`` is dropped.
- state transitions derived from successive snapshots (:mod:`cockpit.domain.transitions`) and
  detected problems (:mod:`cockpit.domain.runbooks`): kinds ``transition`` and ``problem``.

Pure: callers pass records and journal entries; nothing here reads files or the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from cockpit.domain.records import EventRecord

COCKPIT_CONTROLLER = "cockpit"
DUPLICATE_WINDOW = timedelta(minutes=2)  # an Event within this of its journal result repeats it
STATE_TEXT_LIMIT = 160


class Severity(StrEnum):
    """How loud an entry is; ordered info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error."""
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class EntryKind(StrEnum):
    """Where an entry comes from."""

    EVENT = "event"
    ACTION = "action"
    TRANSITION = "transition"
    PROBLEM = "problem"


@dataclass(frozen=True)
class TimelineEntry:
    """One row: when, how loud, what kind, which object (``Kind/name``), and what happened.

    ``source`` says who reported it (``kubelet``, ``cockpit alice@prod``); ``details`` holds
    extra lines (before/after of an action, evidence of a problem).
    """

    time: datetime
    severity: Severity
    kind: EntryKind
    namespace: str
    object: str
    text: str
    source: str = ""
    details: tuple[str, ...] = ()

    @property
    def sort_key(self) -> tuple[datetime, int]:
        """Chronological; at equal times the louder entry first."""
        return (self.time, -self.severity.rank)

    def line(self, tz: timezone | None = None) -> str:
        """``07:19:17 warning shop Deployment/checkout: text`` (time in ``tz``, default UTC)."""
        stamp = self.time.astimezone(tz or timezone.utc).strftime("%H:%M:%S")
        where = f"{self.namespace} " if self.namespace else ""
        return f"{stamp} {self.severity.value:<7} {where}{self.object}: {self.text}"


# ----- Kubernetes Events -------------------------------------------------------------------


def parse_time(text: Any) -> datetime | None:
    """An API or journal timestamp (``2026-12-02T07:19:38.289666Z``) as an aware datetime."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=timezone.utc)
    if not text or not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def event_time(event: EventRecord) -> datetime:
    """When an Event last happened (aware; the epoch when the Event carries no time at all)."""
    return parse_time(event.last_seen or event.first_seen or event.created) or _EPOCH


def is_cockpit_event(event: EventRecord) -> bool:
    """Recorded by a cockpit (this one or another operator's)."""
    return event.source == COCKPIT_CONTROLLER


def event_entry(event: EventRecord) -> TimelineEntry:
    """A Kubernetes Event as a timeline row (cockpit's own Events become ``action`` rows)."""
    severity = Severity.WARNING if event.type == "Warning" else Severity.INFO
    kind = EntryKind.ACTION if is_cockpit_event(event) else EntryKind.EVENT
    times = f" (x{event.count})" if event.count > 1 else ""
    return TimelineEntry(event_time(event), severity, kind, event.object_namespace,
                         f"{event.object_kind}/{event.object_name}", f"{event.reason}: {event.message}{times}",
                         event.source or "")


def event_entries(events: Iterable[EventRecord], journal: Iterable[Mapping[str, Any]] = ()) -> list[TimelineEntry]:
    """Events as rows, without the cockpit Events that repeat a ``result`` of ``journal``."""
    results = [e for e in journal if e.get("event") in ("result", "failure")]
    return [event_entry(e) for e in events if not (is_cockpit_event(e) and _repeats_journal(e, results))]


def _repeats_journal(event: EventRecord, results: list[Mapping[str, Any]]) -> bool:
    when = event_time(event)
    for entry in results:
        message = str(entry.get("message") or entry.get("error") or "")
        ts = parse_time(entry.get("ts"))
        if message and ts and abs(when - ts) <= DUPLICATE_WINDOW and event.message.startswith(message):
            return True
    return False


# ----- the journal ------------------------------------------------------------------------

#: The object kind an action's target names.
ACTION_KINDS = {
    "switch": "Service", "shift": "HTTPRoute", "shift-plan": "HTTPRoute", "shift-abort": "HTTPRoute",
    "undo": "Deployment", "pause": "Deployment", "resume": "Deployment", "restart": "Deployment",
    "cordon": "Node", "uncordon": "Node", "drain": "Node", "upgrade": "Node", "upgrade-skip": "Node",
}
#: Journal events that become timeline rows (previews, SSH commands and plain steps do not).
JOURNAL_EVENTS = ("start", "result", "failure", "refused", "declined", "cancelled", "blocked",
                  "lock-takeover", "event_failed")


def split_target(action: str, target: str) -> tuple[str, str, str]:
    """(namespace, kind, name) of a journal target (``shop/web``, ``worker-3``, ``cluster->1.33.1``)."""
    if "->" in target:
        return "", "Cluster", target
    namespace, _, name = target.rpartition("/")
    return namespace, ACTION_KINDS.get(action, ""), name


def journal_entry(entry: Mapping[str, Any]) -> TimelineEntry | None:
    """One journal entry as a timeline row, or None for entries the timeline leaves out."""
    event = entry.get("event")
    ts = parse_time(entry.get("ts"))
    if event not in JOURNAL_EVENTS or ts is None:
        return None
    action, target = str(entry.get("action", "")), str(entry.get("target", ""))
    namespace, kind, name = split_target(action, target)
    text, severity = _journal_text(event, action, target, entry)
    who = f"cockpit {entry.get('user') or '?'}@{entry.get('context') or '?'}"
    # The result row carries before/after; repeating them on the start row adds only noise.
    details = before_after(entry) if event != "start" else ()
    return TimelineEntry(ts, severity, EntryKind.ACTION, namespace, f"{kind}/{name}" if kind else name, text,
                         who, details)


def _journal_text(event: str, action: str, target: str, entry: Mapping[str, Any]) -> tuple[str, Severity]:
    dry = " [dry run]" if entry.get("dry_run") else ""
    if event == "start":
        return f"{action} {target} started{dry}", Severity.INFO
    if event == "result":
        ok = entry.get("ok", True)
        return f"{action}{dry}: {entry.get('message', 'done')}", Severity.INFO if ok else Severity.ERROR
    if event == "failure":
        return f"{action} failed: {entry.get('error', '?')}", Severity.ERROR
    if event == "refused":
        return f"{action} refused: {entry.get('reason', '?')}", Severity.WARNING
    if event == "blocked":
        return f"{action} blocked by PDB {entry.get('pdb', '?')}: {entry.get('message', '')}", Severity.WARNING
    if event == "event_failed":
        return f"{action}: Kubernetes Event not recorded: {entry.get('error', '?')}", Severity.WARNING
    return f"{action} {event.replace('-', ' ')}", Severity.WARNING if event == "lock-takeover" else Severity.INFO


def journal_entries(entries: Iterable[Mapping[str, Any]]) -> list[TimelineEntry]:
    """The journal's rows (see :data:`JOURNAL_EVENTS`)."""
    rows = (journal_entry(e) for e in entries)
    return [r for r in rows if r is not None]


def before_after(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """``before: ...`` / ``after: ...`` lines of a journal entry (empty when it has neither)."""
    lines = []
    for key in ("before", "after"):
        value = entry.get(key)
        if value not in (None, {}, ""):
            lines.append(f"{key}: {state_text(value)}")
    return tuple(lines)


def state_text(value: Any, limit: int = STATE_TEXT_LIMIT) -> str:
    """A compact one-line rendering of a journaled state (``selector app=web,color=blue``)."""
    text = _flatten(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flatten(value: Any) -> str:
    if isinstance(value, Mapping):
        if value and all(not isinstance(v, (Mapping, list)) for v in value.values()):
            return ",".join(f"{k}={v}" for k, v in value.items())
        return "; ".join(f"{k} {_flatten(v)}" for k, v in value.items() if v not in (None, "", {}, []))
    if isinstance(value, (list, tuple)):
        return ", ".join(_flatten(v) for v in value)
    return str(value)


# ----- merging and filtering --------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def merge(*streams: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """All rows of all streams in one chronological list (louder first at equal times)."""
    rows = [row for stream in streams for row in stream]
    return sorted(rows, key=lambda r: r.sort_key)


def build_timeline(events: Iterable[EventRecord] = (), journal: Iterable[Mapping[str, Any]] = (),
                   derived: Iterable[TimelineEntry] = ()) -> list[TimelineEntry]:
    """The merged stream: Events (deduplicated against the journal), journal rows, derived rows."""
    journal = list(journal)
    return merge(event_entries(events, journal), journal_entries(journal), derived)


@dataclass(frozen=True)
class TimelineFilter:
    """What the Timeline pane shows: kinds and namespaces (empty = all), a minimum severity,
    and a time window start."""

    kinds: frozenset[EntryKind] = frozenset()
    namespaces: frozenset[str] = frozenset()
    min_severity: Severity = Severity.INFO
    since: datetime | None = None

    def accepts(self, row: TimelineEntry) -> bool:
        """Whether ``row`` passes every criterion."""
        return ((not self.kinds or row.kind in self.kinds)
                and (not self.namespaces or row.namespace in self.namespaces)
                and row.severity.rank >= self.min_severity.rank
                and (self.since is None or row.time >= self.since))


def filter_entries(rows: Iterable[TimelineEntry], timeline_filter: TimelineFilter) -> list[TimelineEntry]:
    """The rows ``timeline_filter`` accepts, order kept."""
    return [r for r in rows if timeline_filter.accepts(r)]
