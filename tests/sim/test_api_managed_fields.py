"""metadata.managedFields on every write, as the real kubectl and the official client see them:
the request's fieldManager (else the User-Agent's first component), operation, apiVersion, time,
FieldsV1 sets that move between managers, and the controllers' own manager names."""

from __future__ import annotations

import json
import re

import pytest
from kubernetes import client, config

pytestmark = pytest.mark.timeout(120)
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "mf", "namespace": "default"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "mf"}},
                       "template": {"metadata": {"labels": {"app": "mf"}},
                                    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}}


def managed(kubectl, *args) -> list[dict]:
    """The object's managedFields (kubectl hides them unless asked)."""
    obj = json.loads(kubectl("get", *args, "-o", "json", "--show-managed-fields").stdout)
    return obj["metadata"]["managedFields"]


def entry(entries: list[dict], manager: str, subresource: str | None = None) -> dict:
    """The one entry of ``manager`` (with ``subresource``)."""
    [found] = [e for e in entries if e["manager"] == manager and e.get("subresource") == subresource]
    return found


def test_kubectl_writes_carry_their_field_managers(kubectl):
    kubectl("create", "-f", "-", input=json.dumps(DEPLOYMENT))
    created = entry(managed(kubectl, "deployment", "mf"), "kubectl-create")
    assert created["operation"] == "Update" and created["apiVersion"] == "apps/v1"
    assert created["fieldsType"] == "FieldsV1" and TIME.match(created["time"])
    spec = created["fieldsV1"]["f:spec"]
    assert "f:replicas" in spec and 'k:{"name":"web"}' in spec["f:template"]["f:spec"]["f:containers"]
    assert "f:status" not in created["fieldsV1"]  # status is not the creator's

    kubectl("scale", "deployment", "mf", "--replicas=3")
    entries = managed(kubectl, "deployment", "mf")
    scaled = entry(entries, "kubectl", "scale")  # kubectl scale names no manager: its User-Agent's "kubectl"
    assert scaled["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in entry(entries, "kubectl-create")["fieldsV1"]["f:spec"]  # the field moved

    kubectl("label", "deployment", "mf", "tier=front")
    labelled = entry(managed(kubectl, "deployment", "mf"), "kubectl-label")
    assert labelled["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}


def test_controllers_write_under_their_own_names(kubectl):
    pods = json.loads(kubectl("-n", "shop", "get", "pods", "-l", "app=web", "-o", "json",
                              "--show-managed-fields").stdout)["items"]
    entries = pods[0]["metadata"]["managedFields"]
    assert entry(entries, "kube-controller-manager")["operation"] == "Update"  # the ReplicaSet created it
    assert "f:nodeName" in entry(entries, "kube-scheduler")["fieldsV1"]["f:spec"]
    kubelet = entry(entries, "kubelet", "status")
    assert {"f:podIP", "f:containerStatuses", "f:phase"} <= set(kubelet["fieldsV1"]["f:status"])
    node = managed(kubectl, "node", "worker-1")
    assert any(e["manager"] == "kubelet" for e in node)
    assert entry(managed(kubectl, "-n", "shop", "deployment", "web-blue"), "kube-controller-manager",
                 "status")["fieldsV1"]["f:status"]


@pytest.fixture
def core(sim):
    api_client = config.new_client_from_config(sim.kubeconfig)
    yield client.CoreV1Api(api_client)
    api_client.close()


def test_without_field_manager_the_user_agent_names_the_manager(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "ua"}, "data": {"a": "1"}})
    made = core.read_namespaced_config_map("ua", "default").metadata.managed_fields
    assert [m.manager for m in made] == ["OpenAPI-Generator"]  # "OpenAPI-Generator/37.0.2/python"
    core.patch_namespaced_config_map("ua", "default", {"data": {"b": "2"}}, field_manager="my-tool")
    entries = core.read_namespaced_config_map("ua", "default").metadata.managed_fields
    mine = next(m for m in entries if m.manager == "my-tool")
    assert mine.operation == "Update" and mine.fields_v1 == {"f:data": {"f:b": {}}}


def test_a_removed_field_leaves_every_set_and_a_no_op_patch_changes_nothing(kubectl):
    kubectl("create", "configmap", "gone", "--from-literal=a=1", "--from-literal=b=2")
    kubectl("patch", "configmap", "gone", "--type", "merge", "-p", '{"data":{"b":null}}')
    entries = managed(kubectl, "configmap", "gone")
    assert entry(entries, "kubectl-create")["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}}
    before = json.loads(kubectl("get", "configmap", "gone", "-o", "json").stdout)["metadata"]["resourceVersion"]
    out = kubectl("patch", "configmap", "gone", "--type", "merge", "-p", '{"data":{"a":"1"}}').stdout
    assert "(no change)" in out
    after = json.loads(kubectl("get", "configmap", "gone", "-o", "json").stdout)["metadata"]["resourceVersion"]
    assert before == after


def test_kubectl_replace_of_what_it_read_keeps_the_managed_fields(kubectl, tmp_path):
    kubectl("create", "configmap", "kept", "--from-literal=a=1")
    obj = json.loads(kubectl("get", "configmap", "kept", "-o", "json", "--show-managed-fields").stdout)
    obj["data"]["a"] = "2"
    kubectl("replace", "-f", "-", input=json.dumps(obj))
    entries = managed(kubectl, "configmap", "kept")
    assert entry(entries, "kubectl-replace")["fieldsV1"] == {"f:data": {"f:a": {}}}
    assert entry(entries, "kubectl-create")["fieldsV1"] == {"f:data": {".": {}}}
