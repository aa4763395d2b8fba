"""Wire struct -> record converters for :mod:`cockpit.domain.records` (private).

Each ``_<kind>(wire)`` flattens the parts of the Kubernetes object the cockpit reads into a
record; ``WIRE_TYPES`` / ``CONVERTERS`` map a kind plural to its wire struct and converter.
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar

from cockpit.domain import _wire as w
from cockpit.domain.selectors import NOTHING, LabelSelector
from cockpit.domain.records import (
    BackendRef,
    Condition,
    Container,
    ContainerPort,
    DeploymentRecord,
    Endpoint,
    EndpointSliceRecord,
    EventRecord,
    HTTPRouteRecord,
    LeaseRecord,
    NodeAddress,
    NodeRecord,
    OwnerReference,
    PdbRecord,
    PodRecord,
    ReplicaSetRecord,
    RouteRule,
    ServicePort,
    ServiceRecord,
    Taint,
    Toleration,
)


# -- sharing equal values between records ----------------------------------------------------
# The pods of one ReplicaSet carry equal labels, owner references, containers and tolerations,
# and every pod of a node the same node name: decoded, each would be its own copy (about half
# of a pod record's memory at 150,000 pods). Records are immutable, so equal parts are shared.

SHARED_LIMIT = 100_000  # distinct values remembered; past it the table starts again (no leak)
_shared: dict[Any, Any] = {}
_shared_dicts: dict[tuple, dict[str, str]] = {}
_EMPTY: dict[str, str] = {}
T = TypeVar("T")


def shared(value: T) -> T:
    """The one kept object equal to ``value`` (a hashable immutable: tuple, frozen struct)."""
    kept = _shared.get(value)
    if kept is not None:
        return kept
    if len(_shared) >= SHARED_LIMIT:
        _shared.clear()
    _shared[value] = value
    return value


def shared_dict(value: dict[str, str] | None) -> dict[str, str]:
    """The one kept dict equal to ``value`` (labels), with interned keys and values. Callers
    must not change it, as no part of a record may change."""
    if not value:
        return _EMPTY
    key = tuple(value.items())
    kept = _shared_dicts.get(key)
    if kept is None:
        if len(_shared_dicts) >= SHARED_LIMIT:
            _shared_dicts.clear()
        kept = _shared_dicts[key] = {sys.intern(k): sys.intern(v) for k, v in key}
    return kept


def _text(value: str) -> str:
    """One string object for a repeated short text (namespace, node name, phase, reason)."""
    return sys.intern(value) if value else ""


def _common(meta: w.Meta) -> dict:
    owner = next((o for o in meta.owner_references or () if o.controller), None)
    return {
        "uid": meta.uid,
        "name": meta.name,
        "namespace": _text(meta.namespace),
        "resource_version": meta.resource_version,
        "labels": shared_dict(meta.labels),
        "annotations": meta.annotations or _EMPTY,
        "created": meta.creation_timestamp,
        "owner_kind": _text(owner.kind) if owner else "",
        "owner_name": _text(owner.name) if owner else "",
        "owner_uid": _text(owner.uid) if owner else "",
        "owners": shared(tuple(OwnerReference(o.kind, o.name, o.uid, o.controller, o.api_version)
                               for o in meta.owner_references or ())),
    }


def _revision(annotations: dict[str, str] | None) -> int:
    try:
        return int((annotations or {}).get("deployment.kubernetes.io/revision", "0"))
    except ValueError:
        return 0


def _selector(sel: w.Selector | None) -> LabelSelector:
    try:
        return LabelSelector.from_spec(sel)
    except ValueError:
        return NOTHING  # the apiserver rejects such a selector; reading it as "none" is the safe side


def _containers(spec: w.PodSpec | None) -> tuple[Container, ...]:
    return _container_list(spec.containers) if spec else ()


def _container_list(containers: list[w.ContainerSpec] | None) -> tuple[Container, ...]:
    return shared(tuple(Container(c.name, c.image, tuple(ContainerPort(p.container_port, p.name, p.protocol)
                                                         for p in c.ports or ())) for c in containers or ()))


def _tolerations(spec: w.PodSpec) -> tuple[Toleration, ...]:
    return shared(tuple(Toleration(t.key, t.operator or "Equal", t.value, t.effect, t.toleration_seconds)
                        for t in spec.tolerations or ()))


def _allocatable_pods(allocatable: dict[str, str | int] | None) -> int:
    try:
        return int((allocatable or {}).get("pods", 110))
    except ValueError:
        return 110  # a quantity with a suffix; pod counts are plain numbers in practice


def _conditions(conds: list[w.Condition] | None) -> tuple[Condition, ...]:
    return tuple(
        Condition(c.type, c.status, c.reason, c.message, c.last_transition_time, c.last_update_time)
        for c in conds or ()
    )


def _node(o: w.Node) -> NodeRecord:
    labels = o.metadata.labels or {}
    ready = next((c for c in o.status.conditions or () if c.type == "Ready"), None)
    info = o.status.node_info
    return NodeRecord(
        **_common(o.metadata),
        roles=_node_roles(labels),
        kubelet_version=info.kubelet_version,
        kube_proxy_version=info.kube_proxy_version,
        ready=ready is not None and ready.status == "True",
        ready_status=ready.status if ready else "Unknown",
        ready_reason=ready.reason if ready else "",
        unschedulable=o.spec.unschedulable,
        taints=tuple(Taint(t.key, t.value, t.effect) for t in o.spec.taints or ()),
        internal_ip=next((a.address for a in o.status.addresses or () if a.type == "InternalIP"), ""),
        os_image=info.os_image,
        kernel_version=info.kernel_version,
        container_runtime=info.container_runtime_version,
        architecture=info.architecture,
        pressures=tuple(c.type for c in o.status.conditions or () if c.type != "Ready" and c.status == "True"),
        addresses=tuple(NodeAddress(a.type, a.address) for a in o.status.addresses or ()),
        conditions=_conditions(o.status.conditions),
        allocatable_pods=_allocatable_pods(o.status.allocatable),
        unschedulable_managers=tuple(m.manager for m in o.metadata.managed_fields or ()
                                     if "f:unschedulable" in (m.fields_v1.spec or {})),
    )


def _node_roles(labels: dict[str, str]) -> tuple[str, ...]:
    prefix = "node-role.kubernetes.io/"
    roles = {k[len(prefix):] for k in labels if k.startswith(prefix) and len(k) > len(prefix)}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    return tuple(sorted(roles))


def _pod(o: w.Pod) -> PodRecord:
    statuses = o.status.container_statuses or ()
    ready = next((c for c in o.status.conditions or () if c.type == "Ready"), None)
    return PodRecord(
        **_common(o.metadata),
        phase=_text(o.status.phase),
        ready=ready is not None and ready.status == "True",
        ready_containers=sum(1 for s in statuses if s.ready),
        total_containers=len(o.spec.containers),
        restarts=sum(s.restart_count for s in statuses),
        node_name=_text(o.spec.node_name),
        start_time=o.status.start_time,
        waiting_reason=_text(_waiting_reason(o.status)),
        status_reason=_text(o.status.reason),
        images=shared(tuple(c.image for c in o.spec.containers)),
        pod_ip=o.status.pod_ip,
        deletion_timestamp=o.metadata.deletion_timestamp,
        has_local_storage=any(v.empty_dir is not None for v in o.spec.volumes or ()),
        containers=_container_list(o.spec.containers),
        init_containers=_container_list(o.spec.init_containers),
        tolerations=_tolerations(o.spec),
        priority=o.spec.priority,
        priority_class=_text(o.spec.priority_class_name),
    )


def _waiting_reason(status: w.PodStatus) -> str:
    for s in status.init_container_statuses or ():
        reason = _container_problem(s)
        if reason and reason != "PodInitializing":
            return f"Init:{reason}"
    for s in status.container_statuses or ():
        reason = _container_problem(s)
        if reason and reason not in ("ContainerCreating", "PodInitializing", "Completed"):
            return reason
    return ""


def _container_problem(s: w.ContainerStatus) -> str:
    if s.state.waiting is not None:
        return s.state.waiting.reason
    if s.state.terminated is not None and s.state.terminated.exit_code != 0:
        return s.state.terminated.reason or "Error"
    return ""


def _deployment(o: w.Deployment) -> DeploymentRecord:
    spec, status = o.spec, o.status
    rolling = spec.strategy.rolling_update
    return DeploymentRecord(
        **_common(o.metadata),
        generation=o.metadata.generation,
        observed_generation=status.observed_generation,
        replicas=1 if spec.replicas is None else spec.replicas,
        status_replicas=status.replicas,
        updated_replicas=status.updated_replicas,
        ready_replicas=status.ready_replicas,
        available_replicas=status.available_replicas,
        unavailable_replicas=status.unavailable_replicas,
        strategy=spec.strategy.type or "RollingUpdate",
        max_surge=rolling.max_surge if rolling else None,
        max_unavailable=rolling.max_unavailable if rolling else None,
        paused=spec.paused,
        progress_deadline_seconds=spec.progress_deadline_seconds,
        min_ready_seconds=spec.min_ready_seconds,
        revision=_revision(o.metadata.annotations),
        selector=_selector(spec.selector),
        template_labels=spec.template.metadata.labels or {},
        containers=_containers(spec.template.spec),
        conditions=_conditions(status.conditions),
    )


def _replicaset(o: w.ReplicaSet) -> ReplicaSetRecord:
    labels = o.metadata.labels or {}
    template = o.spec.template
    return ReplicaSetRecord(
        **_common(o.metadata),
        revision=_revision(o.metadata.annotations),
        pod_template_hash=labels.get("pod-template-hash", ""),
        replicas=1 if o.spec.replicas is None else o.spec.replicas,
        status_replicas=o.status.replicas,
        ready_replicas=o.status.ready_replicas,
        available_replicas=o.status.available_replicas,
        selector=_selector(o.spec.selector),
        template_labels=(template.metadata.labels or {}) if template else {},
        containers=_containers(template.spec if template else None),
    )


def _service(o: w.Service) -> ServiceRecord:
    return ServiceRecord(
        **_common(o.metadata),
        type=o.spec.type,
        selector=o.spec.selector or {},
        ports=tuple(
            ServicePort(p.port, p.name, p.protocol, p.target_port, p.node_port) for p in o.spec.ports or ()
        ),
        cluster_ip=o.spec.cluster_ip,
    )


def _endpointslice(o: w.EndpointSlice) -> EndpointSliceRecord:
    return EndpointSliceRecord(
        **_common(o.metadata),
        service_name=(o.metadata.labels or {}).get("kubernetes.io/service-name", ""),
        address_type=o.address_type,
        endpoints=tuple(_endpoint(e) for e in o.endpoints or ()),
        ports=tuple((p.name, p.port, p.protocol) for p in o.ports or ()),
    )


def _endpoint(e: w.Endpoint) -> Endpoint:
    c = e.conditions
    ready = True if c.ready is None else c.ready
    ref = e.target_ref
    return Endpoint(
        addresses=tuple(e.addresses),
        ready=ready,
        serving=ready if c.serving is None else c.serving,
        terminating=bool(c.terminating),
        node_name=e.node_name,
        target_kind=ref.kind if ref else "",
        target_name=ref.name if ref else "",
        target_uid=ref.uid if ref else "",
    )


def _pdb(o: w.Pdb) -> PdbRecord:
    return PdbRecord(
        **_common(o.metadata),
        min_available=o.spec.min_available,
        max_unavailable=o.spec.max_unavailable,
        selector=_selector(o.spec.selector),
        unhealthy_pod_eviction_policy=o.spec.unhealthy_pod_eviction_policy or "IfHealthyBudget",
        current_healthy=o.status.current_healthy,
        desired_healthy=o.status.desired_healthy,
        disruptions_allowed=o.status.disruptions_allowed,
        expected_pods=o.status.expected_pods,
        generation=o.metadata.generation,
        observed_generation=o.status.observed_generation,
    )


def _event(o: w.Event) -> EventRecord:
    series_last = o.series.last_observed_time if o.series else None
    last = series_last or o.last_timestamp or o.event_time or o.metadata.creation_timestamp
    involved = o.involved_object
    return EventRecord(
        **_common(o.metadata),
        type=o.type,
        reason=o.reason,
        message=o.message,
        object_kind=involved.kind,
        object_name=involved.name,
        object_namespace=involved.namespace,
        object_uid=involved.uid,
        count=(o.series.count if o.series else 0) or o.count or 1,
        first_seen=o.first_timestamp or o.event_time or o.metadata.creation_timestamp,
        last_seen=last,
        source=o.source.component if o.source else o.reporting_component,
    )


def _lease(o: w.Lease) -> LeaseRecord:
    return LeaseRecord(
        **_common(o.metadata),
        holder=o.spec.holder_identity or "",
        renew_time=o.spec.renew_time,
        acquire_time=o.spec.acquire_time,
        lease_duration_seconds=o.spec.lease_duration_seconds,
        lease_transitions=o.spec.lease_transitions or 0,
    )


def _httproute(o: w.HTTPRoute) -> HTTPRouteRecord:
    return HTTPRouteRecord(
        **_common(o.metadata),
        parent_refs=tuple(p.name for p in o.spec.parent_refs or ()),
        hostnames=tuple(o.spec.hostnames or ()),
        rules=tuple(_route_rule(r) for r in o.spec.rules or ()),
    )


def _route_rule(r: w.RouteRule) -> RouteRule:
    backends = tuple(
        BackendRef(b.name, b.namespace, b.port, 1 if b.weight is None else b.weight, b.kind, b.group)
        for b in r.backend_refs or ()
    )
    return RouteRule(backends, tuple(_match_text(m) for m in r.matches or ()))


def _match_text(m: w.RouteMatch) -> str:
    path = m.path.value if m.path else ""
    return " ".join(part for part in (m.method, path) if part) or "*"


WIRE_TYPES: dict[str, type] = {
    "nodes": w.Node, "pods": w.Pod, "deployments": w.Deployment, "replicasets": w.ReplicaSet,
    "services": w.Service, "endpointslices": w.EndpointSlice, "poddisruptionbudgets": w.Pdb,
    "events": w.Event, "leases": w.Lease, "httproutes": w.HTTPRoute,
}
CONVERTERS = {
    "nodes": _node, "pods": _pod, "deployments": _deployment, "replicasets": _replicaset,
    "services": _service, "endpointslices": _endpointslice, "poddisruptionbudgets": _pdb,
    "events": _event, "leases": _lease, "httproutes": _httproute,
}
