"""Metric-gated shifts and verified switches against the simulator and a real Prometheus.

The analyses come from a config file (the shipped names, faster: 1 s interval, 5 s windows) so
a step's verdict takes seconds; the sim runs 20x fast, which scales the request rates and
leaves every ratio and latency as it is.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest

from cockpit.journal import read_journal
from cockpit.sim.traffic_behaviour import ERROR_RATIO
from tests.support.e2e import run_cli
from tests.support.prometheus import FIRST_DATA_TIMEOUT, prom_sim, requires_prometheus, wait_for_series  # noqa: F401
from tests.support.wait import wait_until

pytestmark = [pytest.mark.prometheus, pytest.mark.slow, requires_prometheus]

SELECTOR = ('reporter="destination",destination_service_namespace="{{namespace}}",'
            'destination_service_name="{{backend}}",destination_version=~"{{colour}}"')
CONFIG = f"""
[analysis.success-rate]
query = '(sum(rate(istio_requests_total{{{SELECTOR},response_code!~"5.."}}[5s])) or vector(0)) / sum(rate(istio_requests_total{{{SELECTOR}}}[5s]))'
success_condition = "result >= 0.99"
interval = "1s"
inconclusive_limit = 2

[analysis.latency-p99]
query = 'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{{{SELECTOR}}}[5s])) by (le))'
success_condition = "result < 500"
interval = "1s"
inconclusive_limit = 2
"""


@pytest.fixture
def gated(prom_sim, tmp_path, monkeypatch):
    """The Prometheus simulator with the fast analyses configured and traffic already scraped."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("COCKPIT_CONFIG", str(config))
    for service in ("api-canary", "cart-canary", "web"):
        wait_for_series(prom_sim.prometheus_url, f'rate(istio_requests_total{{destination_service_name="{service}"}}[5s])')
    return prom_sim


def cli(capsys, sim, journal_path, *args):
    return run_cli(capsys, sim, journal_path, *args, "--prometheus-url", sim.prometheus_url, "--yes", "--json")


def route_weights(sim, route):
    return sim.call(lambda: {b["name"]: b["weight"] for b in
                             sim.store.get("httproutes", "shop", route)["spec"]["rules"][0]["backendRefs"]})


def analysis_entries(journal_path):
    return [e for e in read_journal(journal_path) if e["event"] == "analysis"]


def test_healthy_canary_is_promoted_to_100(gated, capsys, journal_path):
    code, out, err = cli(capsys, gated, journal_path, "shift", "shop/api", "--step", "--plan", "10,25,50,100",
                         "--pause", "3", "--analysis", "success-rate,latency-p99")
    assert code == 0, (out, err)
    assert route_weights(gated, "api") == {"api-stable": 0, "api-canary": 100}
    measured = analysis_entries(journal_path)
    assert {e["step"] for e in measured} == {"step 1/3", "step 2/3"}  # 25 and 50 gated; 10 skipped, 100 final
    assert {e["analysis"] for e in measured} == {"success-rate", "latency-p99"}
    assert all(e["phase"] in ("successful", "inconclusive") for e in measured)
    assert json.loads(out)["result"]["ok"]


def test_canary_turning_bad_at_the_second_step_is_aborted_to_stable(gated, capsys, journal_path):
    # The cart canary serves 6 rps: fine at 12% of 40 rps, overloaded (503s) at 25%.
    code, out, err = cli(capsys, gated, journal_path, "shift", "shop/cart", "--step", "--plan", "12,25,50,100",
                         "--pause", "6", "--analysis", "success-rate")
    assert code == 1, (out, err)
    assert route_weights(gated, "cart") == {"cart-stable": 100, "cart-canary": 0}
    entries = list(read_journal(journal_path))
    failed = [e for e in entries if e["event"] == "analysis" and e["phase"] == "failed"]
    assert failed and failed[0]["step"] == "step 2/4" and failed[0]["value"] < 0.99
    assert "cart-canary" in failed[0]["query"]
    [verdict] = [e for e in entries if e.get("step") == "analysis-failed"]
    assert verdict["analysis"][0]["verdict"] == "failed" and "success-rate failed" in verdict["reason"]
    assert any(e.get("step") == "abort" for e in entries)
    result = json.loads(out)["result"]
    assert result["details"]["aborted"] and "traffic returned to cart-stable" in result["message"]
    print(f"abort latency: {abort_latency(entries):.2f}s from the bad step's write to the abort record")


def abort_latency(entries) -> float:
    """Seconds from the journaled 2nd step to the journaled abort."""
    second = next(e for e in entries if e.get("step") == 2)
    abort = next(e for e in entries if e.get("step") == "abort")
    return (datetime.fromisoformat(abort["ts"]) - datetime.fromisoformat(second["ts"])).total_seconds()


