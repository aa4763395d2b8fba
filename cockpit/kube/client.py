"""An async Kubernetes REST client on aiohttp that speaks raw JSON.

No client models: responses are ``dict`` (``msgspec.json.decode``), or bytes for callers that
decode straight into slim records (``get_raw``, ``watch_lines``). Every failure is one of the
errors in :mod:`cockpit.kube.errors` with a one-line message.

Typical use::

    client = KubeClient(load_cluster_config(None, None))
    try:
        dep = await client.get(path_for("deployments", "shop", "web"))
        async for event in client.watch(path_for("pods", "shop"), {"resourceVersion": rv}):
            ...
    finally:
        await client.close()
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, AsyncIterator

import aiohttp
import msgspec

from cockpit.errors import UsageError
from cockpit.kube.config import ClusterConfig
from cockpit.kube.errors import ApiError, TlsProblem, Unreachable, api_error_from_status

PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


class KubeClient:
    """Async client for one cluster. Create it inside a running event loop; ``await close()`` it.

    ``timeout`` bounds ordinary requests (seconds); watches only bound connecting and
    ``watch_idle_timeout`` (no byte at all for that long ends the stream so it is resumed).
    """

    def __init__(
        self,
        config: ClusterConfig,
        *,
        timeout: float = 30.0,
        watch_idle_timeout: float = 300.0,
        user_agent: str = "cockpit/0.1",
    ):
        self.config = config
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 10.0))
        self._watch_timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=watch_idle_timeout)
        self._auth = dict(config.headers)
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._discovery: dict[str, frozenset[str] | None] = {}

    async def __aenter__(self) -> "KubeClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool (open watches end)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    # ----- reads -------------------------------------------------------------------------

    async def get(self, path: str, params: dict | None = None) -> dict:
        """GET one object (or any JSON document) as a dict."""
        return _json_decode(await self.get_raw(path, params))

    async def list(self, path: str, params: dict | None = None) -> dict:
        """GET a collection; ``params`` may carry limit/continue/labelSelector/fieldSelector."""
        return _json_decode(await self.get_raw(path, params))

    async def get_raw(self, path: str, params: dict | None = None) -> bytes:
        """GET and return the body bytes (for typed msgspec decoding by the caller)."""
        return await self._request("GET", path, params)

    async def version(self) -> dict:
        """The server's ``/version`` document (``gitVersion``, ``major``, ``minor``...)."""
        return await self.get("/version")

    async def has_resource(self, group: str, version: str, plural: str, refresh: bool = False) -> bool:
        """Whether discovery (``/apis/<group>/<version>``, or ``/api/v1``) serves ``plural``.

        Answers are cached per group/version (``refresh=True`` asks again, e.g. to notice CRDs
        installed later); a 404 (group not installed) means False.
        """
        gv = f"{group}/{version}" if group else version
        if refresh or gv not in self._discovery:
            self._discovery[gv] = await self._discover(group, version)
        served = self._discovery[gv]
        return served is not None and plural in served

    async def _discover(self, group: str, version: str) -> frozenset[str] | None:
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            doc = await self.get(path)
        except ApiError as exc:
            if exc.status in (404, 503):
                return None
            raise
        return frozenset(r.get("name", "") for r in doc.get("resources") or [])

    # ----- writes ------------------------------------------------------------------------

    async def create(self, path: str, body: dict, dry_run: bool = False) -> dict:
        """POST ``body`` to a collection path (or a subresource like ``pods/x/eviction``)."""
        return await self._write("POST", path, body, "application/json", dry_run)

    async def replace(self, path: str, body: dict, dry_run: bool = False) -> dict:
        """PUT ``body``; a stale ``metadata.resourceVersion`` raises :class:`Conflict`."""
        return await self._write("PUT", path, body, "application/json", dry_run)

    async def patch(self, path: str, body: Any, patch_type: str = "strategic", dry_run: bool = False) -> dict:
        """PATCH with ``patch_type`` "strategic" | "merge" | "json" (a list of RFC 6902 ops)."""
        try:
            content_type = PATCH_TYPES[patch_type]
        except KeyError:
            raise ValueError(f"patch_type must be one of {sorted(PATCH_TYPES)}") from None
        return await self._write("PATCH", path, body, content_type, dry_run)

    async def delete(self, path: str, body: dict | None = None, dry_run: bool = False) -> dict:
        """DELETE (``body`` = DeleteOptions, e.g. gracePeriodSeconds/preconditions)."""
        return await self._write("DELETE", path, body, "application/json", dry_run)

    async def _write(self, method: str, path: str, body: Any, content_type: str, dry_run: bool) -> dict:
        params = {"dryRun": "All"} if dry_run else None
        data = _json_encode(body) if body is not None else None
        raw = await self._request(method, path, params, data=data, content_type=content_type)
        return _json_decode(raw) if raw else {}

    # ----- watch -------------------------------------------------------------------------

    async def watch(self, path: str, params: dict | None = None) -> AsyncIterator[dict]:
        """Yield decoded watch events ``{"type": ..., "object": {...}}`` until the server ends the stream.

        ``params`` usually holds resourceVersion, allowWatchBookmarks, timeoutSeconds. ERROR events
        are yielded as they come (the caller decides: a 410 inside means relist).
        """
        async for line in self.watch_lines(path, params):
            yield _json_decode(line)

    async def watch_lines(self, path: str, params: dict | None = None) -> AsyncIterator[bytes]:
        """Yield each watch event's raw JSON line (bytes), reassembled across chunk boundaries."""
        stream = await self.open_watch(path, params)
        try:
            async for line in stream:
                yield line
        finally:
            stream.close()

    async def open_watch(self, path: str, params: dict | None = None) -> "WatchStream":
        """Start a watch and return once the server accepted it (status 200).

        Iterate the returned :class:`WatchStream` for raw event lines; ``close()`` it when done.
        Knowing the watch is established before the first event lets informers report "live".
        """
        query = dict(params or {})
        query["watch"] = "true"
        resp = await self._send("GET", path, query, timeout=self._watch_timeout)
        try:
            await _raise_for_status(resp, self.config)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            resp.release()
            raise self._connection_error(exc) from None
        except BaseException:
            resp.release()
            raise
        return WatchStream(resp, path)

    # ----- plumbing ----------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, params: dict | None, *, data: bytes | None = None, content_type: str | None = None
    ) -> bytes:
        resp = await self._send(method, path, params, data=data, content_type=content_type)
        try:
            await _raise_for_status(resp, self.config)
            return await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise self._connection_error(exc) from None
        finally:
            resp.release()

    async def _send(
        self,
        method: str,
        path: str,
        params: dict | None,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> aiohttp.ClientResponse:
        """Send one request; on 401 refresh the credentials once (exec plugins) and retry."""
        resp = await self._send_once(method, path, params, data, content_type, timeout)
        if resp.status == 401 and self.config.refresh_auth is not None:
            fresh = await asyncio.to_thread(self.config.refresh_auth)
            if fresh and fresh != self._auth:
                resp.release()
                self._auth = dict(fresh)
                resp = await self._send_once(method, path, params, data, content_type, timeout)
        return resp

    async def _send_once(self, method, path, params, data, content_type, timeout) -> aiohttp.ClientResponse:
        headers = {"Accept": "application/json", "User-Agent": self._user_agent, **self._auth}
        if content_type and data is not None:
            headers["Content-Type"] = content_type
        try:
            return await self._ensure_session().request(
                method,
                self.config.host + path,
                params=_stringify(params),
                data=data,
                headers=headers,
                timeout=timeout or self._timeout,
                server_hostname=self.config.tls_server_name,
                proxy=self.config.proxy,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, ssl.SSLError) as exc:
            raise self._connection_error(exc) from None
        except ValueError as exc:  # aiohttp.InvalidURL and friends
            raise UsageError(f"bad API server URL {self.config.host!r}: {exc}") from None

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_arg: ssl.SSLContext | bool = self.config.ssl_context if self.config.ssl_context else True
            connector = aiohttp.TCPConnector(ssl=ssl_arg, limit=0)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def _connection_error(self, exc: BaseException) -> Exception:
        host = self.config.host
        if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError, ssl.SSLError)):
            return TlsProblem(
                f"TLS verification failed for {host}: {_describe(exc)} "
                "(check certificate-authority in the kubeconfig, or the server name)"
            )
        if isinstance(exc, asyncio.TimeoutError):
            return Unreachable(f"the API server at {host} did not answer in time (is it overloaded or unreachable?)")
        return Unreachable(
            f"cannot reach the API server at {host} ({_describe(exc)}): "
            f"is the cluster up and context {self.config.context!r} right?"
        )


