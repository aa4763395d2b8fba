"""Riding out transient API trouble: retry with backoff for a bounded time, and say so.

Transient means the request may well succeed if sent again: the API server could not be
reached (refused, reset, timed out), answered 5xx, or throttled us (429). Anything else (403,
404, 409, 422...) is an answer and is raised at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from cockpit.kube.errors import ApiError, Unreachable

T = TypeVar("T")
Say = Callable[[str, str], None]  # (message, level)
REPORT_EVERY = 2.0  # seconds between "still unreachable" lines


def is_transient(exc: BaseException) -> bool:
    """Whether sending the same request again may succeed."""
    if isinstance(exc, (Unreachable, TimeoutError)):  # TimeoutError: our own bound on a hung server
        return True
    return isinstance(exc, ApiError) and (exc.status == 429 or exc.status >= 500)


class Outage:
    """One stretch of API trouble: since when, and when it was last reported."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self.since: float | None = None
        self._said = 0.0

    def failed(self, exc: BaseException) -> None:
        """Note one failed attempt; report it now and then (``API unreachable for 6 s, retrying``)."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
        if now - self._said >= REPORT_EVERY or self._said == 0.0:
            self._said = now
            self.say(f"API unreachable for {now - self.since:.0f} s, retrying ({exc})", "warn")

    def recovered(self) -> None:
        """The API answered again: say after how long, once."""
        if self.since is not None:
            self.say(f"API reachable again after {time.monotonic() - self.since:.0f} s", "info")
        self.since, self._said = None, 0.0


async def bounded(awaitable: Awaitable[T], deadline: float) -> T:
    """``await awaitable``, giving up with TimeoutError at ``deadline`` (at least half a second)."""
    return await asyncio.wait_for(awaitable, timeout=max(0.5, deadline - time.monotonic()))


async def retrying(call: Callable[[], Awaitable[T]], deadline: float, outage: Outage, *,
                   first_delay: float = 0.2, max_delay: float = 2.0) -> T:
    """``await call()`` until it succeeds; transient errors are retried with backoff until ``deadline``
    (a ``time.monotonic()`` value), then the last one is raised. Other errors are raised at once.
    A server that accepts the connection but never answers counts as unreachable at the deadline."""
    delay = first_delay
    while True:
        try:
            result = await bounded(call(), deadline)
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() + delay > deadline:
                raise
            outage.failed(exc)
            await asyncio.sleep(delay)
            delay = min(max_delay, delay * 2)
            continue
        outage.recovered()
        return result
