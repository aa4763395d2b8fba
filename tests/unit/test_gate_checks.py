"""The analysis gate without a Prometheus: an unreachable server is inconclusive (never a pass),
and the preview checks refuse unsafe arguments and an unreachable server before any change."""

from __future__ import annotations

from cockpit.controllers.analysis_gate import (CHECK_PROMETHEUS, CHECK_QUERIES, AnalysisGate, canary_args,
                                               colour_args)
from cockpit.controllers.operation import Plan, Run
from cockpit.domain.analysis import Phase
from cockpit.metrics.client import PrometheusClient, PrometheusSettings
from cockpit.metrics.config import builtin_analyses

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there


class Recorder:
    """Collects what a Run emits and journals."""

    def __init__(self) -> None:
        self.said, self.journaled = [], []

    def run(self) -> Run:
        plan = Plan("shift-plan", "shop/api", "t", "b", "a", "TrafficShifted")
        return Run(plan, lambda step, message, level="info", **data: self.said.append((level, message)),
                   lambda _action, _target, event, fields: self.journaled.append((event, fields)), dry_run=False)


async def no_wait(seconds: float) -> None:
    return None


async def test_unreachable_prometheus_is_inconclusive_never_a_pass():
    recorder = Recorder()
    async with PrometheusClient(PrometheusSettings(CLOSED, timeout=2)) as client:
        gate = AnalysisGate(client, list(builtin_analyses().values()), sleep=no_wait)
        verdict = await gate.judge(canary_args("shop", "api", "api-canary"), 60, recorder.run(), "step 1/3")
    assert verdict.phase == Phase.INCONCLUSIVE
    assert "did not answer" in verdict.reason()
    assert [event for event, _ in recorder.journaled] == ["analysis", "analysis"]  # one each, then the limit
    assert all(level == "warn" for level, message in recorder.said if "inconclusive" in message)


async def test_checks_refuse_unsafe_arguments_and_an_unreachable_server():
    async with PrometheusClient(PrometheusSettings(CLOSED, timeout=2)) as client:
        gate = AnalysisGate(client, list(builtin_analyses().values()))
        queries, server = await gate.checks(colour_args("shop", "web", 'green"} or vector(1) #'))
        assert not queries.ok and "unsafe value for {{colour}}" in queries.detail
        queries, server = await gate.checks(colour_args("shop", "web", "green"))
    assert queries.ok and queries.name == CHECK_QUERIES
    assert not server.ok and server.name == CHECK_PROMETHEUS and "did not answer" in server.detail
    assert gate.details(60)[0].startswith("analysis success-rate: result >= 0.99, every 10s, 6 measurement(s)")
