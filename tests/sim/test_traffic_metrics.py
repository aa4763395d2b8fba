"""The simulated mesh's request metrics: Istio's names and labels, traffic that follows weights,
selectors and pod behaviour at once, and counters that never go backwards."""

from __future__ import annotations

import math
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cockpit.sim.traffic import TrafficModel
from cockpit.sim.traffic_behaviour import BUCKETS_MS, CAPACITY_RPS, ERROR_RATIO, LATENCY_MS, Latency, behaviour_of
from cockpit.sim.traffic_flows import LABELS
from tests.support.prometheus import annotate_pods

REQUESTS = "istio_requests_total"


def scrape(sim) -> dict[str, list]:
    """Metric family name -> samples, parsed by prometheus-client's text-format parser."""
    with urllib.request.urlopen(sim.metrics_url, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = resp.read().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def requests_by(samples, *label_names: str, reporter: str = "destination") -> dict[tuple, float]:
    """Sum of istio_requests_total per the given labels (destination reporter)."""
    out: dict[tuple, float] = {}
    for s in samples:
        if s.name == REQUESTS and s.labels["reporter"] == reporter:
            key = tuple(s.labels[n] for n in label_names)
            out[key] = out.get(key, 0) + s.value
    return out


def counter_values(families) -> dict[tuple, float]:
    """Every counter-like sample (requests, buckets, counts, sums) keyed by name and labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for samples in families.values() for s in samples}


def set_weights(sim, route: str, stable: int, canary: int) -> None:
    def apply(obj):
        refs = obj["spec"]["rules"][0]["backendRefs"]
        refs[0]["weight"], refs[1]["weight"] = stable, canary
    sim.call(lambda: sim.store.mutate("httproutes", "shop", route, apply))


# -- the exposition -----------------------------------------------------------------------------


def test_scrape_parses_with_istio_names_and_labels(sim, wait_for):
    families = wait_for(lambda: (f := scrape(sim)) and requests_by(f["istio_requests"], "destination_workload")
                        and f, what="traffic in the first scrapes")
    assert set(families) == {"istio_requests", "istio_request_duration_milliseconds"}
    sample = next(s for s in families["istio_requests"] if s.labels["destination_workload"] == "api-canary")
    assert set(sample.labels) == set(LABELS)
    assert sample.labels["destination_service_name"] == "api-canary"
    assert sample.labels["destination_service_namespace"] == "shop"
    assert sample.labels["destination_service"] == "api-canary.shop.svc.cluster.local"
    assert sample.labels["destination_version"] == "canary"
    assert sample.labels["source_workload"] == "shop-gateway"
    assert {s.labels["reporter"] for s in families["istio_requests"]} == {"source", "destination"}
    versions = requests_by(families["istio_requests"], "destination_workload", "destination_version")
    assert ("web-blue", "blue") in versions and not any(w == "web-green" for w, _ in versions)


def test_histogram_buckets_are_cumulative_and_end_at_the_count(sim, wait_for):
    wait_for(lambda: requests_by(scrape(sim)["istio_requests"], "destination_workload").get(("api-stable",), 0) > 50,
             what="some api traffic")
    histogram = scrape(sim)["istio_request_duration_milliseconds"]
    series: dict[tuple, dict] = {}
    for s in histogram:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {})[s.labels.get("le", s.name)] = s.value
    for values in series.values():
        buckets = [values[repr(float(b))] for b in BUCKETS_MS] + [values["+Inf"]]
        assert buckets == sorted(buckets)
        assert values["+Inf"] == values["istio_request_duration_milliseconds_count"]


# -- traffic follows the cluster --------------------------------------------------------------


def canary_share(sim, route: str, before: dict, after: dict) -> float:
    grown = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    canary, stable = grown.get((f"{route}-canary",), 0), grown.get((f"{route}-stable",), 0)
    return canary / (canary + stable) if canary + stable else math.nan


def test_counters_never_go_backwards_across_a_weight_change(sim, wait_for):
    first = scrape(sim)
    set_weights(sim, "api", 0, 100)
    previous, seen = counter_values(first), []
    base = requests_by(first["istio_requests"], "destination_workload")

    def moved():
        nonlocal previous
        families = scrape(sim)
        values = counter_values(families)
        backwards = [k for k, v in previous.items() if values.get(k, 0) < v]
        assert not backwards, backwards[:3]
        previous = values
        now = requests_by(families["istio_requests"], "destination_workload")
        seen.append(now)
        return len(seen) > 3 and now[("api-canary",)] - base[("api-canary",)] > 100
    wait_for(moved, what="the canary taking all api traffic")
    # After the change only the canary grows.
    assert canary_share(sim, "api", seen[-3], seen[-1]) == 1.0


def test_model_integrates_rates_exactly_over_simulated_time(sim):
    clock = [0.0]
    model = TrafficModel(sim.store, monotonic=lambda: clock[0])
    sim.call(model.attach)
    try:
        def canary_count():
            totals = model.totals()
            return sum(v[0] for k, v in totals.items() if k[0] == "destination" and k[3] == "api-canary")
        clock[0] = 10.0
        assert sim.call(canary_count) == pytest.approx(40.0)  # 10% of 40 rps for 10 s
        set_weights(sim, "api", 50, 50)  # integrates up to the change before moving traffic
        clock[0] = 20.0
        assert sim.call(canary_count) == pytest.approx(40.0 + 200.0)
    finally:
        sim.call(model.detach)


def test_selector_switch_moves_the_service_traffic_to_the_other_colour(sim, wait_for):
    base = requests_by(scrape(sim)["istio_requests"], "destination_workload")
    sim.call(lambda: sim.store.mutate("services", "shop", "web",
                                      lambda o: o["spec"]["selector"].update(color="green")))
    wait_for(lambda: requests_by(scrape(sim)["istio_requests"], "destination_workload").get(("web-green",), 0) > 20,
             what="traffic on web-green")
    before = requests_by(scrape(sim)["istio_requests"], "destination_workload")
    wait_for(lambda: requests_by(scrape(sim)["istio_requests"], "destination_workload")[("web-green",)]
             > before[("web-green",)] + 20, what="more traffic on web-green")
    after = requests_by(scrape(sim)["istio_requests"], "destination_workload")
    assert after[("web-blue",)] == before[("web-blue",)] >= base[("web-blue",)]


def test_pod_annotations_and_capacity_make_5xx(sim, wait_for):
    annotate_pods(sim, "api-canary-", {ERROR_RATIO: "0.5"})
    set_weights(sim, "cart", 50, 50)  # 20 rps on one cart-canary pod that serves 6
    before = requests_by(scrape(sim)["istio_requests"], "destination_workload", "response_code")

    def grown():
        now = requests_by(scrape(sim)["istio_requests"], "destination_workload", "response_code")
        return {k: now[k] - before.get(k, 0) for k in now}
    d = wait_for(grown, accept=lambda d: d.get(("api-canary", "500"), 0) > 40 and d.get(("cart-canary", "503"), 0) > 40,
                 what="errors from both canaries")
    assert d[("api-canary", "500")] / (d[("api-canary", "500")] + d[("api-canary", "200")]) == pytest.approx(0.5, abs=0.1)
    assert d[("cart-canary", "503")] / (d[("cart-canary", "503")] + d[("cart-canary", "200")]) == pytest.approx(0.7, abs=0.1)
    assert not any(code.startswith("5") for (w, code) in d if w in ("api-stable", "cart-stable"))


# -- behaviour (pure) ---------------------------------------------------------------------------


def pod(image: str, **annotations: str) -> dict:
    return {"metadata": {"annotations": annotations}, "spec": {"containers": [{"image": image}]}}


def test_behaviour_from_tags_and_annotations():
    assert behaviour_of(pod("r/api:1.0")).error_ratio == 0
    assert behaviour_of(pod("r/api:1.1-errors")).error_ratio == pytest.approx(0.05)
    slow = behaviour_of(pod("r/api:1.1-slow")).latency
    assert slow.p99 > 1000 > behaviour_of(pod("r/api:1.0")).latency.p99
    annotated = behaviour_of(pod("r/api:1.1-errors", **{ERROR_RATIO: "0.2", LATENCY_MS: "5,50", CAPACITY_RPS: "3"}))
    assert (annotated.error_ratio, annotated.latency, annotated.capacity) == (0.2, Latency(5, 50), 3.0)
    assert annotated.overload_ratio(6) == pytest.approx(0.5) and annotated.overload_ratio(2) == 0
    typo = behaviour_of(pod("r/api:1.0", **{ERROR_RATIO: "lots", LATENCY_MS: "9", CAPACITY_RPS: "-1"}))
    assert (typo.error_ratio, typo.capacity) == (0.0, None)


def test_latency_quantiles():
    latency = Latency(20, 400)
    assert latency.cdf(20) == pytest.approx(0.5)
    assert latency.cdf(400) == pytest.approx(0.99)
    assert latency.cdf(0) == 0 and latency.mean() > 20
