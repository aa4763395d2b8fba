"""StatefulSet controller: pods ``<name>-0..N-1`` created, updated and removed in order.

With the default ``OrderedReady`` policy a pod is created only when every lower ordinal is Running
and Ready, scale-down removes the highest ordinal first, one at a time, and a RollingUpdate
replaces pods from the highest ordinal down to ``partition``, each only after the previous
replacement is Ready. A replaced or evicted pod comes back under the same name once the old one
is gone (so a drain sees it return on another node). ``Parallel`` skips the waiting.
"""

from __future__ import annotations

from cockpit.sim.controllers.base import Controller
from cockpit.sim.controllers.replicaset import create_pod, pod_from_template
from cockpit.sim.objects import controller_of, key_of, pod_is_active, pod_is_ready, template_hash

REVISION_LABEL = "controller-revision-hash"


class StatefulSetController(Controller):
    """Keeps every StatefulSet's ordinals in step with its spec and writes its status."""

    name = "statefulset-controller"

    def handlers(self):
        """StatefulSets and the pods they own."""
        return {"statefulsets": self._on_sts, "pods": self._on_pod}

    def _on_sts(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype != "DELETED" and (old is None or old.get("spec") != obj.get("spec")):
            self.enqueue(key_of(obj))

    def _on_pod(self, etype: str, obj: dict, old: dict | None) -> None:
        ref = controller_of(obj)
        if ref and ref.get("kind") == "StatefulSet":
            self.enqueue((obj["metadata"]["namespace"], ref["name"]))

    def sync(self, key) -> None:
        """One step towards the spec (OrderedReady) or all of them (Parallel), then the status."""
        sts = self.store.get("statefulsets", *key)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        revision = f"{sts['metadata']['name']}-{template_hash(sts['spec']['template'])}"
        pods = self._by_ordinal(sts)
        ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        self._scale(sts, pods, revision, ordered) or self._update(sts, pods, revision, ordered)
        self._write_status(sts, self._by_ordinal(sts), revision)

    def _by_ordinal(self, sts: dict) -> dict[int, dict]:
        prefix = sts["metadata"]["name"] + "-"
        out = {}
        for pod in self.cluster.owned_pods(sts["metadata"]["uid"]):
            suffix = pod["metadata"]["name"].removeprefix(prefix)
            if suffix.isdigit():
                out[int(suffix)] = pod
        return out

    def _scale(self, sts: dict, pods: dict[int, dict], revision: str, ordered: bool) -> bool:
        """Create missing ordinals (in order) and remove surplus ones (highest first); True if it acted."""
        replicas = int(sts["spec"].get("replicas", 1))
        acted = False
        for ordinal in range(replicas):
            pod = pods.get(ordinal)
            if pod is None:
                self._create(sts, ordinal, revision)
                acted = True
            elif ordered and not (pod_is_active(pod) and pod_is_ready(pod)):
                return True  # wait for this ordinal before touching the next
            if acted and ordered:
                return True
        surplus = sorted((o for o in pods if o >= replicas), reverse=True)
        for ordinal in surplus[:1] if ordered else surplus:
            if not pods[ordinal]["metadata"].get("deletionTimestamp"):
                self._delete(sts, pods[ordinal])
            acted = True
        return acted

    def _update(self, sts: dict, pods: dict[int, dict], revision: str, ordered: bool) -> bool:
        """Replace the highest pod of an old revision (down to the partition); True if it acted."""
        strategy = sts["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return False
        partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
        for ordinal in sorted(pods, reverse=True):
            pod = pods[ordinal]
            if ordinal < partition or pod["metadata"].get("deletionTimestamp"):
                continue
            if pod["metadata"].get("labels", {}).get(REVISION_LABEL) != revision:
                self._delete(sts, pod)
                return True
            if ordered and not pod_is_ready(pod):
                return True  # the replacement must be Ready before the next one goes
        return False

    def _create(self, sts: dict, ordinal: int, revision: str) -> None:
        name = f"{sts['metadata']['name']}-{ordinal}"
        pod = pod_from_template(sts, sts["spec"]["template"], {
            REVISION_LABEL: revision, "statefulset.kubernetes.io/pod-name": name,
            "apps.kubernetes.io/pod-index": str(ordinal)})
        del pod["metadata"]["generateName"]
        pod["metadata"]["name"] = name
        pod["spec"] = {**pod["spec"], "hostname": name}
        if sts["spec"].get("serviceName"):
            pod["spec"]["subdomain"] = sts["spec"]["serviceName"]
        create_pod(self.cluster, sts, pod, self.name)

    def _delete(self, sts: dict, pod: dict) -> None:
        self.cluster.delete_pod(pod)
        self.cluster.events.record(sts, "Normal", "SuccessfulDelete",
                                   f"delete Pod {pod['metadata']['name']} in StatefulSet "
                                   f"{sts['metadata']['name']} successful", self.name)

    def _write_status(self, sts: dict, pods: dict[int, dict], revision: str) -> None:
        live = [p for p in pods.values() if pod_is_active(p)]
        ready = [p for p in live if pod_is_ready(p)]
        updated = [p for p in live if p["metadata"].get("labels", {}).get(REVISION_LABEL) == revision]
        old_status = sts.get("status") or {}
        current = old_status.get("currentRevision") or revision
        if len(updated) == len(live) == int(sts["spec"].get("replicas", 1)):
            current = revision
        status = {"replicas": len(live), "readyReplicas": len(ready), "availableReplicas": len(ready),
                  "currentReplicas": sum(1 for p in live
                                         if p["metadata"].get("labels", {}).get(REVISION_LABEL) == current),
                  "updatedReplicas": len(updated), "currentRevision": current, "updateRevision": revision,
                  "observedGeneration": sts["metadata"].get("generation", 1), "collisionCount": 0}
        status = {k: v for k, v in status.items() if v or k in ("replicas", "availableReplicas", "collisionCount")}
        self.store.mutate("statefulsets", *key_of(sts), lambda obj: obj.__setitem__("status", status))
