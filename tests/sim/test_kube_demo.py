"""The state layer against the demo scenario: every kind listed, domain views right, and real
kubectl changes (scale, set image, patch svc, cordon) visible in the store."""

from __future__ import annotations

import asyncio

import pytest

from cockpit.domain import rollout, skew, traffic
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.informers import ClusterCache
from tests.support.wait import async_wait_until

pytestmark = pytest.mark.kubectl


@pytest.fixture
async def demo_cache(sim):
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    cache = ClusterCache(client)
    await cache.start()
    assert await cache.wait_synced(10)
    yield cache
    await cache.stop()
    await client.close()


def dep(cache, key):
    return cache.store("deployments").get_by_key(key)


async def run_kubectl(kubectl, *args):
    """Run kubectl off the loop (the informers keep running) and return when it exits."""
    return await asyncio.to_thread(kubectl, *args)


async def visible(cache, predicate, what: str):
    """Wait until the store shows a change made through kubectl (how fast is ``cockpit bench``'s
    question, not a test's)."""
    return await async_wait_until(lambda: predicate(cache), what=what)


async def test_demo_views(demo_cache):
    cache = demo_cache
    for kind in ("nodes", "pods", "deployments", "replicasets", "services", "endpointslices",
                 "poddisruptionbudgets", "leases", "httproutes"):
        assert len(cache.store(kind)), kind
    assert len(cache.store("nodes")) == 9
    [pair] = traffic.blue_green_pairs(cache.store("services"), cache.store("deployments"),
                                      cache.store("pods"), cache.store("endpointslices"))
    assert (pair.key, pair.label, pair.active) == ("shop/web", "color", "blue")
    splits = traffic.route_splits(cache.store("httproutes"), cache.store("services"), cache.store("endpointslices"))
    assert {split.key: [(b.name, b.percent) for b in split.backends] for split in splits} == {
        "shop/api": [("api-stable", 90.0), ("api-canary", 10.0)],
        "shop/cart": [("cart-stable", 90.0), ("cart-canary", 10.0)]}

    def checkout_failing():
        checkout = dep(cache, "shop/checkout")
        view = rollout.rollout_view(checkout, cache.store("replicasets").by_index("owner", checkout.uid),
                                    cache.store("pods").values())
        # ErrImagePull first, ImagePullBackOff once the kubelet backs off
        return view.diagnosis.failing and any("ImagePull" in r for r in view.diagnosis.reasons)

    await async_wait_until(checkout_failing, what="checkout diagnosed as failing")
    await async_wait_until(lambda: cache.server_version, what="server version")
    comps = skew.control_plane_versions(cache.store("pods"))
    assert {c.component for c in comps} == set(skew.CONTROL_PLANE_COMPONENTS)
    assert skew.skew_violations(cache.server_version, cache.store("nodes"), comps) == []


async def test_kubectl_scale_is_visible(demo_cache, kubectl):
    await run_kubectl(kubectl, "-n", "shop", "scale", "deployment/web-green", "--replicas=4")
    await visible(demo_cache, lambda c: dep(c, "shop/web-green").replicas == 4, "scale")


async def test_kubectl_patch_service_switches_active_colour(demo_cache, kubectl):
    await run_kubectl(kubectl, "-n", "shop", "patch", "svc", "web", "-p", '{"spec":{"selector":{"color":"green"}}}')
    await visible(demo_cache, lambda c: c.store("services").get_by_key("shop/web").selector["color"] == "green",
                  "patch svc")

    def pair_active(c):
        [pair] = traffic.blue_green_pairs(c.store("services"), c.store("deployments"),
                                          c.store("pods"), c.store("endpointslices"))
        return pair.active == "green" and pair.active_slot.ready_endpoints == 3 and pair.idle_slots[0].ready_endpoints == 0

    await async_wait_until(lambda: pair_active(demo_cache), what="endpoints follow the switch")


async def test_kubectl_cordon(demo_cache, kubectl):
    await run_kubectl(kubectl, "cordon", "worker-1")
    await visible(demo_cache, lambda c: c.store("nodes").get_by_key("worker-1").unschedulable, "cordon")


async def test_kubectl_set_image_rolls_out(demo_cache, kubectl):
    before = dep(demo_cache, "shop/web-blue").revision
    await run_kubectl(kubectl, "-n", "shop", "set", "image", "deployment/web-blue", "web=registry.example/web:1.6.0")
    await visible(demo_cache, lambda c: dep(c, "shop/web-blue").images == ("registry.example/web:1.6.0",), "set image")
    await async_wait_until(lambda: dep(demo_cache, "shop/web-blue").revision > before, what="new revision")
    await async_wait_until(lambda: rollout.rollout_status(dep(demo_cache, "shop/web-blue")).done, timeout=30,
                           what="rollout completes")
