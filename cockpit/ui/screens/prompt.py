"""Small modal screens for actions: ask for one value (strictly validated), show a text report.

:class:`PromptScreen` asks an action's :class:`~cockpit.ui.actions.registry.Prompt` (the upgrade's
target version) and dismisses with the validated value, or None when cancelled.
:class:`TextScreen` shows lines (the upgrade plan, refusals included) until dismissed; a
read-only action returns one and the app pushes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from cockpit.errors import CockpitError
from cockpit.ui.actions.registry import Prompt


class PromptScreen(ModalScreen[str | None]):
    """One Input with a default; Enter validates (an error stays on screen), Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 70; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    PromptScreen #question { text-style: bold; }
    PromptScreen #hint { color: $text-muted; }
    PromptScreen #error { color: $error; text-style: bold; height: auto; }
    """

    def __init__(self, prompt: Prompt) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.prompt.question), id="question")
            yield Input(value=self.prompt.default, id="answer")
            yield Static(Text(self.prompt.hint + "  ·  enter: ok, esc: cancel"), id="hint")
            yield Static("", id="error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            value = self.prompt.validate(event.value.strip())
        except (ValueError, CockpitError) as exc:
            self.query_one("#error", Static).update(Text(f"✘ {exc}"))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        """Esc: no value."""
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """A titled, scrollable block of lines; Esc or q closes it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="text.close")]
    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > VerticalScroll {
        width: 90%; max-width: 130; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, title: str, lines: Sequence[str | Text]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = self.title_text
            scroll.border_subtitle = "esc closes"
            yield Static(self.body(), id="text")

    def body(self) -> Text:
        """The lines as one Text (styled lines keep their styles)."""
        return Text("\n").join(line if isinstance(line, Text) else Text(str(line)) for line in self.lines)

    def plain(self) -> str:
        """The shown text without styles (tests)."""
        return self.body().plain
