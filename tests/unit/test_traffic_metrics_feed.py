"""The Traffic pane's metrics feed without a Prometheus: how answers fold into readings, what is
marked failing, the bounded trend, the sparkline, and the held canary's three answers."""

from __future__ import annotations

import pytest

from cockpit.controllers.held_shift import ABORT, KEEP, PROMOTE, HeldShiftOperation
from cockpit.controllers.operation import Plan, Result
from cockpit.controllers.traffic_metrics import TrafficMetrics, sparkline
from cockpit.metrics.client import InstantResult, PrometheusSettings, PrometheusUnreachable, Sample, Series
from cockpit.metrics.config import MetricsConfig, builtin_analyses


def sample(service: str, value: float, version: str | None = None) -> Sample:
    labels = {"destination_service_namespace": "shop", "destination_service_name": service}
    if version is not None:
        labels["destination_version"] = version
    return Sample(labels, value, 0.0)


class FakeProm:
    """Answers each query by what it asks for (rates, 5xx rates, P99), per version or per Service."""

    settings = PrometheusSettings("http://prom.test")

    def __init__(self, down: bool = False) -> None:
        self.down, self.queries = down, []

    async def query(self, promql: str) -> InstantResult:
        self.queries.append(promql)
        if self.down:
            raise PrometheusUnreachable("Prometheus at http://prom.test did not answer")
        by_version = "destination_version" in promql
        if "histogram_quantile" in promql:
            values = [sample("web", 120.0, "blue")] if by_version else [sample("web", 120.0), sample("cart", 900.0)]
        elif "5.." in promql:
            values = [] if by_version else [sample("cart", 2.0)]
        else:
            values = [sample("web", 5.0, "blue")] if by_version else [sample("web", 5.0), sample("cart", 10.0)]
        return InstantResult("vector", tuple(values))

    async def query_range(self, promql: str, start: float, end: float, step: float) -> tuple[Series, ...]:
        self.queries.append(promql)
        if self.down:
            raise PrometheusUnreachable("Prometheus at http://prom.test did not answer")
        if "destination_version" in promql:
            return ()
        return (Series(sample("cart", 0).labels, ((end - 2 * step, 4.0), (end - step, float("nan")), (end, 8.0))),)

    async def close(self) -> None:
        pass


def feed(prom: FakeProm, **kwargs) -> TrafficMetrics:
    metrics = TrafficMetrics(MetricsConfig(prom.settings, builtin_analyses()), **kwargs)
    metrics._client = prom  # the HTTP client is the only part replaced
    return metrics


async def test_a_poll_folds_answers_per_colour_and_per_service_and_marks_failures():
    prom = FakeProm()
    snapshot = await feed(prom).poll()
    assert snapshot.status == "ok" and len(prom.queries) == 2 + 6  # the trend's past, then the numbers now
    blue = snapshot.reading("shop", "web", "blue")
    assert blue.rate == 5.0 and blue.success == 1.0 and blue.p99 == 120.0 and not blue.failing
    cart = snapshot.reading("shop", "cart")
    assert cart.success == pytest.approx(0.8) and cart.failing == ("success-rate", "latency-p99")
    assert snapshot.reading("shop", "web", "green") is None  # no traffic: no reading, never a pass


async def test_an_unreachable_prometheus_is_a_status_not_an_error():
    snapshot = await feed(FakeProm(down=True)).poll()
    assert snapshot.status == "unreachable" and "did not answer" in snapshot.message and not snapshot.readings


async def test_the_trend_starts_from_prometheus_past_and_keeps_only_the_last_minutes():
    metrics = feed(FakeProm(), interval=5.0, history=20.0)
    first = await metrics.poll()
    assert first.trend("shop", "cart") == (4.0, 0.0, 8.0, 10.0)  # NaN (no data) draws as nothing
    assert first.trend("shop", "web") == (5.0,)
    for _ in range(10):
        snapshot = await metrics.poll()
    assert snapshot.trend("shop", "cart") == (10.0, 10.0, 10.0, 10.0)


def test_sparkline_scales_to_its_own_maximum_and_width():
    assert sparkline([0, 5, 10], 10) == "▁▅█"
    assert sparkline([1, 2, 3, 4, 8], 2) == "▅█"
    assert sparkline([0, 0], 4) == "▁▁" and sparkline([], 4) == ""


class FakeShift:
    """A step plan that holds once, then ends as the next operation says."""

    action, target, kind, steps, pause, stable, canary, gate, api = "shift-plan", "shop/cart", "httproute", \
        [25, 50], 5.0, None, None, None, None

    async def apply(self, plan, run):
        return Result(self.action, self.target, False, "held at step 1/2", details={"held": True})


class FakeRun:
    dry_run = False

    def __init__(self):
        self.records, self.lines = [], []

    def record_quietly(self, event, **fields):
        self.records.append((event, fields))

    def say(self, step, message, level="info", **data):
        self.lines.append(message)


@pytest.mark.parametrize("answer, expected", [(KEEP, "held at step 1/2"), (ABORT, "aborted"), (PROMOTE, "promoted")])
async def test_a_held_plan_asks_and_does_what_it_is_told(monkeypatch, answer, expected):
    import cockpit.controllers.held_shift as held

    class Next:
        def __init__(self, *args, abort=False, **kwargs):
            self.abort = abort

        async def preview(self):
            return Plan("shift", "shop/cart", "t", "b", "a", "TrafficShifted")

        async def apply(self, plan, run):
            return Result("shift", "shop/cart", True, "aborted" if self.abort else "promoted")

    monkeypatch.setattr(held, "ShiftOperation", Next)
    asked = []

    async def decide(result):
        asked.append(result.message)
        return answer

    run = FakeRun()
    result = await HeldShiftOperation(FakeShift(), decide).apply(None, run)
    assert asked == ["held at step 1/2"] and result.message == expected
    assert run.records == [("step", {"step": "held-decision", "choice": answer, "reason": "held at step 1/2"})]
