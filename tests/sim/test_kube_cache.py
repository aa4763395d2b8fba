"""ClusterCache against the simulated API server: listing, live changes, watch cuts, 410 relists,
outages (reconnecting -> live with a correct store), paging.

The cache runs on the test's event loop; the simulator runs in its own thread, so waiting is
done with an async poll-with-deadline (``async_wait_until``), never with fixed sleeps.
"""

from __future__ import annotations

import asyncio

import pytest

from cockpit.domain.records import KINDS
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.informers import ClusterCache
from tests.support.wait import async_wait_until


@pytest.fixture
async def cache_for():
    """``await cache_for(sim, **kwargs)`` -> a started, synced ClusterCache (stopped afterwards)."""
    made = []

    async def make(sim, **kwargs):
        client = KubeClient(load_cluster_config(sim.kubeconfig, None))
        cache = ClusterCache(client, **kwargs)
        made.append((cache, client))
        await cache.start()
        assert await cache.wait_synced(10)
        return cache

    yield make
    for cache, client in made:
        await cache.stop()
        await client.close()


def server_uids(sim, kind: str) -> set[str]:
    return {o["metadata"]["uid"] for o in sim.call(sim.store.list, kind)}


def cache_uids(cache, kind: str) -> set[str]:
    return cache.store(kind).uids()


