"""Where simulated requests go right now: per-series request rates from routes, Services and pods.

Each HTTPRoute sends its rate (``sim.cockpit.dev/requests-per-second`` on the route, else
:data:`DEFAULT_ROUTE_RPS`) through its rules' weighted backendRefs; each other Service with a
selector gets its own rate (same annotation on the Service, else :data:`DEFAULT_SERVICE_RPS`).
A Service's rate is spread evenly over the ready addresses of its Endpoints, so a weight, a
selector or a readiness change moves traffic as soon as the Endpoints move. Backends of a route
get no direct traffic unless annotated: a canary at weight 0 must see nothing.

The result is a table of *rates*: series key -> per-second increments of (count, sum in ms,
cumulative buckets). :mod:`cockpit.sim.traffic` integrates it over simulated time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from cockpit.sim.traffic_behaviour import BUCKETS_MS, PREFIX, Behaviour, behaviour_of

RATE = PREFIX + "requests-per-second"
DEFAULT_ROUTE_RPS = 20.0
DEFAULT_SERVICE_RPS = 5.0
REPORTERS = ("destination", "source")
# The label names of istio_requests_total (in this order), response_code last.
LABELS = ("reporter", "source_workload", "source_workload_namespace", "destination_workload",
          "destination_workload_namespace", "destination_app", "destination_version",
          "destination_service", "destination_service_name", "destination_service_namespace",
          "request_protocol", "response_code")
# Pod labels that name a version or colour, in the order Istio (version) and blue/green use them.
VERSION_LABELS = ("version", "app.kubernetes.io/version", "color", "colour", "slot", "track")
VECTOR = 2 + len(BUCKETS_MS)  # count, sum_ms, buckets...

SeriesKey = tuple[str, ...]


@dataclass(frozen=True)
class Demand:
    """Requests/s sent to one Service, and by whom."""

    namespace: str
    service: str
    rate: float
    source: str
    source_namespace: str


def route_demands(store) -> tuple[list[Demand], set[tuple[str, str]]]:
    """Demands of every HTTPRoute, and the (namespace, service) pairs that routes send to."""
    demands, backends = [], set()
    for route in store.list("httproutes"):
        ns = route["metadata"]["namespace"]
        rate = _rate(route, DEFAULT_ROUTE_RPS)
        rules = route.get("spec", {}).get("rules") or []
        source = _gateway(route)
        for rule in rules:
            refs = [r for r in rule.get("backendRefs") or () if r.get("kind", "Service") == "Service"]
            total = sum(max(int(r.get("weight", 1)), 0) for r in refs)
            for ref in refs:
                target = (ref.get("namespace") or ns, ref["name"])
                backends.add(target)
                if total and ref.get("weight", 1) > 0:
                    share = rate / len(rules) * int(ref.get("weight", 1)) / total
                    demands.append(Demand(*target, share, source, ns))
    return demands, backends


def service_demands(store, backends: set[tuple[str, str]]) -> list[Demand]:
    """Direct traffic of every Service with a selector that is not a route backend (or is annotated)."""
    out = []
    for svc in store.list("services"):
        meta = svc["metadata"]
        key = (meta["namespace"], meta["name"])
        annotated = RATE in (meta.get("annotations") or {})
        if not svc.get("spec", {}).get("selector") or (key in backends and not annotated):
            continue
        out.append(Demand(*key, _rate(svc, DEFAULT_SERVICE_RPS), "unknown", "unknown"))
    return out


def _rate(obj: dict, default: float) -> float:
    text = (obj["metadata"].get("annotations") or {}).get(RATE)
    try:
        value = float(text) if text is not None else default
    except ValueError:
        return default
    return value if value >= 0 else default


def _gateway(route: dict) -> str:
    parents = route.get("spec", {}).get("parentRefs") or []
    return parents[0].get("name", "unknown") if parents else "unknown"


def ready_pods(store, namespace: str, service: str) -> list[dict]:
    """The pods behind the ready addresses of the Service's Endpoints."""
    ep = store.get("endpoints", namespace, service)
    pods = []
    for subset in (ep or {}).get("subsets") or ():
        for address in subset.get("addresses") or ():
            ref = address.get("targetRef") or {}
            pod = store.get("pods", ref.get("namespace", namespace), ref.get("name", ""))
            if pod is not None:
                pods.append(pod)
    return pods


def workload_of(pod: dict) -> str:
    """The Deployment (or other owner) name, as Istio's ``destination_workload`` gives it."""
    meta = pod["metadata"]
    owner = next((o for o in meta.get("ownerReferences") or () if o.get("controller")), None)
    if owner is None:
        return meta["name"]
    hash_ = (meta.get("labels") or {}).get("pod-template-hash")
    if owner.get("kind") == "ReplicaSet" and hash_ and owner["name"].endswith("-" + hash_):
        return owner["name"][: -len(hash_) - 1]
    return owner["name"]


def version_of(pod: dict) -> str:
    """The pod's version or colour label value (``unknown`` when it has none)."""
    labels = pod["metadata"].get("labels") or {}
    return next((labels[k] for k in VERSION_LABELS if labels.get(k)), "unknown")


def compute_rates(store) -> dict[SeriesKey, list[float]]:
    """Series key -> per-second increments (count, sum_ms, cumulative bucket counts)."""
    demands, backends = route_demands(store)
    demands += service_demands(store, backends)
    shares = [(d, pod, d.rate / len(pods)) for d in demands if (pods := ready_pods(store, d.namespace, d.service))
              for pod in pods]
    per_pod: dict[str, float] = defaultdict(float)
    for _, pod, rate in shares:
        per_pod[pod["metadata"]["uid"]] += rate
    # Pods of one workload answer alike: add their rates first, expand each group's vectors once.
    groups: dict[tuple, float] = defaultdict(float)
    for demand, pod, rate in shares:
        behaviour = behaviour_of(pod)
        overload = behaviour.overload_ratio(per_pod[pod["metadata"]["uid"]])
        groups[(_base_labels(demand, pod), behaviour, overload)] += rate
    rates: dict[SeriesKey, list[float]] = {}
    for (base, behaviour, overload), rate in groups.items():
        _add_flow(rates, base, rate, behaviour, overload)
    return rates


def _add_flow(rates: dict, base: tuple[str, ...], rate: float, behaviour: Behaviour, overload: float) -> None:
    served = rate * (1 - overload)
    by_code = {"200": served * (1 - behaviour.error_ratio), "500": served * behaviour.error_ratio,
               "503": rate * overload}
    shares = behaviour.latency.bucket_shares()
    mean = behaviour.latency.mean()
    for reporter in REPORTERS:
        for code, code_rate in by_code.items():
            if code_rate <= 0:
                continue
            vector = rates.setdefault((reporter, *base, code), [0.0] * VECTOR)
            vector[0] += code_rate
            vector[1] += code_rate * mean
            for i, share in enumerate(shares):
                vector[2 + i] += code_rate * share


def _base_labels(demand: Demand, pod: dict) -> tuple[str, ...]:
    ns = pod["metadata"]["namespace"]
    app = (pod["metadata"].get("labels") or {}).get("app", "unknown")
    return (demand.source, demand.source_namespace, workload_of(pod), ns, app, version_of(pod),
            f"{demand.service}.{demand.namespace}.svc.cluster.local", demand.service, demand.namespace, "http")
