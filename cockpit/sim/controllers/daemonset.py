"""DaemonSet controller: one pod per eligible node, rolling update one node at a time."""

from __future__ import annotations

from cockpit.sim.controllers.base import Controller
from cockpit.sim.controllers.endpoints import pod_view
from cockpit.sim.controllers.replicaset import create_pod, pod_from_template
from cockpit.sim.objects import (controller_of, int_or_percent, key_of, pod_is_active, pod_is_ready,
                                 template_hash, tolerates)

REVISION_LABEL = "controller-revision-hash"
# Tolerations the DaemonSet controller adds to every daemon pod.
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def daemon_pod(ds: dict, node: str, revision: str) -> dict:
    """A daemon pod for ``node`` (bound directly, with the node-affinity the real controller sets)."""
    pod = pod_from_template(ds, ds["spec"]["template"], {
        REVISION_LABEL: revision, "pod-template-generation": str(ds["metadata"].get("generation", 1))})
    spec = pod["spec"] = dict(pod["spec"])
    tolerations = list(spec.get("tolerations") or [])
    tolerations += [t for t in DAEMON_TOLERATIONS if t not in tolerations]
    spec["tolerations"] = tolerations
    spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}
    spec["nodeName"] = node
    return pod


class DaemonSetController(Controller):
    """Keeps exactly one up-to-date pod on every node a DaemonSet tolerates."""

    name = "daemonset-controller"

    def __init__(self, cluster) -> None:
        super().__init__(cluster)
        self.keys: set[tuple[str, str]] = set()

    def handlers(self):
        """DaemonSets, their pods, and node changes that alter eligibility."""
        return {"daemonsets": self._on_ds, "pods": self._on_pod, "nodes": self._on_node}

    def _on_ds(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype == "DELETED":
            self.keys.discard(key_of(obj))
        elif old is None or old.get("spec") != obj.get("spec"):
            self.keys.add(key_of(obj))
            self.enqueue(key_of(obj))

    def _on_pod(self, etype: str, obj: dict, old: dict | None) -> None:
        ref = controller_of(obj)
        if ref and ref.get("kind") == "DaemonSet":
            if etype == "MODIFIED" and pod_view(old) == pod_view(obj):
                return
            self.enqueue((obj["metadata"]["namespace"], ref["name"]))

    def _on_node(self, etype: str, obj: dict, old: dict | None) -> None:
        if old is None or etype == "DELETED" or _eligibility_view(old) != _eligibility_view(obj):
            for key in self.keys:
                self.enqueue(key)

    def sync(self, key) -> None:
        """Create missing daemon pods, remove misplaced ones, roll old ones, write status."""
        ds = self.store.get("daemonsets", *key)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        revision = template_hash(ds["spec"]["template"])
        by_node: dict[str, list[dict]] = {}
        for pod in self.cluster.owned_pods(ds["metadata"]["uid"]):
            if pod_is_active(pod):
                by_node.setdefault(pod["spec"].get("nodeName", ""), []).append(pod)
        eligible = [n for n in self.store.list("nodes") if self._eligible(ds, n)]
        wanted = {n["metadata"]["name"] for n in eligible}
        for name in wanted - set(by_node):
            create_pod(self.cluster, ds, daemon_pod(ds, name, revision), self.name)
        for name, pods in by_node.items():
            extra = pods if name not in wanted else pods[1:]
            for pod in extra:
                self.cluster.delete_pod(pod)
        self._roll(ds, revision, by_node, wanted)
        self._write_status(ds, revision, by_node, wanted)

    def _eligible(self, ds: dict, node: dict) -> bool:
        tpl_spec = ds["spec"]["template"]["spec"]
        labels = node["metadata"].get("labels") or {}
        if any(labels.get(k) != v for k, v in (tpl_spec.get("nodeSelector") or {}).items()):
            return False
        tolerations = list(tpl_spec.get("tolerations") or []) + DAEMON_TOLERATIONS
        return all(tolerates(tolerations, t) for t in (node.get("spec") or {}).get("taints") or ()
                   if t.get("effect") in ("NoSchedule", "NoExecute"))

    def _roll(self, ds: dict, revision: str, by_node: dict, wanted: set[str]) -> None:
        old = [p for n, pods in by_node.items() if n in wanted for p in pods[:1]
               if p["metadata"].get("labels", {}).get(REVISION_LABEL) != revision]
        if not old:
            return
        ru = (ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
        if (ds["spec"].get("updateStrategy") or {}).get("type") == "OnDelete":
            return
        budget = max(1, int_or_percent(ru.get("maxUnavailable", 1), len(wanted), round_up=False))
        unavailable = len(wanted) - sum(1 for n, pods in by_node.items() if n in wanted and pod_is_ready(pods[0]))
        allowed = budget - unavailable
        for pod in sorted(old, key=pod_is_ready)[:max(0, allowed)]:
            self.cluster.delete_pod(pod)

    def _write_status(self, ds: dict, revision: str, by_node: dict, wanted: set[str]) -> None:
        mine = [pods[0] for n, pods in by_node.items() if n in wanted and pods]
        ready = [p for p in mine if pod_is_ready(p)]
        available, wait = self.cluster.count_available(ready, int(ds["spec"].get("minReadySeconds") or 0))
        if wait is not None:
            self.enqueue_after(wait, key_of(ds))
        status = {
            "currentNumberScheduled": len(mine), "desiredNumberScheduled": len(wanted),
            "numberMisscheduled": sum(len(p) for n, p in by_node.items() if n not in wanted),
            "numberReady": len(ready), "observedGeneration": ds["metadata"].get("generation", 1),
            "updatedNumberScheduled": sum(1 for p in mine
                                          if p["metadata"].get("labels", {}).get(REVISION_LABEL) == revision),
            "numberAvailable": available, "numberUnavailable": len(wanted) - available,
        }
        for optional in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
            if not status[optional]:
                del status[optional]

        def apply(obj: dict) -> None:
            obj["status"] = status

        self.store.mutate("daemonsets", *key_of(ds), apply)


def _eligibility_view(node: dict) -> tuple:
    return (repr((node.get("spec") or {}).get("taints")), repr(node["metadata"].get("labels")))
