"""The one way tests wait for state: poll a predicate until it holds, with a generous deadline.

Deadlines only detect a hang; they never measure speed (latency belongs to ``cockpit bench``).
They are sized for a loaded 2-core machine running two xdist workers beside other jobs, so a
slow moment never fails a test. On a timeout the failure says what was awaited and the last
value (or the last assertion) the predicate produced.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

DEFAULT_TIMEOUT = 20.0
DEFAULT_INTERVAL = 0.05
# Exceptions a predicate may raise while the state is still converging (a row not drawn yet).
CONVERGING = (AssertionError, LookupError, StopIteration)
_SHOWN = 300  # characters kept from each end of a long last value


class _Poll:
    """Deadline and last-seen bookkeeping shared by the sync and async loops."""

    def __init__(self, predicate: Callable, timeout: float, what: str, accept: Callable[[Any], Any],
                 ignore: tuple[type[BaseException], ...]):
        self.predicate, self.accept, self.ignore = predicate, accept, ignore
        self.timeout, self.what = timeout, what or getattr(predicate, "__name__", repr(predicate))
        self.deadline = time.monotonic() + timeout
        self.last: str = "nothing (the predicate never returned)"

    def saw(self, value: Any) -> bool:
        """Remember ``value``; True when it is the awaited one."""
        self.last = _shorten(repr(value))
        return bool(self.accept(value))

    def failed(self, exc: BaseException) -> None:
        """Remember an exception the predicate raised while the state converges."""
        self.last = _shorten(f"{type(exc).__name__}: {exc}")

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def timeout_error(self) -> AssertionError:
        return AssertionError(f"timed out after {self.timeout:g}s waiting for {self.what}; last seen: {self.last}")


def _shorten(text: str) -> str:
    return text if len(text) <= 2 * _SHOWN else f"{text[:_SHOWN]} ... {text[-_SHOWN:]}"


def wait_until(predicate: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, what: str = "", *,
               accept: Callable[[Any], Any] = bool, interval: float = DEFAULT_INTERVAL,
               ignore: tuple[type[BaseException], ...] = CONVERGING) -> Any:
    """Call ``predicate()`` until ``accept(value)`` holds (by default: the value is truthy).

    Returns that value. Exceptions in ``ignore`` count as "not yet". Raises AssertionError after
    ``timeout`` seconds, naming ``what`` and the last value or exception seen.
    """
    poll = _Poll(predicate, timeout, what, accept, ignore)
    while True:
        try:
            value = predicate()
            if poll.saw(value):
                return value
        except ignore as exc:
            poll.failed(exc)
        if poll.expired():
            raise poll.timeout_error()
        time.sleep(interval)


async def async_wait_until(predicate: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, what: str = "", *,
                           accept: Callable[[Any], Any] = bool, interval: float = DEFAULT_INTERVAL,
                           ignore: tuple[type[BaseException], ...] = CONVERGING,
                           pause: Callable[[], Awaitable[Any]] | None = None) -> Any:
    """The async twin of :func:`wait_until`: ``predicate()`` may return a value or an awaitable.

    Between polls it awaits ``pause()`` (e.g. a Textual pilot's pause, so the app processes its
    messages) or else ``asyncio.sleep(interval)``, so whatever runs on this loop makes progress.
    """
    poll = _Poll(predicate, timeout, what, accept, ignore)
    while True:
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if poll.saw(value):
                return value
        except ignore as exc:
            poll.failed(exc)
        if poll.expired():
            raise poll.timeout_error()
        await (pause() if pause is not None else asyncio.sleep(interval))
