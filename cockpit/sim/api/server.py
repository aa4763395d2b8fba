"""The simulated Kubernetes API server (aiohttp, 127.0.0.1 only, bearer token).

Routing is done by hand from the URL shape (``/api/v1/...``, ``/apis/<g>/<v>/...``) because the
namespace/name/subresource grammar is easier to follow that way than as a route table. The verbs
live in rest (CRUD, scale), watch and pods (eviction, log), deletion in delete.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from aiohttp import web

from cockpit.sim.api import (auth, delete, discovery, health, metrics_api, openapi, pods, rbac, rest, streaming,
                             watch)
from cockpit.sim.api.rest import Target, json_response
from cockpit.sim.errors import ApiError
from cockpit.sim.faults import Faults
from cockpit.sim.resources import lookup
from cockpit.sim.store import ObjectStore, decode, timestamp

log = logging.getLogger(__name__)
_PUBLIC = {"/version", "/healthz", "/livez", "/readyz"}
USER = web.RequestKey("user", rbac.User)  # who made the request (set by the middleware)


def _not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def _method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def parse_target(path: str, query) -> Target:
    """Resolve ``/api/v1/...`` or ``/apis/g/v/...`` to a Target, or raise 404."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, segments = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, segments = parts[1], parts[2], parts[3:]
    else:
        raise _not_found_path()
    watching = watch.is_true(query.get("watch"))
    if segments and segments[0] == "watch":
        watching, segments = True, segments[1:]
    namespace = None
    if len(segments) >= 3 and segments[0] == "namespaces":
        nested = lookup(group, version, segments[2])
        if nested is not None and nested.namespaced:
            namespace, segments = segments[1], segments[2:]
    if not segments or len(segments) > 3:
        raise _not_found_path()
    rtype = lookup(group, version, segments[0])
    if rtype is None or (namespace is not None and not rtype.namespaced):
        raise _not_found_path()
    name = segments[1] if len(segments) > 1 else None
    sub = segments[2] if len(segments) > 2 else None
    if sub is not None and rtype.subresource(sub) is None:
        raise _not_found_path()
    return Target(rtype, namespace, name, sub, watching)


