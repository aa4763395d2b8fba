"""The metrics client's TLS and bearer-token plumbing, against a real HTTPS server that checks
both (the simulator's API server: it is not a Prometheus, so an authorised query gets its 404)."""

from __future__ import annotations

import asyncio

import pytest

from cockpit.metrics.client import PrometheusClient, PrometheusQueryError, PrometheusSettings, PrometheusUnreachable


def query(settings: PrometheusSettings):
    async def run():
        async with PrometheusClient(settings) as client:
            return await client.query("up")
    return asyncio.run(run())


def test_ca_file_and_bearer_token_are_used(api_sim, tmp_path):
    with pytest.raises(PrometheusQueryError, match="HTTP 404"):  # TLS verified, token accepted
        query(PrometheusSettings(api_sim.url, bearer_token=api_sim.token, ca_file=api_sim.ca_file))
    token_file = tmp_path / "token"
    token_file.write_text(api_sim.token + "\n")
    with pytest.raises(PrometheusQueryError, match="HTTP 404"):
        query(PrometheusSettings(api_sim.url, token_file=str(token_file), ca_file=api_sim.ca_file))
    with pytest.raises(PrometheusQueryError, match="HTTP 401"):
        query(PrometheusSettings(api_sim.url, bearer_token="wrong", ca_file=api_sim.ca_file))


def test_untrusted_certificate_missing_token_file_and_closed_port_are_unreachable(api_sim, tmp_path):
    with pytest.raises(PrometheusUnreachable, match="did not answer"):
        query(PrometheusSettings(api_sim.url, bearer_token=api_sim.token))  # system CAs do not trust the sim
    with pytest.raises(PrometheusUnreachable, match="token file"):
        query(PrometheusSettings(api_sim.url, token_file=str(tmp_path / "missing"), ca_file=api_sim.ca_file))
    with pytest.raises(PrometheusUnreachable):
        query(PrometheusSettings("http://127.0.0.1:9", timeout=2))
