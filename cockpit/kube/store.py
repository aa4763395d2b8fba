"""``Store``: the records of one kind keyed by uid, with changed-key tracking and O(1) indexes.

Writers (the informer) run on the cache's event loop; ``take_changes`` may be called from
another thread (the UI), so the changed set is swapped under a lock.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable, Iterator

from cockpit.domain.records import Record

Indexer = Callable[[Record], str]

# Secondary indexes per kind: (index name -> function giving the index value of a record).
DEFAULT_INDEXERS: dict[str, dict[str, Indexer]] = {
    "pods": {"owner": lambda r: r.owner_uid, "node": lambda r: r.node_name},
    "replicasets": {"owner": lambda r: r.owner_uid},
    "endpointslices": {"service": lambda r: f"{r.namespace}/{r.service_name}"},
    "events": {"object": lambda r: r.object_uid},
}


class Store:
    """Records of one kind by uid.

    ``get(uid)``, ``get_by_key("ns/name")``, ``values()``, ``by_index("owner", uid)``,
    ``len(store)``. ``take_changes()`` returns the uids added, modified or removed since the
    last call (a removed uid is simply absent from the store).
    """

    def __init__(self, kind: str, indexers: dict[str, Indexer] | None = None):
        self.kind = kind
        self._items: dict[str, Record] = {}
        self._by_key: dict[str, str] = {}
        self._indexers = DEFAULT_INDEXERS.get(kind, {}) if indexers is None else indexers
        self._indexes: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}
        self._changed: set[str] = set()
        self._lock = threading.Lock()

    # ----- reading ---------------------------------------------------------------------

    def get(self, uid: str) -> Record | None:
        """The record with that uid, or None."""
        return self._items.get(uid)

    def get_by_key(self, key: str) -> Record | None:
        """The record named ``namespace/name`` (``name`` for cluster-scoped kinds), or None."""
        uid = self._by_key.get(key)
        return self._items.get(uid) if uid else None

    def values(self) -> list[Record]:
        """A snapshot list of all records (safe to iterate while the store changes)."""
        return list(self._items.values())

    def uids(self) -> set[str]:
        """A snapshot of all uids."""
        return set(self._items)

    def by_index(self, index: str, value: str) -> list[Record]:
        """Records whose ``index`` value equals ``value`` (e.g. pods by ``"owner"`` or ``"node"``)."""
        uids = self._indexes[index].get(value, ())
        return [self._items[u] for u in list(uids) if u in self._items]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, uid: object) -> bool:
        return uid in self._items

    def __iter__(self) -> Iterator[Record]:
        return iter(self.values())

    # ----- changes ---------------------------------------------------------------------

    def take_changes(self, limit: int | None = None) -> set[str]:
        """Uids changed since the last call (and forget them); at most ``limit`` of them, the
        rest staying pending, when a limit is given."""
        with self._lock:
            if limit is None or len(self._changed) <= limit:
                changed, self._changed = self._changed, set()
            else:
                pop = self._changed.pop
                changed = {pop() for _ in range(limit)}
        return changed

    @property
    def has_changes(self) -> bool:
        """Whether ``take_changes`` would return something."""
        return bool(self._changed)

    # ----- writing (informer only) -------------------------------------------------------

    def upsert(self, record: Record) -> bool:
        """Insert or replace; returns False (and marks nothing) when the version is unchanged."""
        old = self._items.get(record.uid)
        if old is not None and old.resource_version == record.resource_version:
            return False
        if old is not None:
            self._unindex(old)
        self._items[record.uid] = record
        self._index(record)
        self._mark(record.uid)
        return True

    def delete(self, uid: str) -> Record | None:
        """Remove by uid; returns the removed record (None if it was not there)."""
        old = self._items.pop(uid, None)
        if old is not None:
            self._unindex(old)
            self._mark(uid)
        return old

    def replace(self, records: Iterable[Record]) -> int:
        """Make the store hold exactly ``records`` (after a relist); returns how many uids changed.

        Uids that vanished are removed and marked changed, so no ghost rows survive a relist.
        """
        fresh = {r.uid: r for r in records}
        changed = 0
        for uid in set(self._items) - set(fresh):
            self.delete(uid)
            changed += 1
        for record in fresh.values():
            changed += self.upsert(record)
        return changed

    def retain(self, uids: set[str]) -> int:
        """Remove (and mark changed) every record whose uid is not in ``uids``; returns how many."""
        gone = [uid for uid in self._items if uid not in uids]
        for uid in gone:
            self.delete(uid)
        return len(gone)

    def clear(self) -> None:
        """Remove everything (marking every uid changed), e.g. when a kind becomes forbidden."""
        self.replace(())

    def _mark(self, uid: str) -> None:
        with self._lock:
            self._changed.add(uid)

    def _index(self, record: Record) -> None:
        self._by_key[record.key] = record.uid
        for name, fn in self._indexers.items():
            self._indexes[name].setdefault(fn(record), set()).add(record.uid)

    def _unindex(self, record: Record) -> None:
        if self._by_key.get(record.key) == record.uid:
            del self._by_key[record.key]
        for name, fn in self._indexers.items():
            bucket = self._indexes[name].get(fn(record))
            if bucket is not None:
                bucket.discard(record.uid)
                if not bucket:
                    del self._indexes[name][fn(record)]
