"""Status bodies and DELETE answers byte for byte as a real apiserver writes them."""

from __future__ import annotations

import json

import requests


def _call(sim, method: str, path: str, body: dict | None = None) -> requests.Response:
    return requests.request(method, sim.url + path, data=json.dumps(body) if body else None, verify=sim.ca_file,
                            headers={"Authorization": f"Bearer {sim.token}", "Content-Type": "application/json"},
                            timeout=10)


def test_not_found_body_is_byte_identical_to_the_apiserver(api_sim):
    r = _call(api_sim, "GET", "/api/v1/namespaces/shop/pods/nope")
    assert r.status_code == 404
    assert r.content == (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                         b'"message":"pods \\"nope\\" not found","reason":"NotFound",'
                         b'"details":{"name":"nope","kind":"pods"},"code":404}\n')


def test_group_kinds_name_their_group(api_sim):
    body = _call(api_sim, "GET", "/apis/apps/v1/namespaces/shop/deployments/nope").json()
    assert list(body) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


def test_delete_answers_status_for_most_kinds_and_the_object_for_pods_and_services(api_sim):
    cm = _call(api_sim, "POST", "/api/v1/namespaces/shop/configmaps",
               {"metadata": {"name": "gone"}, "data": {"a": "b"}}).json()
    r = _call(api_sim, "DELETE", "/api/v1/namespaces/shop/configmaps/gone")
    assert r.status_code == 200 and r.content.endswith(b"}\n")
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                        "details": {"name": "gone", "kind": "configmaps", "uid": cm["metadata"]["uid"]},
                        "code": 200}
    svc = _call(api_sim, "POST", "/api/v1/namespaces/shop/services",
                {"metadata": {"name": "tmp"}, "spec": {"ports": [{"port": 80}]}}).json()
    deleted = _call(api_sim, "DELETE", "/api/v1/namespaces/shop/services/tmp").json()
    assert (deleted["kind"], deleted["metadata"]["uid"]) == ("Service", svc["metadata"]["uid"])


def test_kubectl_reads_the_new_shapes(kubectl):
    missing = kubectl("get", "deploy", "nope", "-n", "shop", check=False)
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in missing.stderr
    kubectl("create", "configmap", "tmp", "-n", "shop", "--from-literal=a=b")
    assert 'configmap "tmp" deleted' in kubectl("delete", "configmap", "tmp", "-n", "shop").stdout
    assert 'deployment.apps "web-green" deleted' in kubectl("delete", "deploy", "web-green", "-n", "shop").stdout
