"""OpenAPI v2 (``/openapi/v2``), for kubectl 1.27 and 1.28.

Those two read v2, not v3: ``kubectl explain`` looks up the definition of a kind there, and
``kubectl apply``/``create`` look for the ``fieldValidation`` parameter on each kind's PATCH
operation before letting the server validate (without the document they fail with NotFound).
kubectl only accepts the document as protobuf (gnostic's ``openapi.v2.Document``), so the
swagger JSON built here is also encoded by a small hand-written encoder; the field numbers are
those of gnostic's ``OpenAPIv2.proto`` as compiled into kubectl. JSON is served to clients that
do not ask for protobuf.

Definitions come from the same schema source as OpenAPI v3 (:mod:`cockpit.sim.api.openapi`),
turned into the swagger 2.0 shape (``#/definitions`` refs beside their description,
IntOrString as ``string``/``int-or-string``). The document is built on the first request and
cached.
"""

from __future__ import annotations

import json
from functools import cache

from cockpit.sim.api import openapi
from cockpit.sim.api.discovery import served_group_versions

# kubectl asks for the "@v1.0" form; the answer carries the parseable ".v1.0" form, as the
# apiserver's (Go's mime parser rejects the "@", and kubectl with it).
PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_V3_REFS = "#/components/schemas/"
_DEFINITIONS = "#/definitions/"


# ---------------------------------------------------------------------- JSON schema -> swagger 2.0


