"""The kinds the simulated API server serves (``RESOURCES``, keyed by the store key)."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    """A subresource such as ``pods/eviction``; group/version/kind are of its body."""

    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None  # None = same as the parent
    version: str | None = None


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives in the URL space and how discovery describes it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    categories: tuple[str, ...] = ()
    key: str = ""  # the store key; defaults to the plural
    singular: str = field(default="")

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        """Same as api_version (the discovery ``groupVersion``)."""
        return self.api_version

    @property
    def list_kind(self) -> str:
        """The kind of list responses (``PodList``)."""
        return self.kind + "List"

    @property
    def singular_name(self) -> str:
        """The singular resource name used by discovery."""
        return self.singular or self.kind.lower()

    def subresource(self, name: str) -> Subresource | None:
        """The subresource called ``name`` or None."""
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, STATUS_VERBS)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", STATUS_VERBS, "autoscaling", "v1")


_TYPES = [
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",),
                 ("create", "delete", "get", "list", "patch", "update", "watch"), (_status("Namespace"),)),
    ResourceType("", "v1", "nodes", "Node", False, ("no",), subresources=(_status("Node"),)),
    ResourceType("", "v1", "pods", "Pod", True, ("po",), categories=("all",), subresources=(
        _status("Pod"),
        Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
        Subresource("log", "Pod", ("get",)),
    )),
    ResourceType("", "v1", "services", "Service", True, ("svc",), categories=("all",),
                 subresources=(_status("Service"),)),
    ResourceType("", "v1", "endpoints", "Endpoints", True, ("ep",), singular="endpoints"),
    ResourceType("", "v1", "events", "Event", True, ("ev",)),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    ResourceType("", "v1", "secrets", "Secret", True),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    ResourceType("", "v1", "replicationcontrollers", "ReplicationController", True, ("rc",), categories=("all",),
                 subresources=(_status("ReplicationController"),)),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), categories=("all",),
                 subresources=(_status("Deployment"), _scale())),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), categories=("all",),
                 subresources=(_status("ReplicaSet"), _scale())),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), categories=("all",),
                 subresources=(_status("DaemonSet"),)),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), categories=("all",),
                 subresources=(_status("StatefulSet"), _scale())),
    ResourceType("batch", "v1", "jobs", "Job", True, categories=("all",), subresources=(_status("Job"),)),
    ResourceType("batch", "v1", "cronjobs", "CronJob", True, ("cj",), categories=("all",),
                 subresources=(_status("CronJob"),)),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    ResourceType("events.k8s.io", "v1", "events", "Event", True, ("ev",), key="events.events.k8s.io"),
    ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",),
                 subresources=(_status("PodDisruptionBudget"),)),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",),
                 subresources=(_status("Ingress"),)),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ResourceType("apiregistration.k8s.io", "v1", "apiservices", "APIService", False,
                 subresources=(_status("APIService"),)),
    ResourceType("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", True,
                 categories=("gateway-api",), subresources=(_status("HTTPRoute"),)),
    # Argo Rollouts' analysis CRDs: cockpit reads their Prometheus metrics as analyses.
    ResourceType("argoproj.io", "v1alpha1", "analysistemplates", "AnalysisTemplate", True,
                 categories=("argoproj",)),
    ResourceType("argoproj.io", "v1alpha1", "clusteranalysistemplates", "ClusterAnalysisTemplate", False,
                 categories=("argoproj",)),
]

RESOURCES: dict[str, ResourceType] = {(t.key or t.plural): t for t in _TYPES}
for _key, _t in list(RESOURCES.items()):
    if not _t.key:
        object.__setattr__(_t, "key", _key)

_BY_PATH = {(t.group, t.version, t.plural): t for t in RESOURCES.values()}
_BY_KIND = {}
for _t in RESOURCES.values():
    _BY_KIND.setdefault((_t.api_version, _t.kind), _t)


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    """The resource served at ``/apis/<group>/<version>/<plural>`` (group "" = /api/v1)."""
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    """The resource for an object's ``apiVersion`` and ``kind``."""
    return _BY_KIND.get((api_version, kind))


def group_versions() -> dict[str, list[ResourceType]]:
    """Resources grouped by groupVersion, core ("v1") first, in a stable order."""
    out: dict[str, list[ResourceType]] = {}
    for t in _TYPES:
        out.setdefault(t.api_version, []).append(t)
    return out
