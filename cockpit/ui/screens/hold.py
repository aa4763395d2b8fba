"""The question a held canary asks: promote, abort or keep (an inconclusive analysis held it).

Pushed over the OperationScreen while the plan waits, so the progress lines that led to the hold
stay visible behind it; the answer goes back to :class:`~cockpit.controllers.held_shift.HeldShiftOperation`.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from cockpit.controllers.held_shift import ABORT, KEEP, PROMOTE


class HoldScreen(ModalScreen[str]):
    """Why the plan is held, and three answers (p, a, k); Esc keeps the split as it is."""

    BINDINGS = [
        Binding("p", "answer('promote')", "Promote", id="hold.promote"),
        Binding("a", "answer('abort')", "Abort", id="hold.abort"),
        Binding("k,escape", "answer('keep')", "Keep", id="hold.keep"),
    ]
    DEFAULT_CSS = """
    HoldScreen { align: center middle; }
    HoldScreen > Vertical {
        width: 80%; max-width: 110; height: auto; border: thick $warning; background: $surface; padding: 0 1;
    }
    HoldScreen #why { height: auto; }
    HoldScreen #answers { height: 3; align-horizontal: right; }
    HoldScreen Button { margin-left: 2; }
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("⏸ the canary is held: an analysis was inconclusive", style="bold"))
            yield Static(Text(self.message), id="why")
            with Horizontal(id="answers"):
                yield Button("Promote (p)", id=PROMOTE, variant="warning")
                yield Button("Abort to stable (a)", id=ABORT, variant="error")
                yield Button("Keep as is (k)", id=KEEP)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id or KEEP)

    def action_answer(self, choice: str) -> None:
        """Send the answer back to the waiting plan."""
        self.dismiss(choice)
