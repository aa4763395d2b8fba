"""Where each Service's traffic goes: blue/green pairs and weighted HTTPRoute splits. Pure.

**Blue/green pairs.** A Service is a pair when its selector holds one of the configured label
keys (default ``color``, ``slot``, ``version``, first match wins) and two or more Deployments
in its namespace have pod-template labels that match the selector *except* for that key, with
different values for it. The selector's value is the active colour; each value is a
:class:`Slot` with its ready pods, its ready endpoints behind the Service (EndpointSlices
resolved to pods through ``targetRef``), and for idle slots whether they could take the
traffic now (rollout complete, every desired replica ready).

**Route splits.** Each HTTPRoute rule becomes a :class:`RouteSplit`: backends with weights
(unset = 1, as in Gateway API), percentages, and the ready endpoints behind each backend Service.
"""

from __future__ import annotations

from typing import Iterable

from msgspec import Struct

from cockpit.domain.records import (
    DeploymentRecord,
    Endpoint,
    EndpointSliceRecord,
    HTTPRouteRecord,
    PodRecord,
    ServiceRecord,
)
from cockpit.domain.rollout import rollout_status
from cockpit.domain.selectors import LabelSelector

DEFAULT_LABEL_KEYS: tuple[str, ...] = ("color", "slot", "version")


class Slot(Struct, frozen=True):
    """One colour of a pair. ``ready`` counts ready, non-terminating pods of that colour;
    ``ready_endpoints`` counts ready endpoints of the Service that point at them."""

    value: str
    deployments: tuple[str, ...]
    active: bool
    desired: int
    ready: int
    ready_endpoints: int
    rollout_complete: bool
    ready_to_switch: bool

    @property
    def deployment(self) -> str:
        """The (first) Deployment of this colour."""
        return self.deployments[0] if self.deployments else ""


class BlueGreenPair(Struct, frozen=True):
    """A Service switching between colours. ``label`` is the colour key, ``active`` its value
    in the Service selector; ``slots`` are sorted by value."""

    uid: str
    namespace: str
    service: str
    label: str
    active: str
    slots: tuple[Slot, ...]

    @property
    def key(self) -> str:
        """``namespace/service``."""
        return f"{self.namespace}/{self.service}"

    @property
    def active_slot(self) -> Slot | None:
        """The slot receiving traffic (None if no Deployment has the selector's value)."""
        return next((s for s in self.slots if s.active), None)

    @property
    def idle_slots(self) -> tuple[Slot, ...]:
        """The slots not receiving traffic."""
        return tuple(s for s in self.slots if not s.active)


class BackendShare(Struct, frozen=True):
    """One weighted backend of a route rule."""

    name: str
    namespace: str
    port: int | None
    weight: int
    percent: float
    ready_endpoints: int
    total_endpoints: int
    service_exists: bool


class RouteSplit(Struct, frozen=True):
    """One HTTPRoute rule (``rule`` = index in spec.rules) and its backends."""

    uid: str
    namespace: str
    route: str
    rule: int
    matches: tuple[str, ...]
    backends: tuple[BackendShare, ...]

    @property
    def key(self) -> str:
        """``namespace/route``."""
        return f"{self.namespace}/{self.route}"

    @property
    def total_weight(self) -> int:
        """Sum of the backend weights."""
        return sum(b.weight for b in self.backends)


# ----- blue/green --------------------------------------------------------------------------


def pair_label(service: ServiceRecord, deployments: Iterable[DeploymentRecord],
               label_keys: Iterable[str] = DEFAULT_LABEL_KEYS) -> tuple[str, dict[str, list[DeploymentRecord]]] | None:
    """The colour key of ``service`` and its Deployments by colour, or None if not a pair.

    ``deployments`` should be those of the Service's namespace (others are ignored).
    """
    selector = service.selector
    if not selector:
        return None
    candidates = [d for d in deployments if d.namespace == service.namespace]
    for key in label_keys:
        if key not in selector:
            continue
        rest = LabelSelector({k: v for k, v in selector.items() if k != key})
        by_value: dict[str, list[DeploymentRecord]] = {}
        for dep in candidates:
            labels = dep.template_labels
            if key in labels and rest.matches(labels):
                by_value.setdefault(labels[key], []).append(dep)
        if len(by_value) >= 2:
            return key, by_value
    return None


def blue_green_pairs(
    services: Iterable[ServiceRecord],
    deployments: Iterable[DeploymentRecord],
    pods: Iterable[PodRecord] = (),
    endpointslices: Iterable[EndpointSliceRecord] = (),
    label_keys: Iterable[str] = DEFAULT_LABEL_KEYS,
) -> list[BlueGreenPair]:
    """Every blue/green pair, sorted by namespace/service."""
    label_keys = tuple(label_keys)
    deps_by_ns = _group(deployments, lambda d: d.namespace)
    pods_by_ns = _group(pods, lambda p: p.namespace)
    pods_by_uid = {p.uid: p for ps in pods_by_ns.values() for p in ps}
    endpoints = endpoints_by_service(endpointslices)
    pairs = []
    for svc in services:
        found = pair_label(svc, deps_by_ns.get(svc.namespace, ()), label_keys)
        if found is None:
            continue
        key, by_value = found
        svc_endpoints = endpoints.get((svc.namespace, svc.name), [])
        slots = tuple(
            _slot(svc, key, value, by_value[value], pods_by_ns.get(svc.namespace, ()), svc_endpoints, pods_by_uid)
            for value in sorted(by_value)
        )
        pairs.append(BlueGreenPair(svc.uid, svc.namespace, svc.name, key, svc.selector[key], slots))
    return sorted(pairs, key=lambda p: (p.namespace, p.service))


