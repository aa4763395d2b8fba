"""OpenAPI v3 (``/openapi/v3`` and ``/openapi/v3/<api/v1|apis/g/v>``) with the real schemas.

Two clients read these documents. ``kubectl create/apply`` looks for the ``fieldValidation``
query parameter on each resource's operations (then lets the server validate; without it kubectl
falls back to OpenAPI v2 and fails). ``kubectl explain`` looks up the schema whose
``x-kubernetes-group-version-kind`` is the kind asked for and walks its ``properties``.

The schemas come from the JSON schemas shipped by the ``kubernetes-validate`` package (already a
dependency; one ``_definitions.json`` per Kubernetes minor, itself generated from the apiserver's
OpenAPI). They are turned back into OpenAPI v3 the way the apiserver publishes it: ``$ref`` into
``#/components/schemas``, wrapped in ``allOf`` when the field has its own description, types
without the added ``null``. Kinds that have no published schema (Gateway API and Argo CRDs,
metrics.k8s.io) get a CRD-like schema that keeps unknown fields.

Nothing is read at start-up: the definitions file is parsed on the first request for a document
and each document is built once per served minor, then cached (``functools.cache``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import cache
from pathlib import Path

from cockpit.domain.versions import parse_version
from cockpit.sim.api.discovery import served_group_versions
from cockpit.sim.resources import ResourceType

_FORMAT = "2"  # bump when the conversion changes, so clients' hash-keyed caches refetch
_FIELD_VALIDATION = {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}
_DEFS = "#/$defs/"
_SCHEMAS = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
# Always part of a group-version's document, as in the apiserver's (every list and delete uses them).
_COMMON = (_META + "APIResourceList", _META + "DeleteOptions", _META + "Status", _META + "WatchEvent")


# ---------------------------------------------------------------------- the schema source


def schema_root() -> Path | None:
    """Where kubernetes-validate keeps its per-version JSON schemas (without importing it)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.origin:
        return None
    root = Path(spec.origin).parent / "kubernetes-json-schema"
    return root if root.is_dir() else None


def schema_dir(minor: int) -> Path | None:
    """The schema directory of the served minor, else the nearest one shipped."""
    root = schema_root()
    if root is None:
        return None
    shipped = {}
    for d in root.glob("v1.*.0-local"):
        shipped[int(d.name.split(".")[1])] = d
    if not shipped:
        return None
    return shipped[min(shipped, key=lambda m: (abs(m - minor), -m))]


@cache
def definitions(minor: int) -> dict[str, dict]:
    """Every JSON-schema definition of the served minor, by name (parsed once; {} without a source)."""
    folder = schema_dir(minor)
    if folder is None:
        return {}
    return json.loads((folder / "_definitions.json").read_text())["$defs"]


def served_minor(version: str) -> int:
    """The minor of a served version (``1.32.4`` -> 32)."""
    return parse_version(version).minor


# ---------------------------------------------------------------------- JSON schema -> OpenAPI v3


def convert(node, *, top_level: bool = False):
    """One JSON-schema node as OpenAPI v3 (see the module docstring)."""
    if isinstance(node, list):
        return [convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref":
            continue
        if key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            value = kinds[0] if len(kinds) == 1 else kinds
        elif key == "properties":
            value = {name: _property(name, sub, top_level) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "oneOf", "anyOf", "allOf", "not"):
            value = convert(value)
        out[key] = value
    ref = node.get("$ref")
    if ref is not None:
        target = {"$ref": _SCHEMAS + ref.removeprefix(_DEFS)}
        if not out:
            return target
        out["allOf"] = [target]  # OpenAPI 3.0 ignores siblings of $ref: the apiserver wraps it
    return out


def _property(name: str, schema: dict, top_level: bool) -> dict:
    converted = convert(schema)
    # kubernetes-validate pins apiVersion and kind of each kind with an enum; the apiserver doesn't.
    if top_level and name in ("apiVersion", "kind"):
        converted.pop("enum", None)
    return converted


def _references(node, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS):
            found.add(ref.removeprefix(_DEFS))
        for value in node.values():
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


def closure(defs: dict[str, dict], roots: list[str]) -> list[str]:
    """``roots`` and every definition they reference, transitively, in a stable order."""
    seen: set[str] = set()
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        refs: set[str] = set()
        _references(defs[name], refs)
        todo.extend(r for r in refs if r in defs and r not in seen)
    return sorted(seen)


# ---------------------------------------------------------------------- kinds without a schema


def _reverse_group(group: str) -> str:
    return ".".join(reversed(group.split(".")))


def _object_schema(t: ResourceType, description: str, properties: dict) -> dict:
    base = {"apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of "
                           "this representation of an object."},
            "kind": {"type": "string", "description": "Kind is a string value representing the REST resource "
                     "this object represents."},
            "metadata": {"allOf": [{"$ref": _SCHEMAS + _META + "ObjectMeta"}], "default": {},
                         "description": "Standard object's metadata."}}
    return {"type": "object", "description": description, "properties": {**base, **properties},
            "x-kubernetes-group-version-kind": [{"group": t.group, "version": t.version, "kind": t.kind}]}


_FREE = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_USAGE = {"type": "object", "description": "The memory and CPU usage.",
          "additionalProperties": {"allOf": [{"$ref": _SCHEMAS + "io.k8s.apimachinery.pkg.api.resource.Quantity"}]}}
