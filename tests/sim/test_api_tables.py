"""Table responses: ``includeObject`` decides what rows carry, which ``kubectl get --sort-by`` needs."""

from __future__ import annotations

import json

import requests

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def _rows(sim, path: str, **params) -> list[dict]:
    r = requests.get(sim.url + path, params=params, verify=sim.ca_file, timeout=10,
                     headers={"Authorization": f"Bearer {sim.token}", "Accept": TABLE})
    assert r.status_code == 200, r.text
    return r.json()["rows"]


def test_include_object_modes(api_sim):
    path = "/api/v1/namespaces/shop/pods"
    assert _rows(api_sim, path)[0]["object"]["kind"] == "PartialObjectMetadata"
    full = _rows(api_sim, path, includeObject="Object")[0]["object"]
    assert (full["kind"], full["apiVersion"]) == ("Pod", "v1") and "spec" in full
    assert "object" not in _rows(api_sim, path, includeObject="None")[0]
    bad = requests.get(api_sim.url + path, params={"includeObject": "All"}, verify=api_sim.ca_file, timeout=10,
                       headers={"Authorization": f"Bearer {api_sim.token}", "Accept": TABLE})
    assert bad.status_code == 400


def _names_in_order(output: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines()[1:] if line.strip()]


def test_kubectl_sort_by_reads_fields_from_the_rows(kubectl):
    pods = kubectl("get", "pods", "-A", "--sort-by=.status.startTime").stdout
    listed = json.loads(kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    expected = [p["metadata"]["name"] for p in sorted(listed, key=lambda p: p["status"].get("startTime") or "")]
    assert "No resources found" not in pods
    assert sorted(_names_in_order(pods)) == sorted(expected)
    starts = {p["metadata"]["name"]: p["status"].get("startTime") or "" for p in listed}
    order = [starts[n] for n in _names_in_order(pods)]
    assert order == sorted(order)
    events = kubectl("get", "events", "-A", "--sort-by=.lastTimestamp").stdout
    assert "No resources found" not in events and len(events.splitlines()) > 2
