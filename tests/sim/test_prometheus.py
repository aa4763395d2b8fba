"""A real Prometheus scraping the simulator, queried through cockpit's metrics client: the shipped
success-rate analysis tells a healthy canary from a bad one, and a stopped Prometheus or a bad
query is inconclusive, never a pass."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cockpit.domain.analysis import Phase, judge
from cockpit.metrics.client import PrometheusClient, PrometheusQueryError, PrometheusSettings
from cockpit.metrics.config import ANY_COLOUR, builtin_analyses
from cockpit.metrics.measure import instant_outcome
from cockpit.sim.traffic_behaviour import ERROR_RATIO
from tests.support.prometheus import (FIRST_DATA_TIMEOUT, annotate_pods, prom_sim,  # noqa: F401
                                     requires_prometheus, wait_for_series)
from tests.support.wait import wait_until

pytestmark = [pytest.mark.prometheus, pytest.mark.slow, requires_prometheus]
ANALYSES = builtin_analyses()


def measure(url: str, name: str, backend: str, colour: str = ANY_COLOUR, namespace: str = "shop"):
    """One measurement of a shipped analysis against ``url``."""
    definition = ANALYSES[name]
    promql = definition.query.render({"namespace": namespace, "backend": backend, "colour": colour})

    async def run():
        async with PrometheusClient(PrometheusSettings(url, timeout=3)) as client:
            return judge(definition, await instant_outcome(client, promql), promql)
    return asyncio.run(run())


def test_success_rate_passes_a_healthy_canary_and_fails_a_bad_one(prom_sim):
    annotate_pods(prom_sim, "cart-canary-", {ERROR_RATIO: "0.2"})
    url = prom_sim.prometheus_url
    wait_for_series(url, 'istio_requests_total{destination_service_name="cart-canary",response_code="500"}')
    healthy = wait_until(lambda: measure(url, "success-rate", "api-canary"), FIRST_DATA_TIMEOUT, "a healthy measurement",
                         accept=lambda m: m.phase != Phase.INCONCLUSIVE)
    assert healthy.phase == Phase.SUCCESSFUL and healthy.value == pytest.approx(1.0)
    bad = wait_until(lambda: measure(url, "success-rate", "cart-canary"), FIRST_DATA_TIMEOUT, "a bad measurement",
                     accept=lambda m: m.phase != Phase.INCONCLUSIVE)
    assert bad.phase == Phase.FAILED and bad.value == pytest.approx(0.8, abs=0.05)
    assert "does not hold" in bad.reason and "cart-canary" in bad.query
    latency = measure(url, "latency-p99", "api-canary")
    # P99 120 ms lands in the 100-250 bucket; with few samples in the window one slow request can lift
    # the interpolated quantile into the next bucket, still well under the analysis threshold.
    assert latency.phase == Phase.SUCCESSFUL and 100 < latency.value <= 500


def test_a_colour_is_measured_on_its_own(prom_sim):
    url = prom_sim.prometheus_url
    wait_for_series(url, 'istio_requests_total{destination_service_name="web"}')
    blue = wait_until(lambda: measure(url, "success-rate", "web", "blue"), FIRST_DATA_TIMEOUT, "blue measured",
                      accept=lambda m: m.phase != Phase.INCONCLUSIVE)
    assert blue.phase == Phase.SUCCESSFUL
    green = measure(url, "success-rate", "web", "green")  # no traffic on the idle colour
    assert green.phase == Phase.INCONCLUSIVE and "no data" in green.reason


def test_stopped_prometheus_and_bad_queries_are_inconclusive(prom_sim):
    url = prom_sim.prometheus_url
    wait_for_series(url, "istio_requests_total")
    definition = ANALYSES["success-rate"]

    async def bad_query():
        async with PrometheusClient(PrometheusSettings(url)) as client:
            with pytest.raises(PrometheusQueryError, match="parse error"):
                await client.check_syntax("sum(rate(x[1m])")
            return judge(definition, await instant_outcome(client, "sum(rate(x[1m])"))
    refused = asyncio.run(bad_query())
    assert refused.phase == Phase.INCONCLUSIVE and "bad_data" in refused.reason
    prom_sim.call(prom_sim.sim.prometheus.stop)
    stopped = measure(url, "success-rate", "api-canary")
    assert stopped.phase == Phase.INCONCLUSIVE and "did not answer" in stopped.reason


def test_range_query_gives_points(prom_sim):
    url = prom_sim.prometheus_url
    wait_for_series(url, 'rate(istio_requests_total{destination_service_name="api-stable"}[5s])')

    async def run():
        async with PrometheusClient(PrometheusSettings(url)) as client:
            now = (await client.query("time()")).values[0]
            return await client.query_range('sum(istio_requests_total{reporter="destination"})', now - 10, now, 1)
    [series] = asyncio.run(run())
    values = [v for _, v in series.points]
    assert values and values == sorted(values)  # a counter sum never goes backwards


def test_cockpit_sim_prometheus_flag_names_the_url_and_stops_it(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "sim", "--state-dir", str(tmp_path), "--speed", "20",
                             "--no-ssh", "--prometheus"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        fields = dict(part.split("=", 1) for part in line.split()[2:])
        url = fields["prometheus"]
        assert url.startswith("http://127.0.0.1:") and fields["metrics"].startswith("http://127.0.0.1:")
        assert (tmp_path / "prometheus.url").read_text().strip() == url
        assert "127.0.0.1" in (tmp_path / "prometheus" / "prometheus.yml").read_text()
        with urllib.request.urlopen(f"{url}/-/ready", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    assert not (tmp_path / "prometheus.url").exists()
    wait_until(lambda: _refused(url), what="Prometheus gone with the simulator")
    assert Path(tmp_path / "prometheus" / "data").is_dir()


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/-/ready", timeout=1).close()
    except (urllib.error.URLError, OSError):
        return True
    return False
