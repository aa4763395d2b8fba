"""Fixtures and helpers shared by the end-to-end tests (controllers and CLI against the simulator)."""

from __future__ import annotations

import pytest

from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config


@pytest.fixture
def journal_path(tmp_path):
    """A fresh audit journal per test."""
    return tmp_path / "journal.jsonl"


@pytest.fixture
async def client(sim):
    """The cockpit's own API client, connected to the demo simulator."""
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    yield client
    await client.close()
