"""Events are one set of objects behind core/v1 and events.k8s.io/v1, as on a real API server."""

from __future__ import annotations

import json

import pytest

from cockpit.kube.api import ObjectRef
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.events import EventRecorder
from tests.support.wait import async_wait_until, wait_until

pytestmark = pytest.mark.kubectl


async def test_an_event_recorded_through_events_k8s_io_shows_in_kubectl_get_events(sim, kubectl):
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        ref = ObjectRef("Deployment", "apps/v1", "checkout", "shop")
        created = await EventRecorder(client).record(ref, "RolloutUndone", "undo", "rolled back to revision 1")
        name = created["metadata"]["name"]

        def core_view():
            done = kubectl("-n", "shop", "get", "events", name, "-o", "json", check=False)
            return json.loads(done.stdout) if done.returncode == 0 else None

        event = wait_until(core_view, what="the core/v1 view of the Event")
        assert event["message"] == "rolled back to revision 1" and event["reason"] == "RolloutUndone"
        assert event["involvedObject"]["name"] == "checkout" and event["reportingComponent"] == "cockpit"
        assert event["metadata"]["uid"] == created["metadata"]["uid"]
        listed = kubectl("-n", "shop", "get", "events", "--field-selector", "reason=RolloutUndone").stdout
        assert "rolled back to revision 1" in listed
    finally:
        await client.close()


async def test_core_events_are_served_as_events_k8s_io_too(sim):
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        core = await client.create("/api/v1/namespaces/shop/events", {
            "metadata": {"name": "web.manual"}, "involvedObject": {"kind": "Service", "name": "web",
                                                                    "namespace": "shop"},
            "reason": "Manual", "message": "written through core/v1", "type": "Normal",
            "source": {"component": "someone"}})

        async def v1_view():
            listing = await client.list("/apis/events.k8s.io/v1/namespaces/shop/events")
            return next((e for e in listing["items"] if e["metadata"]["name"] == "web.manual"), None)

        event = await async_wait_until(v1_view, what="the events.k8s.io view")
        assert event["note"] == "written through core/v1" and event["regarding"]["name"] == "web"
        assert event["reportingController"] == "someone" and event["metadata"]["uid"] == core["metadata"]["uid"]
        await client.delete("/api/v1/namespaces/shop/events/web.manual")
        await async_wait_until(lambda: _gone(client), what="the mirror to go with the Event")
    finally:
        await client.close()


async def _gone(client) -> bool:
    listing = await client.list("/apis/events.k8s.io/v1/namespaces/shop/events")
    return all(e["metadata"]["name"] != "web.manual" for e in listing["items"])
