"""WATCH: chunked NDJSON streams fed from the store's cached event bytes.

Each stream registers a Watcher with the store (pushed to synchronously on every commit), then
sends the initial state (synthetic ADDED, or a replay of the bounded event window from the
requested resourceVersion, or an ERROR 410 when that is too old), then live events. aiohttp does
not cancel handlers when the client goes away, so the loop checks ``transport.is_closing()``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from aiohttp import web

from cockpit.sim.api import tables
from cockpit.sim.errors import ApiError, bad_request
from cockpit.sim.api.rest import Target, matcher, select
from cockpit.sim.store import WatchEvent, encode

if TYPE_CHECKING:
    from cockpit.sim.api.server import SimServer

MAX_BACKLOG = 200_000  # a consumer this far behind is cut (it will resume from its last RV)
CHUNK = 256 * 1024


def is_true(value: str | None) -> bool:
    """Query booleans, case-insensitively (``true``/``1``)."""
    return (value or "").lower() in ("1", "true")


class Watcher:
    """One watch stream's filter and queue of (event, type-override) pairs."""

    def __init__(self, namespace: str | None, match):
        self.namespace = namespace
        self.match = match
        self.queue: deque[tuple[WatchEvent, str | None]] = deque()
        self.wakeup = asyncio.Event()
        self.closed = False

    def push(self, event: WatchEvent) -> None:
        """Queue ``event`` if it concerns this stream; selector transitions become ADDED/DELETED."""
        if self.namespace and event.obj.get("metadata", {}).get("namespace") != self.namespace:
            return
        kind = self._type_for(event)
        if kind is None:
            return
        self.queue.append((event, None if kind == event.type else kind))
        if len(self.queue) > MAX_BACKLOG:
            self.close()
        self.wakeup.set()

    def _type_for(self, event: WatchEvent) -> str | None:
        if self.match is None:
            return event.type
        now = self.match(event.obj)
        if event.type == "ADDED":
            return "ADDED" if now else None
        if event.type == "DELETED":
            return "DELETED" if now or (event.old is not None and self.match(event.old)) else None
        before = event.old is not None and self.match(event.old)
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        return "DELETED" if before else None

    def close(self) -> None:
        """Make the stream end at its next wake-up (shutdown, faults)."""
        self.closed = True
        self.wakeup.set()


class _Stream:
    """Writes events in the requested format (raw objects or one-row Tables)."""

    def __init__(self, response: web.StreamResponse, resource: str, as_table: bool, include: str = "Metadata"):
        self.response, self.resource, self.as_table, self.include = response, resource, as_table, include
        self.columns_sent = False

    def line(self, event: WatchEvent, override: str | None) -> bytes:
        """The NDJSON line for a store event (``override`` = ADDED/DELETED for selector transitions)."""
        if not self.as_table:
            return event.line(override)
        return self.object_line(override or event.type, event.obj)

    def object_line(self, kind: str, obj: dict, raw: bytes | None = None) -> bytes:
        """The NDJSON line for an object (initial ADDED events), reusing cached bytes when given."""
        if not self.as_table:
            return b'{"type":"' + kind.encode() + b'","object":' + (raw or encode(obj)) + b"}\n"
        tab = tables.table(self.resource, [obj], obj["metadata"].get("resourceVersion", ""),
                           with_columns=not self.columns_sent, include=self.include)
        self.columns_sent = True
        return encode({"type": kind, "object": tab}) + b"\n"

    async def write(self, lines: Iterable[bytes]) -> None:
        """Send lines in chunks of about CHUNK bytes (one flush per chunk, not per event)."""
        buf, size = [], 0
        for ln in lines:
            buf.append(ln)
            size += len(ln)
            if size >= CHUNK:
                await self.response.write(b"".join(buf))
                buf, size = [], 0
        if buf:
            await self.response.write(b"".join(buf))


def _error_line(err: ApiError) -> bytes:
    return encode({"type": "ERROR", "object": err.status()}) + b"\n"


def _bookmark(rtype, rv: int, initial_end: bool = False) -> bytes:
    meta = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return encode({"type": "BOOKMARK", "object": {"kind": rtype.kind, "apiVersion": rtype.api_version,
                                                   "metadata": meta}}) + b"\n"


