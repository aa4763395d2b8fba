"""What kube-apiserver creates for itself at start: an APIService per built-in group version
(served locally, Available) and the default RBAC ClusterRoles with the cluster-admin binding."""

from __future__ import annotations

from cockpit.sim.controllers.base import Controller
from cockpit.sim.errors import ApiError
from cockpit.sim.objects import backdate, iso
from cockpit.sim.resources import group_versions

_BUILT_IN = ("", "apps", "batch", "policy", "autoscaling")
_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_WORKLOADS = {"": ["pods", "services", "endpoints", "configmaps", "secrets", "serviceaccounts",
                   "replicationcontrollers", "persistentvolumeclaims"],
              "apps": ["deployments", "replicasets", "statefulsets", "daemonsets"],
              "batch": ["jobs", "cronjobs"], "policy": ["poddisruptionbudgets"]}
_BOOTSTRAP = {"kubernetes.io/bootstrapping": "rbac-defaults"}


def _rules(verbs: list[str]) -> list[dict]:
    return [{"apiGroups": [group], "resources": resources, "verbs": verbs} for group, resources in _WORKLOADS.items()]


CLUSTER_ROLES = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}],
    "admin": _rules(_READ + _WRITE) + [{"apiGroups": ["rbac.authorization.k8s.io"],
                                        "resources": ["roles", "rolebindings"], "verbs": _READ + _WRITE}],
    "edit": _rules(_READ + _WRITE),
    "view": _rules(_READ),
}


def _built_in(group: str) -> bool:
    return group in _BUILT_IN or (group.endswith(".k8s.io") and not group.startswith("gateway."))


class Bootstrap(Controller):
    """Creates the apiserver's own objects once, when the cluster starts."""

    name = "apiserver-bootstrap"

    def __init__(self, cluster) -> None:
        super().__init__(cluster)
        self.enqueue("bootstrap")

    def sync(self, key) -> None:
        """Create whatever of the bootstrap objects is missing."""
        now = iso(self.clock.now())
        for group_version, types in group_versions().items():
            group, version = types[0].group, types[0].version
            if _built_in(group):
                self._ensure("apiservices", _api_service(group, version, now))
        for name, rules in CLUSTER_ROLES.items():
            self._ensure("clusterroles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                          "metadata": {"name": name, "labels": _BOOTSTRAP}, "rules": rules})
        self._ensure("clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "cluster-admin", "labels": _BOOTSTRAP},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]})

    def _ensure(self, resource: str, obj: dict) -> None:
        if self.store.get(resource, None, obj["metadata"]["name"]) is not None:
            return
        try:
            self.store.create(resource, backdate(obj, self.clock.now(), self.cluster.seed_age_days))
        except ApiError:
            pass  # created meanwhile


def _api_service(group: str, version: str, now: str) -> dict:
    priority = {"": (18000, 1), "apps": (17800, 15), "batch": (17400, 15), "policy": (17100, 15),
                "autoscaling": (17500, 9)}.get(group, (16000, 15))
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": f"{version}.{group}",
                         "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}},
            "spec": {"group": group, "version": version, "groupPriorityMinimum": priority[0],
                     "versionPriority": priority[1]},
            "status": {"conditions": [{"type": "Available", "status": "True", "lastTransitionTime": now,
                                       "reason": "Local", "message": "Local APIServices are always available"}]}}
