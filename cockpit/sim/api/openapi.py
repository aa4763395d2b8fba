"""A minimal OpenAPI v3 (enough for ``kubectl create -f`` / ``apply -f``).

kubectl only needs the per-group-version documents to exist and to advertise the
``fieldValidation`` query parameter with the group-version-kind of each path; it then lets the
server validate (``fieldValidation=Strict``). Without it kubectl falls back to OpenAPI v2 and fails.
"""

from __future__ import annotations

from cockpit.sim.resources import group_versions

_FIELD_VALIDATION = {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}


def _prefix(group_version: str) -> str:
    return "api/v1" if group_version == "v1" else f"apis/{group_version}"


def index() -> dict:
    """GET /openapi/v3: where each group-version document lives."""
    return {"paths": {_prefix(gv): {"serverRelativeURL": f"/openapi/v3/{_prefix(gv)}?hash=0"}
                      for gv in group_versions()}}


def _op(group: str, version: str, kind: str, action: str) -> dict:
    return {"x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
            "parameters": [_FIELD_VALIDATION], "responses": {"200": {"description": "OK"}}}


def document(path: str) -> dict | None:
    """GET /openapi/v3/<api/v1|apis/g/v>: paths for every resource of that group-version."""
    types = next((t for gv, t in group_versions().items() if _prefix(gv) == path), None)
    if types is None:
        return None
    paths = {}
    for t in types:
        base = f"/{path}/namespaces/{{namespace}}/{t.plural}" if t.namespaced else f"/{path}/{t.plural}"
        paths[base] = {"post": _op(t.group, t.version, t.kind, "post"),
                       "get": _op(t.group, t.version, t.kind, "list")}
        paths[base + "/{name}"] = {"get": _op(t.group, t.version, t.kind, "get"),
                                   "put": _op(t.group, t.version, t.kind, "put"),
                                   "patch": _op(t.group, t.version, t.kind, "patch"),
                                   "delete": _op(t.group, t.version, t.kind, "delete")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"},
            "paths": paths, "components": {"schemas": {}}}
