"""metadata.managedFields as the API server keeps them: who set which field, as FieldsV1 sets.

A field set is a nested dict in the FieldsV1 wire form: ``f:<field>`` for map fields,
``k:{"name":"web"}`` for list items merged by key, ``v:"x"`` for set-like primitive lists
(finalizers), ``.`` for "this item or map itself"; an empty dict is a leaf (the field and all it
holds). Without the OpenAPI schemas the markers follow a simple rule: list items and string maps
(labels, annotations, selectors) carry ``.``; lists without a merge key are atomic leaves.

Every write records one entry per (manager, operation, subresource): an Update takes the fields
it added or changed from every other manager, and removed fields leave every set. Unchanged
subtrees are found with C-speed ``==``, and stored sets are encoded JSON (``msgspec.Raw``,
shared between equal sets), decoded only when a write touches them: the cost per write is
about the size of the change, and the sets add bytes but no objects for the garbage collector.
"""

from __future__ import annotations

import msgspec

from cockpit.sim.api.patch import MERGE_KEYS, MERGE_PRIMITIVE_LISTS

# Fields the API server never records in managedFields.
IGNORED_META = frozenset(("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                          "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"))
_encode = msgspec.json.Encoder(order="sorted").encode
_decode = msgspec.json.Decoder().decode
_STORED_LIMIT = 4096  # recent sets only: most sets are unique to one object (its uid, its volume)
_stored: dict[bytes, msgspec.Raw] = {}
_sets: dict[tuple[str, bytes], dict] = {}
Set = dict  # a FieldsV1 tree
_STRUCTS = frozenset(("metadata", "spec", "status"))  # structs, even when they hold only strings


# ------------------------------------------------------------------ paths of an object

def item_key(field: str, item) -> str | None:
    """The FieldsV1 key of one list element (None when the list is atomic)."""
    if field in MERGE_PRIMITIVE_LISTS and not isinstance(item, (dict, list)):
        return "v:" + _encode(item).decode()
    if not isinstance(item, dict):
        return None
    if field == "ports":
        names = ("containerPort", "protocol") if "containerPort" in item else ("port", "protocol")
    else:
        name = MERGE_KEYS.get(field)
        names = (name,) if name else ()
    if not names or names[0] not in item:
        return None
    return "k:" + _encode({n: item[n] for n in names if n in item}).decode()


def _list_keys(field: str, items: list) -> list[str] | None:
    keys = [item_key(field, i) for i in items]
    return None if not keys or None in keys or len(set(keys)) != len(keys) else keys


def fields_of(obj: dict, cached: bool = False, skip: tuple[str, ...] = ()) -> Set:
    """Every field of ``obj`` a manager can own (the set a create gives its manager).

    ``cached``: reuse the sets of equal values seen before, one level below the top (the
    containers of every pod of a ReplicaSet are one set); ``skip``: top-level fields left out.
    """
    out = {}
    for key, value in obj.items():
        if key in ("kind", "apiVersion") or key in skip:
            continue
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in IGNORED_META}
            if not value:
                continue
        out["f:" + key] = _cached_set(key, value) if cached and isinstance(value, dict) else _value_set(key, value, 1)
    return out


def admitted_fields(added: dict) -> Set:
    """``fields_of(added)`` for what admission added to a pod (its token volume and mounts),
    computed once per shape: the volume's random name only changes the volume's key."""
    spec = added.get("spec") or {}
    volumes = spec.get("volumes") or []
    if len(volumes) != 1 or not isinstance(volumes[0], dict) or "name" not in volumes[0]:
        return fields_of(added)
    shape = ("admitted",) + tuple((f, tuple(c.get("name") for c in spec[f]))
                                  for f in ("initContainers", "containers") if f in spec)
    cached = _sets.get(shape)  # mounts' names are values: they never change a set
    if cached is None:
        blank = {**volumes[0], "name": ""}
        cached = _sets[shape] = fields_of({"spec": {**spec, "volumes": [blank]}})
    blank_key, key = item_key("volumes", {"name": ""}), item_key("volumes", volumes[0])
    fspec = dict(cached["f:spec"])
    fspec["f:volumes"] = {key if k == blank_key else k: v for k, v in fspec["f:volumes"].items()}
    return {**cached, "f:spec": fspec}


def _cached_set(field: str, value: dict) -> Set:
    out = {}
    for k, v in value.items():
        if type(v) in (dict, list) and v:
            ck = (k, _plain(v))
            s = _sets.get(ck)
            if s is None:
                if len(_sets) >= _STORED_LIMIT:
                    _sets.clear()
                s = _sets[ck] = _value_set(k, v, 2)  # shared: sets are never changed in place
            out["f:" + k] = s
        else:
            out["f:" + k] = {}
    if value and field not in _STRUCTS and all(type(v) is str for v in value.values()):
        out["."] = {}
    return out


def _value_set(field: str, value, depth: int) -> Set:
    if isinstance(value, dict):
        if not value:
            return {}
        out = {"f:" + k: _value_set(k, v, depth + 1) for k, v in value.items()}
        if field not in _STRUCTS and all(type(v) is str for v in value.values()):
            out["."] = {}  # a string map (labels, annotations, matchLabels, a ConfigMap's data)
        return out
    if isinstance(value, list) and value:
        keys = _list_keys(field, value)
        if keys is None:
            return {}  # atomic list
        out = {k: _item_set(field, item) for k, item in zip(keys, value)}
        if field in MERGE_PRIMITIVE_LISTS:
            out["."] = {}
        return out
    return {}


def _item_set(field: str, item) -> Set:
    """The set of one list item, shared by every item of the same shape: an item's own scalar
    values (a container's name and image, a volume's name) never change its set."""
    if not isinstance(item, dict):
        return {}
    key = (field, _plain({k: v if type(v) in (dict, list) else 0 for k, v in item.items()}))
    out = _sets.get(key)
    if out is None:
        if len(_sets) >= _STORED_LIMIT:
            _sets.clear()
        out = _sets[key] = {"f:" + k: _value_set(k, v, 3) for k, v in item.items()}
        out["."] = {}
    return out


# ------------------------------------------------------------------ what a write changed

def diff(old: dict, new: dict) -> tuple[Set, Set]:
    """(fields added or changed, fields removed) from ``old`` to ``new`` (whole objects)."""
    changed, removed = {}, {}
    for key in new.keys() | old.keys():
        if key in ("kind", "apiVersion"):
            continue
        a, b = old.get(key), new.get(key)
        if key == "metadata":
            a = {k: v for k, v in (a or {}).items() if k not in IGNORED_META}
            b = {k: v for k, v in (b or {}).items() if k not in IGNORED_META}
        _diff_field("f:" + key, key, a, b, key in old, key in new, 1, changed, removed)
    return changed, removed


def _diff_field(fkey: str, field: str, a, b, had: bool, has: bool, depth: int, changed: Set, removed: Set) -> None:
    if a == b and had == has:
        return
    if not has:
        removed[fkey] = {}
    elif not had:
        changed[fkey] = _value_set(field, b, depth)
    elif isinstance(a, dict) and isinstance(b, dict):
        sub_c, sub_r = {}, {}
        for k in a.keys() | b.keys():
            _diff_field("f:" + k, k, a.get(k), b.get(k), k in a, k in b, depth + 1, sub_c, sub_r)
        if sub_c:
            changed[fkey] = sub_c
        if sub_r:
            removed[fkey] = sub_r
    elif isinstance(a, list) and isinstance(b, list):
        _diff_list(fkey, field, a, b, changed, removed)
    else:
        changed[fkey] = _value_set(field, b, depth)


def _diff_list(fkey: str, field: str, a: list, b: list, changed: Set, removed: Set) -> None:
    ka, kb = _list_keys(field, a), _list_keys(field, b)
    if ka is None or kb is None:
        changed[fkey] = _value_set(field, b, 3)
        return
    olds = dict(zip(ka, a))
    sub_c, sub_r = {}, {}
    for key, item in zip(kb, b):
        if key not in olds:
            sub_c[key] = _item_set(field, item)
        elif olds[key] != item and isinstance(item, dict) and isinstance(olds[key], dict):
            inner_c, inner_r = {}, {}
            for k in item.keys() | olds[key].keys():
                _diff_field("f:" + k, k, olds[key].get(k), item.get(k), k in olds[key], k in item, 3,
                            inner_c, inner_r)
            if inner_c:
                sub_c[key] = inner_c
            if inner_r:
                sub_r[key] = inner_r
    for key in set(ka) - set(kb):
        sub_r[key] = {}
    if sub_c:
        changed[fkey] = sub_c
    if sub_r:
        removed[fkey] = sub_r


# ------------------------------------------------------------------ set algebra (copy on write)

def union(a: Set, b: Set) -> Set:
    """``a`` ∪ ``b`` (new dicts only along the paths ``b`` adds)."""
    if not b:
        return a
    if not a:
        return b
    out = dict(a)
    for k, sub in b.items():
        out[k] = union(out[k], sub) if k in out else sub
    return out


def subtract(a: Set, b: Set) -> Set:
    """``a`` without the fields of ``b`` (a leaf in ``b`` removes the whole subtree)."""
    out = None
    for k, sub in b.items():
        if k not in a:
            continue
        if out is None:
            out = dict(a)
        if not sub or not out[k]:
            del out[k]
        else:
            rest = subtract(out[k], sub)
            if rest:
                out[k] = rest
            else:
                del out[k]
    return a if out is None else out


def intersect(a: Set, b: Set) -> Set:
    """Fields in both ``a`` and ``b`` (a leaf on either side covers the other's subtree)."""
    out = {}
    for k, sub in b.items():
        if k not in a:
            continue
        if not sub:
            out[k] = a[k] if a[k] else {}
        elif not a[k]:
            out[k] = sub
        else:
            inner = intersect(a[k], sub)
            if inner:
                out[k] = inner
    return out


def paths(s: Set, prefix: str = "") -> list[str]:
    """Leaf fields of a set as the API server prints them in conflicts: ``.spec.replicas``,
    ``.spec.template.spec.containers[name="web"].image``."""
    out = []
    for k, sub in sorted(s.items()):
        if k == ".":
            out.append(prefix or ".")
            continue
        part = prefix + _path_part(k)
        out.extend(paths(sub, part) if sub else [part])
    return out


def _path_part(key: str) -> str:
    if key.startswith("f:"):
        return "." + key[2:]
    if key.startswith("k:"):
        fields = msgspec.json.decode(key[2:].encode())
        return "[" + ",".join(f"{n}={_encode(v).decode()}" for n, v in fields.items()) + "]"
    return "[=" + key[2:] + "]"


def as_set(fields) -> Set:
    """A fieldsV1 value as a set (stored sets are encoded JSON, see ``stored``)."""
    if isinstance(fields, msgspec.Raw):
        return _decode(fields)
    return fields if isinstance(fields, dict) else {}


def stored(s: Set) -> msgspec.Raw:
    """A set as the store keeps it: its sorted JSON, shared by every object with an equal set.

    Encoded bytes hold no Python containers, so the garbage collector (whose full passes walk
    every container of a 150,000-pod store) never sees them; equal sets share one object.
    """
    raw = _encode(s)
    shared = _stored.get(raw)
    if shared is None:
        if len(_stored) >= _STORED_LIMIT:
            _stored.clear()
        shared = _stored[raw] = msgspec.Raw(raw)
    return shared


def _may_touch(fields, taken: Set) -> bool:
    """Whether a stored set can share a field with ``taken`` (a cheap test before decoding it)."""
    if not isinstance(fields, msgspec.Raw):
        return True
    raw = bytes(fields)
    return any(k.encode() in raw for k in taken)


def normalised(entries, before):
    """Entries a client sent: ``before`` itself when they encode the same (a client that sent
    back what it read), else with their sets stored like the store's own."""
    if before is not None and _plain(entries) == _plain(before):
        return before
    if not isinstance(entries, list):
        return entries
    return [{**e, "fieldsV1": stored(e["fieldsV1"])} if isinstance(e, dict) and isinstance(e.get("fieldsV1"), dict)
            else e for e in entries]


_plain = msgspec.json.Encoder().encode


# ------------------------------------------------------------------ entries

def record(new: dict, old: dict | None, manager: str, operation: str, api_version: str, now: str,
           subresource: str | None = None, status_apart: bool = False, created: Set | None = None) -> None:
    """Record a write of ``new`` (over ``old``; None for a create) in ``new``'s managedFields.

    ``status_apart``: the kind has a status subresource, so status fields are owned through
    entries with ``subresource: status`` (a controller's write that changed both is split in
    two, as its two API calls would be) and a create owns no status (the server resets it).
    """
    if old is None:
        changed = created if created is not None else fields_of(new, skip=("status",) if status_apart else ())
        removed = {}
    else:
        changed, removed = diff(old, new)
    if not changed and not removed:
        return
    entries = list(new["metadata"].get("managedFields") or ()) if old is not None else []
    if status_apart and subresource is None and ("f:status" in changed or "f:status" in removed):
        status = ({"f:status": changed.pop("f:status")} if "f:status" in changed else {},
                  {"f:status": removed.pop("f:status")} if "f:status" in removed else {})
        entries = _apply(entries, *status, manager, operation, api_version, now, "status")
    if changed or removed:
        entries = _apply(entries, changed, removed, manager, operation, api_version, now, subresource)
    new["metadata"]["managedFields"] = entries


def _apply(entries: list, changed: Set, removed: Set, manager: str, operation: str, api_version: str,
           now: str, subresource: str | None) -> list:
    """The entries after one manager's change: it gains ``changed``, everyone loses what it touched."""
    taken = union(changed, removed)
    out, mine = [], None
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if (entry.get("manager"), entry.get("operation"), entry.get("subresource")) == (
                manager, operation, subresource):
            mine = entry
            continue
        fields = entry.get("fieldsV1")
        if not _may_touch(fields, taken):
            out.append(entry)
            continue
        before = as_set(fields)
        rest = subtract(before, taken)
        if rest:
            out.append(entry if rest is before else {**entry, "fieldsV1": stored(rest)})
    owned = subtract(union(as_set((mine or {}).get("fieldsV1")), changed), removed)
    if owned:
        out.append(entry_for(manager, operation, api_version, now, owned, subresource))
    return out


def entry_for(manager: str, operation: str, api_version: str, now: str, fields: Set,
              subresource: str | None = None) -> dict:
    """One managedFields entry (in the key order the API server writes)."""
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now,
             "fieldsType": "FieldsV1", "fieldsV1": stored(fields)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def manager_from_user_agent(user_agent: str | None) -> str:
    """The manager the API server derives when a request names none: the User-Agent up to '/'
    (``kubectl/v1.32.4 (linux/amd64) ...`` -> ``kubectl``), truncated to 128 characters."""
    return (user_agent or "unknown").split("/", 1)[0][:128] or "unknown"
