"""The header clock: local time with its UTC offset, so a watcher can match the screen with logs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from textual.widgets import Static


def clock_text(now: datetime, tz: tzinfo | None = None) -> str:
    """``07:19:17 UTC+01:00`` (local time, or ``tz``) with the offset always shown."""
    local = now.astimezone(tz)
    offset = local.strftime("%z") or "+0000"
    return f"{local:%H:%M:%S} UTC{offset[:3]}:{offset[3:]}"


class HeaderClock(Static):
    """Top-right clock, updated every second by :meth:`tick`."""

    DEFAULT_CSS = """
    HeaderClock { dock: right; layer: keycast; width: auto; height: 1; padding: 0 1;
                  background: $panel; text-style: bold; }
    """

    def __init__(self, now: Callable[[], datetime], tz: tzinfo | None = None, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.now = now
        self.tz = tz

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        """Redraw with the current time."""
        self.update(clock_text(self.now(), self.tz))
