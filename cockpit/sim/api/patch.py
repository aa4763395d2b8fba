"""PATCH semantics: strategic-merge (with merge keys and directives), JSON merge (RFC 7386)
and JSON patch (RFC 6902). All functions return a new document and never modify their inputs."""

from __future__ import annotations

import copy

from cockpit.sim.errors import ApiError

# List fields merged by key in strategic-merge patches (field name -> merge key); "ports" is
# special-cased (containerPort for containers, port for services).
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "imagePullSecrets": "name", "resourceClaims": "name",
    "volumeMounts": "mountPath", "volumeDevices": "devicePath", "conditions": "type",
    "addresses": "type", "hostAliases": "ip", "topologySpreadConstraints": "topologyKey",
    "readinessGates": "conditionType", "ownerReferences": "uid",
}
# Primitive lists with the merge strategy (union instead of replace).
MERGE_PRIMITIVE_LISTS = {"finalizers"}
_DIRECTIVE_PREFIXES = ("$setElementOrder/", "$deleteFromPrimitiveList/", "$retainKeys")


def _merge_key(field: str, items: list) -> str | None:
    if field == "ports":
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return MERGE_KEYS.get(field)


# ------------------------------------------------------------------ strategic merge

def strategic_merge(original: dict, patch: dict) -> dict:
    """Apply a strategic-merge patch (see MERGE_KEYS) to ``original``."""
    if not isinstance(patch, dict):
        raise ApiError(400, "BadRequest", "strategic merge patch must be a JSON object")
    return _smp_map(copy.deepcopy(original) if isinstance(original, dict) else {}, patch)


def _smp_map(target: dict, patch: dict) -> dict:
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return None
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            _apply_list_directive(target, key, value)
            continue
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            current = target.get(key)
            merged = _smp_map(current if isinstance(current, dict) else {}, value)
            if merged is None:
                target.pop(key, None)
            else:
                target[key] = merged
        elif isinstance(value, list):
            target[key] = _smp_list(key, target.get(key), value)
        else:
            target[key] = value
    if isinstance(retain, list):
        for key in [k for k in target if k not in retain]:
            del target[key]
    _apply_element_order(target, patch)
    return target


def _apply_list_directive(target: dict, key: str, value) -> None:
    if key.startswith("$deleteFromPrimitiveList/"):
        field = key.split("/", 1)[1]
        if isinstance(target.get(field), list) and isinstance(value, list):
            target[field] = [v for v in target[field] if v not in value]
    # $setElementOrder is applied after the merge; $retainKeys after the map merge.


def _apply_element_order(target: dict, patch: dict) -> None:
    for key, order in patch.items():
        if not key.startswith("$setElementOrder/") or not isinstance(order, list):
            continue
        field = key.split("/", 1)[1]
        items = target.get(field)
        if not isinstance(items, list):
            continue
        mkey = _merge_key(field, items)
        def ident(item):
            return item.get(mkey) if mkey and isinstance(item, dict) else item
        wanted = [ident(o) for o in order]
        rank = {w: i for i, w in enumerate(wanted) if not isinstance(w, (dict, list))}
        target[field] = sorted(items, key=lambda it: rank.get(ident(it), len(rank)))


def _smp_list(field: str, current, patch: list) -> list:
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [_strip_directives(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    mkey = _merge_key(field, patch)
    if field in MERGE_PRIMITIVE_LISTS and all(not isinstance(p, (dict, list)) for p in patch):
        base = list(current) if isinstance(current, list) else []
        return base + [p for p in patch if p not in base]
    if not mkey or not isinstance(current, list):
        return [_strip_directives(p) for p in patch if not (isinstance(p, dict) and p.get("$patch") == "delete")]
    result = list(current)
    for item in patch:
        if not isinstance(item, dict) or mkey not in item:
            result.append(_strip_directives(item))
            continue
        idx = next((i for i, c in enumerate(result) if isinstance(c, dict) and c.get(mkey) == item[mkey]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                result.pop(idx)
        elif idx is None:
            result.append(_strip_directives(item))
        else:
            result[idx] = _smp_map(result[idx], item)
    return result


def _strip_directives(value):
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


# ------------------------------------------------------------------ JSON merge patch

def merge_patch(original, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    target = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


# ------------------------------------------------------------------ JSON patch

def json_patch(original, operations) -> dict:
    """RFC 6902 JSON patch; failures raise ApiError 422 (bad ops: 400)."""
    if not isinstance(operations, list):
        raise ApiError(400, "BadRequest", "json patch must be a JSON array of operations")
    doc = copy.deepcopy(original)
    for op in operations:
        doc = _apply_op(doc, op)
    return doc


def _pointer(path) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise ApiError(400, "BadRequest", f"invalid JSON pointer {path!r}")
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _fail(message: str) -> ApiError:
    return ApiError(422, "Invalid", message)


def _parent(doc, parts: list[str]):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict):
            if part not in node:
                raise _fail(f"doc is missing path: /{'/'.join(parts)}")
            node = node[part]
        elif isinstance(node, list):
            node = node[_index(node, part, allow_end=False)]
        else:
            raise _fail(f"doc is missing path: /{'/'.join(parts)}")
    return node


def _index(node: list, part: str, allow_end: bool) -> int:
    if part == "-" and allow_end:
        return len(node)
    if not part.isdigit():
        raise _fail(f"invalid array index {part!r}")
    idx = int(part)
    if idx > len(node) or (idx == len(node) and not allow_end):
        raise _fail(f"array index {idx} out of bounds")
    return idx


def _get(doc, parts: list[str]):
    if not parts:
        return doc
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _fail(f"doc is missing path: /{'/'.join(parts)}")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise _fail(f"doc is missing path: /{'/'.join(parts)}")


def _add(doc, parts: list[str], value):
    if not parts:
        return value
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise _fail(f"doc is missing path: /{'/'.join(parts)}")
    return doc


def _remove(doc, parts: list[str]):
    if not parts:
        raise _fail("cannot remove the whole document")
    _get(doc, parts)  # existence check
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, dict):
        del parent[last]
    else:
        parent.pop(_index(parent, last, allow_end=False))
    return doc


def _apply_op(doc, op):
    if not isinstance(op, dict) or "op" not in op or "path" not in op:
        raise ApiError(400, "BadRequest", f"invalid json patch operation: {op!r}")
    kind, parts = op["op"], _pointer(op["path"])
    if kind in ("add", "replace", "test") and "value" not in op:
        raise ApiError(400, "BadRequest", f"operation {kind} needs a value")
    if kind == "add":
        return _add(doc, parts, copy.deepcopy(op["value"]))
    if kind == "remove":
        return _remove(doc, parts)
    if kind == "replace":
        _get(doc, parts)
        return _add(_remove(doc, parts), parts, copy.deepcopy(op["value"])) if parts else copy.deepcopy(op["value"])
    if kind == "test":
        if _get(doc, parts) != op["value"]:
            raise _fail(f"testing value /{'/'.join(parts)} failed")
        return doc
    if kind in ("move", "copy"):
        source = _pointer(op.get("from"))
        value = copy.deepcopy(_get(doc, source))
        if kind == "move":
            doc = _remove(doc, source)
        return _add(doc, parts, value)
    raise ApiError(400, "BadRequest", f"unknown json patch operation {kind!r}")
