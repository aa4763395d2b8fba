"""REST paths for the kinds the cockpit uses.

``path_for("deployments", "shop", "web", "scale")`` -> ``/apis/apps/v1/namespaces/shop/deployments/web/scale``.
``path_for("pods")`` -> ``/api/v1/pods`` (all namespaces). Cluster-scoped kinds ignore ``namespace``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Kind:
    """Where a resource type lives: API group ("" = core), version, plural, namespaced."""

    group: str
    version: str
    plural: str
    namespaced: bool
    kind: str

    @property
    def api_version(self) -> str:
        """``v1`` for core, ``group/version`` otherwise (the ``apiVersion`` field)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        """``/api/v1`` or ``/apis/<group>/<version>``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


def _k(group: str, version: str, plural: str, namespaced: bool, kind: str) -> Kind:
    return Kind(group, version, plural, namespaced, kind)


KINDS: dict[str, Kind] = {
    k.plural: k
    for k in (
        _k("", "v1", "pods", True, "Pod"),
        _k("", "v1", "nodes", False, "Node"),
        _k("", "v1", "services", True, "Service"),
        _k("", "v1", "endpoints", True, "Endpoints"),
        _k("", "v1", "events", True, "Event"),
        _k("", "v1", "namespaces", False, "Namespace"),
        _k("", "v1", "configmaps", True, "ConfigMap"),
        _k("apps", "v1", "deployments", True, "Deployment"),
        _k("apps", "v1", "replicasets", True, "ReplicaSet"),
        _k("apps", "v1", "daemonsets", True, "DaemonSet"),
        _k("discovery.k8s.io", "v1", "endpointslices", True, "EndpointSlice"),
        _k("policy", "v1", "poddisruptionbudgets", True, "PodDisruptionBudget"),
        _k("coordination.k8s.io", "v1", "leases", True, "Lease"),
        _k("gateway.networking.k8s.io", "v1", "httproutes", True, "HTTPRoute"),
        _k("networking.k8s.io", "v1", "ingresses", True, "Ingress"),
    )
}

ALIASES = {
    "pod": "pods", "po": "pods", "node": "nodes", "no": "nodes", "service": "services", "svc": "services",
    "ep": "endpoints", "event": "events", "ev": "events", "ns": "namespaces", "namespace": "namespaces",
    "cm": "configmaps", "deployment": "deployments", "deploy": "deployments", "replicaset": "replicasets",
    "rs": "replicasets", "daemonset": "daemonsets", "ds": "daemonsets", "endpointslice": "endpointslices",
    "pdb": "poddisruptionbudgets", "poddisruptionbudget": "poddisruptionbudgets", "lease": "leases",
    "httproute": "httproutes", "ingress": "ingresses", "ing": "ingresses",
}


def kind_info(kind_plural: str) -> Kind:
    """The :class:`Kind` for a plural (or a kubectl short name). KeyError names the valid kinds."""
    key = ALIASES.get(kind_plural, kind_plural)
    try:
        return KINDS[key]
    except KeyError:
        raise KeyError(f"unknown kind {kind_plural!r}; known: {', '.join(sorted(KINDS))}") from None


def path_for(
    kind_plural: str, namespace: str | None = None, name: str | None = None, subresource: str | None = None
) -> str:
    """The REST path for a collection (``name=None``), an object, or an object's subresource.

    ``namespace=None`` on a namespaced kind means all namespaces (collections only).
    """
    info = kind_info(kind_plural)
    parts = [info.prefix]
    if info.namespaced and namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    elif info.namespaced and name:
        raise ValueError(f"{info.plural}/{name}: a namespace is needed to address one object")
    parts.append(info.plural)
    if name:
        parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
    elif subresource:
        raise ValueError("a subresource needs an object name")
    return "/".join(parts)
