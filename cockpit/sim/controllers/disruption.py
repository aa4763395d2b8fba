"""Disruption controller: PodDisruptionBudget status (currentHealthy, desiredHealthy, ...).

``faults.blocking_pdbs`` ("ns/name") forces disruptionsAllowed to 0, like a budget that can
never be satisfied. Evictions themselves are answered by the API server from this status.
"""

from __future__ import annotations

from collections import defaultdict

from cockpit.domain.selectors import NOTHING, LabelSelector
from cockpit.sim.controllers.base import Controller
from cockpit.sim.controllers.endpoints import pod_view
from cockpit.sim.objects import controller_of, int_or_percent, iso, key_of, pod_is_ready

RESYNC_SECONDS = 1.0


class DisruptionController(Controller):
    """Keeps the status of every PodDisruptionBudget current."""

    name = "disruption-controller"

    def __init__(self, cluster) -> None:
        super().__init__(cluster)
        self.selectors: dict[str, dict[str, LabelSelector]] = defaultdict(dict)
        self._blocking: frozenset[str] = frozenset()

    def handlers(self):
        """PDBs and the pods they may select."""
        return {"poddisruptionbudgets": self._on_pdb, "pods": self._on_pod}

    def _on_pdb(self, etype: str, obj: dict, old: dict | None) -> None:
        ns, name = key_of(obj)
        if etype == "DELETED":
            self.selectors[ns].pop(name, None)
        elif old is None or old.get("spec") != obj.get("spec") or old.get("status") != obj.get("status"):
            self.selectors[ns][name] = _selector(obj)
            self.enqueue((ns, name))

    def _on_pod(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype == "MODIFIED" and pod_view(old) == pod_view(obj):
            return
        ns = obj["metadata"].get("namespace", "")
        labels = [obj["metadata"].get("labels"), (old or {}).get("metadata", {}).get("labels")]
        for name, selector in self.selectors.get(ns, {}).items():
            if any(selector.matches(lab) for lab in labels if lab is not None):
                self.enqueue((ns, name))

    async def run(self) -> None:
        """Work queue plus a periodic check of the blocking_pdbs fault."""
        import asyncio

        task = asyncio.ensure_future(super().run())
        try:
            while True:
                await self.clock.sleep(RESYNC_SECONDS)
                blocking = frozenset(self.cluster.faults.blocking_pdbs)
                if blocking != self._blocking:
                    self._blocking = blocking
                    for ns, names in self.selectors.items():
                        for name in names:
                            self.enqueue((ns, name))
        finally:
            task.cancel()

    def sync(self, key) -> None:
        """Recompute one PDB's status."""
        pdb = self.store.get("poddisruptionbudgets", *key)
        if pdb is None:
            return
        ns = key[0]
        spec = pdb["spec"].get("selector")
        selector = _selector(pdb)
        names = set() if spec is None else self.cluster.index.pods_matching(ns, spec.get("matchLabels"))
        pods = [p for p in (self.store.get("pods", ns, n) for n in names)
                if p is not None and selector.matches(p["metadata"].get("labels"))]
        expected, desired = self._expected_and_desired(pdb, pods)
        healthy = sum(1 for p in pods if pod_is_ready(p) and not p["metadata"].get("deletionTimestamp"))
        allowed = max(0, healthy - desired)
        if f"{ns}/{key[1]}" in self.cluster.faults.blocking_pdbs:
            allowed = 0
        self._write(pdb, pods, expected, desired, healthy, allowed)

    def _expected_and_desired(self, pdb: dict, pods: list[dict]) -> tuple[int, int]:
        spec = pdb["spec"]
        if "maxUnavailable" in spec:
            expected = self._scale_of(pods)
            return expected, max(0, expected - int_or_percent(spec["maxUnavailable"], expected, round_up=True))
        min_available = spec.get("minAvailable", 0)
        if isinstance(min_available, str) and min_available.endswith("%"):
            expected = self._scale_of(pods)
            return expected, int_or_percent(min_available, expected, round_up=True)
        return len(pods), int(min_available)

    def _scale_of(self, pods: list[dict]) -> int:
        """Sum of the replicas wanted by the pods' controllers (Deployment over its ReplicaSets)."""
        scales: dict[str, int] = {}
        for pod in pods:
            ref = controller_of(pod)
            if ref is None:
                scales[pod["metadata"]["uid"]] = 1
                continue
            uid, replicas = self._top_controller(pod["metadata"]["namespace"], ref)
            scales[uid] = replicas
        return sum(scales.values())

    def _top_controller(self, ns: str, ref: dict) -> tuple[str, int]:
        if ref["kind"] == "ReplicaSet":
            rs = self.store.get("replicasets", ns, ref["name"])
            owner = controller_of(rs) if rs else None
            if owner and owner["kind"] == "Deployment":
                d = self.store.get("deployments", ns, owner["name"])
                if d is not None:
                    return owner["uid"], int(d["spec"].get("replicas", 1))
            return ref["uid"], int(rs["spec"].get("replicas", 1)) if rs else 0
        if ref["kind"] == "DaemonSet":
            ds = self.store.get("daemonsets", ns, ref["name"])
            return ref["uid"], int((ds or {}).get("status", {}).get("desiredNumberScheduled", 0))
        return ref["uid"], 1

    def _write(self, pdb: dict, pods: list[dict], expected: int, desired: int, healthy: int,
               allowed: int) -> None:
        gen = pdb["metadata"].get("generation", 1)
        now = iso(self.clock.now())
        names = {p["metadata"]["name"] for p in pods}

        def apply(obj: dict) -> None:
            old = obj.get("status") or {}
            status = {"currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed,
                      "expectedPods": expected, "observedGeneration": gen}
            disrupted = {k: v for k, v in (old.get("disruptedPods") or {}).items() if k in names}
            if disrupted:
                status["disruptedPods"] = disrupted
            ok = allowed > 0
            cond = {"type": "DisruptionAllowed", "status": "True" if ok else "False",
                    "reason": "SufficientPods" if ok else "InsufficientPods", "message": "",
                    "observedGeneration": gen, "lastTransitionTime": now}
            prev = next((c for c in old.get("conditions") or () if c.get("type") == "DisruptionAllowed"), None)
            if prev is not None and prev.get("status") == cond["status"]:
                cond["lastTransitionTime"] = prev.get("lastTransitionTime", now)
            status["conditions"] = [cond]
            obj["status"] = status

        self.store.mutate("poddisruptionbudgets", *key_of(pdb), apply)


def _selector(pdb: dict) -> LabelSelector:
    """The PDB's selector; a missing or malformed one selects nothing (policy/v1)."""
    try:
        return LabelSelector.from_spec(pdb["spec"].get("selector"))
    except ValueError:
        return NOTHING
