"""The informer's paged LIST against a real HTTP server on loopback: a continue token that
expires mid-list restarts the list from scratch, and one undecodable object falls back to
decoding item by item instead of blinding the whole kind."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from cockpit.kube.client import KubeClient
from cockpit.kube.config import ClusterConfig
from cockpit.kube.informers import Informer
from cockpit.kube.store import Store
from tests.support.wait import async_wait_until


def node(name: str, kubelet: object = "v1.32.4") -> dict:
    """A raw Node; a non-string ``kubelet`` makes it undecodable."""
    return {"metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "5"},
            "status": {"nodeInfo": {"kubeletVersion": kubelet}}}


EXPIRED = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired",
           "message": "The provided continue parameter is too old to display a consistent list result."}


class PagedNodes:
    """Serves /api/v1/nodes in pages of ``limit``. Each fresh list starts a new generation of
    continue tokens; tokens of an older generation are expired (410), like a compacted etcd.
    ``generations`` gives the nodes each generation lists; watches stay open and empty."""

    def __init__(self, generations: list[list[dict]], expire_after_first_page: bool = False):
        self.generations = generations
        self.expire_after_first_page = expire_after_first_page
        self.generation = 0
        self.lists: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") == "true":
            return await self._idle_watch(request)
        token = request.query.get("continue", "")
        self.lists.append(token)
        if not token:
            self.generation += 1
        elif self._expired(token):
            return web.json_response(EXPIRED, status=410)
        return web.json_response(self._page(token, int(request.query.get("limit", "500"))))

    def _expired(self, token: str) -> bool:
        generation = int(token.split("-")[0])
        return generation != self.generation or (self.expire_after_first_page and generation == 1)

    def _page(self, token: str, limit: int) -> dict:
        items = self.generations[min(self.generation, len(self.generations)) - 1]
        start = int(token.split("-")[1]) if token else 0
        end = start + limit
        meta = {"resourceVersion": str(10 * self.generation)}
        if end < len(items):
            meta["continue"] = f"{self.generation}-{end}"
        return {"kind": "NodeList", "apiVersion": "v1", "metadata": meta, "items": items[start:end]}

    async def _idle_watch(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        while not request.transport.is_closing():
            await asyncio.sleep(0.05)
        return response


@pytest.fixture
async def serve():
    """``await serve(handler)`` -> a KubeClient for an HTTP server on loopback (stopped afterwards)."""
    runners, clients = [], []

    async def start(handler) -> KubeClient:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        runners.append(runner)
        clients.append(KubeClient(ClusterConfig(host=f"http://127.0.0.1:{port}", context="paged", user="dev")))
        return clients[-1]

    yield start
    for client in clients:
        await client.close()
    for runner in runners:
        await runner.cleanup()


async def synced_store(client: KubeClient, page_size: int) -> tuple[Informer, Store]:
    """Run a nodes informer until its first list is in the store."""
    store = Store("nodes")
    informer = Informer(client, "nodes", store, page_size=page_size)
    task = asyncio.create_task(informer.run())
    try:
        await async_wait_until(lambda: informer.synced.is_set(), what="the first complete list")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return informer, store


def names(store: Store) -> list[str]:
    return sorted(record.name for record in store.values())


async def test_expired_continue_token_restarts_the_list_from_scratch(serve):
    # Between the two lists n1 is deleted and n6 created: a list stitched from both
    # generations would keep the ghost n1.
    first = [node(f"n{i}") for i in range(1, 6)]
    second = [node(f"n{i}") for i in range(2, 7)]
    server = PagedNodes([first, second], expire_after_first_page=True)
    informer, store = await synced_store(await serve(server.handle), page_size=2)
    assert names(store) == ["n2", "n3", "n4", "n5", "n6"]
    assert server.lists == ["", "1-2", "", "2-2", "2-4"]
    assert informer.relists == 1 and informer.resource_version == "20"


async def test_one_undecodable_object_is_skipped_and_the_rest_listed(serve):
    server = PagedNodes([[node("n1"), node("odd", kubelet=132), node("n2")]])
    informer, store = await synced_store(await serve(server.handle), page_size=500)
    assert names(store) == ["n1", "n2"]
    assert informer.decode_errors == 2  # the page, then the one object
    assert informer.state == "live"
