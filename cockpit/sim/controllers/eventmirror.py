"""One set of Events behind two APIs, as a real API server keeps them.

A real server stores core/v1 Events and serves the same objects as events.k8s.io/v1 (``note``
is ``message``, ``regarding`` is ``involvedObject``, ``reportingController`` is
``reportingComponent``...). The simulator keeps the two resources apart, so this controller
mirrors each Event created through one API into the other (same uid, converted field by field)
and removes the counterpart of a deleted one:
an Event that cockpit (or a controller) records through events.k8s.io shows in
``kubectl get events`` and in every core/v1 watch, and the other way round.
"""

from __future__ import annotations

import copy

from cockpit.sim.controllers.base import Controller

CORE, V1 = "events", "events.events.k8s.io"
# core/v1 field -> events.k8s.io/v1 field, for the fields whose names differ.
RENAMED = {
    "message": "note", "involvedObject": "regarding", "reportingComponent": "reportingController",
    "source": "deprecatedSource", "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp", "count": "deprecatedCount",
}
SAME = ("reason", "type", "action", "related", "series", "eventTime", "reportingInstance")


def core_to_v1(event: dict) -> dict:
    """The events.k8s.io/v1 view of a core/v1 Event."""
    out = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": _meta(event)}
    for old, new in RENAMED.items():
        if event.get(old) not in (None, "", {}):
            out[new] = copy.deepcopy(event[old])
    if not out.get("reportingController") and (event.get("source") or {}).get("component"):
        out["reportingController"] = event["source"]["component"]
    out = _copy_same(event, out)
    if not out.get("eventTime"):  # clients sort the v1 view by eventTime: give legacy Events one
        stamp = event.get("firstTimestamp") or event.get("lastTimestamp") or _meta(event).get("creationTimestamp")
        if stamp:
            out["eventTime"] = stamp.replace("Z", ".000000Z") if stamp.endswith("Z") and "." not in stamp else stamp
    return out


def v1_to_core(event: dict) -> dict:
    """The core/v1 view of an events.k8s.io/v1 Event."""
    out = {"apiVersion": "v1", "kind": "Event", "metadata": _meta(event)}
    for old, new in RENAMED.items():
        if event.get(new) not in (None, "", {}):
            out[old] = copy.deepcopy(event[new])
    out.setdefault("involvedObject", {})
    out.setdefault("source", {"component": event.get("reportingController", "")})
    return _copy_same(event, out)


def _copy_same(source: dict, out: dict) -> dict:
    for key in SAME:
        if source.get(key) not in (None, "", {}):
            out[key] = copy.deepcopy(source[key])
    return out


def _meta(event: dict) -> dict:
    meta = event.get("metadata") or {}
    keep = ("name", "namespace", "uid", "labels", "annotations", "creationTimestamp")
    return {k: copy.deepcopy(meta[k]) for k in keep if k in meta}


class EventMirror(Controller):
    """Keeps core/v1 and events.k8s.io/v1 Events in step (see the module docstring)."""

    name = "event-mirror"

    def handlers(self):
        """Both Event resources."""
        return {CORE: self._on(CORE), V1: self._on(V1)}

    def _on(self, resource: str):
        def changed(etype: str, obj: dict, _old: dict | None) -> None:
            meta = obj.get("metadata") or {}
            self.enqueue((resource, etype == "DELETED", meta.get("namespace"), meta.get("name")))
        return changed

    def sync(self, key) -> None:
        """Bring the other view in line with the one that changed."""
        resource, deleted, namespace, name = key
        other = V1 if resource == CORE else CORE
        if deleted:
            if self.store.get(resource, namespace, name) is None:
                self.store.remove(other, namespace, name)
            return
        source = self.store.get(resource, namespace, name)
        # Writers that keep both views themselves (the simulator's own event recorder) are left
        # alone: only a missing counterpart is created.
        if source is not None and self.store.get(other, namespace, name) is None:
            self.store.create(other, core_to_v1(source) if resource == CORE else v1_to_core(source))
