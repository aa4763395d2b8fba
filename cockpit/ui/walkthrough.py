"""What makes the cockpit followable on a shared screen, as the base class of the app.

- a clock with its UTC offset at the top right;
- the key-cast overlay (``b``): the last keys and what each did;
- the command echo strip: the plan's kubectl / ssh commands for the action in progress and the last;
- the Timeline (``L``): Events, actions of this and other cockpits, transitions, problems;
- the production banner and, in a production context, a typed-name confirmation;
- redaction (``x``): IPs, tokens and configured patterns masked on every line drawn;
- presenter mode (``v``): the high-contrast theme, the key-cast on and large, the newest
  timeline rows on screen;
- every toast stamped with its time; ``W`` writes the incident record.

The app composes :meth:`walkthrough_widgets` and calls :meth:`start_walkthrough` once mounted.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message

from cockpit.domain.production import is_production, matching_pattern
from cockpit.domain.redact import Redactor
from cockpit.domain.runbooks import Problem, detect_all
from cockpit.domain.snapshot import ClusterSnapshot
from cockpit.domain.timeline import TimelineEntry
from cockpit.ui.clock import HeaderClock
from cockpit.ui.echo import CommandEcho
from cockpit.ui.hints import RunbookHint
from cockpit.ui.keycast import KeyCast, describe_key
from cockpit.ui.production_guard import ProductionBanner, guarded_confirm
from cockpit.ui.redaction import RedactFilter
from cockpit.ui.timeline_view import TimelineFeed, TimelineScreen, TimelineStrip, snapshot_parts

OBSERVE_SECONDS = 1.0  # how often transitions, problems and other cockpits' Events are read
# A background pass holds the GIL for its length, slowing the UI thread while it runs: the next
# one starts at least this many pass lengths after the last ended (a 0.5 s pass at 5,000 nodes
# runs every 1.5 s, so the UI thread has the interpreter to itself at least two thirds of the time).
OBSERVE_REST = 2.0
PASS_SWITCH_INTERVAL = 0.001  # seconds: how soon the UI thread gets the GIL back during a pass
EVENTS_WINDOW = timedelta(hours=2)
PRESENTER_THEME = "cockpit-high-contrast"
KIND_PLURALS = {"Deployment": "deployments", "Service": "services", "Node": "nodes", "Pod": "pods"}


@dataclass
class Observed(Message):
    """A background pass of the problem detectors and the transition tracker finished."""

    taken_at: datetime
    problems: list[Problem]
    rows: list[TimelineEntry] | None  # the timeline, when the strip shows it (presenter mode)


class WalkthroughApp(App[int]):
    """The screen-sharing features (see the module docstring); the cockpit app derives from it."""

    CSS = "Screen { layers: base keycast; }"
    BINDINGS = [
        Binding("b", "toggle_keycast", "Key-cast", show=False, id="keycast"),
        Binding("x", "toggle_redaction", "Redact", show=False, id="redact"),
        Binding("L", "timeline", "Timeline", id="timeline"),
        Binding("v", "presenter", "Presenter", show=False, id="presenter"),
        Binding("W", "write_report", "Write report", show=False, id="report.write"),
    ]

    production = False
    clock_tz: Any = None  # None: the machine's local time zone (tests pin one for stable pictures)
    timeline: TimelineFeed
    problems: list[Problem]
    _problems_by_key: dict[str, list[Problem]]

    def walkthrough_widgets(self) -> ComposeResult:
        """The widgets the app composes on its main screen."""
        yield ProductionBanner(id="production")
        yield HeaderClock(self._walkthrough_now, self.clock_tz, id="clock")
        yield CommandEcho(id="echo")
        yield RunbookHint(id="hint")
        yield TimelineStrip(id="timeline-strip")
        yield KeyCast(id="keycast")

    def start_walkthrough(self) -> None:
        """Wire the widgets once mounted: journal bus, production check, timers."""
        main = self.screen
        self.keycast = main.query_one(KeyCast)
        self.echo = main.query_one(CommandEcho)
        self.hint = main.query_one(RunbookHint)
        self.timeline_strip = main.query_one(TimelineStrip)
        config = getattr(self, "ui_config", None)
        self.redactor = Redactor(getattr(config, "redact_patterns", ()))
        self.redact_filter = RedactFilter(self.redactor)
        self.timeline = TimelineFeed()
        self._set_problems([])
        self._observe_lock = threading.Lock()  # one pass at a time: the tracker remembers the last
        self._observing = False  # a background pass is running (its timer ticks are skipped meanwhile)
        self._observed_at: datetime | None = None  # when the snapshot of the shown problems was taken
        self._next_pass = 0.0  # monotonic time before which a timer tick starts no pass
        self._check_production(main.query_one(ProductionBanner), getattr(config, "production_contexts", ()))
        ops = getattr(self, "ops", None)
        if ops is not None:
            self._load_journal(ops.journal.path, self._walkthrough_now() - EVENTS_WINDOW)
            ops.journal.bus.subscribe(self.echo.on_journal_entry)
            ops.journal.bus.subscribe(self.timeline.add_journal)
        self.set_interval(0.5, self.keycast.fade)
        self.set_interval(OBSERVE_SECONDS, self.observe_in_background)

    @work(thread=True, group="journal", exit_on_error=False)
    def _load_journal(self, path: Any, since: datetime) -> None:
        """This cockpit's journal of the last hours into the Timeline (read off the UI thread)."""
        from cockpit.controllers.evidence import read_journal_since

        context = getattr(self, "context_name", "") or None
        entries = [e for e in read_journal_since(path, since)
                   if not context or not e.get("context") or e.get("context") == context]
        self.call_from_thread(self.timeline.add_earlier_journal, entries)

    def _walkthrough_now(self) -> datetime:
        return self.now()  # type: ignore[attr-defined]

    def _check_production(self, banner: ProductionBanner, patterns: Any) -> None:
        context = getattr(self, "context_name", "") or ""
        self.production = is_production(context, patterns)
        if self.production:
            client = getattr(getattr(self, "source", None), "client", None)
            server = getattr(getattr(client, "config", None), "host", "") or ""
            banner.show_context(context, str(server), matching_pattern(context, patterns) or "")

    def notify(self, message: str, *, title: str = "", **options: Any) -> None:
        """Every toast carries the time it was raised (watchers join late)."""
        now = getattr(self, "now", None)
        if now is not None:
            title = f"{now().astimezone(self.clock_tz):%H:%M:%S} {title}".strip()
        super().notify(message, title=title, **options)

    # -- key-cast ------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Every key passes here first (before bindings): cast it, then handle it as usual."""
        if isinstance(event, events.Key) and not event.is_forwarded and getattr(self, "keycast", None) is not None:
            try:
                what = describe_key(self, event.key)
            except Exception:  # noqa: BLE001 - casting is decoration; it must never eat a key
                what = ""
            self.keycast.record(event.key, what, self.focused)
        await super().on_event(event)

    def action_toggle_keycast(self) -> None:
        """``b``: the key-cast overlay on or off."""
        on = self.keycast.toggle()
        self.notify(f"key-cast {'on' if on else 'off'}", timeout=2)

    # -- redaction -----------------------------------------------------------------------------

    def get_line_filters(self) -> list[Any]:
        """Textual's filters, plus redaction while it is on."""
        filters = list(super().get_line_filters())
        redact = getattr(self, "redact_filter", None)
        if redact is not None and redact.enabled:
            filters.append(redact)
        return filters

    def action_toggle_redaction(self) -> None:
        """``x``: mask IPs, tokens and configured patterns everywhere on screen, or stop."""
        self.set_redaction(not self.redact_filter.enabled)

    def set_redaction(self, on: bool) -> None:
        """Turn redaction on or off and redraw every widget of every screen."""
        self.redact_filter.enabled = on
        for screen in self.screen_stack:
            for widget in screen.walk_children():
                widget.refresh()
            screen.refresh()
        self.notify(f"redaction {'on' if on else 'off'}", timeout=2)

    # -- presenter mode ------------------------------------------------------------------------

    def action_presenter(self) -> None:
        """``v``: high-contrast theme, a large key-cast and the newest timeline rows, or back."""
        presenting = not self.has_class("-presenter")
        self.set_class(presenting, "-presenter")
        if presenting:
            self._theme_before = self.theme
            if PRESENTER_THEME in self.available_themes:
                self.theme = PRESENTER_THEME
            if not self.keycast.enabled:
                self.keycast.toggle()
        else:
            self.theme = getattr(self, "_theme_before", self.theme)
            if self.keycast.enabled:
                self.keycast.toggle()
        self.keycast.set_class(presenting, "-large")
        self.observe_cluster()

    # -- timeline and problems -----------------------------------------------------------------

    def observe_cluster(self) -> None:
        """One pass now, on the UI thread: transitions and problems from the cache, other
        cockpits' Events. For the explicit moments (the Timeline key, presenter mode, tests);
        the once-a-second pass runs in the background (:meth:`observe_in_background`)."""
        now = self._walkthrough_now()
        presenting = self.has_class("-presenter")
        problems, rows = self._observe(snapshot_parts(self.cache), now, presenting)  # type: ignore[attr-defined]
        self._show_observation(Observed(now, problems, rows))

    def observe_in_background(self) -> None:
        """The timer's pass: the UI loop only copies the store's record references (C-speed,
        about a millisecond at 150,000 pods); the detectors, which cost O(objects) of Python
        (0.6 s at 5,000 nodes), run on a worker thread and post :class:`Observed` back."""
        if self._observing or time.monotonic() < self._next_pass:
            return  # the last pass is still running or resting: skip this tick rather than queue passes
        self._observing = True
        now = self._walkthrough_now()
        self._observe_worker(snapshot_parts(self.cache), now, self.has_class("-presenter"))  # type: ignore[attr-defined]

    @work(thread=True, group="observe", exit_on_error=False)
    def _observe_worker(self, parts: dict[str, tuple], now: datetime, presenting: bool) -> None:
        started = time.monotonic()
        # The default 5 ms switch interval makes the UI thread wait up to 5 ms for the GIL after
        # every system call (each socket read, each select) while this thread computes.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, PASS_SWITCH_INTERVAL))
        try:
            problems, rows = self._observe(parts, now, presenting)
        finally:
            sys.setswitchinterval(interval)
            ended = time.monotonic()
            self._next_pass = ended + OBSERVE_REST * (ended - started)
            self._observing = False
        self.post_message(Observed(now, problems, rows))

    def _observe(self, parts: dict[str, tuple], now: datetime,
                 presenting: bool) -> tuple[list[Problem], list[TimelineEntry] | None]:
        """Detect problems and feed the timeline from one snapshot (any thread; passes are serial)."""
        snap = ClusterSnapshot(**parts, taken_at=now)
        with self._observe_lock:
            problems = detect_all(snap, now)
            self.timeline.observe(snap, now, problems)
        return problems, self.timeline.rows(now) if presenting else None

    @on(Observed)
    def _show_observation(self, observed: Observed) -> None:
        """Show a pass's problems (hint line) and timeline rows (strip); O(problems), UI thread."""
        if self._observed_at is not None and observed.taken_at < self._observed_at:
            return  # an older background pass finishing after a newer explicit one
        self._observed_at = observed.taken_at
        self._set_problems(observed.problems)
        self.show_hint()
        if observed.rows is not None:
            self.timeline_strip.show_rows(observed.rows, self.has_class("-presenter"))
        elif not self.has_class("-presenter"):
            self.timeline_strip.display = False
        if getattr(self, "ops", None) is not None:
            self._read_cluster_events()

    def _set_problems(self, problems: list[Problem]) -> None:
        self.problems = problems
        by_key: dict[str, list[Problem]] = {}
        for problem in problems:
            by_key.setdefault(problem.object_key, []).append(problem)
        self._problems_by_key = by_key

    @work(group="timeline", exclusive=True, exit_on_error=False)
    async def _read_cluster_events(self) -> None:
        from cockpit.controllers.evidence import read_events

        try:
            since = self._walkthrough_now() - EVENTS_WINDOW
            events_ = await read_events(self.ops.api, since)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - the cache's own Events still feed the timeline
            return
        self.timeline.add_events(events_)

    def action_timeline(self) -> None:
        """``L``: the Timeline screen."""
        self.observe_cluster()
        self.push_screen(TimelineScreen(self.timeline, self._walkthrough_now, self.jump_to_object))

    def jump_to_object(self, pane_id: str, key: str) -> None:
        """Focus ``pane_id`` and put its cursor on the row of ``key`` (``ns/name`` or a node name)."""
        try:
            pane = self.pane(pane_id)  # type: ignore[attr-defined]
        except StopIteration:
            return
        self.focus_pane(pane_id)  # type: ignore[attr-defined]
        row = key if key in pane.rows else self._uid_of(pane, key)
        if row is not None and row in pane.table.rows:
            pane.table.move_cursor(row=pane.table.get_row_index(row))

    def _uid_of(self, pane: Any, key: str) -> str | None:
        for kind in getattr(pane, "KINDS", ()):
            try:
                record = self.cache.store(kind).get_by_key(key)  # type: ignore[attr-defined]
            except KeyError:
                continue
            if record is not None:
                return record.uid
        return None

    def on_data_table_row_highlighted(self, _event: Any) -> None:
        """The cursor moved: show the hint of the newly selected object."""
        self.show_hint()

    def show_hint(self) -> None:
        """The runbook hint of the focused pane's selected object (hidden when it has none)."""
        hint = getattr(self, "hint", None)
        if hint is None:
            return
        try:
            record = self.current_pane().selected_record(self.cache)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - no pane or no row: no hint
            record = None
        problems = self.problems_for(record.key) if record is not None else []
        hint.show_problems(problems, self.key_for_action)

    def key_for_action(self, action_id: str) -> str | None:
        """The key bound to a registered action (None when it has none)."""
        action = self.registry.get(action_id)  # type: ignore[attr-defined]
        if action is None or (action.mutating and self.read_only):  # type: ignore[attr-defined]
            return None  # a read-only cockpit (a follower) shows the advice without offering the key
        return action.key

    def problems_for(self, key: str) -> list[Problem]:
        """The detected problems on one object (``ns/name`` or a node name), for hints on rows
        (indexed: the hint is looked up on every cursor move, among thousands of problems)."""
        return list(self._problems_by_key.get(key, ()))

    # -- the incident record -------------------------------------------------------------------

    @work(group="report", exclusive=True, exit_on_error=False)
    async def action_write_report(self) -> None:
        """``W``: write the incident record of the last two hours (as ``cockpit report``) to a file."""
        ops = getattr(self, "ops", None)
        if ops is None:
            self.notify("no cluster connection: nothing to report from", severity="warning")
            return
        path = await write_report(ops, self._walkthrough_now(), getattr(self, "context_name", "") or None)
        self.notify(f"incident record written: {path}", title="report", timeout=10)

    # -- production guard ----------------------------------------------------------------------

    def guarded(self, ask: Any) -> Any:
        """The driver confirmation to use: in production, followed by the typed-name check."""
        if not self.production:
            return ask
        return guarded_confirm(self, ask, getattr(self, "context_name", "") or "")


async def write_report(ops: Any, now: datetime, context: str | None) -> Any:
    """Write the incident record beside the journal (``reports/incident-<time>.md``); returns the path."""
    from cockpit.controllers.evidence import gather_report_input
    from cockpit.domain.report import build_report

    inp = await gather_report_input(ops.api, ops.journal.path, now - EVENTS_WINDOW, context=context,
                                    generated_by=ops.operator)
    folder = ops.journal.path.parent / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"incident-{now:%Y%m%d-%H%M%S}.md"
    partial = path.with_suffix(".md.partial")  # whoever watches the folder never sees half a file
    partial.write_text(build_report(inp), encoding="utf-8")
    partial.replace(path)
    return path