def convert(node):
    """One JSON-schema (or v3 synthetic) node in swagger 2.0 form."""
    if isinstance(node, list):
        return [convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    one_of = node.get("oneOf")
    if one_of is not None:  # IntOrString and Quantity: v2 publishes them as strings
        types = {t for o in one_of for t in _types(o)}
        out = {"type": "string", **({"format": "int-or-string"} if "integer" in types else {})}
        return {**out, **{k: v for k, v in node.items() if k == "description"}}
    out = {}
    for key, value in node.items():
        if key == "$ref":
            value = _DEFINITIONS + value.rsplit("/", 1)[-1]
        elif key == "type":
            kinds = [t for t in _types(node) if t != "null"]
            if len(kinds) != 1:
                continue
            value = kinds[0]
        elif key == "properties":
            value = {name: convert(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            value = convert(value)
        elif key == "allOf" and len(value) == 1 and "$ref" in value[0]:
            out["$ref"] = _DEFINITIONS + value[0]["$ref"].rsplit("/", 1)[-1]  # v3's wrapper, unwrapped
            continue
        elif key in ("enum", "default", "oneOf", "anyOf", "not"):
            continue
        out[key] = value
    return out


def _types(node: dict) -> list[str]:
    value = node.get("type")
    return value if isinstance(value, list) else [value] if value else []


def _all_definitions(minor: int) -> dict[str, dict]:
    """Every definition of the schema source, plus the made-up ones of kinds without a schema."""
    defs = {name: convert(schema) for name, schema in openapi.definitions(minor).items()}
    kinds = openapi.kind_index(openapi.definitions(minor))
    for types in served_group_versions().values():
        for t in types:
            if (t.group, t.version, t.kind) not in kinds:
                name, schema = openapi.synthetic_schema(t)
                defs[name] = convert(schema)
    return defs


def _parameter(p: dict) -> dict:
    return {"name": p["name"], "in": p["in"], "type": "string", "uniqueItems": True}


def _paths() -> dict:
    paths = {}
    for gv, types in served_group_versions().items():
        for path, item in openapi.operation_paths(openapi.document_prefix(gv), types).items():
            paths[path] = {verb: {**op, "parameters": [_parameter(p) for p in op["parameters"]]}
                           for verb, op in item.items()}
    return paths


@cache
def swagger(version: str) -> dict:
    """The swagger 2.0 document for a served version (built once)."""
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": f"v{version.lstrip('v')}"},
            "paths": _paths(), "definitions": _all_definitions(openapi.served_minor(version))}


@cache
def document(version: str, protobuf: bool) -> bytes:
    """The document as gnostic protobuf (what kubectl asks for) or JSON, serialised once."""
    if protobuf:
        return encode_document(swagger(version))
    return json.dumps(swagger(version), separators=(",", ":")).encode() + b"\n"


def wants_protobuf(accept: str | None) -> bool:
    """True when the client asked for the protobuf form (kubectl always does)."""
    return "com.github.proto-openapi.spec.v2" in (accept or "")


# ---------------------------------------------------------------------- protobuf (gnostic OpenAPIv2.proto)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        bits, n = n & 0x7F, n >> 7
        out.append(bits | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _str(number: int, text: str) -> bytes:
    return _bytes(number, text.encode())


def _bool(number: int, value: bool) -> bytes:
    return _varint(number << 3) + _varint(1 if value else 0)


def _named_any(name: str, value) -> bytes:
    """NamedAny{name, value: Any{yaml}}: how gnostic keeps ``x-`` extensions."""
    import yaml  # deferred: only this (lazily built) document needs it, not the server's start-up

    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=True)
    return _str(1, name) + _bytes(2, _str(2, text))


def _extensions(node: dict, number: int) -> bytes:
    return b"".join(_bytes(number, _named_any(k, v)) for k, v in sorted(node.items()) if k.startswith("x-"))


def encode_schema(s: dict) -> bytes:
    """openapi.v2.Schema."""
    out = bytearray()
    for key, number in (("$ref", 1), ("format", 2), ("title", 3), ("description", 4)):
        if isinstance(s.get(key), str):
            out += _str(number, s[key])
    for name in s.get("required") or ():
        out += _str(19, name)
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        out += _bytes(21, _bytes(1, encode_schema(extra)))
    elif isinstance(extra, bool):
        out += _bytes(21, _bool(2, extra))
    if isinstance(s.get("type"), str):
        out += _bytes(22, _str(1, s["type"]))
    if isinstance(s.get("items"), dict):
        out += _bytes(23, _bytes(1, encode_schema(s["items"])))
    for sub in s.get("allOf") or ():
        out += _bytes(24, encode_schema(sub))
    if isinstance(s.get("properties"), dict):
        out += _bytes(25, b"".join(_bytes(1, _str(1, k) + _bytes(2, encode_schema(v)))
                                   for k, v in s["properties"].items()))
    if s.get("readOnly") is True:
        out += _bool(27, True)
    out += _extensions(s, 31)
    return bytes(out)


def _encode_parameter(p: dict) -> bytes:
    query = _str(2, p["in"]) + _str(4, p["name"]) + _str(6, p.get("type", "string"))
    if p.get("uniqueItems"):
        query += _bool(20, True)
    # ParametersItem{parameter: Parameter{non_body_parameter: NonBodyParameter{query_parameter_sub_schema}}}
    return _bytes(1, _bytes(2, _bytes(3, query)))


def _encode_operation(op: dict) -> bytes:
    out = bytearray()
    if op.get("operationId"):
        out += _str(5, op["operationId"])
    for p in op.get("parameters") or ():
        out += _bytes(8, _encode_parameter(p))
    responses = b"".join(_bytes(1, _str(1, code) + _bytes(2, _bytes(1, _str(1, r.get("description", "")))))
                         for code, r in (op.get("responses") or {}).items())
    out += _bytes(9, responses)
    out += _extensions(op, 13)
    return bytes(out)


_VERBS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}


def encode_document(doc: dict) -> bytes:
    """openapi.v2.Document from the swagger dict."""
    info = _str(1, doc["info"]["title"]) + _str(2, doc["info"]["version"])
    paths = bytearray()
    for path, item in doc["paths"].items():
        ops = b"".join(_bytes(_VERBS[verb], _encode_operation(op)) for verb, op in item.items())
        paths += _bytes(2, _str(1, path) + _bytes(2, ops))
    definitions = b"".join(_bytes(1, _str(1, name) + _bytes(2, encode_schema(schema)))
                           for name, schema in doc["definitions"].items())
    return _str(1, doc["swagger"]) + _bytes(2, info) + _bytes(8, bytes(paths)) + _bytes(9, definitions)
