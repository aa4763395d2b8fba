"""DELETE: graceful pod deletion, finalizers, orphaning, namespaces and delete-collection."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from cockpit.sim.api.bodies import decode_body
from cockpit.sim.errors import ApiError, conflict, details, success_status
from cockpit.sim.resources import RESOURCES, ResourceType
from cockpit.sim.api.rest import Target, current, dry_run, json_response, kubelet_owned, matcher, select
from cockpit.sim.store import timestamp

if TYPE_CHECKING:
    from cockpit.sim.api.server import SimServer

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
# Registries with ReturnDeletedObject set answer a finished DELETE with the object, not a Status.
RETURNS_DELETED_OBJECT = frozenset({"pods", "services"})



def _delete_options(request_body: bytes, content_type: str) -> dict:
    # kubectl 1.32+ sends DeleteOptions as protobuf, older ones as JSON.
    data = decode_body(request_body, content_type)
    return data if isinstance(data, dict) else {}


def _grace(obj: dict, options: dict) -> int:
    grace = options.get("gracePeriodSeconds")
    if grace is None:
        grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
    return max(int(grace or 0), 0)


def delete_now_or_gracefully(server: SimServer, rtype: ResourceType, obj: dict, options: dict,
                             dry: bool = False) -> dict:
    """Delete one object: pods on a node (grace > 0) and objects with finalizers get a
    deletionTimestamp (the kubelet / finalizer owner removes them); the rest go at once."""
    meta = obj["metadata"]
    ns, name = meta.get("namespace"), meta["name"]
    pre = options.get("preconditions") or {}
    if (pre.get("uid") and pre["uid"] != meta.get("uid")) or (
            pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion")):
        raise conflict(rtype.plural, name, rtype.group)
    if rtype.key == "namespaces":
        return _delete_namespace(server, obj, dry)
    grace = _grace(obj, options)
    graceful = (kubelet_owned(rtype, obj) and grace > 0) or bool(meta.get("finalizers"))
    if meta.get("deletionTimestamp") and graceful:
        return obj
    if dry:
        return obj
    if options.get("propagationPolicy") == "Orphan" or options.get("orphanDependents") is True:
        _orphan_dependents(server, meta.get("uid"), ns)
    if not graceful:
        return server.store.remove(rtype.key, ns, name) or obj

    def mark(o: dict) -> None:
        o["metadata"]["deletionTimestamp"] = timestamp(server.store.now() + timedelta(seconds=grace))
        o["metadata"]["deletionGracePeriodSeconds"] = grace if kubelet_owned(rtype, obj) else 0
    return server.store.mutate(rtype.key, ns, name, mark) or obj


def _orphan_dependents(server: SimServer, uid: str | None, namespace: str | None) -> None:
    """propagationPolicy=Orphan: drop the owner reference from dependents so GC keeps them."""
    for key, rtype in RESOURCES.items():
        if not rtype.namespaced:
            continue
        for obj in server.store.list(key, namespace):
            refs = obj["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == uid for r in refs):
                def drop(o: dict) -> None:
                    kept = [r for r in o["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                    if kept:
                        o["metadata"]["ownerReferences"] = kept
                    else:
                        o["metadata"].pop("ownerReferences", None)
                server.store.mutate(key, obj["metadata"].get("namespace"), obj["metadata"]["name"], drop)


def _delete_namespace(server: SimServer, obj: dict, dry: bool) -> dict:
    """Mark the namespace Terminating; the namespace controller empties and then removes it."""
    name = obj["metadata"]["name"]
    if name in PROTECTED_NAMESPACES:
        raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                       details(name, "", "namespaces"))
    if obj["metadata"].get("deletionTimestamp"):
        raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on namespaces "{name}": The system is '
                       "ensuring all content is removed from this namespace.  Upon completion, this namespace "
                       "will automatically be purged by the system.", details(name, "", "namespaces"))
    if dry:
        return obj
    if not (obj.get("spec") or {}).get("finalizers") and not obj["metadata"].get("finalizers"):
        return server.store.remove("namespaces", None, name) or obj

    def mark(o: dict) -> None:
        o["metadata"]["deletionTimestamp"] = timestamp(server.store.now())
        o["metadata"]["deletionGracePeriodSeconds"] = 0
        o.setdefault("status", {})["phase"] = "Terminating"
    return server.store.mutate("namespaces", None, name, mark) or obj


async def delete_object(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """DELETE one object (graceful for pods on nodes; propagationPolicy accepted, GC is the cluster's)."""
    obj = current(server, target)
    options = _delete_options(await request.read(), request.content_type or "")
    dry = dry_run(request) or options.get("dryRun") == ["All"]
    result = delete_now_or_gracefully(server, target.rtype, obj, options, dry)
    return json_response(deletion_response(server, target.rtype, result, dry))


def deletion_response(server: SimServer, rtype: ResourceType, obj: dict, dry: bool) -> dict:
    """What a DELETE answers: the object while it still exists (grace period, finalizers) or for
    the kinds whose registry returns it; otherwise a Success Status naming what went."""
    meta = obj["metadata"]
    if dry:
        still_there = bool(meta.get("finalizers"))
    else:
        still_there = server.store.get(rtype.key, meta.get("namespace"), meta["name"]) is not None
    if still_there or rtype.key in RETURNS_DELETED_OBJECT:
        return obj
    return success_status(200, details(meta["name"], rtype.group, rtype.plural, uid=meta.get("uid")))


async def delete_collection(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """DELETE on a collection: delete every selected object, answer with the list of them."""
    rtype = target.rtype
    match = matcher(*select(server, request, target))
    options = _delete_options(await request.read(), request.content_type or "")
    dry = dry_run(request) or options.get("dryRun") == ["All"]
    victims = [o for o in server.store.list(rtype.key, target.namespace) if match is None or match(o)]
    done = [delete_now_or_gracefully(server, rtype, o, options, dry) for o in victims]
    return json_response({"kind": rtype.list_kind, "apiVersion": rtype.api_version,
                          "metadata": {"resourceVersion": str(server.store.rv)}, "items": done})
