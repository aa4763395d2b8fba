"""Server-side apply: PATCH with ``Content-Type: application/apply-patch+yaml``.

The applied configuration (YAML or JSON) is merged into the live object like a strategic merge;
the manager's ``Apply`` entry in managedFields then holds exactly the fields it applied. Fields it
applied before and leaves out now are removed unless another manager owns them. A field another
manager owns whose value would change is a conflict (409, reason Conflict, one
``FieldManagerConflict`` cause per field) unless ``force=true``, which takes the fields over.
An apply to a missing object creates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import yaml
from aiohttp import web

from cockpit.sim import managed_fields as mf
from cockpit.sim.api.patch import strategic_merge
from cockpit.sim.errors import ApiError, bad_request
from cockpit.sim.store import Writer, decode, encode, timestamp

if TYPE_CHECKING:
    from cockpit.sim.api.rest import Target
    from cockpit.sim.api.server import SimServer

APPLY_PATCH = "application/apply-patch+yaml"


def read_config(body: bytes) -> dict:
    """The applied configuration from a YAML (or JSON) body; 400 when it is not an object."""
    try:
        config = decode(body)
    except msgspec.DecodeError:
        try:
            config = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise bad_request(f"error decoding YAML: {exc}") from None
    if not isinstance(config, dict):
        raise bad_request("the apply configuration must be an object")
    if isinstance(config.get("metadata"), dict) and config["metadata"].get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    return config


def manager_of(request: web.Request) -> str:
    """``fieldManager``, which apply requires (the API server derives none for apply)."""
    manager = request.query.get("fieldManager")
    if not manager:
        raise bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
    return manager


def forced(request: web.Request) -> bool:
    """``force=true``; the API server refuses ``force`` on any other patch type."""
    return request.query.get("force", "").lower() in ("true", "1")


def applied_fields(rtype, config: dict, subresource: str | None) -> mf.Set:
    """The field set an apply configuration claims (status only through /status)."""
    fields = mf.fields_of(config)
    if rtype.subresource("status") is not None:
        if subresource == "status":
            return {k: v for k, v in fields.items() if k == "f:status"}
        fields.pop("f:status", None)
    return fields


# ------------------------------------------------------------------ conflicts

def value_at(obj, path: list[str]):
    """The value at a FieldsV1 path in ``obj`` (``_MISSING`` when absent)."""
    node = obj
    for part in path:
        if part.startswith("f:") and isinstance(node, dict):
            node = node.get(part[2:], _MISSING)
        elif part.startswith(("k:", "v:")) and isinstance(node, list):
            node = _find_item(node, part)
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


_MISSING = object()


def _find_item(items: list, key: str):
    if key.startswith("v:"):
        wanted = decode(key[2:].encode())
        return wanted if wanted in items else _MISSING
    fields = decode(key[2:].encode())
    for item in items:
        if isinstance(item, dict) and all(item.get(k) == v for k, v in fields.items()):
            return item
    return _MISSING


def leaf_paths(s: mf.Set, prefix: tuple = ()) -> list[tuple]:
    """Every leaf of a set as a tuple of its keys (``.`` markers stand for their parent)."""
    out = []
    for k, sub in s.items():
        if k == ".":
            continue
        path = prefix + (k,)
        out.extend(leaf_paths(sub, path) if sub else [path])
    return out


def conflicts(entries: list, manager: str, applied: mf.Set, live: dict, merged: dict) -> list[tuple[dict, tuple]]:
    """(entry, path) for each field another manager owns that this apply would change."""
    out = []
    for entry in entries:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            continue
        for path in leaf_paths(mf.intersect(entry.get("fieldsV1") or {}, applied)):
            if value_at(live, list(path)) != value_at(merged, list(path)):
                out.append((entry, path))
    return out


def _who(entry: dict) -> str:
    name = msgspec.json.encode(entry.get("manager", "")).decode()
    if entry.get("subresource"):
        name += f' with subresource {msgspec.json.encode(entry["subresource"]).decode()}'
    if entry.get("operation") == "Update":
        name += f' using {entry.get("apiVersion", "")}'
    return name


def conflict_error(found: list[tuple[dict, tuple]]) -> ApiError:
    """409 Conflict worded and shaped as the API server's (k8s.io/apiserver fieldmanager)."""
    causes = [{"type": "FieldManagerConflict", "message": f"conflict with {_who(e)}", "field": _path(p)}
              for e, p in found]
    if len(found) == 1:
        entry, path = found[0]
        message = f"Apply failed with 1 conflict: conflict with {_who(entry)}: {_path(path)}"
    else:
        lines: list[str] = []
        for who in sorted({_who(e) for e, _ in found}):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {_path(p)}" for e, p in found if _who(e) == who)
        message = f"Apply failed with {len(found)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


