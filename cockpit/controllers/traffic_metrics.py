"""Live request numbers for the Traffic pane: poll Prometheus, keep a short history, judge.

One poll is six instant queries (the first also two range queries for the trend's past) whatever the number of backends (rates, 5xx rates and P99,
each by Service and version and by Service), so the work per poll never grows with the cluster; the
answers are folded into one :class:`Reading` per (namespace, Service, colour) and per
(namespace, Service) for a canary's whole backend. Each reading is judged against the shipped
(or configured) ``success-rate`` and ``latency-p99`` conditions so the pane can mark a backend
an analysis would fail. Nothing here knows about Textual: the pane calls :meth:`poll` from a
worker and renders the :class:`MetricsSnapshot` it gets.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from cockpit.domain.analysis import AnalysisDef, Phase, QueryOutcome, judge
from cockpit.metrics.client import PrometheusClient, PrometheusQueryError, PrometheusUnreachable
from cockpit.metrics.config import MetricsConfig

DEFAULT_INTERVAL = 5.0  # seconds between polls: a scrape is 1 s, rates are over 30 s
HISTORY_SECONDS = 300.0  # the trend covers the last five minutes
WINDOW = "30s"
JUDGED = ("success-rate", "latency-p99")  # analyses whose conditions mark a live reading
BY_VERSION = "destination_service_namespace, destination_service_name, destination_version"
BY_SERVICE = "destination_service_namespace, destination_service_name"
_REQUESTS = 'istio_requests_total{reporter="destination"%s}'
_BUCKETS = 'istio_request_duration_milliseconds_bucket{reporter="destination"}'
ALL_COLOURS = ""  # the colour of a reading over every version of a Service (a route backend)

Key = tuple[str, str, str]  # (namespace, service, colour or ALL_COLOURS)


@dataclass(frozen=True)
class Reading:
    """One backend's numbers now: requests/s, non-5xx share (None without traffic), P99 in ms."""

    rate: float
    success: float | None
    p99: float | None
    failing: tuple[str, ...] = ()  # analyses whose condition this reading fails (names)


@dataclass
class MetricsSnapshot:
    """What one poll found: the readings, the trend per key, or why there are none.

    ``status`` is ``ok``, ``unconfigured``, ``unreachable`` or ``error``; ``message`` says it in words.
    """

    status: str
    message: str
    readings: dict[Key, Reading] = field(default_factory=dict)
    trends: dict[Key, tuple[float, ...]] = field(default_factory=dict)
    at: float = 0.0

    def reading(self, namespace: str, service: str, colour: str = ALL_COLOURS) -> Reading | None:
        """The reading of a Service (one colour of it, or all of it)."""
        return self.readings.get((namespace, service, colour))

    def trend(self, namespace: str, service: str, colour: str = ALL_COLOURS) -> tuple[float, ...]:
        """Requests/s over the last minutes, oldest first."""
        return self.trends.get((namespace, service, colour), ())


def unconfigured() -> MetricsSnapshot:
    """The snapshot of a cockpit without ``[prometheus] url``."""
    return MetricsSnapshot("unconfigured", "no Prometheus configured: set [prometheus] url in the config file "
                                           "for live request numbers")