def _parse_rv(value: str | None) -> int | None:
    if value in (None, "", "0"):
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid resource version: {value!r}") from None


def _deadline(server: SimServer, request: web.Request) -> float:
    deadline = float("inf")
    timeout = request.query.get("timeoutSeconds")
    if timeout:
        try:
            deadline = time.monotonic() + max(float(timeout), 0)
        except ValueError:
            raise bad_request(f"invalid timeoutSeconds: {timeout!r}") from None
    cut = server.faults.watch_cut_after
    if cut:
        deadline = min(deadline, time.monotonic() + random.uniform(0, cut))
    return deadline


def _initial_lines(server: SimServer, stream: _Stream, watcher: Watcher, target: Target,
                   rv: int | None, send_initial: bool) -> Iterator[bytes]:
    """The stream's first lines. The snapshot is taken now (before any await, so nothing falls
    between it and the live queue); the lines themselves are built lazily while writing, so an
    initial sync of 150,000 pods does not hold a second copy of every object."""
    store, key = server.store, target.rtype.key
    if rv is None or send_initial:
        snapshot = [e for _, e in store.iter_entries(key, target.namespace)
                    if watcher.match is None or watcher.match(e.obj)]
        tail = [_bookmark(target.rtype, store.rv, initial_end=True)] if send_initial else []
        return itertools.chain((stream.object_line("ADDED", e.obj, e.raw) for e in snapshot), tail)
    if server.faults.force_410:
        raise ApiError(410, "Expired", f"too old resource version: {rv} ({store.rv})")
    if rv > store.rv:
        # Only seen across simulator restarts (RVs start again from 1): make the client relist
        # instead of silently waiting for the counter to catch up.
        raise ApiError(410, "Expired", f"too old resource version: {rv} (current {store.rv}; server restarted)")
    for event in store.events_since(key, rv):
        watcher.push(event)
    return iter(())


async def serve_watch(server: SimServer, request: web.Request, target: Target) -> web.StreamResponse:
    """Serve one watch stream until timeout, client disconnect, a fault cut or shutdown."""
    lsel, fsel = select(server, request, target)
    rv = _parse_rv(request.query.get("resourceVersion"))
    deadline = _deadline(server, request)
    watcher = Watcher(target.namespace if target.rtype.namespaced else None, matcher(lsel, fsel))
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    stream = _Stream(response, target.rtype.key, tables.wants_table(request.headers.get("Accept")),
                     tables.include_object(request.query))
    server.store.subscribe(target.rtype.key, watcher)
    server.watchers.add(watcher)
    try:
        try:
            first = _initial_lines(server, stream, watcher, target, rv, is_true(request.query.get("sendInitialEvents")))
        except ApiError as err:
            await response.prepare(request)
            await response.write(_error_line(err))
            return response
        await response.prepare(request)
        await stream.write(first)
        await _pump(server, request, stream, watcher, target, deadline)
    except ConnectionResetError:
        pass  # the client went away mid-write
    finally:
        server.store.unsubscribe(target.rtype.key, watcher)
        server.watchers.discard(watcher)
    return response


async def _pump(server: SimServer, request: web.Request, stream: _Stream, watcher: Watcher,
                target: Target, deadline: float) -> None:
    bookmarks = is_true(request.query.get("allowWatchBookmarks"))
    next_bookmark = time.monotonic() + server.bookmark_interval
    while not watcher.closed:
        if watcher.queue:
            batch = [stream.line(ev, kind) for ev, kind in _drain(watcher.queue)]
            await stream.write(batch)
            continue
        now = time.monotonic()
        if now >= deadline or request.transport is None or request.transport.is_closing():
            return
        if bookmarks and now >= next_bookmark:
            await stream.write([_bookmark(target.rtype, server.store.rv)])
            next_bookmark = now + server.bookmark_interval
        watcher.wakeup.clear()
        try:
            await asyncio.wait_for(watcher.wakeup.wait(), timeout=min(1.0, max(deadline - now, 0.001)))
        except TimeoutError:
            pass


def _drain(queue: deque) -> list:
    items = list(queue)
    queue.clear()
    return items
