"""The modal that runs one operation through the driver: preview, confirm, progress, result.

It is the driver's confirmation callback in the TUI (:meth:`OperationScreen.ask`), so the CLI
and the TUI share one path: the screen only renders the driver's Plan and the operation's
progress, and never builds a command or a check itself. One modal does the whole life of an
action so that a failure never vanishes in a toast; it stays until dismissed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Log, Static

from cockpit.controllers.base import Progress
from cockpit.controllers.driver import DRY_RUN, Declined
from cockpit.controllers.operation import Plan, Result

Job = Callable[["OperationScreen"], Awaitable[Result]]


def progress_line(progress: Progress, now: datetime | None = None) -> str:
    """One progress event as a log line, stamped with the local time: ``07:12:03 [ok] write: ...``."""
    stamp = (now or datetime.now()).strftime("%H:%M:%S")
    step = f"{progress.step}: " if progress.step else ""
    return f"{stamp} [{progress.level}] {step}{progress.message}"


def plan_text(plan: Plan[Any]) -> Text:
    """The plan as styled text: target, before -> after, checks, commands, details."""
    text = Text()
    text.append("target   ", style="bold").append(f"{plan.target}\n")
    text.append("before   ", style="bold").append(f"{plan.before}\n")
    text.append("after    ", style="bold").append(f"{plan.after}\n")
    if plan.checks:
        text.append("checks\n", style="bold")
    for check in plan.checks:
        mark = "✔ ok  " if check.ok else "✘ FAIL"
        text.append(f"  {mark} ", style="bold" if check.ok else "bold reverse")
        text.append(f"{check.name}" + (f": {check.detail}" if check.detail else "") + "\n")
    for index, command in enumerate(plan.commands):
        text.append("command  " if index == 0 else "         ", style="bold").append(command + "\n")
    if plan.dry_run:
        text.append("dry run  ", style="bold").append(plan.dry_run + "\n")
    if plan.details:
        text.append("\n" + "\n".join(plan.details))
    return text


class OperationScreen(ModalScreen[Result | None]):
    """Runs ``job(self)`` (the driver with this screen as its confirmation) and shows its life.

    States (CSS classes): ``-asking`` (a plan awaits Apply/Cancel), ``-running``, ``-done``.
    Dismisses with the Result, or None when declined, refused or failed.
    """

    BINDINGS = [
        Binding("escape", "close", "Cancel / close", id="confirm.close"),
        Binding("y", "apply", "Apply", id="confirm.apply"),
        Binding("d", "dry_run", "Dry run", id="confirm.dry_run"),
    ]
    DEFAULT_CSS = """
    OperationScreen { align: center middle; }
    OperationScreen > Vertical {
        width: 90%; max-width: 120; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    OperationScreen #title { text-style: bold; }
    OperationScreen #preview { height: auto; max-height: 1fr; }
    OperationScreen Log { height: 8; display: none; border: round $panel; }
    OperationScreen.-running Log, OperationScreen.-done Log { display: block; }
    OperationScreen.-running #preview, OperationScreen.-done #preview { max-height: 8; }
    OperationScreen #result { height: auto; }
    OperationScreen #buttons { height: 3; align-horizontal: right; dock: bottom; }
    OperationScreen Button { margin-left: 2; }
    OperationScreen.-running #apply, OperationScreen.-done #apply { display: none; }
    OperationScreen.-running #dry-run, OperationScreen.-done #dry-run { display: none; }
    """

    def __init__(self, title: str, job: Job) -> None:
        super().__init__()
        self.title_text = title
        self.job = job
        self.plan: Plan[Any] | None = None
        self.result: Result | None = None
        self.failed: str | None = None
        self._answer: asyncio.Future[bool | str] | None = None
        self._cancel_note = ""  # the operation's own word on a cancel (e.g. a node left cordoned)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), id="title")
            with VerticalScroll(id="preview"):
                yield Static(Text("previewing…"), id="plan")
            yield Log(id="progress", max_lines=500)
            yield Static("", id="result")
            with Horizontal(id="buttons"):
                yield Button("Apply (y)", id="apply", variant="warning", disabled=True)
                yield Button("Dry run (d)", id="dry-run", disabled=True)
                yield Button("Cancel (esc)", id="close")

    def on_mount(self) -> None:
        self._run()

    # -- the driver's side -----------------------------------------------------------------------

    async def ask(self, plan: Plan[Any]) -> bool | str:
        """The driver's confirmation: show ``plan``; Apply (True), Dry run (DRY_RUN) or Cancel (False)."""
        again = self.plan is not None
        self.plan = plan
        self.query_one("#title", Static).update(Text(plan.title))
        self.query_one("#plan", Static).update(plan_text(plan))
        if again:
            self._show_result("⚠ the cluster changed since the preview: this is the new plan", ok=False)
        self.remove_class("-running")
        self.add_class("-asking")
        self.query_one("#apply", Button).disabled = False
        self.query_one("#dry-run", Button).disabled = not plan.dry_run
        self._answer = asyncio.get_running_loop().create_future()
        return await self._answer

    def report(self, progress: Progress) -> None:
        """The driver's Reporter: append one timed progress line."""
        if progress.step == "cancelled":  # what a cancel left behind, for the result line
            self._cancel_note = progress.message
        self.query_one(Log).write_line(progress_line(progress))

    # -- the user's side -------------------------------------------------------------------------

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.action_close()

    @on(Button.Pressed, "#dry-run")
    def _dry_run_pressed(self) -> None:
        self.action_dry_run()

    def action_apply(self) -> None:
        """Confirm the plan shown (only while a plan awaits an answer)."""
        self._answer_with(True)

    def action_dry_run(self) -> None:
        """Send the plan's writes with dryRun=All: the server checks them, nothing changes."""
        if self.plan is not None and self.plan.dry_run:
            self._answer_with(DRY_RUN)

    def _answer_with(self, answer: bool | str) -> None:
        if self._answer is None or self._answer.done():
            return
        self.remove_class("-asking")
        self.add_class("-running")
        self.query_one("#apply", Button).disabled = True
        self.query_one("#dry-run", Button).disabled = True
        self.query_one("#close", Button).label = "Cancel run (esc)"
        self._show_result("", ok=True)
        self._answer.set_result(answer)

    def action_close(self) -> None:
        """Decline the plan, cancel a running operation, or dismiss a finished one."""
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(False)
            return
        if self.has_class("-running"):
            self.workers.cancel_group(self, "operation")
            return
        self.dismiss(self.result)

    # -- running ---------------------------------------------------------------------------------

    @work(group="operation", exit_on_error=False)
    async def _run(self) -> None:
        try:
            self.result = await self.job(self)
        except asyncio.CancelledError:
            self.failed = "cancelled"
            # The result line wraps where the log cuts a long line: what the cancel left behind
            # (a node still cordoned, and how to lift it) must be readable on a small terminal.
            self._finish(f"✘ cancelled: {self._cancel_note}" if self._cancel_note else "✘ cancelled", ok=False)
            raise
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            self._fail(exc)
            return
        self._finish(("✔ " if self.result.ok else "✘ ") + self.result.message, ok=self.result.ok)

    def _fail(self, exc: Exception) -> None:
        """Show why the operation stopped; a declined or unpreviewable one just closes."""
        self.failed = str(exc) or type(exc).__name__
        refused_plan = getattr(exc, "plan", None)
        if isinstance(exc, Declined):
            self.failed = None
            self.dismiss(None)
            return
        if refused_plan is not None and self.plan is None:
            self.plan = refused_plan
            self.query_one("#title", Static).update(Text(refused_plan.title))
            self.query_one("#plan", Static).update(plan_text(refused_plan))
        if self.plan is None:  # nothing to show: the app puts the reason in its banner
            self.dismiss(None)
            return
        self._finish(f"✘ {self.failed}", ok=False)

    def _finish(self, message: str, ok: bool) -> None:
        self.remove_class("-running")
        self.remove_class("-asking")
        self.add_class("-done")
        self._show_result(message, ok)
        self.query_one("#close", Button).label = "Close (esc)"

    def _show_result(self, message: str, ok: bool) -> None:
        first_line = message.splitlines()[0] if message else message
        self.query_one("#result", Static).update(Text(first_line, style="bold" if ok else "bold reverse"))
