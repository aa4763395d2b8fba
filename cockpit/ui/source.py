"""Where the app's data comes from: the live cluster cache, or a fixture with the same interface.

The app only needs ``source.cache`` (``store(kind)``, ``take_changes()``, ``status``, ``since``,
``forbidden``, ``server_version``, optionally ``last_error``) and async ``start()``/``stop()``.

:class:`FixtureSource` feeds the same path from recorded raw objects: tests push records
through it and the screenshots render a frozen demo snapshot with it, so both exercise the
exact flush -> pane diff code the live feed uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cockpit.domain.records import KINDS, decode
from cockpit.kube.store import Store


class FixtureCache:
    """A ClusterCache stand-in: stores per kind plus connection fields that tests can set."""

    def __init__(self, server_version: str = "v1.32.4") -> None:
        self._stores = {kind: Store(kind) for kind in KINDS}
        self.status = "live"
        self.since: Any = None
        self.forbidden: set[str] = set()
        self.server_version = server_version
        self.last_error = ""

    def store(self, kind: str) -> Store:
        """The store of a kind (plural, e.g. ``"pods"``)."""
        return self._stores[kind]

    def take_changes(self, limit: int | None = None) -> dict[str, set[str]]:
        """Changed uids per kind since the last call (only kinds with changes; at most
        ``limit`` per kind, the rest staying pending)."""
        changes = {kind: store.take_changes(limit) for kind, store in self._stores.items()}
        return {kind: uids for kind, uids in changes.items() if uids}

    def put(self, kind: str, raw: dict) -> Any:
        """Decode a raw API object and upsert it (as a watch ADDED/MODIFIED would)."""
        record = decode(kind, raw)
        self._stores[kind].upsert(record)
        return record

    def remove(self, kind: str, uid: str) -> None:
        """Delete by uid (as a watch DELETED would)."""
        self._stores[kind].delete(uid)

    def forbid(self, kind: str) -> None:
        """Mark a kind forbidden and empty its store (as the informer does on 403)."""
        self.forbidden.add(kind)
        self._stores[kind].clear()


class FixtureSource:
    """A source whose cache is filled from a JSON snapshot ``{kind: [raw objects]}`` (or nothing)."""

    def __init__(self, snapshot: dict[str, list[dict]] | None = None, server_version: str = "v1.32.4") -> None:
        self.cache = FixtureCache(server_version)
        for kind, items in (snapshot or {}).items():
            for raw in items:
                self.cache.put(kind, raw)

    @classmethod
    def from_file(cls, path: Path) -> FixtureSource:
        """Load a snapshot file written by :func:`tests.support.screenshots.record_snapshot`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data.get("objects", {}), data.get("server_version", "v1.32.4"))

    async def start(self) -> None:
        """Nothing to start: the data is already there."""

    async def stop(self) -> None:
        """Nothing to stop."""
