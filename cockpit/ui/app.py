"""The cockpit application: four live panes over the cluster cache.

Data flow: the state layer (``cockpit.kube.informers.ClusterCache`` or a fixture cache with the
same interface) marks changed uids per kind; a timer (``refresh_seconds``, default 0.25 s)
takes those changes and hands each pane only the kinds it shows, inside one batch_update. No
pane redraws everything for an event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.actions import SkipAction
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from cockpit.controllers.driver import Driver, Services
from cockpit.controllers.operation import Result
from cockpit.errors import CockpitError
from cockpit.ui.actions.registry import PANES, REGISTRY, ActionContext, ActionRegistry, check_allowed
from cockpit.ui.commands import CockpitCommands
from cockpit.ui.config import UiConfig
from cockpit.ui.screens.operation import OperationScreen
from cockpit.ui.screens.help import HelpScreen
from cockpit.ui.panes.base import Pane
from cockpit.ui.panes.events import EventsPane
from cockpit.ui.panes.nodes import NodesPane
from cockpit.ui.panes.rollouts import RolloutsPane
from cockpit.ui.panes.traffic import TrafficPane
from cockpit.ui.status import StatusLine, connection_text
from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.themes import DEFAULT_THEME, SEMANTIC_DEFAULTS, ThemeSet, load_themes
from cockpit.ui.walkthrough import WalkthroughApp

CSS_PATH = Path(__file__).with_name("cockpit.tcss")
NARROW_WIDTH = 120
NARROW_HEIGHT = 36
FLUSH_SLICE = 2000  # changed keys per kind taken at a time
FLUSH_BUDGET = 0.025  # seconds of pane diffing per flush before handing the loop back
FLUSH_AGAIN = 0.005  # delay of the flush that carries on a backlog


class CockpitApp(WalkthroughApp):
    """The TUI. ``source`` provides ``cache`` and async ``start()``/``stop()`` (see ui.source)."""

    CSS_PATH = CSS_PATH
    TITLE = "cockpit"
    COMMANDS = App.COMMANDS | {CockpitCommands}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="quit.interrupt"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("colon", "command_palette", "Palette", id="palette"),
        # Textual adds ctrl+p only when no binding opens the palette; the help screen promises both.
        Binding("ctrl+p", "command_palette", "Palette", show=False, priority=True, id="palette.ctrl_p"),
        # priority: the Screen's own tab (focus_next) would otherwise win and skip hidden panes.
        Binding("tab", "focus_pane_offset(1)", "Next pane", show=False, priority=True, id="pane.next"),
        Binding("shift+tab", "focus_pane_offset(-1)", "Prev pane", show=False, priority=True, id="pane.prev"),
        Binding("m", "toggle_maximize", "Max", id="maximize"),
        # priority (as the pane keys below): "/" must move the keyboard to the filter the moment
        # it is read, so the letters that arrived with it (one ssh packet, a fast typist) land in
        # the filter, not on the pane's keys; check_action stands both aside while an input has
        # the keyboard or a dialog is open.
        Binding("slash", "filter", "Filter", priority=True, id="filter"),
        Binding("escape", "back", "Back", id="back"),
        Binding("t", "cycle_theme", "Theme", id="theme.cycle"),
        # priority: a pane key is acted on in the order it was typed, before "/" or any key
        # after it, so "3/work" filters the Nodes pane, not the one that had the focus.
        *(Binding(str(i), f"focus_pane('{p}')", p.title(), show=False, priority=True, id=f"pane.{p}")
          for i, p in enumerate(PANES, 1)),
    ]

    def __init__(self, source: Any, *, config: UiConfig | None = None, read_only: bool = False,
                 theme: str | None = None, context: str = "", namespace: str | None = None,
                 clock: Callable[[], datetime] | None = None, registry: ActionRegistry | None = None,
                 services: dict[str, Any] | None = None, themes: ThemeSet | None = None,
                 ops: Services | None = None, metrics: Any = None, follow: bool = False) -> None:
        super().__init__()
        self.source = source
        self.ui_config = config or UiConfig()
        self.follow = follow  # --follow: watching another operator's session (always read-only)
        self.read_only = read_only or follow
        self.context_name = context
        self.namespace = namespace
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.registry = registry if registry is not None else REGISTRY
        self.services = {"config": self.ui_config, **(services or {})}
        self.ops = ops
        self.metrics = metrics  # the Traffic pane's live request numbers (controllers.traffic_metrics)
        self.theme_set = themes if themes is not None else load_themes()
        self._wanted_theme = theme or self.ui_config.theme
        self.banner_text = ""
        self._panes: list[Pane] = []
        self._banner_from_feed = False
        self._quit_armed = False
        self.flush_pending = False  # changes are waiting for the next flush slice
        self._flush_scheduled = False

    # -- set-up ------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Defaults for the semantic colours so any theme (even Textual's own) works."""
        return dict(SEMANTIC_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield StatusLine(id="topbar")
        yield from self.walkthrough_widgets()
        yield Static("", id="banner")
        yield Static("", id="tabs")
        with Container(id="grid"):
            yield RolloutsPane(self.registry, self.cache, self.now)
            yield TrafficPane(self.registry, self.cache, self.now, labels=self.ui_config.bluegreen_labels,
                              metrics=self.metrics)
            yield NodesPane(self.registry, self.cache, self.now)
            yield EventsPane(self.registry, self.cache, self.now)
        yield Footer()

    def on_mount(self) -> None:
        # Cached once: queries from the app go to the *active* screen, which may be a modal.
        main = self.screen
        self._topbar = main.query_one(StatusLine)
        self._banner = main.query_one("#banner", Static)
        self._tabs = main.query_one("#tabs", Static)
        self._panes = list(main.query(Pane))
        self._install_themes()
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        if self.ui_config.keymap:
            self.set_keymap(self.ui_config.keymap)
        self.panes()[0].table.focus()
        self._update_layout_mode()
        self.refresh_topbar()
        self.set_interval(self.ui_config.refresh_seconds, self.flush)
        self.set_interval(1.0, self.tick_ages)
        self.start_walkthrough()
        self.start_source()

    def _install_themes(self) -> None:
        for theme in self.theme_set.themes.values():
            self.register_theme(theme)
        for error in self.theme_set.errors:
            self.show_banner(error)
        wanted = self._wanted_theme
        name = self.theme_set.resolve(wanted) or (wanted if wanted in self.available_themes else None)
        if wanted and name is None:
            self.show_banner(f"theme {wanted!r} not found; using {DEFAULT_THEME}")
        self.theme = name or (DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark")

    @work(group="source", name="connect", exit_on_error=False)
    async def start_source(self) -> None:
        """Start the state layer; a failure becomes the banner (see on_worker_state_changed)."""
        await self.source.start()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is reported: a banner and a toast, never a traceback."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        text = str(error) if isinstance(error, CockpitError) else f"{type(error).__name__}: {error}"
        self.show_banner(f"{event.worker.name}: {text}" if event.worker.group == "action" else text)
        self.notify(text, title=event.worker.name, severity="error")

    async def on_unmount(self) -> None:
        try:
            await self.source.stop()
        except Exception:  # noqa: BLE001 - shutting down anyway
            pass

    # -- live updates ------------------------------------------------------------------------

    @property
    def cache(self) -> Any:
        """The state layer's cache (ClusterCache or a fixture with the same interface)."""
        return self.source.cache

    def now(self) -> datetime:
        """The (possibly frozen) current time used for ages."""
        return self.clock()

    def panes(self) -> list[Pane]:
        """The four panes in order."""
        return self._panes

    def pane(self, pane_id: str) -> Pane:
        """A pane by id (``rollouts``, ``traffic``, ``nodes``, ``events``)."""
        return next(p for p in self._panes if p.PANE == pane_id)

    def flush(self) -> None:
        """Take the cache's changed keys and let each pane diff the rows they touch.

        The work per call is bounded: slices of at most FLUSH_SLICE keys per kind, until
        FLUSH_BUDGET seconds are spent. A bigger backlog (the first list of a big cluster)
        is carried on by a flush scheduled right after, so key presses and repaints get
        their turn in between. The store's changed set is keyed by uid, so an object that
        changes many times between two flushes is diffed once.
        """
        cache = self.cache
        started = time.perf_counter()
        with self.batch_update():
            backlog = True
            while backlog and time.perf_counter() - started < FLUSH_BUDGET:
                changes = cache.take_changes(limit=FLUSH_SLICE)
                backlog = any(len(uids) >= FLUSH_SLICE for uids in changes.values())
                self._flush_changes(cache, changes)
            self.refresh_topbar()
            self._poll_source_error()
        self.flush_pending = backlog
        if backlog and not self._flush_scheduled:
            self._flush_scheduled = True
            self.set_timer(FLUSH_AGAIN, self._flush_backlog)

    def _flush_backlog(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def _flush_changes(self, cache: Any, changes: dict[str, set[str]]) -> None:
        for pane in self.panes():
            pane.show_forbidden(pane_forbidden(pane, cache))
            relevant = {k: v for k, v in changes.items() if k in pane.KINDS}
            if relevant:
                pane.refresh_from(cache, relevant)

    def tick_ages(self) -> None:
        """Once a second: refresh age cells of the panes that show ages (visible rows only)."""
        for pane in self.panes():
            pane.tick(self.cache)

    def _poll_source_error(self) -> None:
        error = getattr(self.cache, "last_error", None)
        if error:
            self.show_banner(str(error).splitlines()[0], from_feed=True)
        elif self._banner_from_feed:
            self.show_banner("")  # the connection recovered: its error no longer applies

    def refresh_topbar(self) -> None:
        """Redraw the connection indicator and context line."""
        self._topbar.update(connection_text(
            self.cache, self.context_name, self.namespace, self.read_only, self.now(), self.follow))

    def show_banner(self, message: str, from_feed: bool = False) -> None:
        """Show a one-line error banner (empty message hides it).

        ``from_feed`` marks connection errors, which clear themselves once the feed recovers;
        other banners (bad theme, refused action) stay until replaced.
        """
        self._banner_from_feed = from_feed and bool(message)
        self.banner_text = message.splitlines()[0] if message else ""
        banner = self._banner
        banner.update(Text(f"⚠ {self.banner_text}") if self.banner_text else "")
        banner.display = bool(self.banner_text)

    def _on_theme_changed(self, _theme: object) -> None:
        # Colours are baked into the cells (Rich Text), so redraw every pane once.
        with self.batch_update():
            for pane in self.panes():
                pane.retheme(self.cache)

    # -- layout ------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._update_layout_mode()

    def _update_layout_mode(self) -> None:
        if not self._panes:
            return
        narrow = self.size.width < NARROW_WIDTH or self.size.height < NARROW_HEIGHT
        self.set_class(narrow, "-narrow")
        self._mark_current(self.current_pane())

    def current_pane(self) -> Pane:
        """The pane holding focus (the first pane when focus is elsewhere)."""
        focused = self.focused
        for pane in self.panes():
            if focused is not None and (focused is pane or pane in focused.ancestors):
                return pane
        return next((p for p in self.panes() if p.has_class("-current")), self.panes()[0])

    def _mark_current(self, current: Pane) -> None:
        parts = []
        for i, pane in enumerate(self.panes(), 1):
            pane.set_class(pane is current, "-current")
            label = f" {i} {pane.TITLE} "
            parts.append((label, "reverse bold") if pane is current else (label, ""))
        self._tabs.update(Text.assemble(*parts, ("  tab: next pane", "dim")))

    def on_descendant_focus(self) -> None:
        if not self.screen_stack:  # focus moves while the app shuts down
            return
        self._mark_current(self.current_pane())

    # -- actions -----------------------------------------------------------------------------

    def focus_pane(self, pane_id: str) -> None:
        """Focus a pane's table by pane id."""
        pane = self.pane(pane_id)
        if self.screen.maximized is not None and self.screen.maximized is not pane:
            self.screen.maximize(pane, container=False)
        # Now, not on the next turn (Widget.focus defers): a key typed right after the pane key
        # must reach this pane, never act on the row of the pane that had focus before.
        self.screen.set_focus(pane.table)
        self._mark_current(pane)

    def action_focus_pane(self, pane_id: str) -> None:
        self.focus_pane(pane_id)

    def action_focus_pane_offset(self, offset: int) -> None:
        if self.screen is not self.screen_stack[0]:
            raise SkipAction()  # a modal is open: let it use tab itself
        panes = self.panes()
        index = panes.index(self.current_pane())
        self.focus_pane(panes[(index + offset) % len(panes)].PANE)

    def maximize_pane(self, pane_id: str) -> None:
        """Show only one pane (Esc or m restores the grid)."""
        self.focus_pane(pane_id)
        self.screen.maximize(self.pane(pane_id), container=False)

    def action_toggle_maximize(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        else:
            self.maximize_pane(self.current_pane().PANE)

    def action_filter(self) -> None:
        self.current_pane().open_filter()

    def clear_refusal(self) -> None:
        """Drop a refusal banner (feed errors stay until the feed recovers)."""
        if self.banner_text and not self._banner_from_feed:
            self.show_banner("")

    def action_back(self) -> None:
        """Esc: clear a refusal banner, close the filter, collapse a row, or restore the grid, in that order."""
        if self.banner_text and not self._banner_from_feed:
            self.clear_refusal()
            return
        if self.current_pane().back():
            return
        if self.screen.maximized is not None:
            self.screen.minimize()

    async def action_quit(self) -> None:
        """Quit, unless an action is running (quitting would cancel it half-way).

        An upgrade run is resumable from the cluster, so a second ``q`` quits anyway (the run
        stops where it is, its lock is released, and a new ``U``/``T`` or ``cockpit upgrade run``
        carries on); the first one only warns.
        """
        if any(isinstance(s, OperationScreen) and s.has_class("-running") for s in self.screen_stack):
            self.notify("an action is running: press esc to cancel it first", severity="warning")
            return
        if self.pane("nodes").upgrade.running() and not self._quit_armed:
            self._quit_armed = True
            self.notify("an upgrade is running: pause (P) or abort (A) it, or press q again to stop it "
                        "here (it resumes from the recorded state)", severity="warning", timeout=8)
            return
        self.exit(0)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.binding_groups(), self._keymap))

    def binding_groups(self) -> list[tuple[str, list[Binding]]]:
        """Bindings for the help screen: global, then per pane (table bindings and actions)."""
        groups = [("global", [b for b in self.BINDINGS if isinstance(b, Binding)])]
        for pane in self.panes():
            groups.append((pane.PANE, list(pane.table_bindings())))
        return groups

    def theme_names(self) -> list[str]:
        """The cockpit's themes (shipped and user), in cycle order."""
        return sorted(self.theme_set.themes) or [self.theme]

    def action_cycle_theme(self) -> None:
        names = self.theme_names()
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    async def run_pane_action(self, action_id: str) -> None:
        """Run a registered action on the current pane's selected row (the single entry point)."""
        action = self.registry.get(action_id)
        if action is None:
            self.show_banner(f"unknown action {action_id!r}")
            return
        self.clear_refusal()  # an old refusal would look like the answer to this action
        # With a cluster connection the driver refuses (and journals) operations in read-only
        # mode; without one there is no journal, so the UI's choke point says no; and an action
        # that asks a question first is refused before asking it.
        if action.operation is None or self.ops is None or action.prompt is not None:
            try:
                if action.prompt is not None and action.mutating and self.ops is not None:
                    Driver(self.ops, _never).refuse_if_read_only(action.id, "")  # journaled, before asking
                check_allowed(action, self.read_only)
            except CockpitError as exc:
                self.show_banner(str(exc))
                self.notify(str(exc), severity="error")
                return
        pane = self._pane_for(action.pane)
        ctx = ActionContext(action.pane, pane.selected_key() if pane else None,
                            pane.selected_record(self.cache) if pane else None,
                            {**self.services, "cache": self.cache, "pane": pane}, self.read_only, ops=self.ops)
        if action.needs_row and ctx.row_key is None:
            self.notify(f"{action.title}: select a row first", severity="warning")
            return
        if action.prompt is not None:
            await self._ask_then_dispatch(action, ctx)
            return
        await self._dispatch(action, ctx)

    async def _ask_then_dispatch(self, action: Any, ctx: ActionContext) -> None:
        """Ask the action's question first; Esc on the prompt cancels the action."""
        try:
            prompt = await action.prompt(ctx)
        except Exception as exc:  # noqa: BLE001 - a failed prompt is a message, not a crash
            self.show_banner(f"{action.title}: {exc}")
            return

        async def answered(value: str | None) -> None:
            if value is not None:
                ctx.params[prompt.name] = value
                await self._dispatch(action, ctx)

        self.push_screen(PromptScreen(prompt), answered)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only mode hides mutating actions (footer, keys) instead of refusing after the key.

        The filter and pane keys (priority bindings) only act on the panes' screen, never under a
        dialog, and never while an input (the filter itself, a prompt, a typed confirmation) has
        the keyboard: there "/" and digits are characters. (Textual's own consumed-key filter
        keeps digits from an App binding but not "/".)
        """
        if action in ("filter", "focus_pane"):
            return self.screen is self.screen_stack[0] and not isinstance(self.focused, Input)
        if action == "run_pane_action" and self.read_only and parameters:
            pane_action = self.registry.get(str(parameters[0]))
            if pane_action is not None and pane_action.mutating:
                return False
        return True

    async def action_run_pane_action(self, action_id: str) -> None:
        """Key-binding entry for :meth:`run_pane_action` (bindings use ``app.run_pane_action('id')``)."""
        await self.run_pane_action(action_id)

    def _pane_for(self, pane_id: str) -> Pane | None:
        return self.current_pane() if pane_id == "global" else self.pane(pane_id)

    async def _dispatch(self, action: Any, ctx: ActionContext) -> None:
        if action.operation is not None:
            self.run_operation(action, ctx)
        else:
            self._run_unconfirmed_action(action, ctx)

    def run_operation(self, action: Any, ctx: ActionContext) -> OperationScreen:
        """Run the action's operation through the driver on an OperationScreen."""

        async def job(screen: OperationScreen) -> Result:
            operation = action.operation(ctx)
            confirm = self.guarded(screen.ask)  # in production, the typed name after the plan
            if action.hosted:
                return await self.pane(action.pane).host_operation(operation, ctx.require_ops(), screen, confirm)
            driver = Driver(ctx.require_ops(), confirm, screen.report)
            return await driver.run(operation)

        def closed(_result: Result | None) -> None:
            if screen.failed and screen.plan is None:
                self.show_banner(f"{action.title}: {screen.failed}")

        screen = OperationScreen(action.title, job)
        self.push_screen(screen, closed)
        return screen

    def _run_unconfirmed_action(self, action: Any, ctx: ActionContext) -> None:
        """Read-only actions: a Screen result is shown, anything else becomes a notification."""
        self.run_worker(self._show_action_result(action, ctx), name=action.title, group="action",
                        exit_on_error=False)

    async def _show_action_result(self, action: Any, ctx: ActionContext) -> None:
        result = await action.run(ctx, None, lambda progress: None)
        if isinstance(result, Screen):
            self.push_screen(result)
        elif result is not None:
            self.notify(str(result), title=action.title)


def pane_forbidden(pane: Pane, cache: Any) -> list[str]:
    """Kinds this pane shows that the user may not list."""
    forbidden = getattr(cache, "forbidden", set()) or set()
    return [kind for kind in pane.KINDS if kind in forbidden]


async def _never(_plan: Any) -> bool:
    """A confirmation that is never asked (the driver is only used to refuse)."""
    return False
