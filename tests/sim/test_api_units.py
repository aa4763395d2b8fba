"""Unit tests of the sim API building blocks: store, selectors, patches, tables."""

from __future__ import annotations

import pytest

from cockpit.sim.errors import ApiError
from cockpit.sim.api.patch import json_patch, merge_patch, strategic_merge
from cockpit.sim.api.selectors import parse_field_selector, parse_label_selector
from cockpit.sim.store import ObjectStore
from cockpit.sim.api.tables import human_duration


def _pod(name: str, ns: str = "a", **labels) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}


def test_store_keys_pages_and_events():
    store = ObjectStore(window=5)
    for ns in ("b", "a", "a-b"):
        for name in ("y", "x"):
            store.create("pods", _pod(name, ns))
    assert [k for k, _ in store.iter_entries("pods")] == ["a-b/x", "a-b/y", "a/x", "a/y", "b/x", "b/y"]
    assert [k for k, _ in store.iter_entries("pods", "a")] == ["a/x", "a/y"]
    assert [k for k, _ in store.iter_entries("pods", None, after="a/x")] == ["a/y", "b/x", "b/y"]
    assert [e.rv for e in store.events_since("pods", 4)] == [5, 6]
    with pytest.raises(ApiError) as err:
        store.events_since("pods", 0)
    assert err.value.code == 410


def test_store_mutate_noop_keeps_rv_and_generation_bumps_on_spec():
    store = ObjectStore()
    dep = store.create("deployments", {"metadata": {"name": "d", "namespace": "a"}, "spec": {"replicas": 1}})
    assert dep["metadata"]["generation"] == 1
    same = store.mutate("deployments", "a", "d", lambda o: None)
    assert same is store.get("deployments", "a", "d")
    changed = store.mutate("deployments", "a", "d", lambda o: o["spec"].update(replicas=2))
    assert changed["metadata"]["generation"] == 2
    assert int(changed["metadata"]["resourceVersion"]) > int(dep["metadata"]["resourceVersion"])
    status_only = store.mutate("deployments", "a", "d", lambda o: o.setdefault("status", {}).update(replicas=2))
    assert status_only["metadata"]["generation"] == 2


def test_store_update_conflict_and_already_exists():
    store = ObjectStore()
    first = store.create("pods", _pod("p"))
    with pytest.raises(ApiError) as err:
        store.create("pods", _pod("p"))
    assert (err.value.code, err.value.reason) == (409, "AlreadyExists")
    store.mutate("pods", "a", "p", lambda o: o["metadata"]["labels"].update(x="1"))
    with pytest.raises(ApiError) as err:
        store.update("pods", first)
    assert (err.value.code, err.value.reason) == (409, "Conflict")


def test_store_generate_name_and_listener():
    store = ObjectStore()
    seen = []
    store.add_listener(lambda t, r, o, old: seen.append((t, r, o["metadata"]["name"])))
    obj = store.create("pods", {"metadata": {"generateName": "web-", "namespace": "a"},
                                "spec": {"containers": [{"name": "c", "image": "i"}]}})
    assert obj["metadata"]["name"].startswith("web-") and len(obj["metadata"]["name"]) == 9
    store.remove("pods", "a", obj["metadata"]["name"])
    assert [t for t, _, _ in seen] == ["ADDED", "DELETED"]


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("app=web", {"app": "web"}, True),
    ("app==web,color!=blue", {"app": "web", "color": "green"}, True),
    ("color in (blue,green)", {"color": "blue"}, True),
    ("color notin (blue)", {"color": "blue"}, False),
    ("color", {}, False),
    ("!color", {}, True),
    ("", {"a": "b"}, True),
])
def test_label_selectors(selector, labels, expected):
    assert parse_label_selector(selector).matches(labels) is expected


@pytest.mark.parametrize("bad", ["app=(", "a b", "=x", "x in (a", "app=we b"])
def test_invalid_label_selector(bad):
    with pytest.raises(ApiError) as err:
        parse_label_selector(bad)
    assert err.value.code == 400


