"""List+watch informers feeding one :class:`~cockpit.kube.store.Store` per kind, and the
``ClusterCache`` that runs them.

Per kind, following the documented API semantics (``kube-api-surface.md`` section 7, the
Kubernetes "Efficient detection of changes" docs):

1. paged LIST (``limit=500`` + ``continue``), each page stored as it arrives (one page per
   event-loop turn), then vanished uids are removed and marked changed, so no ghost rows
   survive a relist;
2. WATCH from the list's resourceVersion with ``allowWatchBookmarks=true`` and a server-side
   ``timeoutSeconds`` (300-600 s, like client-go); every event/bookmark advances the RV;
3. when the stream ends or drops: watch again from the last seen RV (no relist, no duplicates);
4. 410 Gone (HTTP or an ERROR event): relist;
5. unreachable / TLS / 401: exponential backoff 0.5 s .. 10 s with jitter, status "reconnecting",
   and one relist when the server answers again (it may have restarted with other state);
6. 403: the kind is marked forbidden (its store emptied), retried every 30 s; others continue;
7. kinds needing discovery (HTTPRoutes) start only if ``/apis/<group>/<version>`` serves them.

Nothing is O(all objects) per event: an event touches one record and its index entries.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import time
from typing import Callable

import msgspec

from cockpit.domain.records import KINDS, Record, decode, decode_list, decode_watch_event
from cockpit.errors import ConnectionProblem
from cockpit.kube.client import KubeClient
from cockpit.kube.errors import ApiError, Forbidden, Gone, NotFound, Unreachable, api_error_from_status
from cockpit.kube.paths import kind_info, path_for
from cockpit.kube.store import Store

log = logging.getLogger(__name__)

PAGE_SIZE = 500
FORBIDDEN_RETRY = 30.0
UNAVAILABLE_RETRY = 60.0
TURN_BUDGET = 0.008  # seconds of watch events applied before yielding the event loop
DISCOVERY_KINDS = {"httproutes"}  # optional APIs: only watched when discovery serves them


class Backoff:
    """Exponential backoff with jitter: 0.5, 1, 2, 4, 8, 10, 10 ... seconds (capped)."""

    def __init__(self, initial: float = 0.5, cap: float = 10.0):
        self.initial = initial
        self.cap = cap
        self.attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (grows until the cap)."""
        delay = min(self.cap, self.initial * (2 ** self.attempt))
        self.attempt += 1
        return delay * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        """Back to the initial delay after a success."""
        self.attempt = 0


