"""Simulated clock: wall-clock timestamps plus a scaled notion of elapsed time.

Every simulated delay (image pulls, readiness, grace periods, heartbeats) is expressed in
simulated seconds and converted to real seconds with ``speed``, a speed-up factor (20 = twenty
times faster than real time; 1 = real time).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator


class SimClock:
    """Scaled clock shared by every simulated controller."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._speed = speed
        self._base_real = time.monotonic()
        self._base_sim = 0.0

    @property
    def speed(self) -> float:
        """Simulated seconds per real second (the speed-up factor)."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        # Re-anchor so that simulated time stays continuous across speed changes.
        self._base_sim = self.monotonic()
        self._base_real = time.monotonic()
        self._speed = value

    def now(self) -> datetime:
        """The current UTC wall-clock time (used for every timestamp the API shows)."""
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        """Simulated seconds elapsed since the clock was made (for internal deadlines)."""
        return self._base_sim + (time.monotonic() - self._base_real) * self._speed

    def scaled(self, seconds: float) -> float:
        """Real seconds corresponding to ``seconds`` simulated seconds."""
        return seconds / self._speed

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` simulated seconds."""
        await asyncio.sleep(self.scaled(seconds))

    def call_later(self, seconds: float, fn: Callable, *args) -> asyncio.TimerHandle:
        """Run ``fn(*args)`` on the running loop after ``seconds`` simulated seconds."""
        return asyncio.get_running_loop().call_later(self.scaled(seconds), fn, *args)

    @contextmanager
    def fast_forward(self, speed: float) -> Iterator[None]:
        """Temporarily run faster (never slower) than the configured speed, e.g. while seeding."""
        saved = self._speed
        self.speed = max(saved, speed)
        try:
            yield
        finally:
            self.speed = saved
