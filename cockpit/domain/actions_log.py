"""cockpit's actions as records: grouped from the audit journal, or read from cockpit Events.

The journal holds one line per step of an action (``preview``, ``start``, ``step``...,
``result``); :func:`group_actions` folds them into one :class:`ActionRecord` per action with
its times, before/after and outcome. Actions of other operators' cockpits are known only from
the Events they recorded on the cluster: :func:`actions_from_events` turns those that this
journal does not account for into records too (without before/after, which only their own
journal holds).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from cockpit.domain.records import EventRecord
from cockpit.domain.timeline import event_time, is_cockpit_event, parse_time, state_text

TERMINAL = ("result", "failure", "refused", "declined", "cancelled")
#: Actions a running upgrade performs on its own (journaled while the upgrade is open).
UPGRADE_PARTS = ("drain", "cordon", "uncordon")
_NOTE_OPERATOR = re.compile(r"\(by (?P<operator>.+?) via cockpit, context (?P<context>[^)]*)\)")
ATTRIBUTION_SLACK = timedelta(minutes=2)
_LAST = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class ActionRecord:
    """One action, start to end.

    ``outcome`` is ok, failed, refused, declined, cancelled, no change, dry run or in progress.
    ``source`` is ``journal`` or ``event`` (known only from a cockpit Event on the cluster).
    """

    action: str
    target: str
    operator: str = ""
    context: str = ""
    started: datetime | None = None
    finished: datetime | None = None
    outcome: str = "in progress"
    message: str = ""
    before: Any = None
    after: Any = None
    before_text: str = ""
    after_text: str = ""
    commands: tuple[str, ...] = ()
    checks: tuple[Mapping[str, Any], ...] = ()
    details: tuple[str, ...] = ()
    source: str = "journal"
    entries: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)

    @property
    def time(self) -> datetime | None:
        """When it began (or, for an action without a start, when it ended)."""
        return self.started or self.finished

    def before_line(self) -> str:
        """The state before, as people read it (the preview's text, else the journaled state)."""
        return self.before_text or (state_text(self.before) if self.before not in (None, {}) else "")

    def after_line(self) -> str:
        """The state after: what the result says the cluster holds, else the planned state."""
        planned = self.after_text
        actual = state_text(self.after) if self.after not in (None, {}) else ""
        if planned and actual and self.outcome != "ok":
            return f"{actual} (planned: {planned})"
        return planned or actual


def group_actions(entries: Iterable[Mapping[str, Any]]) -> list[ActionRecord]:
    """Fold journal entries into actions, in start order. Drains, cordons and uncordons that an
    open upgrade performs belong to the upgrade and are left out (the change record shows them)."""
    open_: dict[tuple[str, str], ActionRecord] = {}
    done: list[ActionRecord] = []
    for entry in entries:
        key = (str(entry.get("action", "")), str(entry.get("target", "")))
        event = entry.get("event")
        if key[0] in UPGRADE_PARTS and _upgrade_open(open_):
            continue
        if event == "preview":
            open_[key] = _with_preview(open_.get(key) or _new(entry), entry)
        elif event == "start":
            open_[key] = _with_start(open_.get(key) or _new(entry), entry)
        elif event in TERMINAL:
            done.append(_finish(open_.pop(key, None) or _new(entry), entry))
        elif key in open_:
            open_[key] = replace(open_[key], entries=open_[key].entries + (entry,))
    done += open_.values()
    return sorted(done, key=lambda a: a.time or _LAST)


def _upgrade_open(open_: Mapping[tuple[str, str], ActionRecord]) -> bool:
    return any(action == "upgrade" and record.started for (action, _), record in open_.items())


def _new(entry: Mapping[str, Any]) -> ActionRecord:
    user = str(entry.get("user") or "?")
    kube_user = entry.get("kube_user")
    operator = f"{user} (kube user {kube_user})" if kube_user else user
    return ActionRecord(str(entry.get("action", "")), str(entry.get("target", "")), operator,
                        str(entry.get("context") or ""))


def _with_preview(record: ActionRecord, entry: Mapping[str, Any]) -> ActionRecord:
    return replace(record, before_text=str(entry.get("before_text") or ""),
                   after_text=str(entry.get("after_text") or ""), commands=tuple(entry.get("commands") or ()),
                   checks=tuple(entry.get("checks") or ()),
                   details=tuple(entry.get("details") or ()), before=entry.get("before"), after=entry.get("after"),
                   entries=record.entries + (entry,))


def _with_start(record: ActionRecord, entry: Mapping[str, Any]) -> ActionRecord:
    return replace(record, started=parse_time(entry.get("ts")), before=entry.get("before", record.before),
                   after=entry.get("after", record.after), entries=record.entries + (entry,))


def _finish(record: ActionRecord, entry: Mapping[str, Any]) -> ActionRecord:
    event = str(entry.get("event"))
    fields: dict[str, Any] = {"finished": parse_time(entry.get("ts")), "entries": record.entries + (entry,)}
    if event == "result":
        fields.update(outcome=_result_outcome(entry), message=str(entry.get("message") or ""))
        fields.update(before=entry.get("before", record.before), after=entry.get("after", record.after))
    elif event == "failure":
        fields.update(outcome="failed", message=str(entry.get("error") or entry.get("message") or ""))
        if "after" in entry:
            fields.update(after=entry["after"])
    else:
        fields.update(outcome=event, message=str(entry.get("reason") or ""))
    return replace(record, **fields)


def _result_outcome(entry: Mapping[str, Any]) -> str:
    if not entry.get("ok", True):
        return "failed"
    if entry.get("dry_run"):
        return "dry run"
    return "ok" if entry.get("changed", True) else "no change"


# ----- from the cluster's Events ------------------------------------------------------------


def note_operator(note: str) -> tuple[str, str] | None:
    """(operator, context) from a cockpit Event note ``... (by alice via cockpit, context prod)``."""
    match = _NOTE_OPERATOR.search(note)
    return (match["operator"], match["context"]) if match else None


def actions_from_events(events: Iterable[EventRecord], journal: Iterable[Mapping[str, Any]]) -> list[ActionRecord]:
    """cockpit Events that the journal does not account for, as actions (``source`` event)."""
    spans = _journal_spans(journal)
    out = []
    for event in events:
        if not is_cockpit_event(event) or _attributed(event, spans):
            continue
        operator, context = note_operator(event.message) or ("?", "?")
        message = _NOTE_OPERATOR.sub("", event.message).strip()
        target = f"{event.object_namespace}/{event.object_name}" if event.object_namespace else event.object_name
        when = event_time(event)
        out.append(ActionRecord(event.reason, target, operator, context, when, when,
                                "failed" if event.type == "Warning" else "ok", message, source="event"))
    return sorted(out, key=lambda a: a.time or _LAST)


def _journal_spans(journal: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], tuple[datetime, datetime]]:
    """(user, context) -> the first and last time this journal saw them act."""
    spans: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    for entry in journal:
        ts = parse_time(entry.get("ts"))
        if ts is None:
            continue
        key = (str(entry.get("user") or ""), str(entry.get("context") or ""))
        first, last = spans.get(key, (ts, ts))
        spans[key] = (min(first, ts), max(last, ts))
    return spans


def _attributed(event: EventRecord, spans: Mapping[tuple[str, str], tuple[datetime, datetime]]) -> bool:
    who = note_operator(event.message)
    if who is None:
        return False
    operator, context = who
    when = event_time(event)
    return any(operator.split(" (kube user")[0] == user and context == ctx
               and first - ATTRIBUTION_SLACK <= when <= last + ATTRIBUTION_SLACK
               for (user, ctx), (first, last) in spans.items())
