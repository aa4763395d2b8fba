"""Pure planning helpers of the rollout operations (what gets journaled as previews).

No cluster here: raw Kubernetes JSON in, plans out.
"""

from __future__ import annotations

def replicaset(name, revision, image, owner="dep-uid"):
    return {"metadata": {"name": name, "namespace": "shop", "uid": name,
                         "annotations": {"deployment.kubernetes.io/revision": str(revision), "note": name},
                         "ownerReferences": [{"uid": owner, "controller": True, "kind": "Deployment"}]},
            "spec": {"template": {"metadata": {"labels": {"app": "checkout", "pod-template-hash": name[-3:]}},
                                  "spec": {"containers": [{"name": "checkout", "image": image}]}}}}


CHECKOUT = {"metadata": {"name": "checkout", "namespace": "shop", "uid": "dep-uid", "resourceVersion": "77", "generation": 2,
                         "annotations": {"deployment.kubernetes.io/revision": "2", "team": "pay"}},
            "spec": {"template": {"metadata": {"labels": {"app": "checkout"}},
                                  "spec": {"containers": [{"name": "checkout", "image": "c:2.4.0-broken"}]}}}}


def test_pick_revision_like_kubectl():
    from cockpit.controllers.rollout import pick_revision
    from cockpit.domain.records import decode

    raw = [replicaset("rs-aaa", 1, "c:2.3.1"), replicaset("rs-bbb", 3, "c:2.4.0"), replicaset("rs-ccc", 2, "c:x")]
    sets = [decode("replicasets", rs) for rs in raw]
    assert pick_revision(sets, None).name == "rs-ccc"  # second newest
    assert pick_revision(sets, 1).name == "rs-aaa"
    assert pick_revision(sets, 9) is None
    assert pick_revision(sets[:1], None) is None


def test_undo_patch_copies_template_without_hash_and_tests_generation_and_annotations():
    from cockpit.kube.rollback import template_matches, undo_patch

    rs = replicaset("rs-aaa", 1, "c:2.3.1")
    generation, annotations_now, template, annotations = undo_patch(CHECKOUT, rs)
    assert generation == {"op": "test", "path": "/metadata/generation", "value": CHECKOUT["metadata"]["generation"]}
    assert annotations_now == {"op": "test", "path": "/metadata/annotations",
                               "value": CHECKOUT["metadata"]["annotations"]}
    assert template["value"]["metadata"]["labels"] == {"app": "checkout"}
    assert template["value"]["spec"]["containers"] == [{"name": "checkout", "image": "c:2.3.1"}]
    assert annotations["value"] == {"deployment.kubernetes.io/revision": "2", "note": "rs-aaa"}
    assert not template_matches(CHECKOUT, rs)


def test_undo_to_current_template_is_a_noop():
    from cockpit.kube.rollback import template_matches

    assert template_matches(CHECKOUT, replicaset("rs-ddd", 2, "c:2.4.0-broken"))
