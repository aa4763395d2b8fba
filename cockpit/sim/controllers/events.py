"""Events as the real controllers and kubelets emit them (core/v1, mirrored as events.k8s.io/v1).

Repeated events (same object, reason and message) are aggregated into one Event with a growing
``count``, like client-go's recorder. Each namespace keeps only the newest ``per_namespace``
events so that a long demo does not grow forever.
"""

from __future__ import annotations

import time
from collections import OrderedDict, defaultdict, deque

from cockpit.sim.objects import iso, micro_iso

V1_EVENTS = "events.events.k8s.io"


class EventRecorder:
    """Writes Events into the store on behalf of the simulated components."""

    def __init__(self, store, clock, per_namespace: int = 500, mirror_v1: bool = True) -> None:
        self.store = store
        self.clock = clock
        self.per_namespace = per_namespace
        self.mirror_v1 = mirror_v1
        self.enabled = True
        self._recent: OrderedDict[tuple, tuple[str, str]] = OrderedDict()
        self._names: dict[str, deque[str]] = defaultdict(deque)

    def record(self, obj: dict, etype: str, reason: str, message: str, component: str,
               host: str = "", field_path: str | None = None, action: str | None = None) -> None:
        """Emit (or aggregate) an event about ``obj``."""
        if not self.enabled:
            return
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        agg = (ns, meta.get("uid"), reason, message, component)
        now = self.clock.now()
        known = self._recent.get(agg)
        if known is not None and self._bump(known, now):
            self._recent.move_to_end(agg)
            return
        name = f"{meta['name']}.{time.time_ns():x}"
        core = self._core_event(obj, ns, name, etype, reason, message, component, host, field_path, now)
        self.store.create("events", core)
        if self.mirror_v1:
            self.store.create(V1_EVENTS, _v1_event(core, action or reason, now))
        self._remember(agg, ns, name)

    def _core_event(self, obj, ns, name, etype, reason, message, component, host, field_path, now):
        meta = obj["metadata"]
        involved = {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj.get("kind", ""),
                    "name": meta["name"], "uid": meta.get("uid", "")}
        if meta.get("namespace"):
            involved["namespace"] = meta["namespace"]
        if meta.get("resourceVersion"):
            involved["resourceVersion"] = meta["resourceVersion"]
        if field_path:
            involved["fieldPath"] = field_path
        source = {"component": component}
        if host:
            source["host"] = host
        stamp = iso(now)
        return {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved, "reason": reason, "message": message,
            "source": source, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "type": etype, "eventTime": None,
            "reportingComponent": component, "reportingInstance": host,
        }

    def _bump(self, known: tuple[str, str], now) -> bool:
        ns, name = known
        stamp = iso(now)

        def core(ev: dict) -> None:
            ev["count"] = int(ev.get("count") or 1) + 1
            ev["lastTimestamp"] = stamp

        if self.store.mutate("events", ns, name, core) is None:
            return False
        if self.mirror_v1:
            self.store.mutate(V1_EVENTS, ns, name, lambda ev: _bump_v1(ev, stamp, now))
        return True

    def _remember(self, agg: tuple, ns: str, name: str) -> None:
        self._recent[agg] = (ns, name)
        if len(self._recent) > 4 * self.per_namespace:
            self._recent.popitem(last=False)
        names = self._names[ns]
        names.append(name)
        while len(names) > self.per_namespace:
            old = names.popleft()
            self.store.remove("events", ns, old)
            if self.mirror_v1:
                self.store.remove(V1_EVENTS, ns, old)


def _v1_event(core: dict, action: str, now) -> dict:
    """The events.k8s.io/v1 view of a core/v1 event."""
    return {
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": dict(core["metadata"]),
        "eventTime": micro_iso(now),
        "reportingController": core["reportingComponent"],
        "reportingInstance": core["reportingInstance"] or core["reportingComponent"],
        "action": action, "reason": core["reason"], "regarding": dict(core["involvedObject"]),
        "note": core["message"], "type": core["type"],
        "deprecatedSource": dict(core["source"]),
        "deprecatedFirstTimestamp": core["firstTimestamp"],
        "deprecatedLastTimestamp": core["lastTimestamp"], "deprecatedCount": 1,
    }


def _bump_v1(ev: dict, stamp: str, now) -> None:
    ev["deprecatedCount"] = int(ev.get("deprecatedCount") or 1) + 1
    ev["deprecatedLastTimestamp"] = stamp
    ev["series"] = {"count": ev["deprecatedCount"], "lastObservedTime": micro_iso(now)}