class TrafficMetrics:
    """Polls one Prometheus for the Traffic pane (see the module docstring)."""

    def __init__(self, config: MetricsConfig, *, interval: float = DEFAULT_INTERVAL,
                 history: float = HISTORY_SECONDS, now: Callable[[], float] = time.time) -> None:
        self.config = config
        self.interval = interval
        self.now = now
        self._client = PrometheusClient(config.prometheus) if config.prometheus else None
        self._history: dict[Key, deque[float]] = {}
        self._points = max(2, int(history // interval))
        self._judged = [config.analyses[n] for n in JUDGED if n in config.analyses]
        self._seeded = False

    @property
    def configured(self) -> bool:
        """A Prometheus URL is known."""
        return self._client is not None

    @property
    def client(self) -> PrometheusClient | None:
        """The client, shared with the analysis gates the TUI starts (one session per cockpit)."""
        return self._client

    @property
    def url(self) -> str:
        """The Prometheus asked ("" when none is configured)."""
        return self._client.settings.url if self._client else ""

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            await self._client.close()

    async def poll(self) -> MetricsSnapshot:
        """One round of queries; never raises for Prometheus' own failures (they are the status)."""
        if self._client is None:
            return unconfigured()
        try:
            if not self._seeded:
                await self._seed(self._client)
            readings = await self._readings(self._client)
        except PrometheusUnreachable as exc:
            return MetricsSnapshot("unreachable", f"Prometheus not reachable: {exc}", at=self.now())
        except (PrometheusQueryError, ValueError, TypeError, KeyError) as exc:
            # Istio's metric names missing or an odd answer: say so in the pane, every poll, calmly.
            return MetricsSnapshot("error", f"Prometheus answered but the request metrics could not be read: {exc}",
                                   at=self.now())
        trends = self._remember(readings)
        return MetricsSnapshot("ok", f"live from {self.url}", readings, trends, self.now())

    async def _seed(self, client: PrometheusClient) -> None:
        """Fill the trend from Prometheus' own past (two range queries, once), so a cockpit just
        opened shows the last minutes instead of building them up."""
        end = self.now()
        start = end - self.interval * (self._points - 1)
        for by in (BY_VERSION, BY_SERVICE):
            promql = f"sum by ({by}) (rate({_REQUESTS % ''}[{WINDOW}]))"
            for series in await client.query_range(promql, start, end, self.interval):
                points = (v if math.isfinite(v) else 0.0 for _, v in series.points)
                self._history[_key(series.labels)] = deque(points, maxlen=self._points)
        self._seeded = True

    async def _readings(self, client: PrometheusClient) -> dict[Key, Reading]:
        selector = _REQUESTS % ""
        errors = _REQUESTS % ',response_code=~"5.."'
        rates = await _by(client, f"sum by ({BY_VERSION}) (rate({selector}[{WINDOW}]))")
        rates |= await _by(client, f"sum by ({BY_SERVICE}) (rate({selector}[{WINDOW}]))")
        bad = await _by(client, f"sum by ({BY_VERSION}) (rate({errors}[{WINDOW}]))")
        bad |= await _by(client, f"sum by ({BY_SERVICE}) (rate({errors}[{WINDOW}]))")
        p99 = await _by(client, f"histogram_quantile(0.99, sum by (le, {BY_VERSION}) (rate({_BUCKETS}[{WINDOW}])))")
        p99 |= await _by(client, f"histogram_quantile(0.99, sum by (le, {BY_SERVICE}) (rate({_BUCKETS}[{WINDOW}])))")
        return {key: self._reading(rate, bad.get(key, 0.0), p99.get(key)) for key, rate in rates.items()}

    def _reading(self, rate: float, bad: float, p99: float | None) -> Reading:
        success = None if rate <= 0 or not math.isfinite(rate) else max(0.0, 1.0 - bad / rate)
        latency = p99 if p99 is not None and math.isfinite(p99) else None
        return Reading(rate, success, latency, self._failing(success, latency))

    def _failing(self, success: float | None, p99: float | None) -> tuple[str, ...]:
        """The judged analyses this reading fails (no value: not judged here, never a mark)."""
        values = {"success-rate": success, "latency-p99": p99}
        return tuple(a.name for a in self._judged if values.get(a.name) is not None
                     and _fails(a, values[a.name]))

    def _remember(self, readings: dict[Key, Reading]) -> dict[Key, tuple[float, ...]]:
        for key in set(self._history) | set(readings):
            reading = readings.get(key)
            self._history.setdefault(key, deque(maxlen=self._points)).append(reading.rate if reading else 0.0)
        return {key: tuple(points) for key, points in self._history.items()}


def _fails(analysis: AnalysisDef, value: float) -> bool:
    return judge(analysis, QueryOutcome((value,))).phase == Phase.FAILED


async def _by(client: PrometheusClient, promql: str) -> dict[Key, float]:
    """Instant query grouped by Service (and version): values by :data:`Key`."""
    result = await client.query(promql)
    values: dict[Key, float] = {}
    for sample in result.samples:
        values[_key(sample.labels)] = sample.value
    return values


def _key(labels: dict[str, str]) -> Key:
    return (labels.get("destination_service_namespace", ""), labels.get("destination_service_name", ""),
            labels.get("destination_version", ALL_COLOURS))


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float, ...] | list[float], width: int) -> str:
    """The last ``width`` values as block characters scaled to their own maximum."""
    shown = list(values)[-width:]
    if not shown:
        return ""
    top = max(shown)
    if top <= 0:
        return SPARKS[0] * len(shown)
    return "".join(SPARKS[min(len(SPARKS) - 1, int(v / top * (len(SPARKS) - 1) + 0.5))] for v in shown)
