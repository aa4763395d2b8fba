"""How one simulated pod answers requests: error ratio, latency distribution and capacity.

The behaviour comes from the image tag (``errors`` in the tag: a few percent of 5xx; ``slow``: a
long latency tail) and from pod annotations a test or a scenario sets, which win over the tag:

- ``sim.cockpit.dev/error-ratio``: the share of requests answered with a 500 (0..1)
- ``sim.cockpit.dev/latency-ms``: ``"P50,P99"`` in milliseconds (a log-normal through both)
- ``sim.cockpit.dev/capacity-rps``: requests per simulated second one pod serves; above it the
  excess is answered with a 503 (a canary that is fine at a small weight and fails at a larger)

Malformed annotation values fall back to the tag's behaviour: the simulator must not stop
serving metrics because a test wrote a typo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from cockpit.domain.images import image_tag

PREFIX = "sim.cockpit.dev/"
ERROR_RATIO = PREFIX + "error-ratio"
LATENCY_MS = PREFIX + "latency-ms"
CAPACITY_RPS = PREFIX + "capacity-rps"

# Istio's default buckets for istio_request_duration_milliseconds.
BUCKETS_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
              600000, 1800000, 3600000)
_Z99 = 2.3263478740408408  # the standard normal's 0.99 quantile

HEALTHY_LATENCY = (20.0, 120.0)
SLOW_LATENCY = (180.0, 4000.0)
ERRORS_TAG_RATIO = 0.05


@dataclass(frozen=True)
class Latency:
    """A log-normal latency distribution given by its median and 99th percentile (ms)."""

    p50: float
    p99: float

    @property
    def _sigma(self) -> float:
        return max(math.log(self.p99 / self.p50), 1e-6) / _Z99

    def cdf(self, ms: float) -> float:
        """The share of requests that take at most ``ms`` milliseconds."""
        if ms <= 0:
            return 0.0
        z = (math.log(ms) - math.log(self.p50)) / self._sigma
        return 0.5 * math.erfc(-z / math.sqrt(2))

    def mean(self) -> float:
        """The mean latency in milliseconds."""
        return self.p50 * math.exp(self._sigma ** 2 / 2)

    def bucket_shares(self) -> tuple[float, ...]:
        """The cumulative share at each of :data:`BUCKETS_MS` (what a histogram's buckets hold)."""
        return _bucket_shares(self)


@lru_cache(maxsize=256)
def _bucket_shares(latency: Latency) -> tuple[float, ...]:
    # Few distinct distributions, many pods: a scrape of a big cluster must not redo the maths.
    return tuple(latency.cdf(le) for le in BUCKETS_MS)


@dataclass(frozen=True)
class Behaviour:
    """How a pod answers: ``error_ratio`` of 500s, ``latency``, and ``capacity`` (None = unbounded)."""

    error_ratio: float
    latency: Latency
    capacity: float | None = None

    def overload_ratio(self, rate: float) -> float:
        """The share of ``rate`` requests/s above capacity (answered 503)."""
        if self.capacity is None or rate <= self.capacity:
            return 0.0
        return 1.0 - self.capacity / rate


def behaviour_of(pod: dict) -> Behaviour:
    """The behaviour of ``pod`` from its first container's image tag and its annotations."""
    annotations = pod["metadata"].get("annotations") or {}
    containers = pod["spec"].get("containers") or [{}]
    return _behaviour(containers[0].get("image", "") or "", annotations.get(ERROR_RATIO),
                      annotations.get(LATENCY_MS), annotations.get(CAPACITY_RPS))


@lru_cache(maxsize=4096)
def _behaviour(image: str, error_ratio: str | None, latency: str | None, capacity: str | None) -> Behaviour:
    tag = image_tag(image)
    default_ratio = ERRORS_TAG_RATIO if "errors" in tag else 0.0
    default_latency = Latency(*(SLOW_LATENCY if "slow" in tag else HEALTHY_LATENCY))
    return Behaviour(_ratio(error_ratio, default_ratio), _latency(latency, default_latency), _positive(capacity))


def _ratio(text: str | None, default: float) -> float:
    try:
        value = float(text) if text is not None else default
    except ValueError:
        return default
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else default


def _latency(text: str | None, default: Latency) -> Latency:
    if not text:
        return default
    try:
        p50, p99 = (float(part) for part in text.split(","))
    except ValueError:
        return default
    if not (0 < p50 <= p99 and math.isfinite(p99)):
        return default
    return Latency(p50, p99)


def _positive(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value > 0 else None
