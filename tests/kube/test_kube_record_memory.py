"""Decoded records share their equal parts and stay out of the cyclic GC's way (the state
layer's memory at 150,000 pods, and the pauses of full collections)."""

from __future__ import annotations

import gc

import tests.support.builders as b
from cockpit.domain.records import decode


def two_pods_of_one_replicaset():
    """Two pods of one ReplicaSet on one node, decoded as the informers decode them."""
    deployment = b.deployment("shop", "web")
    rs = b.replicaset(deployment, 1, "abc", 2, 2, "registry.example/web:1.4.0")
    return decode("pods", b.pod(rs, "x1", "worker-1")), decode("pods", b.pod(rs, "x2", "worker-1"))


def test_pods_of_one_replicaset_share_labels_owners_containers_and_node_name():
    first, second = two_pods_of_one_replicaset()

    assert first.uid != second.uid
    assert first.labels == second.labels and first.labels is second.labels
    assert first.owners is second.owners
    assert first.containers is second.containers
    assert first.images is second.images
    assert first.node_name is second.node_name
    assert first.namespace is second.namespace


def test_records_and_their_parts_are_not_tracked_by_the_cyclic_gc():
    pod, _ = two_pods_of_one_replicaset()

    assert not gc.is_tracked(pod)
    assert not gc.is_tracked(pod.containers[0])
    assert not gc.is_tracked(pod.owners[0])


def test_the_table_of_shared_values_is_bounded(monkeypatch):
    from cockpit.domain import _convert

    monkeypatch.setattr(_convert, "SHARED_LIMIT", 3)
    monkeypatch.setattr(_convert, "_shared", {})
    for n in range(10):
        assert _convert.shared(("image", n)) == ("image", n)
        assert len(_convert._shared) <= 3