def new_pod(name: str, labels: dict | None = None) -> dict:
    return {"metadata": {"name": name, "namespace": "shop", "labels": labels or {"app": "test"}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "img:1"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


async def test_lists_every_kind_and_goes_live(api_sim, cache_for):
    cache = await cache_for(api_sim)
    await async_wait_until(lambda: cache.status == "live", what="status live")
    for kind in KINDS:
        assert cache_uids(cache, kind) == server_uids(api_sim, kind), kind
    assert len(cache.store("pods")) == 6 and len(cache.store("nodes")) == 2
    assert cache.forbidden == set()
    await async_wait_until(lambda: cache.server_version == "v1.32.4", what="server version")
    first = cache.take_changes()
    assert len(first["pods"]) == 6 and cache.take_changes() == {}


async def test_store_lookup_and_indexes(api_sim, cache_for):
    cache = await cache_for(api_sim)
    pods = cache.store("pods")
    assert pods.get_by_key("shop/web-0").labels["color"] == "blue"
    assert {p.name for p in pods.by_index("node", "node-1")} == {"web-0", "web-2", "web-4"}


async def test_changes_arrive_by_watch_and_poke(api_sim, cache_for):
    pokes = []
    cache = await cache_for(api_sim, on_change=lambda: pokes.append(1))
    cache.take_changes()
    pokes.clear()
    created = api_sim.call(api_sim.store.create, "pods", new_pod("extra"))
    uid = created["metadata"]["uid"]
    await async_wait_until(lambda: uid in cache.store("pods"), what="new pod in store")
    api_sim.call(api_sim.store.mutate, "services", "shop", "web",
                 lambda svc: svc["spec"]["selector"].update(color="green"))
    await async_wait_until(lambda: cache.store("services").get_by_key("shop/web").selector["color"] == "green")
    api_sim.call(api_sim.store.remove, "pods", "shop", "extra")
    await async_wait_until(lambda: uid not in cache.store("pods"), what="pod removed")
    changes = cache.take_changes()
    assert uid in changes["pods"] and changes["services"]
    assert pokes, "on_change was never called"


async def test_watch_cuts_are_resumed_without_relist_loss_or_duplicates(api_sim, cache_for):
    cache = await cache_for(api_sim)
    relists = {k: cache.informer(k).relists for k in KINDS}
    api_sim.faults.set("watch_cut_after", 0.3)
    for i in range(30):
        api_sim.call(api_sim.store.create, "pods", new_pod(f"cut-{i}"))
        await asyncio.sleep(0.02)  # spread the writes over several cut streams
    for i in range(0, 30, 3):
        api_sim.call(api_sim.store.remove, "pods", "shop", f"cut-{i}")
    await async_wait_until(lambda: cache_uids(cache, "pods") == server_uids(api_sim, "pods"), what="pods converge")
    assert len(cache.store("pods")) == 6 + 20
    assert len({p.key for p in cache.store("pods")}) == len(cache.store("pods"))
    assert cache.informer("pods").relists == relists["pods"], "a cut watch must resume, not relist"


async def test_410_relists_and_leaves_no_ghost_rows(api_sim, cache_for):
    cache = await cache_for(api_sim)
    before = cache.informer("pods").relists
    gone = cache.store("pods").get_by_key("shop/web-5").uid
    cache.take_changes()
    # Take the API away, change state while nobody watches, then answer the resume with 410.
    api_sim.faults.set("refuse_for", 1.0)
    await async_wait_until(lambda: cache.status != "live", what="outage noticed")
    api_sim.call(api_sim.store.remove, "pods", "shop", "web-5")
    api_sim.faults.set("force_410", True)
    await async_wait_until(lambda: cache.informer("pods").relists > before, what="relist after 410")
    api_sim.faults.set("force_410", False)
    await async_wait_until(lambda: cache.status == "live")
    assert gone not in cache.store("pods")
    assert cache_uids(cache, "pods") == server_uids(api_sim, "pods")
    assert gone in cache.take_changes().get("pods", set()), "the vanished uid must be reported changed"


async def test_outage_reconnects_with_backoff_and_correct_store(api_sim, cache_for):
    cache = await cache_for(api_sim, stale_after=1.0, backoff_cap=0.5)
    await async_wait_until(lambda: cache.status == "live")
    api_sim.faults.set("refuse_for", 2.5)
    await async_wait_until(lambda: cache.status == "reconnecting", what="reconnecting")
    outage_began = cache.since
    assert "cannot reach" in cache.last_error or "dropped" in cache.last_error or cache.last_error
    await async_wait_until(lambda: cache.status == "stale", what="stale after stale_after")
    assert cache.since == outage_began
    api_sim.call(api_sim.store.create, "pods", new_pod("during-outage"))
    api_sim.call(api_sim.store.remove, "pods", "shop", "web-1")
    await async_wait_until(lambda: cache.status == "live", what="live again")
    await async_wait_until(lambda: cache_uids(cache, "pods") == server_uids(api_sim, "pods"), what="store correct")
    assert cache.store("pods").get_by_key("shop/web-1") is None
    assert cache.store("pods").get_by_key("shop/during-outage") is not None


async def test_paged_list(api_sim):
    for i in range(25):
        api_sim.call(api_sim.store.create, "pods", new_pod(f"page-{i}"))
    client = KubeClient(load_cluster_config(api_sim.kubeconfig, None))
    try:
        cache = ClusterCache(client, kinds=("pods",))
        cache._informers["pods"]._page_size = 7  # force several pages
        await cache.start()
        assert await cache.wait_synced(10)
        assert cache_uids(cache, "pods") == server_uids(api_sim, "pods")
        await cache.stop()
    finally:
        await client.close()


async def test_namespace_scoped_cache(api_sim, cache_for):
    cache = await cache_for(api_sim, namespace="kube-system")
    assert len(cache.store("pods")) == 0 and len(cache.store("nodes")) == 2


async def test_server_restarted_with_new_state_leaves_no_ghosts(tmp_path, cache_for):
    from cockpit.sim.runner import SimThread
    from tests.support.minimal_cluster import MinimalCluster

    first = SimThread(tmp_path, cluster_factory=MinimalCluster).start()
    second = None
    try:
        cache = await cache_for(first, backoff_cap=0.5)
        old_uids = cache_uids(cache, "pods")
        port, token = first.sim.server.port, first.token
        await asyncio.to_thread(first.stop)
        await async_wait_until(lambda: cache.status == "reconnecting", what="outage noticed")
        second = SimThread(tmp_path, cluster_factory=MinimalCluster, port=port)
        second.sim.token = token  # same kubeconfig keeps working, as after a real restart
        await asyncio.to_thread(second.start)
        await async_wait_until(lambda: cache.status == "live", what="live again")
        await async_wait_until(lambda: cache_uids(cache, "pods") == server_uids(second, "pods"), what="fresh state")
        assert not old_uids & cache_uids(cache, "pods")
    finally:
        for sim in (second, first):
            if sim is not None:
                await asyncio.to_thread(sim.stop)


async def test_a_hung_api_server_turns_the_status_stale_then_live_again(sim, cache_for):
    """A server that stops answering keeps its watches open: only the heartbeat notices."""
    cache = await cache_for(sim, kinds=("nodes",), heartbeat_every=0.2, silent_after=1.0)
    await async_wait_until(lambda: cache.status == "live", what="the cache to be live")
    sim.faults.set("api_latency", 30)  # every request hangs, as a stopped API server process does
    try:
        await async_wait_until(lambda: cache.status == "stale", timeout=20, what="the status to turn stale")
        assert "has not answered" in cache.last_error
    finally:
        sim.faults.set("api_latency", 0)
    await async_wait_until(lambda: cache.status == "live", timeout=20, what="the status to be live again")
