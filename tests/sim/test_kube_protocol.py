"""Protocol edge cases with a tiny scripted API server (aiohttp): watch lines split across
chunks, 403 on one kind (marked forbidden, the others keep working), HTTPRoutes only when
discovery serves them, watch ERROR events, Store bookkeeping."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from cockpit.domain.records import decode
from cockpit.kube.client import KubeClient
from cockpit.kube.config import ClusterConfig
from cockpit.kube.errors import Forbidden
from cockpit.kube.informers import ClusterCache
from cockpit.kube.store import Store
from tests.support.wait import async_wait_until

NODE = {"metadata": {"name": "n1", "uid": "uid-n1", "resourceVersion": "5"},
        "status": {"nodeInfo": {"kubeletVersion": "v1.32.4"}}}


class ScriptedServer:
    """Lists: nodes has one item, every other kind is empty; events answers 403; watches
    write the scripted ``watch_chunks`` for nodes (byte fragments) and then stay open."""

    def __init__(self):
        self.watch_chunks: list[bytes] = []
        self.requests: list[str] = []
        self.gateway = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        path = request.path
        if path == "/version":
            return web.json_response({"gitVersion": "v1.31.2", "major": "1", "minor": "31"})
        if path.startswith("/apis/gateway.networking.k8s.io"):
            if not self.gateway:
                return web.json_response({"kind": "Status", "code": 404, "reason": "NotFound"}, status=404)
            return web.json_response({"resources": [{"name": "httproutes", "namespaced": True}]})
        if path.endswith("/events"):
            return web.json_response({"kind": "Status", "code": 403, "reason": "Forbidden",
                                      "message": 'events is forbidden: User "dev" cannot list resource "events"'},
                                     status=403)
        if request.query.get("watch") == "true":
            return await self._watch(request)
        items = [NODE] if path == "/api/v1/nodes" else []
        return web.json_response({"kind": "List", "metadata": {"resourceVersion": "10"}, "items": items})

    async def _watch(self, request):
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        if request.path == "/api/v1/nodes":
            for chunk in self.watch_chunks:
                await resp.write(chunk)
                await asyncio.sleep(0.01)  # separate TCP writes: lines arrive in fragments
            self.watch_chunks = []
        while not request.transport.is_closing():
            await asyncio.sleep(0.05)
        return resp


@pytest.fixture
async def scripted():
    server = ScriptedServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    client = KubeClient(ClusterConfig(host=f"http://127.0.0.1:{port}", context="scripted", user="dev"))
    yield server, client
    await client.close()
    await runner.cleanup()


async def test_forbidden_kind_is_marked_and_others_work(scripted):
    server, client = scripted
    cache = ClusterCache(client)
    await cache.start()
    try:
        assert await cache.wait_synced(5)
        await async_wait_until(lambda: cache.status == "live")
        assert cache.forbidden == {"events"}
        assert cache.unavailable == {"httproutes"}
        assert "cannot list" in cache.informer("events").last_error
        assert len(cache.store("nodes")) == 1 and cache.store("nodes").get_by_key("n1").kubelet_version == "v1.32.4"
        await async_wait_until(lambda: cache.server_version == "v1.31.2")
        assert not any("httproutes" in r for r in server.requests), "no list without discovery"
    finally:
        await cache.stop()


async def test_forbidden_raises_on_direct_request(scripted):
    _, client = scripted
    with pytest.raises(Forbidden) as err:
        await client.list("/api/v1/events")
    assert err.value.status == 403 and "\n" not in str(err.value) and "forbidden" in str(err.value)


async def test_httproutes_watched_when_discovery_serves_them(scripted):
    server, client = scripted
    server.gateway = True
    cache = ClusterCache(client, kinds=("httproutes",))
    await cache.start()
    try:
        assert await cache.wait_synced(5)
        assert cache.unavailable == set() and cache.informer("httproutes").state == "live"
    finally:
        await cache.stop()


async def test_watch_lines_reassembled_from_fragments(scripted):
    server, client = scripted
    modified = dict(NODE, metadata=dict(NODE["metadata"], resourceVersion="11"), spec={"unschedulable": True})
    added = {"metadata": {"name": "n2", "uid": "uid-n2", "resourceVersion": "12"}}
    payload = b"".join(json.dumps(e).encode() + b"\n" for e in (
        {"type": "MODIFIED", "object": modified},
        {"type": "BOOKMARK", "object": {"kind": "Node", "apiVersion": "v1", "metadata": {"resourceVersion": "13"}}},
        {"type": "ADDED", "object": added},
    ))
    server.watch_chunks = [payload[i:i + 7] for i in range(0, len(payload), 7)]
    cache = ClusterCache(client, kinds=("nodes",))
    await cache.start()
    try:
        nodes = cache.store("nodes")
        await async_wait_until(lambda: len(nodes) == 2 and nodes.get("uid-n1").unschedulable)
        await async_wait_until(lambda: cache.informer("nodes").resource_version == "12")
    finally:
        await cache.stop()


async def test_raw_watch_iterator_decodes_events(scripted):
    server, client = scripted
    server.watch_chunks = [b'{"type":"ADDED","object":{"metadata":{"name":"x"', b',"uid":"u"}}}\n{"type":"DELE',
                           b'TED","object":{"metadata":{"name":"x","uid":"u"}}}\n']
    events = []
    async for event in client.watch("/api/v1/nodes", {"resourceVersion": "10"}):
        events.append(event["type"])
        if len(events) == 2:
            break
    assert events == ["ADDED", "DELETED"]


def test_store_replace_marks_vanished_and_keeps_unchanged_quiet():
    store = Store("pods")

    def pod(name, rv, node="a"):
        return decode("pods", {"metadata": {"name": name, "namespace": "ns", "uid": f"u-{name}", "resourceVersion": rv},
                               "spec": {"nodeName": node}})

    store.replace([pod("a", "1"), pod("b", "1")])
    assert store.take_changes() == {"u-a", "u-b"}
    store.replace([pod("a", "1"), pod("c", "2", node="b")])
    assert store.take_changes() == {"u-b", "u-c"}
    assert [p.name for p in store.by_index("node", "b")] == ["c"]
    assert store.by_index("node", "a")[0].name == "a"
    assert store.upsert(pod("a", "1")) is False
    store.upsert(pod("a", "3", node="b"))
    assert {p.name for p in store.by_index("node", "b")} == {"a", "c"} and store.by_index("node", "a") == []
    assert store.get_by_key("ns/a").resource_version == "3"
    store.delete("u-a")
    assert store.get_by_key("ns/a") is None and "u-a" in store.take_changes()


async def test_list_then_watch_parameters(scripted):
    server, client = scripted
    cache = ClusterCache(client, kinds=("nodes",))
    await cache.start()
    try:
        await async_wait_until(lambda: any("watch=true" in r for r in server.requests))
    finally:
        await cache.stop()
    listing = next(r for r in server.requests if r.startswith("/api/v1/nodes?") and "watch" not in r)
    watch = next(r for r in server.requests if "watch=true" in r)
    assert "limit=500" in listing and "resourceVersion" not in listing
    assert "resourceVersion=10" in watch and "allowWatchBookmarks=true" in watch and "timeoutSeconds=" in watch


def test_backoff_grows_to_the_cap_and_resets():
    from cockpit.kube.informers import Backoff

    backoff = Backoff(0.5, 10.0)
    delays = [backoff.next_delay() for _ in range(8)]
    assert 0.4 <= delays[0] <= 0.5 and all(d <= 10.0 for d in delays) and delays[-1] >= 8.0
    assert delays == sorted(delays[:5]) + delays[5:]
    backoff.reset()
    assert backoff.next_delay() <= 0.5


async def test_httproutes_picked_up_when_installed_later(scripted, monkeypatch):
    import cockpit.kube.informers as informers

    monkeypatch.setattr(informers, "UNAVAILABLE_RETRY", 0.1)
    server, client = scripted
    cache = ClusterCache(client, kinds=("httproutes",))
    await cache.start()
    try:
        await async_wait_until(lambda: cache.unavailable == {"httproutes"})
        server.gateway = True
        await async_wait_until(lambda: cache.informer("httproutes").state == "live")
    finally:
        await cache.stop()
