"""Deployment controller: ReplicaSet per pod template, rolling update / Recreate, revisions.

Follows k8s.io/kubernetes/pkg/controller/deployment closely enough that ``kubectl rollout
status|undo|restart|pause|resume`` behave as on a real cluster. Status and conditions are in
``deployment_status``.
"""

from __future__ import annotations

from cockpit.sim.controllers.base import Controller
from cockpit.sim.controllers.deployment_status import StatusWriter, max_surge, max_unavailable
from cockpit.sim.objects import (DESIRED_REPLICAS, backdate, MAX_REPLICAS, REVISION, TEMPLATE_HASH,
                                 controller_of, int_or_percent, key_of, owner_ref, template_hash)


def revision_of(rs: dict) -> int:
    """The deployment.kubernetes.io/revision of a ReplicaSet (0 if unset)."""
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _replicas(rs: dict) -> int:
    return int(rs["spec"].get("replicas", 0))


def _status(rs: dict, field: str) -> int:
    return int((rs.get("status") or {}).get(field, 0))


class DeploymentController(Controller):
    """Reconciles Deployments into ReplicaSets."""

    name = "deployment-controller"

    def __init__(self, cluster) -> None:
        super().__init__(cluster)
        self.status = StatusWriter(self)

    def handlers(self):
        """Watch Deployments and the ReplicaSets they own."""
        return {"deployments": self._on_deployment, "replicasets": self._on_rs, "pods": self._on_pod}

    def _on_deployment(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype == "DELETED":
            self.status.forget(obj["metadata"]["uid"])
        elif old is None or old.get("spec") != obj.get("spec") or old.get("status") != obj.get("status"):
            self.enqueue(key_of(obj))

    def _on_rs(self, etype: str, obj: dict, old: dict | None) -> None:
        ref = controller_of(obj)
        if ref and ref.get("kind") == "Deployment":
            self.enqueue((obj["metadata"]["namespace"], ref["name"]))

    def _on_pod(self, etype: str, obj: dict, old: dict | None) -> None:
        # Recreate waits for old pods to be gone: their removal does not change any RS status.
        if etype != "DELETED":
            return
        ref = controller_of(obj)
        if ref and ref.get("kind") == "ReplicaSet":
            rs = self.store.get("replicasets", obj["metadata"]["namespace"], ref["name"])
            owner = controller_of(rs) if rs else None
            if owner and owner.get("kind") == "Deployment":
                self.enqueue((obj["metadata"]["namespace"], owner["name"]))

    # ------------------------------------------------------------------ sync

    def sync(self, key) -> None:
        """One reconcile pass for a Deployment."""
        d = self.store.get("deployments", *key)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return
        rses = self._owned_rses(d)
        h = template_hash(d["spec"]["template"])
        new = next((rs for rs in rses if rs["metadata"].get("labels", {}).get(TEMPLATE_HASH) == h), None)
        olds = sorted((rs for rs in rses if rs is not new), key=revision_of)
        if d["spec"].get("paused"):
            self._scale_paused(d, new, olds)
        else:
            created = new is None
            new = self._create_rs(d, h, olds) if created else self._bump_revision(new, olds)
            if new is None:
                return
            self._mark_revision(d, new)
            self.status.note_new_rs(d, new, created)
            if (d["spec"].get("strategy") or {}).get("type") == "Recreate":
                self._recreate(d, new, olds)
            else:
                self._rolling(d, new, olds)
            self._cleanup(d, olds)
        self.status.write(key, new, self._owned_rses(d))

    def _owned_rses(self, d: dict) -> list[dict]:
        out = []
        for ns, name in self.cluster.index.owned(d["metadata"]["uid"], "replicasets"):
            rs = self.store.get("replicasets", ns, name)
            if rs is not None and not rs["metadata"].get("deletionTimestamp"):
                out.append(rs)
        return out

    # ------------------------------------------------------------------ new ReplicaSet

    def _create_rs(self, d: dict, h: str, olds: list[dict]) -> dict | None:
        meta, spec = d["metadata"], d["spec"]
        tpl = _copy(spec["template"])
        tpl.setdefault("metadata", {}).setdefault("labels", {})[TEMPLATE_HASH] = h
        selector = _copy(spec["selector"])
        selector.setdefault("matchLabels", {})[TEMPLATE_HASH] = h
        rev = max((revision_of(rs) for rs in olds), default=0) + 1
        desired = int(spec.get("replicas", 1))
        rs_spec = {"replicas": 0, "selector": selector, "template": tpl}
        if spec.get("minReadySeconds"):
            rs_spec["minReadySeconds"] = spec["minReadySeconds"]
        rs = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": f"{meta['name']}-{h}", "namespace": meta["namespace"],
                "labels": dict(tpl["metadata"]["labels"]),
                "annotations": {REVISION: str(rev), DESIRED_REPLICAS: str(desired),
                                MAX_REPLICAS: str(desired + max_surge(d))},
                "ownerReferences": [owner_ref(d)],
            },
            "spec": rs_spec,
        }
        existing = self.store.get("replicasets", meta["namespace"], rs["metadata"]["name"])
        if existing is not None:  # a leftover not owned by us (hash collision or orphan): adopt
            return None
        return self.store.create("replicasets", backdate(rs, self.clock.now(), self.cluster.seed_age_days))

    def _bump_revision(self, new: dict, olds: list[dict]) -> dict:
        # Reusing an old template (rollout undo): its ReplicaSet becomes the latest revision.
        top = max((revision_of(rs) for rs in olds), default=0)
        if revision_of(new) > top:
            return new
        ns, name = key_of(new)

        def bump(rs: dict) -> None:
            rs["metadata"].setdefault("annotations", {})[REVISION] = str(top + 1)

        return self.store.mutate("replicasets", ns, name, bump) or new

    def _mark_revision(self, d: dict, new: dict) -> None:
        rev = (new["metadata"].get("annotations") or {}).get(REVISION, "1")
        if (d["metadata"].get("annotations") or {}).get(REVISION) == rev:
            return

        def mark(obj: dict) -> None:
            obj["metadata"].setdefault("annotations", {})[REVISION] = rev

        self.store.mutate("deployments", *key_of(d), mark)

    # ------------------------------------------------------------------ strategies

    def _rolling(self, d: dict, new: dict, olds: list[dict]) -> None:
        desired = int(d["spec"].get("replicas", 1))
        new = self._scale_up_new(d, new, olds, desired)
        old_total = sum(_replicas(rs) for rs in olds)
        if old_total == 0:
            return
        all_pods = sum(_status(rs, "replicas") for rs in olds + [new])
        min_available = desired - max_unavailable(d)
        new_unavailable = _replicas(new) - _status(new, "availableReplicas")
        budget = all_pods - min_available - new_unavailable
        if budget <= 0:
            return
        olds, cleaned = self._cleanup_unhealthy(d, olds, budget)
        available = sum(_status(rs, "availableReplicas") for rs in olds + [new])
        self._scale_down_old(d, olds, available - min_available)

    def _scale_up_new(self, d: dict, new: dict, olds: list[dict], desired: int) -> dict:
        if _replicas(new) > desired:
            return self.scale(d, new, desired)
        if _replicas(new) == desired:
            return new
        total = sum(_replicas(rs) for rs in olds) + _replicas(new)
        room = min(desired + max_surge(d) - total, desired - _replicas(new))
        return self.scale(d, new, _replicas(new) + room) if room > 0 else new

    def _cleanup_unhealthy(self, d: dict, olds: list[dict], budget: int) -> tuple[list[dict], int]:
        done, out = 0, []
        for rs in sorted(olds, key=lambda r: r["metadata"].get("creationTimestamp", "")):
            unhealthy = _replicas(rs) - _status(rs, "availableReplicas")
            if done < budget and _replicas(rs) > 0 and unhealthy > 0:
                step = min(budget - done, unhealthy)
                rs = self.scale(d, rs, _replicas(rs) - step)
                done += step
            out.append(rs)
        return out, done

    def _scale_down_old(self, d: dict, olds: list[dict], total: int) -> None:
        done = 0
        for rs in sorted(olds, key=lambda r: r["metadata"].get("creationTimestamp", "")):
            if done >= total:
                break
            if _replicas(rs) == 0:
                continue
            step = min(_replicas(rs), total - done)
            self.scale(d, rs, _replicas(rs) - step)
            done += step

    def _recreate(self, d: dict, new: dict, olds: list[dict]) -> None:
        active_olds = [rs for rs in olds if _replicas(rs) > 0]
        for rs in active_olds:
            self.scale(d, rs, 0)
        if active_olds or any(self.cluster.index.owned(rs["metadata"]["uid"], "pods") for rs in olds):
            return  # Recreate waits until every old pod is gone
        self.scale(d, new, int(d["spec"].get("replicas", 1)))

    def _scale_paused(self, d: dict, new: dict | None, olds: list[dict]) -> None:
        # Paused: no rollout, but `kubectl scale` still applies to the active ReplicaSet.
        desired = int(d["spec"].get("replicas", 1))
        active = [rs for rs in olds + ([new] if new else []) if _replicas(rs) > 0]
        if len(active) == 1 and _replicas(active[0]) != desired:
            self.scale(d, active[0], desired)

    def _cleanup(self, d: dict, olds: list[dict]) -> None:
        limit = int(d["spec"].get("revisionHistoryLimit", 10))
        idle = [rs for rs in olds if _replicas(rs) == 0 and _status(rs, "replicas") == 0]
        for rs in sorted(idle, key=revision_of)[:max(0, len(idle) - limit)]:
            self.store.remove("replicasets", *key_of(rs))

    def scale(self, d: dict, rs: dict, replicas: int) -> dict:
        """Set a ReplicaSet's replicas (+ desired/max annotations) and emit ScalingReplicaSet."""
        before = _replicas(rs)
        desired = int(d["spec"].get("replicas", 1))
        annotations = {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(desired + max_surge(d))}

        def apply(obj: dict) -> None:
            obj["spec"]["replicas"] = replicas
            obj["metadata"].setdefault("annotations", {}).update(annotations)

        updated = self.store.mutate("replicasets", *key_of(rs), apply) or rs
        if before != replicas:
            verb = "up" if replicas > before else "down"
            self.cluster.events.record(
                d, "Normal", "ScalingReplicaSet",
                f"Scaled {verb} replica set {rs['metadata']['name']} from {before} to {replicas}", self.name)
        return updated


def _copy(value):
    import msgspec

    return msgspec.json.decode(msgspec.json.encode(value))


__all__ = ["DeploymentController", "revision_of", "int_or_percent"]