class Informer:
    """Keeps one Store in sync with one kind. ``state`` is one of connecting, live,
    reconnecting, forbidden, unavailable; ``since`` is when it entered that state (epoch s)."""

    def __init__(
        self,
        client: KubeClient,
        kind: str,
        store: Store,
        *,
        namespace: str | None = None,
        on_changes: Callable[[], None] = lambda: None,
        on_state: Callable[[], None] = lambda: None,
        backoff: Backoff | None = None,
        page_size: int = PAGE_SIZE,
    ):
        self.client = client
        self.kind = kind
        self.store = store
        self.namespace = namespace if kind_info(kind).namespaced else None
        self.path = path_for(kind, self.namespace)
        self.state = "connecting"
        self.since = time.time()
        self.last_error = ""
        self.resource_version = ""
        self.synced = asyncio.Event()
        self.relists = 0
        self.decode_errors = 0
        self._on_changes = on_changes
        self._on_state = on_state
        self._backoff = backoff or Backoff()
        self._gone_backoff = Backoff(0.5, 10.0)
        self._relisted_last = False
        self._page_size = page_size

    async def run(self) -> None:
        """Run until cancelled."""
        while True:
            delay = await self._run_once()
            if delay:
                await asyncio.sleep(delay)

    async def _run_once(self) -> float:
        """One list/watch cycle; returns how long to wait before the next one."""
        try:
            if self.kind in DISCOVERY_KINDS and not await self._served():
                return self._set_unavailable("not served by this API server")
            self._relisted_last = False
            if not self.resource_version:
                await self._relist()
                self._relisted_last = True
            started = time.monotonic()
            await self._watch()
            self._gone_backoff.reset()
            # A server that ends streams at once must not make us spin.
            return 0.2 if time.monotonic() - started < 1.0 else 0.0
        except Gone:
            # Too old: relist. At once the first time; a server answering 410 right after a
            # fresh list gets backoff instead of a hot relist loop.
            self.resource_version = ""
            return self._gone_backoff.next_delay() if self._relisted_last else 0.0
        except Forbidden as exc:
            return self._set_forbidden(str(exc))
        except NotFound as exc:
            return self._set_unavailable(str(exc))
        except ConnectionProblem as exc:
            # Relist once the server is back instead of resuming: it may have been restarted or
            # restored with other state, and a resumed watch would then keep ghost rows.
            self.resource_version = ""
            return self._set_reconnecting(str(exc))
        except ApiError as exc:  # 5xx, 429...: the server is there, resume from the last RV
            return self._set_reconnecting(str(exc))

    async def _served(self) -> bool:
        info = kind_info(self.kind)
        # Ask again each cycle: the Gateway API CRDs may be installed while we run.
        return await self.client.has_resource(info.group, info.version, info.plural, refresh=True)

    # ----- list --------------------------------------------------------------------------

    async def _relist(self) -> None:
        """List every page into the store as it arrives, then drop what the list no longer has.

        Storing page by page keeps each event-loop turn to one page's decode and upserts (a
        key press is served between pages, and the panes fill while a big kind still lists);
        the prune at the end removes ghosts, also those of a list restarted half-way.
        """
        seen, rv = await self._list_pages()
        self.store.retain(seen)
        self.resource_version = rv
        self.relists += 1
        self._set_live()
        self.synced.set()
        self._notify()

    async def _list_pages(self) -> tuple[set[str], str]:
        seen: set[str] = set()
        params: dict = {"limit": self._page_size}
        while True:
            try:
                raw = await self.client.get_raw(self.path, params)
            except Gone:
                if "continue" not in params:
                    raise
                # The continue token expired mid-way: start the list again from scratch.
                seen, params = set(), {"limit": self._page_size}
                continue
            page, rv, token = self._decode_page(raw)
            del raw  # a page of big pods is megabytes: free it before the next one arrives
            self._store_page(page, seen)
            if not token:
                return seen, rv
            params = {"limit": self._page_size, "continue": token}

    def _store_page(self, page: list[Record], seen: set[str]) -> None:
        store = self.store
        for record in page:
            seen.add(record.uid)
            store.upsert(record)
        if page:
            self._notify()

    def _decode_page(self, raw: bytes) -> tuple[list[Record], str, str]:
        try:
            return decode_list(self.kind, raw)
        except msgspec.ValidationError as exc:
            # One odd object must not blind the whole pane: fall back to per-item decoding.
            self.decode_errors += 1
            log.warning("%s list: %s; decoding item by item", self.kind, exc)
            return self._decode_items(raw)

    def _decode_items(self, raw: bytes) -> tuple[list[Record], str, str]:
        doc = msgspec.json.decode(raw)
        meta = doc.get("metadata") or {}
        records = []
        for item in doc.get("items") or ():
            try:
                records.append(decode(self.kind, item))
            except msgspec.ValidationError:
                self.decode_errors += 1
        return records, meta.get("resourceVersion", ""), meta.get("continue", "")

    # ----- watch -------------------------------------------------------------------------

    async def _watch(self) -> None:
        params = {
            "resourceVersion": self.resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": random.randint(300, 600),
        }
        stream = await self.client.open_watch(self.path, params)
        self._set_live()
        turn_started = time.perf_counter()
        try:
            async for line in stream:
                self._apply(line)
                # A backlog of buffered events (the loop was busy) would otherwise be applied in
                # one turn; hand the loop back regularly so keys and repaints go first.
                if time.perf_counter() - turn_started > TURN_BUDGET:
                    await asyncio.sleep(0)
                    turn_started = time.perf_counter()
        except Unreachable:
            pass  # the stream dropped: the caller re-watches from the last RV at once
        finally:
            stream.close()

    def _apply(self, line: bytes) -> None:
        try:
            event = decode_watch_event(self.kind, line)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            self.decode_errors += 1
            log.warning("%s watch: undecodable event skipped: %s", self.kind, exc)
            return
        if event.type == "ERROR":
            raise api_error_from_status(0, event.status)
        if event.resource_version:
            self.resource_version = event.resource_version
        if event.record is None:
            return  # BOOKMARK: only the resourceVersion moves
        if event.type == "DELETED":
            changed = self.store.delete(event.record.uid) is not None
        else:
            changed = self.store.upsert(event.record)
        if changed:
            self._notify()

    # ----- state -------------------------------------------------------------------------

    def _notify(self) -> None:
        self._on_changes()

    def _set_state(self, state: str, error: str = "") -> None:
        if state != self.state:
            self.state = state
            self.since = time.time()
            self._on_state()
        self.last_error = error

    def _set_live(self) -> None:
        self._backoff.reset()
        self._set_state("live")

    def _set_reconnecting(self, error: str) -> float:
        self._set_state("reconnecting", error)
        return self._backoff.next_delay()

    def _set_forbidden(self, error: str) -> float:
        self._forget(error, "forbidden")
        return FORBIDDEN_RETRY

    def _set_unavailable(self, error: str) -> float:
        self._forget(error, "unavailable")
        return UNAVAILABLE_RETRY

    def _forget(self, error: str, state: str) -> None:
        self.resource_version = ""
        if len(self.store):
            self.store.clear()
            self._notify()
        self._set_state(state, error)
        self.synced.set()  # nothing more will come: do not keep wait_synced() waiting