def test_bad_blue_green_switch_is_switched_back(gated, capsys, journal_path):
    def bad_green():
        for pod in gated.store.list("pods", "shop"):
            if pod["metadata"]["name"].startswith("web-green-"):
                gated.store.mutate("pods", "shop", pod["metadata"]["name"],
                                   lambda o: o["metadata"].setdefault("annotations", {}).update({ERROR_RATIO: "0.2"}))
    gated.call(bad_green)
    code, out, err = cli(capsys, gated, journal_path, "switch", "shop/web", "--to", "green", "--verify-for", "8s",
                         "--analysis", "success-rate")
    assert code == 1, (out, err)
    assert gated.call(lambda: gated.store.get("services", "shop", "web")["spec"]["selector"]["color"]) == "blue"
    result = json.loads(out)["result"]
    assert result["details"]["rolled_back"] and result["details"]["analysis_verdict"] == "failed"
    assert "success-rate failed" in result["message"]
    assert any(e["event"] == "rollback" for e in read_journal(journal_path))


def test_prometheus_stopped_mid_shift_holds_and_never_promotes(gated, capsys, journal_path):
    def stop_after_first_step():
        wait_until(lambda: any(e.get("step") == 1 for e in read_journal(journal_path)), FIRST_DATA_TIMEOUT,
                   "the first step")
        gated.call(gated.sim.prometheus.stop)
    stopper = threading.Thread(target=stop_after_first_step, daemon=True)
    stopper.start()
    # 8 measurements planned: a stop that lands a few measurements late still leaves more
    # inconclusive ones than the limit allows before the step could pass.
    code, out, err = cli(capsys, gated, journal_path, "shift", "shop/api", "--step", "--plan", "25,50,100",
                         "--pause", "8", "--analysis", "success-rate")
    stopper.join(5)
    assert code == 3, (out, err)
    assert route_weights(gated, "api") == {"api-stable": 75, "api-canary": 25}  # held at the first step
    result = json.loads(out)["result"]
    assert result["details"]["held"] and "did not answer" in result["message"]


def test_malformed_analysis_is_refused_before_anything_changes(gated, capsys, journal_path, tmp_path, monkeypatch):
    config = tmp_path / "bad.toml"
    config.write_text("[analysis.typo]\nquery = 'sum(rate(istio_requests_total[5s]) by (le)'\n"
                      'success_condition = "result > 0"\n')
    monkeypatch.setenv("COCKPIT_CONFIG", str(config))
    code, _, err = cli(capsys, gated, journal_path, "shift", "shop/api", "--step", "--plan", "50",
                       "--pause", "2", "--analysis", "typo")
    assert code == 2 and "unclosed" in err
    config.write_text("[analysis.typo]\nquery = 'sum(rate(istio_requests_total[5s])) by (le) bogus'\n"
                      'success_condition = "result > 0"\n')
    code, out, err = cli(capsys, gated, journal_path, "shift", "shop/api", "--step", "--plan", "50",
                         "--pause", "2", "--analysis", "typo")
    assert code == 1 and "analysis queries are valid" in out + err
    assert route_weights(gated, "api") == {"api-stable": 90, "api-canary": 10}


def test_healthy_switch_is_kept_after_its_analyses(gated, capsys, journal_path):
    code, out, err = cli(capsys, gated, journal_path, "switch", "shop/web", "--to", "green", "--verify-for", "4s",
                         "--analysis", "success-rate,latency-p99")
    assert code == 0, (out, err)
    assert gated.call(lambda: gated.store.get("services", "shop", "web")["spec"]["selector"]["color"]) == "green"
    result = json.loads(out)["result"]
    assert result["details"]["analysis_verdict"] == "successful" and "analyses passed" in result["message"]
    measured = [e for e in analysis_entries(journal_path) if e["phase"] == "successful"]
    assert {e["analysis"] for e in measured} == {"success-rate", "latency-p99"}
    assert all('destination_version=~"green"' in e["query"] for e in measured)


def test_an_argo_analysis_template_from_the_cluster_gates_a_shift(gated, capsys, journal_path):
    query = ('(sum(rate(istio_requests_total{destination_service_name="{{args.canary-service}}",'
             'response_code!~"5.."}[5s])) or vector(0)) / '
             'sum(rate(istio_requests_total{destination_service_name="{{args.canary-service}}"}[5s]))')
    template = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
                "metadata": {"name": "canary-errors", "namespace": "shop"},
                "spec": {"args": [{"name": "canary-service"}], "metrics": [{
                    "name": "success", "interval": "1s", "count": 2, "successCondition": "result[0] >= 0.99",
                    "provider": {"prometheus": {"address": "http://prometheus.monitoring:9090", "query": query}}}]}}
    gated.call(lambda: gated.store.create("analysistemplates", template))
    code, out, err = cli(capsys, gated, journal_path, "shift", "shop/api", "--step", "--plan", "20,100",
                         "--pause", "2", "--analysis", "canary-errors")
    assert code == 0, (out, err)
    assert route_weights(gated, "api") == {"api-stable": 0, "api-canary": 100}
    measured = analysis_entries(journal_path)
    assert measured and {e["analysis"] for e in measured} == {"canary-errors"}
    assert all('destination_service_name="api-canary"' in e["query"] for e in measured)
