"""ReplicaSet controller: keeps ``spec.replicas`` pods per ReplicaSet and reports status."""

from __future__ import annotations

from cockpit.sim.controllers.base import Controller
from cockpit.sim.errors import ApiError
from cockpit.sim.objects import (backdate, controller_of, key_of, owner_ref, pod_is_active, pod_is_ready)

BURST = 500  # pods created per sync; larger gaps are closed over several syncs
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def pod_from_template(owner: dict, template: dict, extra_labels: dict | None = None) -> dict:
    """A new Pod (named with generateName ``<owner>-``) from a pod template, owned by ``owner``."""
    tpl_meta = template.get("metadata") or {}
    meta = {
        "generateName": owner["metadata"]["name"] + "-",
        "namespace": owner["metadata"]["namespace"],
        "labels": {**(tpl_meta.get("labels") or {}), **(extra_labels or {})},
        "ownerReferences": [owner_ref(owner)],
    }
    if tpl_meta.get("annotations"):
        meta["annotations"] = dict(tpl_meta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]}


def create_pod(cluster, owner: dict, pod: dict, component: str) -> dict | None:
    """Create ``pod`` and emit SuccessfulCreate (retrying once on a generated-name clash)."""
    for _ in range(2):
        try:
            made = cluster.store.create("pods", backdate(pod, cluster.clock.now(), cluster.seed_age_days))
        except ApiError as err:
            if err.code == 409:
                continue
            cluster.events.record(owner, "Warning", "FailedCreate", f"Error creating: {err}", component)
            return None
        cluster.events.record(owner, "Normal", "SuccessfulCreate",
                              f"Created pod: {made['metadata']['name']}", component)
        return made
    return None


def deletion_rank(pod: dict) -> tuple:
    """Sort key: pods that should go first sort first (like the real ActivePods ordering)."""
    status = pod.get("status") or {}
    restarts = sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or ())
    return (bool(pod["spec"].get("nodeName")), _PHASE_RANK.get(status.get("phase"), 1),
            pod_is_ready(pod), -restarts, _negated(pod["metadata"].get("creationTimestamp", "")))


def _negated(stamp: str) -> tuple:
    return tuple(-ord(ch) for ch in stamp)


class ReplicaSetController(Controller):
    """Creates and deletes pods to match each ReplicaSet and writes its status."""

    name = "replicaset-controller"

    def handlers(self):
        """Watch ReplicaSets and the pods they own."""
        return {"replicasets": self._on_rs, "pods": self._on_pod}

    def _on_rs(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype != "DELETED" and (old is None or old.get("spec") != obj.get("spec")
                                   or old["metadata"].get("generation") != obj["metadata"].get("generation")):
            self.enqueue(key_of(obj))

    def _on_pod(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype == "MODIFIED" and old is not None and _same_pod_state(old, obj):
            return  # e.g. an annotation change from the churn generator
        ref = controller_of(obj)
        if ref and ref.get("kind") == "ReplicaSet":
            self.enqueue((obj["metadata"]["namespace"], ref["name"]))

    def sync(self, key) -> None:
        """Create/delete pods and refresh the status of one ReplicaSet."""
        rs = self.store.get("replicasets", *key)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        pods = self.cluster.owned_pods(rs["metadata"]["uid"])
        active = [p for p in pods if pod_is_active(p)]
        diff = int(rs["spec"].get("replicas", 1)) - len(active)
        if diff > 0:
            self._create(rs, min(diff, BURST))
            if diff > BURST:
                self.enqueue(key)
        elif diff < 0:
            self._delete(rs, sorted(active, key=deletion_rank)[:-diff])
        self._write_status(rs)

    def _create(self, rs: dict, count: int) -> None:
        for _ in range(count):
            create_pod(self.cluster, rs, pod_from_template(rs, rs["spec"]["template"]), self.name)

    def _delete(self, rs: dict, victims: list[dict]) -> None:
        for pod in victims:
            self.cluster.delete_pod(pod)
            self.cluster.events.record(rs, "Normal", "SuccessfulDelete",
                                       f"Deleted pod: {pod['metadata']['name']}", self.name)

    def _write_status(self, rs: dict) -> None:
        active = [p for p in self.cluster.owned_pods(rs["metadata"]["uid"]) if pod_is_active(p)]
        ready = [p for p in active if pod_is_ready(p)]
        min_ready = int(rs["spec"].get("minReadySeconds") or 0)
        available, wait = self.cluster.count_available(ready, min_ready)
        if wait is not None:
            self.enqueue_after(wait, key_of(rs))
        status = {"replicas": len(active), "fullyLabeledReplicas": len(active),
                  "readyReplicas": len(ready), "availableReplicas": available,
                  "observedGeneration": rs["metadata"].get("generation", 1)}
        # Go marshals these with omitempty: zero values are absent on a real server.
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}

        def write(obj: dict) -> None:
            conds = (obj.get("status") or {}).get("conditions")
            obj["status"] = dict(status, **({"conditions": conds} if conds else {}))

        self.store.mutate("replicasets", *key_of(rs), write)


def _same_pod_state(old: dict, new: dict) -> bool:
    """Nothing a workload controller counts changed (e.g. only annotations or restart counts)."""
    from cockpit.sim.controllers.endpoints import pod_view

    return pod_view(old) == pod_view(new)