class WatchStream:
    """An open watch: ``async for line in stream`` yields raw event lines until the server ends
    the stream (normal end) or the connection drops (:class:`Unreachable`)."""

    def __init__(self, resp: aiohttp.ClientResponse, path: str):
        self._resp = resp
        self._path = path

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for line in _iter_lines(self._resp):
                yield line
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise Unreachable(f"watch on {self._path} dropped: {_describe(exc)}") from None

    def close(self) -> None:
        """Drop the connection (safe to call twice)."""
        self._resp.close()


async def _raise_for_status(resp: aiohttp.ClientResponse, config: ClusterConfig) -> None:
    if resp.status < 400:
        return
    raw = await resp.read()
    try:
        body = _json_decode(raw) if raw else {}
    except msgspec.DecodeError:
        body = {"message": raw[:200].decode("utf-8", "replace")}
    raise api_error_from_status(resp.status, body, host=config.host, user=config.user)


async def _iter_lines(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    # Own splitter instead of StreamReader.readline(): that one caps lines at the read
    # buffer size, and one watch event (a big Node or ConfigMap) can be larger.
    buffer = bytearray()
    async for chunk in resp.content.iter_any():
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line = bytes(buffer[start:end]).strip()
            start = end + 1
            if line:
                yield line
        del buffer[:start]
    tail = bytes(buffer).strip()
    if tail and _is_json(tail):  # a stream cut mid-event leaves a fragment: drop it
        yield tail


def _is_json(data: bytes) -> bool:
    try:
        _json_decode(data)
    except msgspec.DecodeError:
        return False
    return True


def _stringify(params: dict | None) -> dict[str, str] | None:
    if not params:
        return None
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__