class ClusterCache:
    """One informer per kind over one client, plus the overall connection status.

    ``ClusterCache(client, namespace=None)`` (None = all namespaces), then ``await start()``
    inside the event loop that owns ``client``; ``await stop()`` at the end.

    * ``store(kind)`` -> :class:`Store` (kinds: ``KINDS``, plurals such as ``"pods"``);
    * ``take_changes()`` -> ``{kind: {uid, ...}}`` changed since the last call (thread-safe);
    * ``status`` in connecting / live / reconnecting / stale, ``status_since`` (epoch seconds),
      ``last_error`` (one line); "stale" once reconnecting has lasted ``stale_after`` seconds,
      or once the API server has not answered a heartbeat for ``silent_after`` seconds;
    * ``forbidden`` / ``unavailable``: kinds RBAC denies / the server does not serve;
    * ``server_version``: the API server's gitVersion (e.g. ``"v1.32.4"``), re-read with every
      heartbeat because a control-plane upgrade changes it;
    * ``on_change``: called (on the cache's loop) when changes become pending after a
      ``take_changes()``, and on every status change; at most once per batch, so a UI can
      poke itself (``call_from_thread`` or an asyncio.Event) and flush a few times a second.
    """

    def __init__(
        self,
        client: KubeClient,
        namespace: str | None = None,
        *,
        kinds: tuple[str, ...] = KINDS,
        on_change: Callable[[], None] | None = None,
        stale_after: float = 15.0,
        backoff_cap: float = 10.0,
        heartbeat_every: float = 2.0,
        silent_after: float = 6.0,
    ):
        self.client = client
        self.namespace = namespace
        self.on_change = on_change
        self.stale_after = stale_after
        self.heartbeat_every = heartbeat_every
        self.silent_after = silent_after
        self._answered = time.monotonic()  # the API server's last answer to a heartbeat
        self.server_version = ""
        self.version_info: dict = {}
        self._stores = {kind: Store(kind) for kind in kinds}
        self._informers = {
            kind: Informer(
                client, kind, self._stores[kind], namespace=namespace,
                on_changes=self._changes_pending, on_state=self._state_changed,
                backoff=Backoff(0.5, backoff_cap),
            )
            for kind in kinds
        }
        self._tasks: list[asyncio.Task] = []
        self._poked = False
        self._status = ("connecting", time.time())

    # ----- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start every informer and the status monitor (returns at once; see ``wait_synced``)."""
        if self._tasks:
            return
        for kind, informer in self._informers.items():
            self._tasks.append(asyncio.create_task(informer.run(), name=f"informer-{kind}"))
        self._tasks.append(asyncio.create_task(self._monitor(), name="cluster-cache-monitor"))
        self._tasks.append(asyncio.create_task(self._freeze_when_synced(), name="cluster-cache-freeze"))

    async def stop(self) -> None:
        """Cancel all informers and wait for them to finish."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        gc.unfreeze()  # what was frozen may become collectable garbage now

    async def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until every kind has listed once (or is forbidden/unavailable); False on timeout."""
        waits = [i.synced.wait() for i in self._informers.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    # ----- reading -----------------------------------------------------------------------

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this cache watches."""
        return tuple(self._stores)

    def store(self, kind: str) -> Store:
        """The store of ``kind`` (a plural such as ``"deployments"``)."""
        return self._stores[kind]

    def informer(self, kind: str) -> Informer:
        """The informer of ``kind`` (state, since, last_error, relists, resource_version)."""
        return self._informers[kind]

    def take_changes(self, limit: int | None = None) -> dict[str, set[str]]:
        """Changed uids per kind since the last call; kinds without changes are left out.

        With ``limit``, at most that many uids per kind; the rest stay pending for the next call
        (a UI takes a big backlog, such as the first list of 150,000 pods, in bounded slices).
        """
        self._poked = False
        changes = {}
        for kind, store in self._stores.items():
            if store.has_changes:
                changes[kind] = store.take_changes(limit)
        return changes

    @property
    def status(self) -> str:
        """connecting, live, reconnecting or stale."""
        return self._status[0]

    @property
    def status_since(self) -> float:
        """When the current status began (epoch seconds)."""
        return self._status[1]

    @property
    def since(self) -> float:
        """Alias of ``status_since`` (what the UI's status bar reads)."""
        return self._status[1]

    @property
    def last_error(self) -> str:
        """The newest one-line error of a reconnecting informer, or the silence ("" when none)."""
        if self.silent_for >= self.silent_after:
            return f"the API server has not answered for {self.silent_for:.0f} s"
        errors = [i for i in self._informers.values() if i.state == "reconnecting" and i.last_error]
        return max(errors, key=lambda i: i.since).last_error if errors else ""

    @property
    def forbidden(self) -> set[str]:
        """Kinds the user may not list (RBAC); their panes should say "forbidden"."""
        return {k for k, i in self._informers.items() if i.state == "forbidden"}

    @property
    def unavailable(self) -> set[str]:
        """Kinds this API server does not serve (e.g. no Gateway API installed)."""
        return {k for k, i in self._informers.items() if i.state == "unavailable"}

    # ----- internals ---------------------------------------------------------------------

    def _changes_pending(self) -> None:
        if not self._poked:
            self._poked = True
            self._poke()

    def _state_changed(self) -> None:
        new = self._compute_status()
        if new != self._status[0]:
            self._status = (new, self._since_for(new))
            self._poke()

    def _compute_status(self) -> str:
        if self.silent_for >= self.silent_after:
            return "stale"  # a hung server keeps watches open but says nothing: not "live"
        states = [i for i in self._informers.values() if i.state not in ("forbidden", "unavailable")]
        failing = [i for i in states if i.state == "reconnecting"]
        if failing:
            started = min(i.since for i in failing)
            return "stale" if time.time() - started >= self.stale_after else "reconnecting"
        if any(i.state == "connecting" for i in states):
            return "connecting"
        return "live"

    @property
    def silent_for(self) -> float:
        """Seconds since the API server last answered a heartbeat."""
        return time.monotonic() - self._answered

    def _since_for(self, status: str) -> float:
        if status == "stale" and self.silent_for >= self.silent_after:
            return time.time() - self.silent_for  # the silence began at the last answer
        if status == "stale":
            return self._status[1]  # stale continues the outage that began when reconnecting
        failing = [i.since for i in self._informers.values() if i.state == "reconnecting"]
        return min(failing) if failing and status == "reconnecting" else time.time()

    def _poke(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # a UI callback must never kill an informer
                log.exception("on_change callback failed")

    async def _freeze_when_synced(self) -> None:
        """Move the first lists' records out of the cyclic GC's way once every kind has listed.

        They live until the object changes, and a full collection that walks hundreds of
        thousands of them stalls the event loop (keys, repaints) for a second or more at
        150,000 pods. Frozen objects are still freed by reference counting when replaced.
        """
        await self.wait_synced()
        gc.collect()
        gc.freeze()

    async def _monitor(self) -> None:
        """Turn a long outage or a silent server into "stale" and keep ``server_version`` fresh.

        Watches alone cannot tell a quiet cluster from a hung API server (bookmarks come about
        once a minute), so a heartbeat GET /version runs every ``heartbeat_every`` seconds.
        """
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while True:
                self._state_changed()
                await asyncio.sleep(0.5)
        finally:
            heartbeat.cancel()

    async def _heartbeat(self) -> None:
        while True:
            await self._refresh_version()  # also notices a control plane upgraded under us
            await asyncio.sleep(self.heartbeat_every)

    async def _refresh_version(self) -> None:
        try:
            info = await asyncio.wait_for(self.client.version(), self.silent_after)
        except asyncio.TimeoutError:
            return  # silent: status and last_error follow from the time of the last answer
        except (ConnectionProblem, ApiError):
            # A refused or failing server did answer; the informers report that outage themselves.
            self._answered = time.monotonic()
            return
        self._answered = time.monotonic()
        if info.get("gitVersion") != self.server_version:
            self.version_info = info
            self.server_version = str(info.get("gitVersion") or "")
            self._poke()
