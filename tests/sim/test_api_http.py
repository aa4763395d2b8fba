"""The sim API server over HTTP: auth, bad input, paging, patch, watch protocol, eviction, faults.

Uses the MinimalCluster stand-in (static objects, no controllers), so the results do not depend
on simulated behaviour.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from tests.support.api import Api


@pytest.fixture
def api(api_sim) -> Api:
    return Api(api_sim)


def _store_intact(api: Api) -> None:
    pods = api.get("/api/v1/namespaces/shop/pods")["items"]
    assert sorted(p["metadata"]["name"] for p in pods) == [f"web-{i}" for i in range(6)]
    assert api.get("/version")["gitVersion"] == "v1.32.4"


def _status(r: requests.Response, code: int, reason: str) -> dict:
    assert r.status_code == code, r.text
    body = r.json()
    assert (body["kind"], body["code"], body["reason"]) == ("Status", code, reason)
    return body


def test_token_required(api, api_sim):
    plain = requests.get(api_sim.url + "/api/v1/pods", verify=api_sim.ca_file, timeout=5)
    _status(plain, 401, "Unauthorized")
    wrong = requests.get(api_sim.url + "/api/v1/pods", verify=api_sim.ca_file, timeout=5,
                         headers={"Authorization": "Bearer nope"})
    _status(wrong, 401, "Unauthorized")
    _store_intact(api)


@pytest.mark.parametrize(("method", "path", "body", "params", "code", "reason"), [
    ("POST", "/api/v1/namespaces/shop/pods", b"{not json", {}, 400, "BadRequest"),
    ("PUT", "/api/v1/namespaces/shop/pods/web-0", b"[1,", {}, 400, "BadRequest"),
    ("GET", "/api/v1/namespaces/shop/widgets", None, {}, 404, "NotFound"),
    ("GET", "/apis/nope.example/v1/things", None, {}, 404, "NotFound"),
    ("GET", "/api/v1/namespaces/shop/pods/ghost", None, {}, 404, "NotFound"),
    ("GET", "/api/v1/pods", None, {"labelSelector": "app=("}, 400, "BadRequest"),
    ("GET", "/api/v1/pods", None, {"fieldSelector": "spec.bogus=1"}, 400, "BadRequest"),
    ("GET", "/api/v1/pods", None, {"watch": "true", "fieldSelector": "nope=1"}, 400, "BadRequest"),
    ("POST", "/api/v1/namespaces/shop/pods/web-0", b"{}", {}, 405, "MethodNotAllowed"),
    ("POST", "/api/v1/namespaces/shop/pods", {"metadata": {"name": "x"}, "spec": {"containers": []}}, {}, 422,
     "Invalid"),
    ("POST", "/api/v1/namespaces/ghost/pods",
     {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}, {}, 404, "NotFound"),
    ("POST", "/api/v1/namespaces/shop/pods/web-0/eviction", b"{", {}, 400, "BadRequest"),
    ("GET", "/api/v1/pods", None, {"continue": "garbage!"}, 400, "BadRequest"),
])
def test_bad_input_gets_status_and_store_survives(api, method, path, body, params, code, reason):
    _status(api(method, path, body, **params), code, reason)
    _store_intact(api)


def test_bad_patches(api):
    path = "/api/v1/namespaces/shop/pods/web-0"
    _status(api("PATCH", path, {"a": 1}, "application/apply-patch+yaml"), 400, "BadRequest")  # no fieldManager
    _status(api("PATCH", path, b"{oops", "application/merge-patch+json"), 400, "BadRequest")
    _status(api("PATCH", path, [{"op": "replace", "path": "/nope/x", "value": 1}], "application/json-patch+json"),
            422, "Invalid")
    _status(api("PATCH", path, {"a": 1}, "application/json-patch+json"), 400, "BadRequest")
    _store_intact(api)


def test_stale_update_conflicts(api):
    path = "/api/v1/namespaces/shop/pods/web-0"
    pod = api.get(path)
    fresh = api("PATCH", path, {"metadata": {"labels": {"x": "1"}}}, "application/merge-patch+json")
    assert fresh.status_code == 200
    pod["metadata"]["labels"]["y"] = "2"
    _status(api("PUT", path, pod), 409, "Conflict")
    assert "y" not in api.get(path)["metadata"]["labels"]
    dup = {"metadata": {"name": "web-0"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    _status(api("POST", "/api/v1/namespaces/shop/pods", dup), 409, "AlreadyExists")
    _store_intact(api)


def test_noop_patch_keeps_resource_version(api):
    path = "/api/v1/namespaces/shop/services/web"
    before = api.get(path)
    r = api("PATCH", path, {"spec": {"selector": {"color": "blue"}}}, "application/strategic-merge-patch+json")
    assert r.json() == before
    r = api("PATCH", path, {"spec": {"selector": {"color": "green"}}}, "application/strategic-merge-patch+json")
    after = r.json()
    assert after["spec"]["selector"] == {"app": "web", "color": "green"}
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])


def test_dry_run_persists_nothing(api):
    new = {"metadata": {"name": "dry"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    r = api("POST", "/api/v1/namespaces/shop/pods", new, dryRun="All")
    assert r.status_code == 201 and r.json()["metadata"]["uid"]
    assert api("GET", "/api/v1/namespaces/shop/pods/dry").status_code == 404
    path = "/api/v1/namespaces/shop/services/web"
    before = api.get(path)
    r = api("PATCH", path, {"spec": {"selector": {"color": "red"}}}, "application/merge-patch+json", dryRun="All")
    assert r.json()["spec"]["selector"]["color"] == "red"
    assert api.get(path) == before
    assert api("DELETE", path, dryRun="All").status_code == 200
    assert api.get(path) == before


def test_paging_and_selectors(api):
    page = api.get("/api/v1/pods", limit="4")
    assert len(page["items"]) == 4 and page["metadata"]["continue"]
    rest = api.get("/api/v1/pods", limit="4", **{"continue": page["metadata"]["continue"]})
    names = [p["metadata"]["name"] for p in page["items"] + rest["items"]]
    assert names == [f"web-{i}" for i in range(6)] and "continue" not in rest["metadata"]
    assert rest["metadata"]["resourceVersion"] == page["metadata"]["resourceVersion"]
    green = api.get("/api/v1/pods", labelSelector="color in (green),app=web")
    assert [p["metadata"]["name"] for p in green["items"]] == ["web-3", "web-4", "web-5"]
    on_node = api.get("/api/v1/pods", fieldSelector="spec.nodeName=node-1,status.phase!=Failed")
    assert [p["metadata"]["name"] for p in on_node["items"]] == ["web-0", "web-2", "web-4"]
    assert api.get("/api/v1/namespaces/default/pods")["items"] == []


def test_table_output(api):
    table = api(
        "GET", "/api/v1/pods", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["object"]["metadata"]["namespace"] == "shop"


def test_discovery_documents(api):
    v1 = api.get("/api/v1")
    eviction = next(r for r in v1["resources"] if r["name"] == "pods/eviction")
    assert (eviction["group"], eviction["version"], eviction["kind"]) == ("policy", "v1", "Eviction")
    for version in ("v2", "v2beta1"):
        accept = f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList,application/json"
        r = api("GET", "/apis", headers={"Accept": accept})
        assert f"v={version}" in r.headers["Content-Type"] and "as=APIGroupDiscoveryList" in r.headers["Content-Type"]
        assert r.json()["apiVersion"] == f"apidiscovery.k8s.io/{version}"
    r = api("GET", "/api", headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"})
    assert r.headers["Content-Type"].startswith("application/json") and r.json()["versions"] == ["v1"]
    groups = {g["name"] for g in api.get("/apis")["groups"]}
    assert {"apps", "policy", "gateway.networking.k8s.io", "coordination.k8s.io", "events.k8s.io"} <= groups


class WatchReader:
    """Reads a watch stream in a thread and collects events."""

    def __init__(self, api: Api, path: str, **params):
        self.events: list[dict] = []
        # Closing a streamed response from another thread blocks in urllib3, so streams end by
        # themselves: timeoutSeconds (5 s unless given) or server shutdown.
        params = {"watch": "true", "timeoutSeconds": "5", **params}
        self.response = api.session.get(api.sim.url + path, params=params, stream=True, timeout=10)
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.response.iter_lines(chunk_size=1):  # no read-ahead buffering
                if line:
                    self.events.append(json.loads(line))
        except requests.RequestException:
            pass
        self.done.set()

    def types(self) -> list[tuple[str, str]]:
        return [(e["type"], e["object"].get("metadata", {}).get("name", "")) for e in self.events]



def test_watch_initial_replay_transitions_and_410(api, api_sim, wait_for):
    rv = api.get("/api/v1/namespaces/shop/pods")["metadata"]["resourceVersion"]
    initial = WatchReader(api, "/api/v1/namespaces/shop/pods", labelSelector="color=blue")
    wait_for(lambda: len(initial.events) == 3)
    assert {t for t, _ in initial.types()} == {"ADDED"}
    api("PATCH", "/api/v1/namespaces/shop/pods/web-0", {"metadata": {"labels": {"color": "green"}}},
        "application/merge-patch+json")
    api("PATCH", "/api/v1/namespaces/shop/pods/web-3", {"metadata": {"labels": {"color": "blue"}}},
        "application/merge-patch+json")
    wait_for(lambda: initial.types()[3:] == [("DELETED", "web-0"), ("ADDED", "web-3")])
    replay = WatchReader(api, "/api/v1/namespaces/shop/pods", resourceVersion=rv)
    wait_for(lambda: [t for t, _ in replay.types()] == ["MODIFIED", "MODIFIED"])
    api_sim.call(_shrink_window, api_sim)
    gone = WatchReader(api, "/api/v1/namespaces/shop/pods", resourceVersion="1")
    wait_for(gone.done.is_set)
    assert gone.events[-1]["type"] == "ERROR" and gone.events[-1]["object"]["code"] == 410


def _shrink_window(sim):
    table = sim.store._tables["pods"]
    table.compacted_rv = sim.store.rv


def test_watch_timeout_bookmarks_and_initial_events(api, wait_for):
    started = time.monotonic()
    w = WatchReader(api, "/api/v1/nodes", timeoutSeconds="1", sendInitialEvents="true", allowWatchBookmarks="true")
    wait_for(w.done.is_set, timeout=5)
    assert time.monotonic() - started < 4
    assert [t for t, _ in w.types()] == ["ADDED", "ADDED", "BOOKMARK"]
    assert w.events[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_eviction_budget(api, api_sim):
    path = "/api/v1/namespaces/shop/pods/{}/eviction"
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web-0", "namespace": "shop"}}
    r = api("POST", path.format("web-0"), body)
    assert r.status_code == 201, r.text
    assert api.get("/api/v1/namespaces/shop/pods/web-0")["metadata"]["deletionTimestamp"]
    assert api.get("/apis/policy/v1/namespaces/shop/poddisruptionbudgets/web")["status"]["disruptionsAllowed"] == 0
    r = api("POST", path.format("web-1"), {**body, "metadata": {"name": "web-1", "namespace": "shop"}})
    refused = _status(r, 429, "TooManyRequests")
    assert refused["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert refused["details"]["causes"][0]["reason"] == "DisruptionBudget"
    api_sim.call(api_sim.store.create, "poddisruptionbudgets", {
        "metadata": {"name": "web2", "namespace": "shop"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"color": "green"}}}})
    _status(api("POST", path.format("web-3"), {**body, "metadata": {"name": "web-3", "namespace": "shop"}}),
            500, "InternalError")


def test_scale_subresource(api_sim, api):
    api_sim.call(api_sim.store.create, "deployments", {
        "metadata": {"name": "d", "namespace": "shop"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    path = "/apis/apps/v1/namespaces/shop/deployments/d/scale"
    scale = api.get(path)
    assert (scale["kind"], scale["apiVersion"], scale["spec"]["replicas"]) == ("Scale", "autoscaling/v1", 2)
    assert scale["status"]["selector"] == "app=d"
    r = api("PATCH", path, {"spec": {"replicas": 5}}, "application/merge-patch+json")
    assert r.json()["spec"]["replicas"] == 5
    assert api.get("/apis/apps/v1/namespaces/shop/deployments/d")["spec"]["replicas"] == 5


def test_faults_endpoint_latency_and_refusal(api, api_sim, wait_for):
    r = api("POST", "/_sim/faults", {"name": "api_latency", "value": 0.3})
    assert r.json()["api_latency"] == 0.3
    started = time.monotonic()
    api.get("/api/v1/nodes")
    assert time.monotonic() - started >= 0.3
    api("POST", "/_sim/faults", {"name": "api_latency", "value": 0})
    _status(api("POST", "/_sim/faults", {"name": "nope", "value": 1}), 400, "BadRequest")
    api("POST", "/_sim/faults", {"name": "refuse_for", "value": 1.0})

    def refused():
        try:
            requests.get(api_sim.url + "/version", verify=api_sim.ca_file, timeout=1)
        except requests.ConnectionError:
            return True
        return False
    wait_for(refused, timeout=3)
    wait_for(lambda: not refused(), timeout=5)
    _store_intact(api)


def test_delete_collection_and_finalizers(api):
    for i, tier in enumerate(("a", "a", "b")):
        r = api("POST", "/api/v1/namespaces/default/configmaps",
                {"metadata": {"name": f"cm-{i}", "labels": {"tier": tier}}, "data": {"k": "v"}})
        assert r.status_code == 201, r.text
    r = api("DELETE", "/api/v1/namespaces/default/configmaps", labelSelector="tier=a")
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    assert [c["metadata"]["name"] for c in api.get("/api/v1/namespaces/default/configmaps")["items"]] == ["cm-2"]
    path = "/api/v1/namespaces/default/configmaps/cm-2"
    api("PATCH", path, {"metadata": {"finalizers": ["example.com/hold"]}}, "application/merge-patch+json")
    held = api("DELETE", path).json()
    assert held["metadata"]["deletionTimestamp"]
    assert api.get(path)["metadata"]["finalizers"] == ["example.com/hold"]
    api("PATCH", path, {"metadata": {"finalizers": None}}, "application/merge-patch+json")
    assert api("GET", path).status_code == 404


def test_protobuf_delete_body_is_ignored(api):
    r = api("DELETE", "/api/v1/namespaces/shop/pods/web-5", b"k8s\x00\n\x13\n\x02v1\x12\rDeleteOptions",
            "application/vnd.kubernetes.protobuf",
            headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json()["metadata"]["deletionTimestamp"]


def test_pod_log_subresource(api):
    r = api("GET", "/api/v1/namespaces/shop/pods/web-0/log", tailLines="3")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert len(r.text.splitlines()) == 3
    _status(api("GET", "/api/v1/namespaces/shop/pods/web-0/log", container="nope"), 400, "BadRequest")


def test_immutable_fields(api):
    _status(api("PATCH", "/api/v1/namespaces/shop/pods/web-0", {"spec": {"nodeName": "node-2"}},
                "application/merge-patch+json"), 422, "Invalid")
    r = api("PATCH", "/api/v1/namespaces/shop/pods/web-0",
            {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}, "application/strategic-merge-patch+json")
    assert r.status_code == 200 and r.json()["spec"]["containers"][0]["image"] == "nginx:2"
    _store_intact(api)


@pytest.mark.parametrize("patch", [
    {"metadata": {"labels": ["a"]}}, {"metadata": {"labels": {"a": 1}}}, {"metadata": {"annotations": "x"}},
    {"metadata": {"finalizers": "x"}}, {"metadata": {"ownerReferences": [{"kind": "X"}]}}, {"spec": "nope"},
    {"metadata": "nope"}, {"metadata": {"name": "renamed"}}, {"kind": "Service"},
])
def test_malformed_objects_are_rejected(api, patch):
    r = api("PATCH", "/api/v1/namespaces/shop/pods/web-1", patch, "application/merge-patch+json")
    assert r.status_code in (400, 422), r.text
    assert api.get("/api/v1/pods", labelSelector="app=web")["items"]
    _store_intact(api)
