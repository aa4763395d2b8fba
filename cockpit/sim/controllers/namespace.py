"""Namespace controller: empties a Terminating namespace, then lets it go.

A DELETE of a namespace only marks it (deletionTimestamp, phase Terminating) because of the
``kubernetes`` finalizer in ``spec.finalizers``. This controller deletes what the namespace holds,
pods with their grace period (their kubelets finish them), objects with finalizers by marking
them, and once nothing is left removes the finalizer and the namespace itself.
"""

from __future__ import annotations

from cockpit.sim.controllers.base import Controller
from cockpit.sim.objects import iso
from cockpit.sim.resources import RESOURCES

FINALIZER = "kubernetes"
RECHECK_SECONDS = 2.0
# The real controller waits this long after a namespace event before acting on it, so the rest of
# a ``kubectl delete -f`` that named the namespace first still finds its objects.
FIRST_PASS_SECONDS = 5.0
_NAMESPACED = tuple(key for key, rtype in RESOURCES.items() if rtype.namespaced)


class NamespaceController(Controller):
    """Deletes the contents of terminating namespaces and finalizes them when empty."""

    name = "namespace-controller"

    def __init__(self, cluster) -> None:
        super().__init__(cluster)
        self.terminating: set[str] = set()
        self.emptying: set[str] = set()  # terminating namespaces whose first pass has run

    def handlers(self):
        """Namespaces, and deletions in a terminating namespace (which may have emptied it)."""
        out = {key: self._on_content for key in _NAMESPACED}
        out["namespaces"] = self._on_namespace
        return out

    def _on_namespace(self, etype: str, obj: dict, old: dict | None) -> None:
        name = obj["metadata"]["name"]
        if etype == "DELETED":
            self.terminating.discard(name)
            self.emptying.discard(name)
        elif obj["metadata"].get("deletionTimestamp") and name not in self.terminating:
            self.terminating.add(name)
            self.enqueue_after(FIRST_PASS_SECONDS, name)

    def _on_content(self, etype: str, obj: dict, old: dict | None) -> None:
        ns = obj["metadata"].get("namespace")
        if etype == "DELETED" and ns in self.emptying:
            self.enqueue(ns)

    def sync(self, name) -> None:
        """Delete what is left in ``name``; finalize it when nothing is."""
        ns = self.store.get("namespaces", None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        self.emptying.add(name)
        remaining = {key: self._delete_contents(key, name) for key in _NAMESPACED}
        remaining = {key: count for key, count in remaining.items() if count}
        if remaining:
            self._report(name, remaining)
            self.enqueue_after(RECHECK_SECONDS, name)
        else:
            self._finalize(name)

    def _delete_contents(self, key: str, ns: str) -> int:
        """Start deleting every object of ``key`` in ``ns``; the number still there."""
        left = 0
        for obj in self.store.list(key, ns):
            meta = obj["metadata"]
            if key == "pods":
                if not meta.get("deletionTimestamp"):
                    self.cluster.delete_pod(obj)
            elif meta.get("finalizers"):
                if not meta.get("deletionTimestamp"):
                    stamp = iso(self.clock.now())
                    self.store.mutate(key, ns, meta["name"], lambda o: o["metadata"].setdefault(
                        "deletionTimestamp", stamp))
            else:
                self.store.remove(key, ns, meta["name"])
                continue
            left += self.store.get(key, ns, meta["name"]) is not None
        return left

    def _report(self, name: str, remaining: dict[str, int]) -> None:
        kinds = ", ".join(f"{RESOURCES[k].plural}.{RESOURCES[k].group}".rstrip(".") + f" has {n} resource instances"
                          for k, n in sorted(remaining.items()))
        message = f"Some resources are remaining: {kinds}"

        def apply(obj: dict) -> None:
            status = obj.setdefault("status", {})
            status["phase"] = "Terminating"
            _set_condition(status, "NamespaceContentRemaining", "True", "SomeResourcesRemain", message,
                           iso(self.clock.now()))
        self.store.mutate("namespaces", None, name, apply)

    def _finalize(self, name: str) -> None:
        def apply(obj: dict) -> None:
            spec = obj.setdefault("spec", {})
            spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        ns = self.store.mutate("namespaces", None, name, apply)
        if ns is not None and not ns["spec"]["finalizers"] and not ns["metadata"].get("finalizers"):
            self.store.remove("namespaces", None, name)


def _set_condition(status: dict, ctype: str, value: str, reason: str, message: str, now: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    previous = next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)
    if previous is not None and (previous.get("status"), previous.get("message")) == (value, message):
        return
    conds.append({"type": ctype, "status": value, "lastTransitionTime": now, "reason": reason, "message": message})
    status["conditions"] = conds
