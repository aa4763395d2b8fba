"""Typed reads against the simulator's API server: GET and paged LIST answers as records,
through the raw-bytes path of KubeClient and through the plain get/list verbs alike."""

from __future__ import annotations

import asyncio

import pytest

from cockpit.domain.records import NodeRecord, PdbRecord, PodRecord
from cockpit.kube import typed
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.errors import NotFound
from cockpit.kube.paths import path_for


class VerbsOnly:
    """The client seen through the KubeApi verbs only (no ``get_raw``), as a wrapper would be."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client

    async def get(self, path: str, params: dict | None = None) -> dict:
        return await self._client.get(path, params)

    async def list(self, path: str, params: dict | None = None) -> dict:
        return await self._client.list(path, params)


async def _read_all(client) -> tuple:
    pods = await typed.list_records(client, PodRecord, path_for("pods", "shop"), {"labelSelector": "color=blue"})
    node = await typed.get_record(client, NodeRecord, path_for("nodes", name="node-1"))
    pdbs = await typed.list_records(client, PdbRecord, path_for("poddisruptionbudgets"))
    return pods, node, pdbs


@pytest.mark.parametrize("narrow", [False, True], ids=["raw-bytes", "verbs-only"])
def test_get_and_paged_list_decode_to_records(api_sim, monkeypatch, narrow):
    monkeypatch.setattr(typed, "PAGE", 2)  # six pods: three pages with continue tokens

    async def run() -> tuple:
        client = KubeClient(load_cluster_config(api_sim.kubeconfig, None))
        try:
            everything = await typed.list_records(VerbsOnly(client) if narrow else client, PodRecord,
                                                  path_for("pods"))
            return everything, *await _read_all(VerbsOnly(client) if narrow else client)
        finally:
            await client.close()

    everything, blue, node, pdbs = asyncio.run(run())
    assert sorted(p.name for p in everything) == [f"web-{i}" for i in range(6)]
    assert all(isinstance(p, PodRecord) for p in everything)
    assert sorted(p.name for p in blue) == ["web-0", "web-1", "web-2"]
    assert isinstance(node, NodeRecord) and node.ready and node.name == "node-1"
    assert [(p.key, p.disruptions_allowed, p.selector.matches({"app": "web"})) for p in pdbs] == [("shop/web", 1, True)]


def test_a_missing_object_raises_not_found(api_sim):
    async def run() -> None:
        client = KubeClient(load_cluster_config(api_sim.kubeconfig, None))
        try:
            await typed.get_record(client, NodeRecord, path_for("nodes", name="nope"))
        finally:
            await client.close()

    with pytest.raises(NotFound):
        asyncio.run(run())


def test_raw_objects_as_records():
    raw = {"metadata": {"name": "p", "namespace": "ns", "uid": "u"}, "spec": {"nodeName": "n"}}
    assert typed.as_record(PodRecord, raw).node_name == "n"
    assert [p.key for p in typed.as_records(PodRecord, [raw, raw])] == ["ns/p", "ns/p"]
    assert typed.kind_of(PdbRecord) == "poddisruptionbudgets"