_SAMPLE = {"timestamp": {"allOf": [{"$ref": _SCHEMAS + _META + "Time"}],
                         "description": "The time the usage sample ends (its window ends there)."},
           "window": {"type": "string", "description": "The time window the usage was averaged over."}}


def synthetic_schema(t: ResourceType) -> tuple[str, dict]:
    """(name, schema) for a kind the schema source does not know."""
    if t.kind == "NodeMetrics":
        return (f"io.k8s.metrics.pkg.apis.metrics.{t.version}.NodeMetrics",
                _object_schema(t, "NodeMetrics sets resource usage metrics of a node.", {**_SAMPLE, "usage": _USAGE}))
    if t.kind == "PodMetrics":
        container = {"type": "object", "required": ["name", "usage"], "properties": {
            "name": {"type": "string",
                     "description": "Container name corresponding to the one from pod.spec.containers."},
            "usage": _USAGE}}
        return (f"io.k8s.metrics.pkg.apis.metrics.{t.version}.PodMetrics",
                _object_schema(t, "PodMetrics sets resource usage metrics of a pod.",
                               {**_SAMPLE, "containers": {"type": "array", "items": container,
                                                          "description": "Metrics for all containers."}}))
    name = f"{_reverse_group(t.group)}.{t.version}.{t.kind}"
    return name, _object_schema(t, f"{t.kind} is a custom resource ({t.group}/{t.version}); the simulated "
                                   "cluster keeps any fields.", {"spec": dict(_FREE), "status": dict(_FREE)})


def kind_index(defs: dict[str, dict]) -> dict[tuple[str, str, str], str]:
    """(group, version, kind) -> definition name, for the definitions that are a kind's own."""
    index = {}
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            if name.endswith("." + gvk.get("kind", "")):
                index.setdefault((gvk.get("group", ""), gvk.get("version", ""), gvk["kind"]), name)
    return index


# ---------------------------------------------------------------------- documents


def document_prefix(group_version: str) -> str:
    """Where a group-version's document lives below /openapi/v3 (``api/v1``, ``apis/apps/v1``)."""
    return "api/v1" if group_version == "v1" else f"apis/{group_version}"


def _hash(group_version: str, version: str) -> str:
    """A stable hash of what the document is made from (cheap: no document is built for it)."""
    folder = schema_dir(served_minor(version))
    kinds = ",".join(t.kind for t in served_group_versions()[group_version])
    key = f"{_FORMAT}|{folder.name if folder else '-'}|{group_version}|{kinds}"
    return hashlib.sha512(key.encode()).hexdigest().upper()


def index(version: str = "1.32.4") -> dict:
    """GET /openapi/v3: where each group-version document lives (with its content hash)."""
    return {"paths": {document_prefix(gv): {
        "serverRelativeURL": f"/openapi/v3/{document_prefix(gv)}?hash={_hash(gv, version)}"}
        for gv in served_group_versions()}}


def _op(group: str, version: str, kind: str, action: str) -> dict:
    return {"x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
            "parameters": [_FIELD_VALIDATION], "responses": {"200": {"description": "OK"}}}


def operation_paths(path: str, types: list[ResourceType]) -> dict:
    """The collection and item paths of ``types`` with their operations (GVK and fieldValidation)."""
    paths = {}
    for t in types:
        base = f"/{path}/namespaces/{{namespace}}/{t.plural}" if t.namespaced else f"/{path}/{t.plural}"
        paths[base] = {"post": _op(t.group, t.version, t.kind, "post"),
                       "get": _op(t.group, t.version, t.kind, "list")}
        paths[base + "/{name}"] = {"get": _op(t.group, t.version, t.kind, "get"),
                                   "put": _op(t.group, t.version, t.kind, "put"),
                                   "patch": _op(t.group, t.version, t.kind, "patch"),
                                   "delete": _op(t.group, t.version, t.kind, "delete")}
    return paths


def _schemas(types: list[ResourceType], minor: int) -> dict[str, dict]:
    defs = definitions(minor)
    kinds = kind_index(defs)
    roots, synthetic = list(_COMMON), {}
    for t in types:
        name = kinds.get((t.group, t.version, t.kind))
        if name is None:
            synthetic_name, schema = synthetic_schema(t)
            synthetic[synthetic_name] = schema
            roots.append(_META + "ObjectMeta")
            continue
        roots.append(name)
        list_name = kinds.get((t.group, t.version, t.list_kind))
        if list_name:
            roots.append(list_name)
    if synthetic:
        roots += [_META + "Time", "io.k8s.apimachinery.pkg.api.resource.Quantity"]
    schemas = {name: convert(defs[name], top_level="x-kubernetes-group-version-kind" in defs[name])
               for name in closure(defs, roots)}
    schemas.update(synthetic)
    return schemas


@cache
def _document(path: str, minor: int, version: str) -> bytes | None:
    types = next((t for gv, t in served_group_versions().items() if document_prefix(gv) == path), None)
    if types is None:
        return None
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": f"v{version.lstrip('v')}"},
           "paths": operation_paths(path, types), "components": {"schemas": _schemas(types, minor)}}
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def document(path: str, version: str = "1.32.4") -> bytes | None:
    """GET /openapi/v3/<api/v1|apis/g/v>: the serialised document (built once, then cached), or None."""
    return _document(path, served_minor(version), version)
