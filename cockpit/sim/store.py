"""The object store of the simulated API server.

Objects are plain JSON dicts (with kind/apiVersion) keyed per resource by ``ns/name`` (or
``name`` for cluster-scoped kinds). Every committed change bumps one global resourceVersion,
serialises the object once (the cached bytes feed lists and every watcher), appends a watch
event to a bounded per-resource window and notifies listeners and watchers synchronously.
The store is used from one event loop only; it does no locking.

Every write records metadata.managedFields (see managed_fields.py); their field sets are kept as
pre-encoded JSON (``msgspec.Raw``): serialise stored objects with ``encode``, not ``json.dumps``.
"""

from __future__ import annotations

import bisect
import logging
import random
import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import msgspec

from cockpit.sim import managed_fields
from cockpit.sim.defaults import TOKEN_PROJECTION, admit, apply_defaults
from cockpit.sim.errors import ApiError, already_exists, conflict, invalid, not_found
from cockpit.sim.resources import RESOURCES

# Kinds whose metadata.generation the apiserver maintains (spec changes bump it).
GENERATION_KINDS = {"deployments", "replicasets", "daemonsets", "statefulsets", "replicationcontrollers", "jobs",
                    "cronjobs", "poddisruptionbudgets", "ingresses", "httproutes", "apiservices"}
log = logging.getLogger(__name__)
_GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_GENERATE_TRIES = 8  # the apiserver retries a generated name that is taken (RetryGenerateName)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

Listener = Callable[[str, str, dict, "dict | None"], None]


