"""The help screen: every key, grouped by where it applies, with the user's remaps applied."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def effective_key(binding: Binding, keymap: Mapping[str, str], display: Callable[[Binding], str] | None = None) -> str:
    """The key(s) a binding answers to after the user's keymap, in display form (``?``, ``/``)."""
    keys = keymap.get(binding.id or "", binding.key)
    names = [k.strip() for k in keys.split(",")]
    if display is not None:
        names = [display(Binding(k, binding.action)) for k in names]
    return ", ".join(names)


def bindings_table(groups: Iterable[tuple[str, Iterable[Binding]]], keymap: Mapping[str, str],
                   display: Callable[[Binding], str] | None = None) -> Table:
    """A Rich table: group, key, what it does, binding id (for the [keymap] config)."""
    table = Table(box=None, expand=True, pad_edge=False, show_edge=False)
    table.add_column("where", style="bold", no_wrap=True)
    table.add_column("key", no_wrap=True)
    table.add_column("does")
    table.add_column("binding id", style="dim", no_wrap=True)
    for group, bindings in groups:
        first = True
        for binding in bindings:
            table.add_row(group if first else "", effective_key(binding, keymap, display),
                          binding.description or binding.action, binding.id or "")
            first = False
    return table


class HelpScreen(ModalScreen[None]):
    """Modal list of key bindings; any of esc, q, ? closes it."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 120; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, groups: list[tuple[str, list[Binding]]], keymap: Mapping[str, str]) -> None:
        super().__init__()
        self.groups = groups
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "cockpit keys"
            scroll.border_subtitle = "remap: config.toml \\[keymap] binding-id = \"keys\"  ·  esc closes"
            yield Static(Text("Tab / shift+Tab move between panes, 1-4 jump to one; : or ctrl+p opens the palette "
                              "to jump to a pane or run any action. Rollouts columns d/u/r/a = desired/updated/"
                              "ready/available replicas.\n"))
            yield Static(bindings_table(self.groups, self.keymap, self.app.get_key_display))
