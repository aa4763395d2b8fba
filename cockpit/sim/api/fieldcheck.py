"""Server-side field validation (``fieldValidation=Strict|Warn|Ignore``) for the built-in kinds.

Unknown fields are found by walking the object along the kind's protobuf field tables (the same
fields the apiserver's typed decoder knows). The apiserver drops them in every mode; ``Strict``
refuses the request and ``Warn`` (the default) answers with one ``Warning: 299`` header each.
"""

from __future__ import annotations

from cockpit.sim.api.protobody import leaf_types, message_name
from cockpit.sim.api.protoschema import MESSAGES
from cockpit.sim.api.protowire import WireError
from cockpit.sim.errors import ApiError, bad_request
from cockpit.sim.resources import ResourceType

DIRECTIVES = ("Ignore", "Warn", "Strict")
_TYPE_META = ("kind", "apiVersion")


def directive(query) -> str:
    """The request's fieldValidation directive (Warn when absent); 400 for anything else."""
    value = query.get("fieldValidation") or "Warn"
    if value not in DIRECTIVES:
        raise bad_request(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{value}"')
    return value


def schema_of(rtype: ResourceType) -> str | None:
    """The message describing a kind, or None for kinds without one (custom resources)."""
    try:
        return message_name(rtype.api_version, rtype.kind)
    except WireError:
        return None


def unknown_fields(obj: dict, message: str) -> list[str]:
    """Paths (``spec.template.spec.containers[0].imagex``) of the fields ``message`` lacks."""
    out: list[str] = []
    _walk(obj, message, "", out, top=True)
    return out


def drop_unknown(obj: dict, paths: list[str]) -> None:
    """Remove the fields at ``paths`` (as the typed decoder does) in place."""
    for path in paths:
        parent, key = _resolve_parent(obj, path)
        if isinstance(parent, dict):
            parent.pop(key, None)


def check(query, rtype: ResourceType, obj: dict, prefix: str, old: dict | None = None) -> list[str]:
    """Apply the directive to ``obj`` in place; return the warnings to send.

    ``old``: the stored object a patch started from; fields it already had are not the client's.
    ``prefix`` starts the Strict error message (create/update name the kind, patch does not).
    """
    mode, message = directive(query), schema_of(rtype)
    if message is None:
        return []
    unknown = unknown_fields(obj, message)
    if old is not None:
        known_before = set(unknown_fields(old, message))
        unknown = [p for p in unknown if p not in known_before]
    if not unknown:
        return []
    drop_unknown(obj, unknown)
    errors = ", ".join(f'unknown field "{p}"' for p in unknown)
    if mode == "Strict":
        raise ApiError(400, "BadRequest", f"{prefix}strict decoding error: {errors}")
    return [] if mode == "Ignore" else [f'unknown field "{p}"' for p in unknown]


def decode_prefix(rtype: ResourceType) -> str:
    """``Deployment in version "v1" cannot be handled as a Deployment: `` (create and update)."""
    return f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '


def _walk(value, message: str, path: str, out: list[str], top: bool = False) -> None:
    if message in leaf_types() or not isinstance(value, dict):
        return
    names = _json_fields(message)
    for key, item in value.items():
        here = f"{path}.{key}" if path else key
        spec = names.get(key)
        if spec is None:
            if not (top and key in _TYPE_META):
                out.append(here)
            continue
        _, code, type_name = spec
        if not type_name:
            continue
        if code.startswith("*") and isinstance(item, list):
            for i, element in enumerate(item):
                _walk(element, type_name, f"{here}[{i}]", out)
        elif code.startswith("{") and isinstance(item, dict):
            for map_key, element in item.items():
                _walk(element, type_name, f"{here}[{map_key}]", out)
        else:
            _walk(item, type_name, here, out)


# The Go-embedded (``json:",inline"``) structs of the served API groups, as (protobuf field name,
# type name): each is one field in the protobuf schema, but its fields sit directly in the
# parent's JSON (``volumes[0].emptyDir``, ``livenessProbe.httpGet``, ``configMap.name``). A field
# merely named after its type (``roleRef``, ``affinity``, ``capabilities``) is an ordinary field.
INLINE_FIELDS = frozenset({
    ("volumeSource", "VolumeSource"),
    ("persistentVolumeSource", "PersistentVolumeSource"),
    ("handler", "ProbeHandler"),
    ("ephemeralContainerCommon", "EphemeralContainerCommon"),
    ("ingressRuleValue", "IngressRuleValue"),
    ("localObjectReference", "LocalObjectReference"),
})


def _json_fields(message: str) -> dict[str, tuple]:
    """The JSON field names of ``message``, with those of Go-embedded structs inlined (see INLINE_FIELDS)."""
    fields = {spec[0]: spec for spec in MESSAGES.get(message, {}).values()}
    for name, _code, type_name in list(fields.values()):
        short = type_name.rsplit(".", 1)[-1] if type_name else ""
        if (name, short) in INLINE_FIELDS:
            fields.pop(name)
            for inner in _json_fields(type_name).values():
                fields.setdefault(inner[0], inner)
    return fields


def _resolve_parent(obj, path: str):
    parts = path.replace("[", ".[").split(".")
    node = obj
    for part in parts[:-1]:
        if part.startswith("["):
            index = part[1:-1]
            node = node[int(index)] if isinstance(node, list) else node.get(index)
        else:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None, None
    return node, parts[-1]
