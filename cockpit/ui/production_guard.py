"""The production guard on screen: a banner while connected to a production context, and a
typed-name confirmation before any mutating action there.

Which contexts are production comes from the config (``production_contexts`` globs, matched by
:func:`cockpit.domain.production.is_production`). The banner uses a colour no other state uses.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from cockpit.domain.production import typed_name_matches

PRODUCTION_STYLE = "bold #ffffff on #8a1c7c"  # plum: not error red, warning amber or ok green


class ProductionBanner(Static):
    """``PRODUCTION  context prod-eu  cluster https://...``, always visible while it applies."""

    DEFAULT_CSS = """
    ProductionBanner { dock: top; height: 1; padding: 0 1; background: #8a1c7c; color: #ffffff;
                       text-style: bold; display: none; }
    """

    def show_context(self, context: str, cluster: str = "", pattern: str = "") -> None:
        """Show the banner for ``context`` (``pattern`` says which config glob matched)."""
        text = Text(" PRODUCTION ", style="reverse")
        text.append(f"  context {context}")
        if cluster:
            text.append(f"  cluster {cluster}")
        if pattern:
            text.append(f"  (matches {pattern!r})", style="not bold")
        self.update(text)
        self.display = True


class TypedNameScreen(ModalScreen[bool]):
    """Asks for the target's name; dismisses True only when it is typed exactly, False on Esc."""

    DEFAULT_CSS = """
    TypedNameScreen { align: center middle; }
    TypedNameScreen > Vertical { width: 70; height: auto; padding: 1 2; border: heavy #8a1c7c; background: $surface; }
    TypedNameScreen #typed-error { color: $error; height: auto; }
    """
    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, title: str, target: str, context: str) -> None:
        super().__init__()
        self.title_text, self.target, self.context = title, target, context

    def compose(self) -> ComposeResult:
        name = self.target.rsplit("/", 1)[-1]
        with Vertical():
            yield Label(Text.assemble((" PRODUCTION ", PRODUCTION_STYLE), f"  {self.context}"))
            yield Label(f"{self.title_text}\nType the name of the object to confirm: {name}")
            yield Input(placeholder="typed name", id="typed-name")
            yield Label("", id="typed-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: confirm when the name matches, else say so and stay."""
        if typed_name_matches(event.value, self.target):
            self.dismiss(True)
        else:
            self.query_one("#typed-error", Label).update(f"that is not {self.target.rsplit('/', 1)[-1]!r}")

    def action_cancel(self) -> None:
        """Esc: not confirmed."""
        self.dismiss(False)


def guarded_confirm(app: Any, ask: Any, context: str) -> Any:
    """Wrap a driver confirmation: after the plan is approved, ask for the typed name too."""

    async def confirm(plan: Any) -> Any:
        answer = await ask(plan)
        if not answer or answer == "dry-run":
            return answer
        typed = await app.push_screen_wait(TypedNameScreen(plan.title, plan.target, context))
        return answer if typed else False

    return confirm
