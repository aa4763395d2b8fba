"""The confirmation screen for mutating actions; it also shows progress and the result.

One modal does the whole life of an action so that a failure can never vanish in a toast:
preview (before/after, preconditions, equivalent command) -> Apply -> streamed progress ->
result (ok or error), and it stays until the user dismisses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Log, Static

from cockpit.ui.actions.registry import ChangePreview

Runner = Callable[[Callable[[Any], None]], Awaitable[Any]]


def _progress_line(progress: Any) -> str:
    """Format a controller Progress (F's dataclass) or any object as one log line."""
    level = getattr(progress, "level", "info")
    step = getattr(progress, "step", "")
    message = getattr(progress, "message", None)
    if message is None:
        return str(progress)
    return f"[{level}] {step}: {message}" if step else f"[{level}] {message}"


def preview_text(preview: ChangePreview) -> Text:
    """The preview as styled text: target, before -> after, checks and command."""
    text = Text()
    text.append("target   ", style="bold").append(f"{preview.target}\n")
    text.append("before   ", style="bold").append(f"{preview.before}\n")
    text.append("after    ", style="bold").append(f"{preview.after}\n")
    if preview.preconditions:
        text.append("checks\n", style="bold")
    for check in preview.preconditions:
        mark = "✔ ok  " if check.ok else "✘ FAIL"
        text.append(f"  {mark} ", style="bold" if check.ok else "bold reverse")
        text.append(f"{check.name}" + (f": {check.detail}" if check.detail else "") + "\n")
    text.append("command  ", style="bold").append(preview.command)
    if preview.details:
        text.append("\n\n").append(preview.details)
    return text


class ConfirmScreen(ModalScreen[Any]):
    """Preview, confirm, run and show the result of one mutating action.

    Dismisses with the action's result, or None when cancelled before applying.
    """

    BINDINGS = [
        Binding("escape", "close", "Cancel / close", id="confirm.close"),
        Binding("y", "apply", "Apply", id="confirm.apply"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ConfirmScreen #title { text-style: bold; padding-bottom: 1; }
    ConfirmScreen #preview { height: auto; max-height: 60vh; }
    ConfirmScreen Log { height: 8; display: none; border: round $panel; }
    ConfirmScreen.-running Log, ConfirmScreen.-done Log { display: block; }
    ConfirmScreen #result { height: auto; padding-top: 1; }
    ConfirmScreen #buttons { height: 3; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """

    def __init__(self, preview: ChangePreview, runner: Runner) -> None:
        super().__init__()
        self.preview = preview
        self.runner = runner
        self.result: Any = None
        self.failed: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.preview.title), id="title")
            with VerticalScroll(id="preview"):
                yield Static(preview_text(self.preview))
            yield Log(id="progress", max_lines=500)
            yield Static("", id="result")
            with Horizontal(id="buttons"):
                yield Button("Apply (y)", id="apply", variant="warning", disabled=self.preview.blocked)
                yield Button("Cancel (esc)", id="close")

    def on_mount(self) -> None:
        if self.preview.blocked:
            self.query_one("#result", Static).update(Text("✘ a precondition failed: not applying", style="bold"))

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.action_close()

    def action_apply(self) -> None:
        """Start the action unless it is blocked, running or done."""
        if self.preview.blocked or self.has_class("-running") or self.has_class("-done"):
            return
        self.add_class("-running")
        self.query_one("#apply", Button).disabled = True
        self.query_one("#close", Button).label = "Cancel run (esc)"
        self._run()

    def action_close(self) -> None:
        """Cancel before applying, stop a running action, or dismiss a finished one."""
        if self.has_class("-running"):
            self.workers.cancel_group(self, "confirm-run")
            return
        self.dismiss(self.result)

    def report(self, progress: Any) -> None:
        """Reporter callback for the controller: append one progress line."""
        self.query_one(Log).write_line(_progress_line(progress))

    @work(group="confirm-run", exit_on_error=False)
    async def _run(self) -> None:
        try:
            self.result = await self.runner(self.report)
            self._finish(f"✔ done: {self.result}" if self.result is not None else "✔ done", ok=True)
        except BaseException as exc:  # noqa: BLE001 - shown to the user, never a traceback
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            reason = "cancelled" if type(exc).__name__ == "CancelledError" else f"{type(exc).__name__}: {exc}"
            self.failed = reason
            self._finish(f"✘ failed: {reason}", ok=False)
            if type(exc).__name__ == "CancelledError":
                raise

    def _finish(self, message: str, ok: bool) -> None:
        self.remove_class("-running")
        self.add_class("-done")
        first_line = message.splitlines()[0] if message else message
        self.query_one("#result", Static).update(Text(first_line, style="bold" if ok else "bold reverse"))
        self.query_one("#close", Button).label = "Close (esc)"
