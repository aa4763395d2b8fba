"""Garbage collector (background cascade) and the churn generator."""

from __future__ import annotations

import asyncio
import random
import time

from cockpit.sim.controllers.base import Controller

OWNER_KINDS = ("deployments", "replicasets", "daemonsets", "statefulsets", "jobs", "cronjobs", "services", "nodes",
               "pods")
CHURN_ANNOTATION = "sim.cockpit.dev/churn"


class GarbageCollector(Controller):
    """Deletes dependents (by ownerReferences uid) once their owner is gone."""

    name = "garbage-collector"

    def handlers(self):
        """Deletions of anything that can own objects."""
        return {r: self._on_delete for r in OWNER_KINDS}

    def _on_delete(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype != "DELETED":
            return
        if obj.get("kind") == "Node":
            self.enqueue(("node", obj["metadata"]["name"]))
        if obj["metadata"].get("uid") in self.cluster.index.dependents:
            self.enqueue(obj["metadata"]["uid"])

    def sync(self, uid) -> None:
        """Delete every dependent of the vanished owner ``uid`` (or the pods of a deleted node)."""
        if isinstance(uid, tuple):
            # Pod GC: pods bound to a Node that no longer exists are force-deleted.
            if self.store.get("nodes", None, uid[1]) is None:
                for ns, name in list(self.cluster.index.pods_by_node.get(uid[1], ())):
                    self.store.remove("pods", ns, name)
            return
        for resource, ns, name in list(self.cluster.index.dependents.get(uid, ())):
            obj = self.store.get(resource, ns or None, name)
            if obj is None or obj["metadata"].get("deletionTimestamp"):
                continue
            if resource == "pods":
                self.cluster.delete_pod(obj)
            else:
                self.store.remove(resource, ns or None, name)


class ChurnGenerator:
    """``faults.churn_per_second`` pod status changes per (real) second, for load tests.

    Each change bumps a random pod's first container restartCount (a flapping container, as
    ``kubectl get pods`` shows it) and a counter annotation; readiness is left alone so that
    rollouts and PDBs behave as without churn.
    """

    name = "churn"
    TICK = 0.05
    REFRESH = 5.0

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self._keys: list[tuple[str, str]] = []
        self._refreshed = 0.0
        self._counter = 0

    def handlers(self) -> dict:
        """No store handlers."""
        return {}

    async def run(self) -> None:
        """Mutate random pods at the configured rate."""
        carry, last = 0.0, time.monotonic()
        while True:
            await asyncio.sleep(self.TICK)
            now = time.monotonic()
            rate = self.cluster.faults.churn_per_second
            carry = carry + rate * (now - last) if rate else 0.0
            last = now
            count = int(carry)
            carry -= count
            if count:
                self._churn(count, now)

    def _churn(self, count: int, now: float) -> None:
        if not self._keys or now - self._refreshed > self.REFRESH:
            self._keys = [(ns, n) for ns, names in self.cluster.index.pods_by_ns.items() for n in names]
            self._refreshed = now
        if not self._keys:
            return
        for _ in range(count):
            self._counter += 1
            value = str(self._counter)

            def touch(pod: dict) -> None:
                pod["metadata"].setdefault("annotations", {})[CHURN_ANNOTATION] = value
                statuses = (pod.get("status") or {}).get("containerStatuses")
                if statuses:
                    statuses[0]["restartCount"] = int(statuses[0].get("restartCount", 0)) + 1

            self.cluster.store.mutate("pods", *random.choice(self._keys), touch)
