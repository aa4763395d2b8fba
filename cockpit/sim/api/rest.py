"""REST verbs of the simulated API server: get, list, create, update, patch, delete, /status, /scale."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from multidict import CIMultiDict

from cockpit.sim.api import apply, fieldcheck, tables
from cockpit.sim.api.bodies import decode_body
from cockpit.sim.errors import ApiError, bad_request, conflict, details, invalid, not_found
from cockpit.sim.api.patch import json_patch, merge_patch, strategic_merge
from cockpit.sim.resources import ResourceType
from cockpit.sim.api.selectors import (parse_field_selector, parse_label_selector, selector_from_dict,
                                   selector_to_string)
from cockpit.sim.managed_fields import manager_from_user_agent
from cockpit.sim.store import Writer, decode, encode

if TYPE_CHECKING:
    from cockpit.sim.api.server import SimServer

JSON = "application/json"
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass
class Target:
    """What a resource URL addresses."""

    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    watch: bool = False


# ------------------------------------------------------------------ helpers

def json_response(obj, status: int = 200, warnings: list[str] = ()) -> web.Response:
    """A JSON response from a dict, newline-terminated like the apiserver's encoder writes it;
    each warning becomes a ``Warning: 299`` header (kubectl prints them as ``Warning: ...``)."""
    headers = CIMultiDict(("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')
                          for w in warnings)
    return web.Response(body=encode(obj) + b"\n", status=status, content_type=JSON, headers=headers)


def raw_response(raw: bytes, status: int = 200) -> web.Response:
    """A JSON response from bytes that already end with a newline."""
    return web.Response(body=raw, status=status, content_type=JSON)


async def read_json(request: web.Request, want=dict):
    """The request body (JSON, YAML or protobuf) as a value of type ``want``; 400 when it is not."""
    data = decode_body(await request.read(), request.content_type)
    if not isinstance(data, want):
        raise bad_request(f"the request body must be a JSON {'object' if want is dict else 'array'}")
    return data


def meta_of(obj: dict) -> dict:
    """``obj.metadata`` ({} when absent); 400 when a client sent something that is not an object."""
    meta = obj.get("metadata")
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    return meta


def dry_run(request: web.Request) -> bool:
    """True for ``dryRun=All``; other values are rejected like the apiserver does."""
    values = request.query.getall("dryRun", [])
    for v in values:
        if v != "All":
            raise ApiError(400, "BadRequest", f'dryRun: Unsupported value: "{v}": supported values: "All"')
    return bool(values)


def writer_of(request: web.Request, target: Target, operation: str = "Update") -> Writer:
    """The request's field manager (``fieldManager``, else the User-Agent's first component up
    to '/', as the API server derives it) for the managedFields of what it writes."""
    manager = request.query.get("fieldManager") or manager_from_user_agent(request.headers.get("User-Agent"))
    if len(manager) > 128:
        raise invalid(target.rtype.kind, target.name or "", 'fieldManager: Too long: may not be more than '
                      "128 bytes", target.rtype.group)
    return Writer(manager, operation, target.subresource)


def _store_name(target: Target) -> tuple[str | None, str]:
    return (target.namespace if target.rtype.namespaced else None), target.name or ""


def current(server: SimServer, target: Target) -> dict:
    """The addressed object or 404."""
    ns, name = _store_name(target)
    obj = server.store.get(target.rtype.key, ns, name)
    if obj is None:
        raise not_found(target.rtype.plural, name, target.rtype.group)
    return obj


def encode_continue(rv: int, key: str) -> str:
    """An opaque continue token: the list RV and the last key returned."""
    return base64.urlsafe_b64encode(encode({"rv": rv, "start": key})).decode()


def decode_continue(token: str) -> tuple[int, str]:
    """Inverse of encode_continue; 400 on garbage."""
    try:
        data = decode(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except Exception:  # any garbage in a client-supplied token is a bad request
        raise bad_request("continue key is not valid: invalid continue token") from None


# ------------------------------------------------------------------ read

def get_object(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """GET one object (JSON from the cached bytes, or a one-row Table)."""
    obj = current(server, target)
    if tables.wants_table(request.headers.get("Accept")):
        return json_response(tables.table(target.rtype.key, [obj], obj["metadata"]["resourceVersion"],
                                          include=tables.include_object(request.query)))
    ns, name = _store_name(target)
    return raw_response(server.store.get_raw(target.rtype.key, ns, name) + b"\n")


def _limit(request: web.Request) -> int:
    try:
        limit = int(request.query.get("limit") or 0)
    except ValueError:
        raise bad_request(f"invalid limit: {request.query.get('limit')!r}") from None
    return max(limit, 0)


def select(server: SimServer, request: web.Request, target: Target):
    """(label selector, field selector) parsed from the query; 400 when invalid."""
    return (parse_label_selector(request.query.get("labelSelector")),
            parse_field_selector(request.query.get("fieldSelector"), target.rtype.key))


def matcher(lsel, fsel):
    """A predicate over objects for the given selectors (None when everything matches)."""
    if lsel.selects_everything and not fsel:
        return None
    return lambda obj: lsel.matches(obj.get("metadata", {}).get("labels")) and fsel.matches(obj)


def list_objects(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """LIST with selectors and limit/continue paging; cost O(page) (plus skipped non-matches)."""
    rtype, store = target.rtype, server.store
    match = matcher(*select(server, request, target))
    limit, token = _limit(request), request.query.get("continue")
    list_rv, after = decode_continue(token) if token else (store.rv, None)
    picked, last_key, more = [], None, False
    for key, entry in store.iter_entries(rtype.key, target.namespace, after):
        if limit and len(picked) >= limit:
            more = True
            break
        if match is None or match(entry.obj):
            picked.append(entry)
        last_key = key
    cont = encode_continue(list_rv, last_key) if more and last_key else None
    if tables.wants_table(request.headers.get("Accept")):
        return json_response(tables.table(rtype.key, [e.obj for e in picked], str(list_rv), cont,
                                          include=tables.include_object(request.query)))
    meta = {"resourceVersion": str(list_rv)}
    if cont:
        meta["continue"] = cont
    head = encode({"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": meta})
    return raw_response(b"".join((head[:-1], b',"items":[', b",".join(e.raw for e in picked), b"]}\n")))


# ------------------------------------------------------------------ validation

def _check_name(rtype: ResourceType, obj: dict) -> None:
    name = obj.get("metadata", {}).get("name") or ""
    if name and (len(name) > 253 or not _NAME_RE.match(name)):
        raise invalid(rtype.kind, name, f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain '
                      "must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                      "with an alphanumeric character", rtype.group)


def _check_pod_spec(rtype: ResourceType, name: str, spec, path: str) -> None:
    if not isinstance(spec, dict) or not isinstance(spec.get("containers"), list) or not spec["containers"]:
        raise invalid(rtype.kind, name, f"{path}.containers: Required value", rtype.group)
    for field in ("containers", "initContainers", "ephemeralContainers", "volumes", "tolerations"):
        items = spec.get(field)
        if items is not None and not (isinstance(items, list) and all(isinstance(i, dict) for i in items)):
            raise invalid(rtype.kind, name, f"{path}.{field}: Invalid value: must be a list of objects", rtype.group)
    for field in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(field) or []):
            if not c.get("name") or not isinstance(c["name"], str):
                raise invalid(rtype.kind, name, f"{path}.{field}[{i}].name: Required value", rtype.group)
            if not c.get("image") or not isinstance(c["image"], str):
                raise invalid(rtype.kind, name, f"{path}.{field}[{i}].image: Required value", rtype.group)


def _check_metadata(rtype: ResourceType, obj: dict) -> None:
    meta = meta_of(obj)
    name = meta.get("name", "")
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is not None and not (isinstance(value, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
            raise invalid(rtype.kind, name, f"metadata.{field}: Invalid value: must be a map of strings", rtype.group)
    finalizers = meta.get("finalizers")
    if finalizers is not None and not (isinstance(finalizers, list) and all(isinstance(f, str) for f in finalizers)):
        raise invalid(rtype.kind, name, "metadata.finalizers: Invalid value: must be a list of strings", rtype.group)
    refs = meta.get("ownerReferences")
    if refs is not None and not (isinstance(refs, list) and all(
            isinstance(r, dict) and all(r.get(k) for k in ("apiVersion", "kind", "name", "uid")) for r in refs)):
        raise invalid(rtype.kind, name, "metadata.ownerReferences: Invalid value: apiVersion, kind, name and uid "
                      "are required", rtype.group)
    for field in ("spec", "status"):
        if field in obj and not isinstance(obj[field], dict):
            raise invalid(rtype.kind, name, f"{field}: Invalid value: must be an object", rtype.group)


def validate(rtype: ResourceType, obj: dict) -> None:
    """The apiserver's validation for what our clients could get wrong (422 Invalid)."""
    _check_name(rtype, obj)
    _check_metadata(rtype, obj)
    name, spec = obj.get("metadata", {}).get("name", ""), obj.get("spec")
    if rtype.key == "pods":
        _check_pod_spec(rtype, name, spec, "spec")
    elif rtype.key in ("deployments", "replicasets", "daemonsets"):
        spec = spec if isinstance(spec, dict) else {}
        if not spec.get("selector"):
            raise invalid(rtype.kind, name, "spec.selector: Required value", rtype.group)
        template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
        tmeta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
        labels = tmeta.get("labels") if isinstance(tmeta.get("labels"), dict) else {}
        if not isinstance(spec["selector"], dict):
            raise invalid(rtype.kind, name, "spec.selector: Invalid value: must be an object", rtype.group)
        if not selector_from_dict(spec["selector"]).matches(labels):
            raise invalid(rtype.kind, name, "spec.template.metadata.labels: Invalid value: "
                          f"{labels}: `selector` does not match template `labels`", rtype.group)
        _check_pod_spec(rtype, name, template.get("spec"), "spec.template.spec")
        if not isinstance(spec.get("replicas", 0), int) or spec.get("replicas", 0) < 0:
            raise invalid(rtype.kind, name, "spec.replicas: Invalid value: must be greater than or equal to 0",
                          rtype.group)
    elif rtype.key == "services":
        for i, port in enumerate((spec or {}).get("ports") or []):
            if not isinstance(port, dict) or not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
                raise invalid(rtype.kind, name, f"spec.ports[{i}].port: Invalid value", rtype.group)


