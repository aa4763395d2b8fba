"""Building blocks shared by the simulated controllers: a coalescing work queue and the indexes.

Store listeners only enqueue keys (O(1) per change); each controller drains its queue in batches
on the event loop, so a burst of changes to one object costs one sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from functools import partial
from typing import TYPE_CHECKING, Callable, Hashable

if TYPE_CHECKING:
    from cockpit.sim.cluster import SimCluster

log = logging.getLogger("cockpit.sim")

Handler = Callable[[str, dict, "dict | None"], None]
BATCH_YIELD = 200  # yield to the loop (API server, watches) every N syncs


class Controller:
    """A work-queue controller. Subclasses implement ``sync(key)`` and ``handlers()``."""

    name = "controller"

    def __init__(self, cluster: SimCluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.clock = cluster.clock
        self._queue: dict[Hashable, None] = {}
        self._wake = asyncio.Event()

    def handlers(self) -> dict[str, Handler]:
        """Store resource -> ``fn(event_type, obj, old)`` that enqueues work."""
        return {}

    def enqueue(self, key: Hashable) -> None:
        """Schedule a sync of ``key`` (coalesced with pending ones)."""
        self._queue[key] = None
        self._wake.set()

    def enqueue_after(self, seconds: float, key: Hashable) -> None:
        """Schedule a sync of ``key`` after ``seconds`` simulated seconds."""
        self.cluster.later(seconds, self.enqueue, key)

    async def run(self) -> None:
        """Drain the queue forever (cancelled by SimCluster.stop)."""
        while True:
            await self._wake.wait()
            await self._lag()
            self._wake.clear()
            batch, self._queue = self._queue, {}
            for i, key in enumerate(batch):
                self._safe_sync(key)
                if i % BATCH_YIELD == BATCH_YIELD - 1:
                    await asyncio.sleep(0)

    async def _lag(self) -> None:
        """Wait out the ``controller_delay`` fault; changes arriving meanwhile join the batch."""
        delay = self.cluster.faults.controller_delay
        if delay > 0:
            await self.clock.sleep(delay)

    def _safe_sync(self, key: Hashable) -> None:
        try:
            self.sync(key)
        except Exception:  # a controller bug must not kill the simulated cluster
            log.exception("%s: sync of %r failed", self.name, key)

    def sync(self, key: Hashable) -> None:
        """Reconcile one key."""
        raise NotImplementedError

    def pending(self) -> int:
        """Number of queued keys (for tests and settling)."""
        return len(self._queue)


class Index:
    """Secondary indexes kept up to date from store events (O(1) per change)."""

    OWNED = ("pods", "replicasets", "endpointslices", "leases")

    def __init__(self) -> None:
        self.dependents: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
        self.pods_by_node: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.pods_by_ns: dict[str, set[str]] = defaultdict(set)
        self.pods_by_label: dict[tuple[str, str, str], set[str]] = defaultdict(set)

    def handlers(self) -> dict[str, Handler]:
        """Index updates, registered before every controller."""
        out: dict[str, Handler] = {r: partial(self._owned_changed, resource=r) for r in self.OWNED}
        out["pods"] = self._pod_changed
        return out

    def pods_matching(self, ns: str, match_labels: dict | None) -> set[str]:
        """Names of pods in ``ns`` carrying every label of ``match_labels`` (all pods if empty)."""
        if not match_labels:
            return set(self.pods_by_ns.get(ns, ()))
        sets = [self.pods_by_label.get((ns, k, v), set()) for k, v in match_labels.items()]
        smallest = min(sets, key=len)
        return {name for name in smallest if all(name in s for s in sets)}

    def owned(self, uid: str, resource: str) -> list[tuple[str, str]]:
        """(namespace, name) of objects of ``resource`` owned by ``uid``."""
        return [(ns, name) for res, ns, name in self.dependents.get(uid, ()) if res == resource]

    def _owned_changed(self, etype: str, obj: dict, old: dict | None, resource: str = "") -> None:
        meta = obj["metadata"]
        ref = (resource, meta.get("namespace", ""), meta["name"])
        old_uids = _owner_uids(old) if old is not None else set()
        new_uids = set() if etype == "DELETED" else _owner_uids(obj)
        if old is None and etype == "DELETED":
            old_uids = _owner_uids(obj)
        for uid in old_uids - new_uids:
            deps = self.dependents.get(uid)
            if deps is not None:
                deps.discard(ref)
                if not deps:
                    del self.dependents[uid]
        for uid in new_uids - old_uids:
            self.dependents[uid].add(ref)

    def _pod_changed(self, etype: str, obj: dict, old: dict | None) -> None:
        self._owned_changed(etype, obj, old, "pods")
        ns, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        old_node = (old or {}).get("spec", {}).get("nodeName") if old is not None else None
        new_node = None if etype == "DELETED" else obj["spec"].get("nodeName")
        if etype == "DELETED" and old_node is None:
            old_node = obj["spec"].get("nodeName")
        if old_node != new_node:
            if old_node:
                self.pods_by_node[old_node].discard((ns, name))
            if new_node:
                self.pods_by_node[new_node].add((ns, name))
        if etype == "DELETED":
            self.pods_by_ns[ns].discard(name)
        elif etype == "ADDED":
            self.pods_by_ns[ns].add(name)
        old_labels = (old or {}).get("metadata", {}).get("labels") or {} if etype != "ADDED" else {}
        new_labels = {} if etype == "DELETED" else obj["metadata"].get("labels") or {}
        if old_labels != new_labels:
            for k, v in old_labels.items():
                if new_labels.get(k) != v:
                    self.pods_by_label[(ns, k, v)].discard(name)
            for k, v in new_labels.items():
                if old_labels.get(k) != v:
                    self.pods_by_label[(ns, k, v)].add(name)


def _owner_uids(obj: dict | None) -> set[str]:
    if not obj:
        return set()
    refs = obj["metadata"].get("ownerReferences")
    if not refs:
        return set()
    return {r["uid"] for r in refs if r.get("uid")}
