"""Instruments for the headless cockpit: screen updates, key-to-repaint latency, change-to-screen
lag, and the watch events applied.

Textual renders every update through ``App._display`` even when headless (only the terminal
write is skipped), so wrapping it gives one callback per real screen update. The wrapper also
encodes the update into terminal escape sequences, as a real terminal driver would, so that
cost is part of every figure.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual import events

Listener = Callable[[float], bool]  # called with the update's time; True = done, remove me


class ScreenWatch:
    """Counts screen updates of an app and calls listeners after each one."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.updates = 0
        self.listeners: list[Listener] = []
        self._original = app._display
        app._display = self._display

    def _display(self, screen: Any, renderable: Any) -> None:
        self._original(screen, renderable)
        if renderable is None or self.app._batch_count:
            return  # nothing was drawn
        render = getattr(renderable, "render_segments", None)
        if render is not None:
            render(self.app.console)  # what the terminal driver would write
        now = time.perf_counter()
        self.updates += 1
        self.listeners = [listener for listener in self.listeners if not listener(now)]

    def when(self, condition: Callable[[], bool], action: Callable[[float], None]) -> Listener:
        """Call ``action(update_time)`` after the first screen update where ``condition()`` holds."""
        def listener(now: float) -> bool:
            if condition():
                action(now)
                return True
            return False

        self.listeners.append(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        """Stop waiting for a listener's condition."""
        if listener in self.listeners:
            self.listeners.remove(listener)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by nearest rank; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Latencies:
    """Samples in seconds, summarised as milliseconds."""

    samples: list[float] = field(default_factory=list)
    missed: int = 0  # no repaint within the timeout (counted at the timeout in the samples)

    def summary(self) -> dict[str, Any]:
        """count, p50, p99 and max in milliseconds."""
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 1)

        return {"count": len(self.samples), "p50_ms": ms(percentile(self.samples, 50)),
                "p99_ms": ms(percentile(self.samples, 99)),
                "max_ms": ms(max(self.samples) if self.samples else None), "missed": self.missed}


class KeyProbe:
    """Presses cursor keys in the focused pane and times each until the repaint that shows it."""

    TIMEOUT = 5.0

    def __init__(self, app: Any, watch: ScreenWatch) -> None:
        self.app = app
        self.watch = watch
        self.results: dict[str, dict[str, Latencies]] = {}
        self._pending = False
        self._down = True

    def press(self, pane_id: str, phase: str) -> bool:
        """Send one cursor key to ``pane_id``'s table as a terminal would; False when it cannot
        move (fewer than two rows) or the previous key is still waiting for its repaint."""
        table = self.app.pane(pane_id).table
        if self._pending or table.row_count < 2:
            return False
        before = table.cursor_row
        key = "down" if self._down and before < table.row_count - 1 or before == 0 else "up"
        self._down = not self._down
        samples = self.results.setdefault(phase, {}).setdefault(pane_id, Latencies())
        started = time.perf_counter()
        self._pending = True

        def done(now: float) -> None:
            self._pending = False
            samples.samples.append(now - started)

        listener = self.watch.when(lambda: table.cursor_row != before, done)
        event = events.Key(key, None)
        event.set_sender(self.app)
        self.app._driver.send_message(event)  # the same path a real key takes (Pilot does this too)
        self.app.set_timer(self.TIMEOUT, lambda: self._expire(samples, listener))
        return True

    def _expire(self, samples: Latencies, listener: Listener) -> None:
        if listener in self.watch.listeners:
            self.watch.forget(listener)
            self._pending = False
            samples.missed += 1
            samples.samples.append(self.TIMEOUT)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per phase, per pane: the latency summary."""
        return {phase: {pane: lat.summary() for pane, lat in panes.items()}
                for phase, panes in self.results.items()}


class EventCounter:
    """Counts the watch events the informers applied (wraps each informer's ``_apply``)."""

    def __init__(self, cache: Any) -> None:
        self.count = 0
        for kind in cache.kinds:
            informer = cache.informer(kind)
            informer._apply = self._counting(informer._apply)

    def _counting(self, apply: Callable[[bytes], None]) -> Callable[[bytes], None]:
        def counted(line: bytes) -> None:
            apply(line)
            self.count += 1

        return counted


class GcPauses:
    """Durations of the cyclic GC's full (generation 2) collections while installed."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def summary(self) -> dict[str, Any]:
        """How many full collections ran and the longest one, in milliseconds."""
        gc.callbacks.remove(self._callback)
        return {"full_collections": len(self.pauses),
                "max_ms": round(max(self.pauses) * 1000, 1) if self.pauses else None}