_POD_MUTABLE = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")


def _pod_spec_sans_mutable(spec: dict) -> dict:
    spec = {k: v for k, v in (spec or {}).items() if k not in _POD_MUTABLE}
    for field in ("containers", "initContainers"):
        spec[field] = [{k: v for k, v in c.items() if k != "image"} for c in spec.get(field) or []]
    return spec


def validate_update(rtype: ResourceType, new: dict, old: dict) -> None:
    """Immutable fields the apiserver protects on update (422 Invalid)."""
    name = old["metadata"]["name"]
    if rtype.key == "pods" and _pod_spec_sans_mutable(new.get("spec")) != _pod_spec_sans_mutable(old.get("spec")):
        raise invalid(rtype.kind, name, "spec: Forbidden: pod updates may not change fields other than "
                      "`spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                      "`spec.tolerations` (only additions to existing tolerations), "
                      "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")
    if rtype.key in ("deployments", "replicasets", "daemonsets") and \
            (new.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
        raise invalid(rtype.kind, name, f"spec.selector: Invalid value: {(new.get('spec') or {}).get('selector')}: "
                      "field is immutable", rtype.group)


def _check_identity(target: Target, obj: dict, creating: bool) -> None:
    rtype, meta = target.rtype, obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    if obj.get("apiVersion") not in (None, rtype.api_version) or obj.get("kind") not in (None, rtype.kind):
        raise bad_request(f"the API version in the data ({obj.get('apiVersion')}) does not match the expected "
                          f"API version ({rtype.api_version})" if obj.get("apiVersion") != rtype.api_version
                          else f"the kind in the data ({obj.get('kind')}) does not match the expected kind "
                               f"({rtype.kind})")
    if rtype.namespaced:
        if meta.get("namespace") and meta["namespace"] != target.namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = target.namespace
    if not creating and meta.get("name") != target.name:
        raise bad_request("the name of the object does not match the name on the URL")


def _check_namespace(server: SimServer, target: Target, name: str) -> None:
    if not target.rtype.namespaced:
        return
    ns = server.store.get("namespaces", None, target.namespace)
    if ns is None:
        raise not_found("namespaces", target.namespace or "")
    if ns["metadata"].get("deletionTimestamp"):
        rtype, why = target.rtype, f"namespace {target.namespace} is being terminated"
        raise ApiError(403, "Forbidden", f'{rtype.plural}{"." + rtype.group if rtype.group else ""} "{name}" is '
                       f"forbidden: unable to create new content in namespace {target.namespace} because it is "
                       "being terminated", details(name, rtype.group, rtype.plural, causes=[
                           {"reason": "NamespaceTerminating", "message": why, "field": "metadata.namespace"}]))


# ------------------------------------------------------------------ write

async def create_object(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """POST a new object (generateName, dryRun)."""
    obj = await read_json(request)
    created, warnings = create_from(server, request, target, obj, writer_of(request, target))
    return json_response(created, 201, warnings)


def create_from(server: SimServer, request: web.Request, target: Target, obj: dict, writer: Writer):
    """Check, validate and store a new object (for POST, and for an apply of a missing object);
    returns it with the field warnings."""
    _check_identity(target, obj, creating=True)
    if target.rtype.namespaced and not target.namespace:
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    _check_namespace(server, target, obj["metadata"].get("name") or "")
    _reset_system_fields(obj["metadata"])
    warnings = fieldcheck.check(request.query, target.rtype, obj, fieldcheck.decode_prefix(target.rtype))
    validate(target.rtype, {**obj, "metadata": {**obj["metadata"], "name": obj["metadata"].get("name") or "x"}})
    created = server.store.create(target.rtype.key, obj, dry_run=dry_run(request), writer=writer)
    return created, warnings


def _reset_system_fields(meta: dict) -> None:
    """The server owns these on create, whatever the client sent (kubectl sends creationTimestamp: null)."""
    if meta.get("resourceVersion"):
        raise bad_request("resourceVersion should not be set on objects to be created")
    for key in ("creationTimestamp", "uid", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
        meta.pop(key, None)


def _merge_subresource(rtype: ResourceType, sub: str | None, new: dict, old: dict) -> dict:
    """Main endpoint writes ignore status; /status writes only change status (real apiserver rules)."""
    if rtype.subresource("status") is None:
        return new
    if sub == "status":
        merged = decode(encode(old))
        if "status" in new:
            merged["status"] = new["status"]
        merged["metadata"]["resourceVersion"] = meta_of(new).get("resourceVersion")
        return merged
    if "status" in old:
        new["status"] = old["status"]
    else:
        new.pop("status", None)
    return new


def commit(server: SimServer, request: web.Request, target: Target, new: dict, writer: Writer | None = None) -> dict:
    """Validate and store a replacement built from a PUT or PATCH (shared by both)."""
    rtype = target.rtype
    old = current(server, target)
    new = _merge_subresource(rtype, target.subresource, new, old)
    _check_identity(target, new, creating=False)
    validate(rtype, new)  # first: defaulting assumes well-formed objects
    if target.subresource is None:
        server.store.apply_defaults(rtype.key, new)  # as on create: updates are defaulted too
        validate_update(rtype, new, old)
    result = server.store.update(rtype.key, new, dry_run=dry_run(request), writer=writer or writer_of(request, target))
    if result is not old and not dry_run(request):
        _finish_if_finalized(server, target, result)
    return result


def kubelet_owned(rtype: ResourceType, obj: dict) -> bool:
    """A pod bound to a node: its kubelet (not the API server) completes the deletion."""
    return rtype.key == "pods" and bool((obj.get("spec") or {}).get("nodeName"))


def _finish_if_finalized(server: SimServer, target: Target, obj: dict) -> None:
    meta = obj["metadata"]
    if meta.get("deletionTimestamp") and not meta.get("finalizers") and not kubelet_owned(target.rtype, obj):
        server.store.remove(target.rtype.key, meta.get("namespace"), meta["name"])


async def update_object(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """PUT (full replace; 409 on a stale resourceVersion)."""
    obj = await read_json(request)
    old = current(server, target)
    sent = meta_of(obj).get("resourceVersion")
    if sent and sent != old["metadata"]["resourceVersion"]:
        raise conflict(target.rtype.plural, target.name or "", target.rtype.group)
    warnings = fieldcheck.check(request.query, target.rtype, obj, fieldcheck.decode_prefix(target.rtype))
    return json_response(commit(server, request, target, obj), warnings=warnings)


PATCH_TYPES = {
    "application/strategic-merge-patch+json": "strategic",
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",  # handled by patch_object (not on /scale)
}


def patch_kind(request: web.Request, rtype: ResourceType) -> str:
    """strategic|merge|json from the Content-Type; 415 otherwise (incl. server-side apply)."""
    kind = PATCH_TYPES.get(request.content_type)
    accepted = ", ".join(PATCH_TYPES)
    if kind is None:
        raise ApiError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - accepted media types include: {accepted}")
    if kind == "strategic" and rtype.group == "gateway.networking.k8s.io":
        # Custom resources (Gateway API is CRD-based) do not support strategic merge, as on a real cluster.
        raise ApiError(415, "UnsupportedMediaType", "strategic merge patch is not supported for custom resources; "
                       "use --type merge or --type json")
    return kind


def apply_patch(kind: str, document: dict, body) -> dict:
    """Apply a patch body of ``kind`` to ``document`` (a copy is returned)."""
    if kind == "json":
        result = json_patch(document, body)
    elif kind == "merge":
        result = merge_patch(document, body)
    else:
        result = strategic_merge(document, body)
    if not isinstance(result, dict):
        raise ApiError(422, "Invalid", "the patch result is not an object")
    return result


def check_apply_identity(target: Target, config: dict) -> None:
    """An apply configuration names the URL's object with the resource's apiVersion and kind."""
    if not config.get("apiVersion") or not config.get("kind"):
        raise bad_request("apiVersion and kind are required in an apply configuration")
    _check_identity(target, config, creating=False)


async def patch_object(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """PATCH (strategic/merge/json, or server-side apply); a no-op returns the identical object (same RV)."""
    if request.content_type == apply.APPLY_PATCH:
        return await apply.apply_patch(server, request, target)
    kind = patch_kind(request, target.rtype)
    body = await read_json(request, list if kind == "json" else dict)
    old = current(server, target)
    patched = apply_patch(kind, decode(server.store.get_raw(target.rtype.key, *_store_name(target))), body)
    sent = meta_of(patched).get("resourceVersion")
    if sent and sent != old["metadata"]["resourceVersion"]:
        raise conflict(target.rtype.plural, target.name or "", target.rtype.group)
    warnings = fieldcheck.check(request.query, target.rtype, patched, "", old=old)
    return json_response(commit(server, request, target, patched), warnings=warnings)


# ------------------------------------------------------------------ scale

def scale_of(rtype: ResourceType, obj: dict) -> dict:
    """The autoscaling/v1 Scale view of a Deployment or ReplicaSet."""
    meta = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": selector_to_string((obj.get("spec") or {}).get("selector"))}}


async def scale(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """GET/PUT/PATCH on /scale."""
    obj = current(server, target)
    view = scale_of(target.rtype, obj)
    if request.method == "GET":
        return json_response(view)
    if request.method == "PUT":
        wanted = await read_json(request)
    else:
        kind = patch_kind(request, target.rtype)
        wanted = apply_patch(kind, view, await read_json(request, list if kind == "json" else dict))
    sent = meta_of(wanted).get("resourceVersion")
    if sent and sent != obj["metadata"]["resourceVersion"]:
        raise conflict(target.rtype.plural, target.name or "", target.rtype.group)
    spec = wanted.get("spec")
    replicas = spec.get("replicas") if isinstance(spec, dict) else None
    if not isinstance(replicas, int) or replicas < 0:
        raise invalid("Scale", target.name or "", "spec.replicas: Invalid value: must be a non-negative integer",
                      "autoscaling")
    new = decode(encode(obj))
    new["spec"]["replicas"] = replicas
    result = server.store.update(target.rtype.key, new, dry_run=dry_run(request), writer=writer_of(request, target))
    return json_response(scale_of(target.rtype, result))
