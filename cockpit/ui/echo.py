"""The command echo strip: the kubectl / ssh equivalents of the action in progress and the last one.

It listens to the audit journal's bus, so it shows exactly what the driver planned (the Plan's
commands, as journaled in ``preview``) and how each action ended; the UI never builds a command
string itself.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.widgets import Static

OUTCOMES = {"result": "done", "failure": "failed", "refused": "refused", "declined": "declined",
            "cancelled": "cancelled"}


class CommandEcho(Static):
    """Two lines: ``now  <action target>  $ <commands>`` and ``last ... (<outcome>)``."""

    DEFAULT_CSS = """
    CommandEcho { height: auto; max-height: 4; padding: 0 1; background: $panel; display: none; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.current: dict[str, Any] | None = None
        self.last: dict[str, Any] | None = None
        self._thread = threading.get_ident()

    def on_journal_entry(self, entry: Mapping[str, Any]) -> None:
        """A journal bus subscriber: safe to call from any thread."""
        if threading.get_ident() == self._thread:
            self.show_entry(entry)
        else:
            self.app.call_from_thread(self.show_entry, entry)

    def show_entry(self, entry: Mapping[str, Any]) -> None:
        """Update from one journal entry (previews set the commands, outcomes close the action)."""
        event = entry.get("event")
        if event == "preview" and entry.get("commands"):
            self.current = {"action": entry.get("action"), "target": entry.get("target"),
                            "commands": list(entry.get("commands") or ()), "state": "planned"}
        elif event == "start" and self.current is not None and self.current.get("target") == entry.get("target"):
            self.current["state"] = "running"
        elif event in OUTCOMES and self.current is not None and self.current.get("target") == entry.get("target"):
            ok = entry.get("ok", True) if event == "result" else False
            self.last = {**self.current, "state": OUTCOMES[event] if ok or event != "result" else "failed"}
            self.current = None
        else:
            return
        self._draw()

    def lines(self) -> list[str]:
        """The strip as plain lines (for tests and the key-cast)."""
        return self.render_text().plain.splitlines()

    def render_text(self) -> Text:
        """The strip's text."""
        text = Text()
        for label, item in (("now ", self.current), ("last", self.last)):
            if item is None:
                continue
            if text:
                text.append("\n")
            text.append(f"{label} ", style="bold reverse")
            text.append(f" {item['action']} {item['target']} ({item['state']})  ", style="bold")
            text.append(" ; ".join(f"$ {c}" for c in item["commands"]), style="italic")
        return text

    def _draw(self) -> None:
        text = self.render_text()
        self.update(text)
        self.display = bool(text)
