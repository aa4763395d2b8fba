"""A simulator with a real Prometheus scraping it (``cockpit sim --prometheus``'s code path).

Tests that use :func:`prom_sim` are marked ``prometheus``; they skip, naming the reason, only
when no ``prometheus`` binary is installed (``.ci/run`` installs Debian's).
"""

from __future__ import annotations

import asyncio

import pytest

from cockpit.metrics.client import PrometheusClient, PrometheusSettings
from cockpit.sim.prometheus import find_binary
from tests.support.wait import wait_until

# Prometheus applies new scrape targets every 5 s and rate() needs two samples: allow for that
# on a loaded machine.
FIRST_DATA_TIMEOUT = 60.0

requires_prometheus = pytest.mark.skipif(find_binary() is None, reason="no prometheus binary installed")


@pytest.fixture
def prom_sim(sim_factory):
    """A demo simulator (speed 20) with its Prometheus; both stopped after the test."""
    return sim_factory(prometheus=True)


def instant(url: str, promql: str):
    """One instant query through cockpit's client (from a synchronous test)."""
    async def run():
        async with PrometheusClient(PrometheusSettings(url)) as client:
            return await client.query(promql)
    return asyncio.run(run())


def wait_for_series(url: str, promql: str, timeout: float = FIRST_DATA_TIMEOUT):
    """Poll until ``promql`` returns at least one sample; returns the result."""
    return wait_until(lambda: instant(url, promql), timeout, f"data for {promql}",
                      accept=lambda result: result.samples)


def annotate_pods(sim, prefix: str, annotations: dict) -> None:
    """Set ``annotations`` on the simulator's ``shop`` pods named ``prefix...``: the simulated
    traffic reads its error ratio and latency from them, so Prometheus sees the change."""
    def apply(obj):
        obj["metadata"].setdefault("annotations", {}).update(annotations)

    def run():
        for pod in sim.store.list("pods", "shop"):
            if pod["metadata"]["name"].startswith(prefix):
                sim.store.mutate("pods", "shop", pod["metadata"]["name"], apply)
    sim.call(run)