class SimServer:
    """HTTP front of an ObjectStore (+ optional SimCluster for /version and behaviour hooks)."""

    def __init__(self, store: ObjectStore, faults: Faults | None = None, token: str | None = None,
                 cluster=None, host: str = "127.0.0.1", port: int = 0, version: str = "1.32.4",
                 bookmark_interval: float = 15.0, ssl_context=None):
        self.store, self.cluster = store, cluster
        self.faults = faults or Faults()
        self.token = token or secrets.token_hex(16)
        self.host, self.port = host, port
        self._version = discovery.server_version(version)
        self.bookmark_interval = bookmark_interval
        self.watchers: set[watch.Watcher] = set()
        self.closing = False
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._monitor: asyncio.Task | None = None
        self.refusing = False
        self.ssl_context = ssl_context
        self.authenticator = auth.Authenticator(self.token)
        self.authorizer = rbac.Authorizer(store)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """https://127.0.0.1:PORT (http:// when started without a TLS context)."""
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    @property
    def version(self) -> str:
        """The served Kubernetes version (the cluster's, if it has one)."""
        return getattr(self.cluster, "version", None) or self._version

    def make_app(self) -> web.Application:
        """The aiohttp application (one catch-all route, auth/latency/error middleware)."""
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def start(self) -> None:
        """Bind 127.0.0.1:port (0 = any free port) and start serving."""
        self._seed()
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5,
                                     handler_cancellation=True)
        await self._runner.setup()
        await self._open_site()
        self._monitor = asyncio.create_task(self._watch_refusals())

    def _seed(self) -> None:
        """The objects the server itself registers: its users' RBAC bindings and the APIServices
        of the groups it answers without storing, dated like the apiserver's own bootstrap objects
        (the core APIService) when the cluster has them."""
        core = self.store.get("apiservices", None, "v1.")
        born = core["metadata"].get("creationTimestamp") if core else None

        def aged(obj: dict) -> dict:
            if born:
                obj["metadata"]["creationTimestamp"] = born
            return obj
        auth.seed_bindings(self.store, aged)
        discovery.seed_api_services(self.store, timestamp(self.store.now()), aged)

    async def _open_site(self) -> None:
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True,
                                 ssl_context=self.ssl_context)
        await self._site.start()
        server = self._site._server  # the asyncio Server: read the port actually bound
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every watch stream and the listener; returns within about a second."""
        self.closing = True
        if self._monitor:
            self._monitor.cancel()
        for watcher in list(self.watchers):
            watcher.close()
        if self._runner:
            await self._runner.cleanup()

    async def _watch_refusals(self) -> None:
        """Apply the refuse_until fault: close the listener until the deadline, then reopen it."""
        while not self.closing:
            refusing = self.faults.refuse_until > time.monotonic()
            if refusing and not self.refusing:
                self.refusing = True
                for watcher in list(self.watchers):
                    watcher.close()
                await self._site.stop()
            elif not refusing and self.refusing:
                await self._open_site()
                self.refusing = False
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ request handling

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        if self.refusing:
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()
        try:
            if request.path.rstrip("/") not in _PUBLIC:
                request[USER] = self._authorize(request)
            if self.faults.api_latency and not request.path.startswith("/_sim/"):
                await asyncio.sleep(self.faults.api_latency)
            return await handler(request)
        except ApiError as err:
            return json_response(err.status(), err.code)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except web.HTTPException:
            raise
        except Exception as exc:  # never crash the server on a bug: answer 500 and log it
            log.exception("internal error serving %s %s", request.method, request.path_qs)
            return json_response(ApiError(500, "InternalError", f"internal error: {exc!r}").status(), 500)

    def _authorize(self, request: web.Request) -> rbac.User:
        """The request's user; 401 without a known token, 403 when RBAC denies the request."""
        user = self.authenticator.user(request)
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if user.privileged:  # the admin short-circuits: no attribute parsing, no rule lookup
            return user
        attrs = rbac.request_attributes(request.method, request.path, request.query)
        if not self.authorizer.allowed(user, attrs):
            raise ApiError(403, "Forbidden", rbac.forbidden_message(user, attrs), rbac.forbidden_details(attrs))
        return user

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"].rstrip("/")  # the python client asks for /version/
        review = await self._review(path, request)
        if review is not None:
            return review
        if path.startswith("/api/") or path.startswith("/apis/"):
            if path.startswith(metrics_api.PREFIX):
                return metrics_api.serve(self, request, path)
            stream = streaming.streaming_target(path.split("/")[1:])
            if stream is not None:
                return streaming.refuse(self, request, lookup("", "v1", "pods"), *stream)
            special = self._discovery_doc(path, request)
            if special is not None:
                return special
            return await self._resource(request, parse_target(path, request.query))
        if request.method != "GET" and not path.startswith("/_sim/"):
            raise _method_not_allowed()
        return await self._special(path, request)

    async def _special(self, path: str, request: web.Request) -> web.StreamResponse:
        if path == "/version":
            return json_response(discovery.version_info(self.version))
        if path in ("/api", "/apis"):
            return self._discovery_root(path, request)
        if health.is_health_path(path):
            return health.answer(path, request.query)
        if path == "/openapi/v2":
            return self._openapi_v2(request)
        if path == "/openapi/v3":
            return json_response(openapi.index(self.version))
        if path.startswith("/openapi/v3/"):
            doc = openapi.document(path[len("/openapi/v3/"):], self.version)
            if doc is not None:
                return rest.raw_response(doc)
        if path == "/_sim/faults":
            return await self._faults_endpoint(request)
        raise _not_found_path()

    def _openapi_v2(self, request: web.Request) -> web.Response:
        """The OpenAPI v2 document kubectl 1.27/1.28 read (protobuf when asked, JSON otherwise)."""
        from cockpit.sim.api import openapi_v2  # deferred: a document built on first request only

        protobuf = openapi_v2.wants_protobuf(request.headers.get("Accept"))
        return web.Response(body=openapi_v2.document(self.version, protobuf), headers={
            "Content-Type": openapi_v2.PROTOBUF if protobuf else "application/json"})

    def _discovery_root(self, path: str, request: web.Request) -> web.Response:
        version = discovery.negotiate_aggregated(request.headers.get("Accept"))
        if version:
            body = discovery.aggregated(core=path == "/api", version=version)
            resp = json_response(body)
            resp.headers["Content-Type"] = discovery.AGGREGATED_CT.format(v=version)
            return resp
        return json_response(discovery.api_versions() if path == "/api" else discovery.api_group_list())

    def _discovery_doc(self, path: str, request: web.Request) -> web.Response | None:
        parts = [p for p in path.split("/") if p]
        if request.method != "GET":
            return None
        if parts[0] == "api" and len(parts) == 2:
            doc = discovery.api_resource_list(parts[1])
        elif parts[0] == "apis" and len(parts) == 2:
            doc = discovery.api_group(parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            doc = discovery.api_resource_list(f"{parts[1]}/{parts[2]}")
        else:
            return None
        if doc is None:
            raise _not_found_path()
        return json_response(doc)

    async def _resource(self, request: web.Request, target: Target) -> web.StreamResponse:
        method, sub = request.method, target.subresource
        if sub == "eviction":
            if method != "POST":
                raise _method_not_allowed()
            return await pods.evict(self, request, target)
        if sub == "log":
            if method != "GET":
                raise _method_not_allowed()
            return await pods.pod_log(self, request, target)
        if sub == "scale":
            if method not in ("GET", "PUT", "PATCH"):
                raise _method_not_allowed()
            return await rest.scale(self, request, target)
        if target.name is None:
            return await self._collection(request, target)
        return await self._item(request, target)

    async def _collection(self, request: web.Request, target: Target) -> web.StreamResponse:
        method = request.method
        if method == "GET":
            if target.watch:
                return await watch.serve_watch(self, request, target)
            return rest.list_objects(self, request, target)
        if method == "POST":
            return await rest.create_object(self, request, target)
        if method == "DELETE" and "deletecollection" in target.rtype.verbs:
            return await delete.delete_collection(self, request, target)
        raise _method_not_allowed()

    async def _item(self, request: web.Request, target: Target) -> web.StreamResponse:
        method = request.method
        if target.watch and method == "GET":
            return await watch.serve_watch(self, _name_selected(request, target), target)
        handlers = {"GET": rest.get_object, "PUT": rest.update_object,
                    "PATCH": rest.patch_object, "DELETE": delete.delete_object}
        if method not in handlers or (target.subresource and method == "DELETE"):
            raise _method_not_allowed()
        result = handlers[method](self, request, target)
        return await result if asyncio.iscoroutine(result) else result

    async def _review(self, path: str, request: web.Request) -> web.Response | None:
        """The self reviews (whoami, can-i, can-i --list) for POSTs to their paths, else None."""
        if request.method != "POST":
            return None
        user = request[USER]  # review paths are never public: the middleware has set it
        if path in auth.SELF_REVIEW_PATHS:
            return await auth.self_subject_review(request, user, auth.SELF_REVIEW_PATHS[path])
        if path == auth.ACCESS_REVIEW_PATH:
            return await auth.access_review(request, user, self.authorizer)
        if path == auth.RULES_REVIEW_PATH:
            return await auth.rules_review(request, user, self.authorizer)
        return None

    # ------------------------------------------------------------------ admin

    async def _faults_endpoint(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return json_response(self.faults.as_dict())
        if request.method != "POST":
            raise _method_not_allowed()
        body = await rest.read_json(request)
        try:
            self.faults.set(str(body.get("name")), body.get("value"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
        return json_response(self.faults.as_dict())


def _name_selected(request: web.Request, target: Target) -> web.Request:
    """The legacy ``/watch/.../<name>`` form: watch one object via a metadata.name selector."""
    fs = request.query.get("fieldSelector")
    name_sel = f"metadata.name={target.name}"
    query = dict(request.query)
    query["fieldSelector"] = f"{fs},{name_sel}" if fs else name_sel
    target.name = None
    return request.clone(rel_url=request.rel_url.with_query(query))


__all__ = ["SimServer", "parse_target", "decode"]
