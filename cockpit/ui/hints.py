"""Runbook hints on objects: the diagnosis of the selected row's problem and its next actions as keys.

``⚠ bad deploy: checkout revision 2 is failing (ImagePullBackOff) — u roll back to revision 1 ·
p pause the rollout``. The strip follows the cursor of the focused pane and the detectors'
latest results; it is hidden while the selected object has no problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.widgets import Static

from cockpit.domain.runbooks import Problem
from cockpit.domain.timeline import Severity

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "bold"}


def hint_text(problems: Iterable[Problem], key_of: Any) -> Text:
    """One line per problem: the diagnosis, then each next action with its key (``key_of(id)``)."""
    text = Text()
    for problem in problems:
        if text:
            text.append("\n")
        text.append(f"⚠ {problem.title}", style=STYLE[problem.severity])
        steps = []
        for action in problem.actions:
            key = key_of(action.action_id) if action.action_id else None
            steps.append(f"{key} {action.label}" if key else action.label)
        if steps:
            text.append("  —  " + " · ".join(steps))
    return text


class RunbookHint(Static):
    """The hint strip under the top bar."""

    DEFAULT_CSS = """
    RunbookHint { height: auto; max-height: 3; padding: 0 1; background: $panel; display: none; }
    """

    def show_problems(self, problems: list[Problem], key_of: Any) -> None:
        """Show ``problems`` (hide the strip when there are none)."""
        self.problems = problems
        self.update(hint_text(problems, key_of))
        self.display = bool(problems)

    def lines(self) -> list[str]:
        """The strip as plain lines."""
        return str(self.render()).splitlines() if self.display else []