def timestamp(dt: datetime | None = None) -> str:
    """RFC 3339 seconds precision, as metadata timestamps are serialised."""
    return (dt or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


class WatchEvent:
    """One committed change: the event line bytes are built once and shared by all watchers."""

    __slots__ = ("type", "rv", "resource", "obj", "old", "raw", "_line")

    def __init__(self, type_: str, rv: int, resource: str, obj: dict, old: dict | None, raw: bytes):
        self.type, self.rv, self.resource, self.obj, self.old, self.raw = type_, rv, resource, obj, old, raw
        self._line = None

    def line(self, type_: str | None = None) -> bytes:
        """The NDJSON watch line for this event (optionally with another event type)."""
        if type_ is not None and type_ != self.type:
            return b'{"type":"' + type_.encode() + b'","object":' + self.raw + b"}\n"
        if self._line is None:
            self._line = b'{"type":"' + self.type.encode() + b'","object":' + self.raw + b"}\n"
        return self._line


class _Entry:
    __slots__ = ("obj", "raw", "fields_span")

    def __init__(self, obj: dict, raw: bytes):
        self.obj, self.raw = obj, raw
        self.fields_span = _managed_fields_span(obj, raw)

    def copy(self) -> dict:
        """A private copy of the object to edit. Its managedFields are the stored list itself (never
        changed in place; a write replaces it): decoding them would allocate a dict per field."""
        span = self.fields_span
        if span is None:
            return _decode(self.raw)
        new = _decode(b"".join((self.raw[:span[0]], b"[]", self.raw[span[1]:])))
        new["metadata"]["managedFields"] = self.obj["metadata"]["managedFields"]
        return new


def _managed_fields_span(obj: dict, raw: bytes) -> tuple[int, int] | None:
    """Where the managedFields list sits in ``raw`` (None when there is none)."""
    managed = obj.get("metadata", {}).get("managedFields")
    if not managed:
        return None
    part = b'"managedFields":' + _encode(managed)
    start = raw.find(part)
    return None if start < 0 else (start + 16, start + len(part))


class _Table:
    """Objects of one resource, with a lazily sorted key index and the recent-event window."""

    def __init__(self, window: int):
        self.entries: dict[str, _Entry] = {}
        self._sorted: list[str] = []
        self._pending: list[str] = []
        self._dropped: set[str] = set()  # removed keys still present in _sorted/_pending
        self.events: deque[WatchEvent] = deque(maxlen=window)
        self.compacted_rv = 0  # events with rv <= this may be gone from the window
        self.watchers: set = set()

    def add_key(self, key: str) -> None:
        """Index a new key (appended in O(1) when it sorts last, else merged lazily)."""
        if key in self._dropped:  # re-created before compaction: the key is still indexed
            self._dropped.discard(key)
        elif self._sorted and not self._pending and key > self._sorted[-1]:
            self._sorted.append(key)
        else:
            self._pending.append(key)

    def drop_key(self, key: str) -> None:
        """Forget a removed key."""
        # The key stays indexed until compaction; readers skip keys without an entry.
        self._dropped.add(key)

    def sorted_keys(self) -> list[str]:
        """All keys in order. Cheap when nothing changed: pending keys are merged lazily."""
        compact = len(self._dropped) > max(64, len(self.entries))
        if self._pending or compact:
            keys = self._sorted + self._pending if self._pending else self._sorted
            if compact:
                keys = [k for k in keys if k not in self._dropped]
                self._dropped.clear()
            keys.sort()
            self._sorted, self._pending = keys, []
        return self._sorted

    def record(self, event: WatchEvent) -> None:
        """Append to the bounded event window, remembering the newest RV that fell out."""
        if len(self.events) == self.events.maxlen:
            self.compacted_rv = self.events[0].rv
        self.events.append(event)


def object_key(namespace: str | None, name: str) -> str:
    """The store key of an object."""
    return f"{namespace}/{name}" if namespace else name


class Writer:
    """Who makes a write, for managedFields: the field manager, the operation (Update or Apply)
    and the subresource (None: inferred, a change of status only is a ``status`` write)."""

    __slots__ = ("manager", "operation", "subresource")

    def __init__(self, manager: str, operation: str = "Update", subresource: str | None = None):
        self.manager, self.operation, self.subresource = manager, operation, subresource


CONTROLLER_MANAGER = Writer("kube-controller-manager")
KUBELET = Writer("kubelet")
SCHEDULER = Writer("kube-scheduler")
KUBEADM = Writer("kubeadm")


class ObjectStore:
    """In-memory store of every served object (see the module docstring)."""

    def __init__(self, window: int = 10_000, now: Callable[[], datetime] | None = None):
        self.rv = 0
        self.now = now or (lambda: datetime.now(UTC))
        self._tables = {name: _Table(window) for name in RESOURCES}
        self._listeners: list[Listener] = []
        self._stamp = (0, "")

    # ------------------------------------------------------------------ reading

    def get(self, resource: str, namespace: str | None, name: str) -> dict | None:
        """The stored object (read-only!) or None."""
        entry = self._tables[resource].entries.get(object_key(namespace, name))
        return entry.obj if entry else None

    def get_raw(self, resource: str, namespace: str | None, name: str) -> bytes | None:
        """The cached JSON bytes of an object or None."""
        entry = self._tables[resource].entries.get(object_key(namespace, name))
        return entry.raw if entry else None

    def list(self, resource: str, namespace: str | None = None) -> list[dict]:
        """All objects of a resource (optionally in one namespace), in key order. Read-only dicts."""
        return [e.obj for _, e in self.iter_entries(resource, namespace)]

    def count(self, resource: str) -> int:
        """Number of stored objects of a resource."""
        return len(self._tables[resource].entries)

    def iter_entries(self, resource: str, namespace: str | None = None,
                     after: str | None = None) -> Iterator[tuple[str, _Entry]]:
        """(key, entry) in key order, within ``namespace``, strictly after key ``after``.

        Starting point is found by bisection, so a page costs O(page), not O(all).
        """
        table = self._tables[resource]
        keys = table.sorted_keys()
        prefix = f"{namespace}/" if namespace and RESOURCES[resource].namespaced else ""
        if after is not None and after >= prefix:
            i = bisect.bisect_right(keys, after)
        else:
            i = bisect.bisect_left(keys, prefix)
        entries, n = table.entries, len(keys)
        while i < n:  # index loop: slicing would copy O(all) keys
            key = keys[i]
            i += 1
            if prefix and not key.startswith(prefix):
                break
            entry = entries.get(key)
            if entry is not None:
                yield key, entry

    def events_since(self, resource: str, rv: int) -> list[WatchEvent]:
        """Recorded events with resourceVersion > ``rv``; ApiError 410 if the window lost some."""
        table = self._tables[resource]
        if rv < table.compacted_rv:
            raise ApiError(410, "Expired", f"too old resource version: {rv} ({table.compacted_rv + 1})")
        events = table.events
        if not events or events[-1].rv <= rv:
            return []
        # Binary search over the deque (indexable) for the first event after rv.
        lo, hi = 0, len(events)
        while lo < hi:
            mid = (lo + hi) // 2
            if events[mid].rv <= rv:
                lo = mid + 1
            else:
                hi = mid
        return [events[i] for i in range(lo, len(events))]

    def oldest_rv(self, resource: str) -> int:
        """The oldest resourceVersion a watch can still resume from."""
        return self._tables[resource].compacted_rv

    # ------------------------------------------------------------------ subscribing

    def add_listener(self, fn: Listener) -> None:
        """Call ``fn(event_type, resource, obj, old)`` after every committed change."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        """Stop calling ``fn``."""
        if fn in self._listeners:
            self._listeners.remove(fn)

    def subscribe(self, resource: str, watcher) -> None:
        """Register a watcher: ``watcher.push(event: WatchEvent)`` is called for each change."""
        self._tables[resource].watchers.add(watcher)

    def unsubscribe(self, resource: str, watcher) -> None:
        """Remove a watcher."""
        self._tables[resource].watchers.discard(watcher)

    def watchers(self) -> list:
        """Every registered watcher (to cut them all, e.g. on shutdown)."""
        return [w for t in self._tables.values() for w in t.watchers]

    # ------------------------------------------------------------------ writing

    def create(self, resource: str, obj: dict, dry_run: bool = False, writer: Writer = CONTROLLER_MANAGER) -> dict:
        """Store a new object: fills uid, RV, creationTimestamp, generation, name from generateName,
        and managedFields (``writer`` owns every field it set).

        ``dry_run`` does everything but store it (the returned object has no resourceVersion).
        """
        rtype = RESOURCES[resource]
        obj = _decode(_encode(obj))  # own copy, JSON-clean
        meta = obj.setdefault("metadata", {})
        if not rtype.namespaced:
            meta.pop("namespace", None)
        elif not meta.get("namespace"):
            meta["namespace"] = "default"
        table = self._tables[resource]
        key = self._name_new(rtype, table, meta)
        obj["kind"], obj["apiVersion"] = rtype.kind, rtype.api_version
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())  # before defaulting: a Job's selector uses it
        self.apply_defaults(resource, obj)
        created = self._created_fields(resource, obj, writer)
        added = admit(resource, obj)
        if added and created is not None:
            created = managed_fields.union(created, managed_fields.admitted_fields(added))
        meta["creationTimestamp"] = meta.get("creationTimestamp") or timestamp(self.now())
        if resource in GENERATION_KINDS:
            meta["generation"] = 1
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            meta.pop(k, None)
        self._record(resource, obj, None, writer, created)
        if dry_run:
            return obj
        self._commit("ADDED", resource, key, obj, None)
        table.add_key(key)
        return obj

    @staticmethod
    def _name_new(rtype, table: _Table, meta: dict) -> str:
        """The store key of an object being created, naming it from ``generateName`` when it has no name."""
        if meta.get("name"):
            key = object_key(meta.get("namespace"), meta["name"])
            if key in table.entries:
                raise already_exists(rtype.plural, meta["name"], rtype.group)
            return key
        if not meta.get("generateName"):
            raise invalid(rtype.kind, "", "metadata.name: Required value: name or generateName is required",
                          rtype.group)
        for _ in range(_GENERATE_TRIES):
            meta["name"] = meta["generateName"] + "".join(random.choices(_GEN_CHARS, k=5))
            key = object_key(meta.get("namespace"), meta["name"])
            if key not in table.entries:
                return key
        raise already_exists(rtype.plural, meta["name"], rtype.group)

    def update(self, resource: str, obj: dict, dry_run: bool = False, writer: Writer = CONTROLLER_MANAGER) -> dict:
        """Full replace. A stale ``metadata.resourceVersion`` raises 409 Conflict. managedFields
        the object leaves out are kept (sent ones replace them, as the API server does)."""
        rtype = RESOURCES[resource]
        meta = obj.get("metadata") or {}
        key = object_key(meta.get("namespace") if rtype.namespaced else None, meta.get("name", ""))
        entry = self._tables[resource].entries.get(key)
        if entry is None:
            raise not_found(rtype.plural, meta.get("name", ""), rtype.group)
        old = entry.obj
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
            raise conflict(rtype.plural, meta["name"], rtype.group)
        new = _decode(_encode(obj))
        new["kind"], new["apiVersion"] = rtype.kind, rtype.api_version
        _keep_system_metadata(new, old)
        return self._commit_change(resource, key, new, old, dry_run, writer)

    def mutate(self, resource: str, namespace: str | None, name: str, fn: Callable[[dict], object],
               writer: Writer = CONTROLLER_MANAGER) -> dict | None:
        """Edit a copy with ``fn(copy)``; commit only if it changed. None if the object is missing."""
        key = object_key(namespace if RESOURCES[resource].namespaced else None, name)
        entry = self._tables[resource].entries.get(key)
        if entry is None:
            return None
        new = entry.copy()
        fn(new)
        return self._commit_change(resource, key, new, entry.obj, writer=writer)

    def remove(self, resource: str, namespace: str | None, name: str) -> dict | None:
        """Delete now (emits DELETED). Returns the removed object (with a fresh RV) or None."""
        key = object_key(namespace if RESOURCES[resource].namespaced else None, name)
        table = self._tables[resource]
        entry = table.entries.get(key)
        if entry is None:
            return None
        gone = _decode(entry.raw)
        self.rv += 1
        gone["metadata"]["resourceVersion"] = str(self.rv)
        del table.entries[key]
        table.drop_key(key)
        raw = _encode(gone)
        self._publish(WatchEvent("DELETED", self.rv, resource, gone, entry.obj, raw))
        return gone

    # ------------------------------------------------------------------ internals

    def _commit_change(self, resource: str, key: str, new: dict, old: dict, dry_run: bool = False,
                       writer: Writer = CONTROLLER_MANAGER) -> dict:
        new.get("metadata", {}).pop("resourceVersion", None)
        old_meta = old["metadata"]
        new.setdefault("metadata", {})["resourceVersion"] = old_meta["resourceVersion"]
        sent, kept = new["metadata"].get("managedFields"), old_meta.get("managedFields")
        if sent is None and kept is not None:
            new["metadata"]["managedFields"] = kept
        elif sent is not None and sent is not kept:
            new["metadata"]["managedFields"] = managed_fields.normalised(sent, kept)
        if new == old:
            return old
        if resource in GENERATION_KINDS and new.get("spec") != old.get("spec"):
            new["metadata"]["generation"] = int(old_meta.get("generation") or 1) + 1
        self._record(resource, new, old, writer)
        if dry_run:
            return new
        self._commit("MODIFIED", resource, key, new, old)
        return new

    def _commit(self, type_: str, resource: str, key: str, obj: dict, old: dict | None) -> None:
        if old is None:
            intern_strings(obj)
        else:
            share_unchanged(obj, old)
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        raw = _encode(obj)
        self._tables[resource].entries[key] = _Entry(obj, raw)
        self._publish(WatchEvent(type_, self.rv, resource, obj, old, raw))

    def _publish(self, event: WatchEvent) -> None:
        table = self._tables[event.resource]
        table.record(event)
        # The change is committed: a failing watcher or listener must not undo it or break the
        # writer (it would leave the other subscribers behind), so failures are only logged.
        for watcher in list(table.watchers):
            try:
                watcher.push(event)
            except Exception:
                log.exception("watcher failed on %s %s", event.type, event.resource)
        for fn in list(self._listeners):
            try:
                fn(event.type, event.resource, event.obj, event.old)
            except Exception:
                log.exception("store listener %r failed on %s %s", fn, event.type, event.resource)

    @staticmethod
    def _created_fields(resource: str, obj: dict, writer: Writer):
        """The creator's field set (before admission adds its own; a create owns no status
        where status is a subresource); None for apply, which computes its own."""
        if writer.operation == "Apply":
            return None
        skip = ("status",) if RESOURCES[resource].subresource("status") is not None else ()
        return managed_fields.fields_of(obj, cached=True, skip=skip)

    def _record(self, resource: str, new: dict, old: dict | None, writer: Writer, created=None) -> None:
        if writer.operation == "Apply":
            return  # server-side apply has computed the managedFields itself
        rtype = RESOURCES[resource]
        managed_fields.record(new, old, writer.manager, writer.operation, rtype.api_version, self.stamp(),
                              writer.subresource, rtype.subresource("status") is not None, created)

    def stamp(self) -> str:
        """``timestamp(self.now())``, formatted once per second (writes come by the thousand)."""
        now = self.now()
        second = int(now.timestamp())
        if second != self._stamp[0]:
            self._stamp = (second, timestamp(now))
        return self._stamp[1]

    def apply_defaults(self, resource: str, obj: dict) -> None:
        """Server-side defaulting, in place and idempotent."""
        apply_defaults(resource, obj)


SHARED: set[int] = set()  # ids of constant values many objects share (interned once, never walked again)


def share(value):
    """Register a constant that objects may hold without a copy (it must never change)."""
    intern_strings(value)
    SHARED.add(id(value))
    return value


def intern_strings(node) -> None:
    """Intern short string values in place.

    Freshly decoded objects carry their own copy of every "True", "Running", image name and
    node name; sharing them cuts the memory of a 150,000-pod store by about a third.
    """
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for k, v in list(items):
        if type(v) is str:
            if len(v) < 80:
                node[k] = sys.intern(v)
        elif type(v) in (dict, list) and id(v) not in SHARED:
            intern_strings(v)


def share_unchanged(new, old, depth: int = 4) -> None:
    """Reuse ``old``'s (interned) subtrees wherever ``new`` equals them, and intern the rest.

    A write changes a few fields; sharing the rest with the previous version keeps memory flat
    and limits the interning walk to what changed (``==`` on the unchanged parts runs in C).
    """
    if type(new) is dict:
        pairs = [(k, old.get(k)) for k in new] if type(old) is dict else [(k, None) for k in new]
    elif type(old) is list and len(old) == len(new):
        pairs = list(enumerate(old))
    else:
        intern_strings(new)
        return
    for k, before in pairs:
        v = new[k]
        if v is before:
            continue
        if type(v) is str:
            if len(v) < 80:
                new[k] = sys.intern(v)
        elif v == before:
            new[k] = before
        elif depth and type(v) in (dict, list) and type(before) is type(v):
            share_unchanged(v, before, depth - 1)
        elif type(v) in (dict, list):
            intern_strings(v)


def _keep_system_metadata(new: dict, old: dict) -> None:
    """Fields a client cannot change through an update."""
    meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
    for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if k in old_meta:
            meta[k] = old_meta[k]
        else:
            meta.pop(k, None)
    meta["name"] = old_meta["name"]
    if "namespace" in old_meta:
        meta["namespace"] = old_meta["namespace"]


def decode(raw: bytes):
    """Decode JSON bytes (the store's fast decoder)."""
    return _decode(raw)


def encode(obj) -> bytes:
    """Encode to compact JSON bytes (the store's fast encoder)."""
    return _encode(obj)


share(TOKEN_PROJECTION)
