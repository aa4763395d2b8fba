"""Key-cast: the last few keys pressed and what each did, large enough for a shared screen.

``r → node: drain worker-3``. Keys typed into an input (the filter, a prompt) are shown as
one "typing in <field>" line, never key by key, so a filter text or a typed name is not
spelled out. Lines fade after :data:`FADE_SECONDS`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import Input, Static

FADE_SECONDS = 4.0
KEEP = 4


@dataclass
class Cast:
    """One line: the key (or "typing"), what it triggered, and when (monotonic seconds)."""

    key: str
    what: str
    at: float


def describe_key(app: Any, key: str) -> str:
    """What ``key`` triggers on the active screen: the binding's description, for a pane action
    the action's title and the selected row (``node: drain worker-3``); "" when unbound."""
    active = app.screen.active_bindings.get(key)
    if active is None:
        return ""
    binding = active.binding
    action = binding.action
    if action.startswith("app.run_pane_action(") or action.startswith("run_pane_action("):
        return _pane_action_text(app, action)
    return binding.description or action


def _pane_action_text(app: Any, action: str) -> str:
    action_id = action.split("(", 1)[1].rstrip(")").strip("'\"")
    registered = app.registry.get(action_id) if getattr(app, "registry", None) else None
    title = registered.title if registered is not None else action_id
    row = None
    if registered is None or registered.needs_row:
        try:
            record = app.current_pane().selected_record(app.cache)
            row = getattr(record, "key", None)
        except Exception:  # noqa: BLE001 - the cast is decoration; a pane without a row says less
            row = None
    return f"{title} {row}" if row else title


class KeyCast(Static):
    """The overlay. :meth:`record` is fed every key event; :meth:`fade` drops old lines."""

    DEFAULT_CSS = """
    KeyCast {
        dock: bottom; layer: keycast; width: auto; max-width: 60%; height: auto; margin: 0 0 2 2;
        padding: 0 2; background: $panel; border: round $accent; display: none; text-style: bold;
    }
    KeyCast.-large { padding: 1 3; border: heavy $accent; }
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.clock = clock
        self.casts: deque[Cast] = deque(maxlen=KEEP)
        self.enabled = False

    def record(self, key: str, what: str, focused: Any = None) -> None:
        """Add a key (or extend the "typing" line when the key went into an input)."""
        if not self.enabled:
            return
        now = self.clock()
        if isinstance(focused, Input):
            field = focused.placeholder or focused.id or "input"
            if self.casts and self.casts[-1].key == "typing":
                self.casts[-1].at = now
            else:
                self.casts.append(Cast("typing", f"in {field}", now))
        else:
            self.casts.append(Cast(_key_label(key), what, now))
        self._draw()

    def fade(self) -> None:
        """Drop lines older than :data:`FADE_SECONDS` (called on a timer)."""
        now = self.clock()
        while self.casts and now - self.casts[0].at > FADE_SECONDS:
            self.casts.popleft()
        self._draw()

    def toggle(self) -> bool:
        """Switch the overlay on or off; returns the new state."""
        self.enabled = not self.enabled
        self.casts.clear()
        self._draw()
        return self.enabled

    def lines(self) -> list[str]:
        """The lines shown now (``r → node: drain worker-3``)."""
        return [_line(c) for c in self.casts]

    def _draw(self) -> None:
        text = Text()
        for index, cast in enumerate(self.casts):
            if index:
                text.append("\n")
            text.append(f" {cast.key} ", style="reverse")
            if cast.what:
                text.append(f" {cast.what}" if cast.key == "typing" else f" → {cast.what}")
        self.update(text)
        self.display = self.enabled and bool(self.casts)


def _line(cast: Cast) -> str:
    if cast.key == "typing":
        return f"typing {cast.what}"
    return f"{cast.key} → {cast.what}" if cast.what else cast.key


def _key_label(key: str) -> str:
    return {"question_mark": "?", "slash": "/", "colon": ":", "plus": "+", "escape": "esc"}.get(key, key)
