"""Command palette provider: jump to a pane, maximise, switch theme, or run any registered action.

Generated from the same tables as the key bindings (the action registry and the pane list), so
the palette and the keys never drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from cockpit.ui.actions.registry import PANES


class CockpitCommands(Provider):
    """Palette entries, titled ``"<area>: <what>"``."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app = self.app
        for pane in PANES:
            yield f"pane: {pane}", partial(app.focus_pane, pane), f"focus the {pane} pane"
            yield f"pane: maximise {pane}", partial(app.maximize_pane, pane), f"show only the {pane} pane"
        yield ("upgrade: log view", lambda: (app.focus_pane("nodes"), app.pane("nodes").toggle_log()),
               "show or hide the selected node's upgrade output (key l on the Nodes pane)")
        for name in app.theme_names():
            yield f"theme: {name}", partial(setattr, app, "theme", name), "switch theme"
        for action in app.registry:
            ro = " (refused: read-only)" if action.mutating and app.read_only else ""
            yield action.title, partial(app.run_pane_action, action.id), (action.description or action.id) + ro

    async def discover(self) -> Hits:
        """Show every command when the palette opens."""
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """Fuzzy-match commands against the query."""
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