def _slot(
    svc: ServiceRecord,
    key: str,
    value: str,
    deps: list[DeploymentRecord],
    pods: Iterable[PodRecord],
    endpoints: list[Endpoint],
    pods_by_uid: dict[str, PodRecord],
) -> Slot:
    selector = LabelSelector.from_map({**svc.selector, key: value})
    ready = sum(1 for p in pods if p.ready and not p.terminating and selector.matches(p.labels))
    ready_endpoints = sum(
        1 for e in endpoints if e.ready and _endpoint_label(e, key, pods_by_uid) == value
    )
    desired = sum(d.replicas for d in deps)
    complete = all(rollout_status(d).done for d in deps)
    active = svc.selector.get(key) == value
    return Slot(
        value=value,
        deployments=tuple(sorted(d.name for d in deps)),
        active=active,
        desired=desired,
        ready=ready,
        ready_endpoints=ready_endpoints,
        rollout_complete=complete,
        ready_to_switch=complete and desired > 0 and ready >= desired,
    )


def _endpoint_label(endpoint: Endpoint, key: str, pods_by_uid: dict[str, PodRecord]) -> str | None:
    pod = pods_by_uid.get(endpoint.target_uid) if endpoint.target_uid else None
    return pod.labels.get(key) if pod is not None else None


# ----- routes ------------------------------------------------------------------------------


def route_splits(
    routes: Iterable[HTTPRouteRecord],
    services: Iterable[ServiceRecord] = (),
    endpointslices: Iterable[EndpointSliceRecord] = (),
) -> list[RouteSplit]:
    """One RouteSplit per rule of every route, sorted by namespace/route/rule."""
    known = {(s.namespace, s.name) for s in services}
    endpoints = endpoints_by_service(endpointslices)
    splits = []
    for route in routes:
        for index, rule in enumerate(route.rules):
            shares = _shares(route, rule.backends, known, endpoints)
            splits.append(RouteSplit(route.uid, route.namespace, route.name, index, rule.matches, shares))
    return sorted(splits, key=lambda s: (s.namespace, s.route, s.rule))


def _shares(route, backends, known, endpoints) -> tuple[BackendShare, ...]:
    weights = [b.weight for b in backends]
    percents = percentages(weights)
    shares = []
    for backend, percent in zip(backends, percents):
        namespace = backend.namespace or route.namespace
        is_service = backend.kind in ("Service", "") and backend.group in ("", "core")
        eps = endpoints.get((namespace, backend.name), []) if is_service else []
        shares.append(BackendShare(
            name=backend.name,
            namespace=namespace,
            port=backend.port,
            weight=backend.weight,
            percent=percent,
            ready_endpoints=sum(1 for e in eps if e.ready),
            total_endpoints=len(eps),
            service_exists=is_service and (namespace, backend.name) in known,
        ))
    return tuple(shares)


def percentages(weights: list[int]) -> list[float]:
    """Each weight's share of the total in percent (all 0.0 when the total is 0)."""
    total = sum(max(w, 0) for w in weights)
    if total <= 0:
        return [0.0 for _ in weights]
    return [100.0 * max(w, 0) / total for w in weights]


def whole_percentages(weights: list[int]) -> list[int]:
    """Integer percentages that add up to exactly 100 (largest remainder), for labels."""
    exact = percentages(weights)
    if not any(exact):
        return [0 for _ in weights]
    floors = [int(p) for p in exact]
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[: 100 - sum(floors)]:
        floors[i] += 1
    return floors


# ----- shared ------------------------------------------------------------------------------


def endpoints_by_service(endpointslices: Iterable[EndpointSliceRecord]) -> dict[tuple[str, str], list[Endpoint]]:
    """Endpoints per ``(namespace, service)``, merged across slices and de-duplicated by pod
    (dual-stack clusters list each pod once per address family)."""
    out: dict[tuple[str, str], dict[str, Endpoint]] = {}
    for eps in endpointslices:
        if not eps.service_name:
            continue
        bucket = out.setdefault((eps.namespace, eps.service_name), {})
        for endpoint in eps.endpoints:
            ident = endpoint.target_uid or (endpoint.addresses[0] if endpoint.addresses else "")
            bucket.setdefault(ident, endpoint)
    return {key: list(bucket.values()) for key, bucket in out.items()}


def _group(items: Iterable, key) -> dict[str, list]:
    out: dict[str, list] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out
