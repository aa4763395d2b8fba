"""Simulated request traffic as Istio's standard metrics, integrated over simulated time.

Counters only ever grow: the rate table (:func:`cockpit.sim.traffic_flows.compute_rates`) is
integrated into cumulative accumulators, and on the first relevant change after a scrape the
old rates are integrated up to that instant before the table is marked stale. So a weight or
selector change moves traffic from that moment on, and Prometheus never sees a counter reset.
The stale table is rebuilt lazily at the next scrape: a burst of pod updates costs one rebuild.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from cockpit.sim.traffic_behaviour import BUCKETS_MS
from cockpit.sim.traffic_flows import LABELS, VECTOR, SeriesKey, compute_rates

RELEVANT = {"httproutes", "services", "endpoints"}
REQUESTS = "istio_requests_total"
DURATION = "istio_request_duration_milliseconds"


class TrafficModel:
    """Cumulative request metrics of a simulated cluster's store (see the module docstring)."""

    def __init__(self, store, monotonic: Callable[[], float] | None = None) -> None:
        self.store = store
        self._now = monotonic or time.monotonic
        self._rates: dict[SeriesKey, list[float]] = {}
        self._totals: dict[SeriesKey, list[float]] = {}
        self._last = self._now()
        self._stale = True

    def attach(self) -> None:
        """Follow the store's changes; traffic counts from now on (the table is built at the first scrape)."""
        self.store.add_listener(self.on_change)
        self._last, self._stale = self._now(), True

    def detach(self) -> None:
        """Stop following the store."""
        remove = getattr(self.store, "remove_listener", None)
        if remove is not None:
            remove(self.on_change)

    def on_change(self, etype: str, resource: str, obj: dict, old: dict | None) -> None:
        """Store listener: integrate the old rates up to now, then mark them stale."""
        if self._stale or not _matters(resource, obj, old):
            return
        self._advance()
        self._stale = True

    def _advance(self) -> None:
        now = self._now()
        elapsed = max(now - self._last, 0.0)
        self._last = now
        for key, rates in self._rates.items():
            totals = self._totals[key]
            for i, rate in enumerate(rates):
                totals[i] += rate * elapsed

    def totals(self) -> dict[SeriesKey, list[float]]:
        """Series key -> cumulative (count, sum_ms, buckets...) as of now."""
        if self._stale:  # the old rates were integrated up to the change that made them stale
            self._rates = compute_rates(self.store)
            for key in self._rates:
                self._totals.setdefault(key, [0.0] * VECTOR)
            self._stale = False
        self._advance()
        return self._totals

    def exposition(self) -> str:
        """The metrics in the Prometheus text exposition format (version 0.0.4)."""
        totals = sorted(self.totals().items())
        lines = [f"# HELP {REQUESTS} Requests served, by source, destination and response code.",
                 f"# TYPE {REQUESTS} counter"]
        lines += [f"{REQUESTS}{{{_labels(key)}}} {math.floor(v[0])}" for key, v in totals]
        lines += [f"# HELP {DURATION} Request duration in milliseconds.", f"# TYPE {DURATION} histogram"]
        for key, values in totals:
            lines += _histogram_lines(key, values)
        return "\n".join(lines) + "\n"


def _matters(resource: str, obj: dict, old: dict | None) -> bool:
    if resource in RELEVANT:
        return True
    if resource != "pods" or old is None:
        return False
    # Readiness reaches traffic through Endpoints; a pod matters itself only when its
    # behaviour (annotations, image) or its version label changes.
    before, after = old["metadata"], obj["metadata"]
    return (before.get("annotations") != after.get("annotations") or before.get("labels") != after.get("labels")
            or old.get("spec", {}).get("containers") != obj.get("spec", {}).get("containers"))


def _labels(key: SeriesKey, extra: str = "") -> str:
    text = ",".join(f'{name}="{_escape(value)}"' for name, value in zip(LABELS, key))
    return f"{text},{extra}" if extra else text


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _histogram_lines(key: SeriesKey, values: list[float]) -> list[str]:
    labels, count = _labels(key), math.floor(values[0])
    lines, previous = [], 0
    for i, bound in enumerate(BUCKETS_MS):
        # Rounding must never make a bucket exceed the next one or the count.
        previous = max(previous, min(math.floor(values[2 + i]), count))
        lines.append(f"{DURATION}_bucket{{{_labels(key, _le(bound))}}} {previous}")
    lines.append(f"{DURATION}_bucket{{{_labels(key, _le(math.inf))}}} {count}")
    lines.append(f"{DURATION}_sum{{{labels}}} {values[1]:.3f}")
    lines.append(f"{DURATION}_count{{{labels}}} {count}")
    return lines


def _le(bound: float) -> str:
    return 'le="+Inf"' if math.isinf(bound) else f'le="{float(bound)!r}"'