def test_field_selectors():
    pod = {"metadata": {"name": "p", "namespace": "a"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}
    assert parse_field_selector("spec.nodeName=n1,status.phase!=Succeeded", "pods").matches(pod)
    assert not parse_field_selector("metadata.name=q", "pods").matches(pod)
    node = {"metadata": {"name": "n"}, "spec": {}}
    assert parse_field_selector("spec.unschedulable=false", "nodes").matches(node)
    with pytest.raises(ApiError) as err:
        parse_field_selector("spec.bogus=1", "pods")
    assert err.value.code == 400 and "field label not supported" in err.value.message


def test_strategic_merge_keys_and_directives():
    dep = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "x", "env": [{"name": "E", "value": "1"}], "ports": [{"containerPort": 80}]},
        {"name": "b", "image": "y"}]}}}}
    out = strategic_merge(dep, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        "containers": [{"name": "a", "image": "z", "env": [{"name": "F", "value": "2"}]},
                       {"name": "b", "$patch": "delete"}]}}}})
    containers = out["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "a", "image": "z", "env": [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}],
                           "ports": [{"containerPort": 80}]}]
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "x"  # input untouched
    svc = {"spec": {"selector": {"app": "web", "color": "blue"}, "ports": [{"port": 80, "name": "http"}]}}
    out = strategic_merge(svc, {"spec": {"selector": {"color": "green"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    assert out["spec"]["selector"] == {"app": "web", "color": "green"}
    assert out["spec"]["ports"] == [{"port": 80, "name": "http", "targetPort": 8080}]
    out = strategic_merge(svc, {"spec": {"selector": {"$patch": "replace", "tier": "x"}}})
    assert out["spec"]["selector"] == {"tier": "x"}
    out = strategic_merge({"metadata": {"finalizers": ["a", "b"]}},
                          {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert out == {"metadata": {"finalizers": ["b"]}}
    out = strategic_merge({"spec": {"a": 1, "b": 2}}, {"spec": {"$retainKeys": ["a"], "a": 3}})
    assert out == {"spec": {"a": 3}}


def test_merge_and_json_patch():
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {"a": {"c": 2, "d": 3}}
    doc = {"a": [1, 2], "m": {"k": "v"}}
    out = json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "replace", "path": "/a/0", "value": 9},
                           {"op": "copy", "from": "/m/k", "path": "/n"}, {"op": "move", "from": "/n", "path": "/o"},
                           {"op": "remove", "path": "/m"}, {"op": "test", "path": "/o", "value": "v"}])
    assert out == {"a": [9, 2, 3], "o": "v"}
    for bad in ([{"op": "replace", "path": "/missing", "value": 1}], [{"op": "test", "path": "/a", "value": 0}]):
        with pytest.raises(ApiError) as err:
            json_patch(doc, bad)
        assert err.value.code == 422
    with pytest.raises(ApiError) as err:
        json_patch(doc, [{"op": "frobnicate", "path": "/a"}])
    assert err.value.code == 400


def test_human_duration():
    assert [human_duration(s) for s in (5, 119, 150, 3600, 7 * 3600 + 60, 30 * 3600, 3 * 86400)] == \
        ["5s", "119s", "2m30s", "60m", "7h1m", "30h", "3d"]


def test_store_recreated_key_is_listed_once():
    store = ObjectStore()
    for name in ("a", "b", "c"):
        store.create("configmaps", {"metadata": {"name": name, "namespace": "x"}})
    store.list("configmaps")  # index built
    store.remove("configmaps", "x", "b")
    store.create("configmaps", {"metadata": {"name": "b", "namespace": "x"}})
    store.remove("configmaps", "x", "a")
    store.create("configmaps", {"metadata": {"name": "a", "namespace": "x"}})
    assert [o["metadata"]["name"] for o in store.list("configmaps")] == ["a", "b", "c"]
    for i in range(200):  # force compaction
        store.create("configmaps", {"metadata": {"name": f"t{i:03d}", "namespace": "x"}})
        store.remove("configmaps", "x", f"t{i:03d}")
    assert [o["metadata"]["name"] for o in store.list("configmaps")] == ["a", "b", "c"]