def _path(path: tuple) -> str:
    node: dict = {}
    leaf = node
    for part in path:
        leaf = leaf.setdefault(part, {})
    return mf.paths(node)[0]


# ------------------------------------------------------------------ merging

def remove_fields(obj: dict, s: mf.Set) -> None:
    """Delete the fields of ``s`` from ``obj`` in place (items and maps left empty go too)."""
    for k, sub in s.items():
        if k == "." or not k.startswith("f:") or k[2:] not in obj:
            continue
        name = k[2:]
        if not sub:
            del obj[name]
        elif isinstance(obj[name], dict):
            remove_fields(obj[name], sub)
            if not obj[name] and "." in sub:
                del obj[name]
        elif isinstance(obj[name], list):
            obj[name] = _remove_items(obj[name], sub)
            if not obj[name]:
                del obj[name]


def _remove_items(items: list, s: mf.Set) -> list:
    out = []
    for item in items:
        key = next((k for k in s if k != "." and _find_item([item], k) is not _MISSING), None)
        if key is None:
            out.append(item)
            continue
        if s[key] and isinstance(item, dict):
            item = dict(item)
            remove_fields(item, s[key])
            if item:
                out.append(item)
    return out


def merge(live: dict, config: dict, manager: str, applied: mf.Set, entries: list) -> dict:
    """The live object with the configuration merged in and the manager's dropped fields removed."""
    merged = strategic_merge(live, {k: v for k, v in config.items() if k not in ("kind", "apiVersion")})
    previous = next((e.get("fieldsV1") or {} for e in entries
                     if e.get("manager") == manager and e.get("operation") == "Apply"), {})
    others = {}
    for entry in entries:
        if not (entry.get("manager") == manager and entry.get("operation") == "Apply"):
            others = mf.union(others, entry.get("fieldsV1") or {})
    remove_fields(merged, mf.subtract(mf.subtract(previous, applied), others))
    return merged


def owners_after(entries: list, manager: str, applied: mf.Set, found: list, api_version: str, now: str,
                 subresource: str | None) -> list:
    """managedFields after the apply: forced fields leave their old owners; the manager owns ``applied``."""
    taken: mf.Set = {}
    for _, path in found:
        node = taken
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = {}
    out = []
    for entry in entries:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" \
                and entry.get("subresource") == subresource:
            if mf.as_set(entry.get("fieldsV1")) == applied:
                applied = {}  # the same set again: the entry (and its time) stays as it was
                out.append(entry)
            continue
        rest = mf.subtract(entry.get("fieldsV1") or {}, taken)
        if rest:
            out.append(entry if rest is entry.get("fieldsV1") else {**entry, "fieldsV1": rest})
    if applied:
        out.append(mf.entry_for(manager, "Apply", api_version, now, applied, subresource))
    return out


# ------------------------------------------------------------------ the request

async def apply_patch(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """Server-side apply of the request body to ``target`` (creating it when absent)."""
    from cockpit.sim.api import rest  # rest routes here: a module-level import would be circular

    manager, config = manager_of(request), read_config(await request.read())
    rtype = target.rtype
    ns, name = (target.namespace if rtype.namespaced else None), target.name or ""
    applied = applied_fields(rtype, config, target.subresource)
    now = timestamp(server.store.now())
    live = server.store.get(rtype.key, ns, name)
    if live is None:
        return await _create(server, request, target, config, manager, applied, now)
    rest.check_apply_identity(target, config)
    live = decode(server.store.get_raw(rtype.key, ns, name))
    entries = list(live["metadata"].get("managedFields") or ())
    merged = merge(live, config, manager, applied, entries)
    found = conflicts(entries, manager, applied, live, merged)
    if found and not forced(request):
        raise conflict_error(found)
    merged["metadata"]["managedFields"] = owners_after(entries, manager, applied, found, rtype.api_version, now,
                                                       target.subresource)
    result = rest.commit(server, request, target, merged, Writer(manager, "Apply", target.subresource))
    return rest.json_response(result)


async def _create(server: SimServer, request: web.Request, target: Target, config: dict, manager: str,
                  applied: mf.Set, now: str) -> web.Response:
    from cockpit.sim.api import rest

    if target.subresource is not None:
        raise rest.not_found(target.rtype.plural, target.name or "", target.rtype.group)
    config = decode(encode(config))
    meta = config.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    meta.setdefault("name", target.name)
    meta["managedFields"] = [mf.entry_for(manager, "Apply", target.rtype.api_version, now, applied)]
    created, warnings = rest.create_from(server, request, target, config, Writer(manager, "Apply"))
    return rest.json_response(created, 201, warnings)
