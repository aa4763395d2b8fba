"""Object shapes as a real cluster shows them: generateName (the real suffix alphabet, retried when
taken), controllers' pods named from generateName, and the ServiceAccount admission plugin's
projected token volume (``kube-api-access-xxxxx``) with its mount in every container."""

from __future__ import annotations

import json
import random
import re

import pytest

from cockpit.sim.store import ObjectStore

pytestmark = pytest.mark.timeout(180)
SUFFIX = "[bcdfghjklmnpqrstvwxz2456789]{5}"
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def adhoc_pod(**spec) -> str:
    """A pod manifest with generateName (two containers), as JSON for ``kubectl create -f -``."""
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "adhoc-"},
                       "spec": {"containers": [{"name": "a", "image": "nginx:1.25"},
                                               {"name": "b", "image": "busybox:1.36"}], **spec}})


def token_volumes(pod: dict) -> list[dict]:
    return [v for v in pod["spec"].get("volumes") or () if v["name"].startswith("kube-api-access-")]


def test_kubectl_create_with_generate_name_gets_a_real_suffix_and_the_token_volume(kubectl):
    out = kubectl("-n", "default", "create", "-f", "-", "-o", "json", input=adhoc_pod()).stdout
    pod = json.loads(out)
    assert re.fullmatch(f"adhoc-{SUFFIX}", pod["metadata"]["name"]) and pod["metadata"]["generateName"] == "adhoc-"
    [volume] = token_volumes(pod)
    assert re.fullmatch(f"kube-api-access-{SUFFIX}", volume["name"])
    sources = volume["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert volume["projected"]["defaultMode"] == 420
    for container in pod["spec"]["containers"]:
        assert {"name": volume["name"], "readOnly": True, "mountPath": MOUNT} in container["volumeMounts"]
    # Admission runs on create only: an update keeps the one volume.
    kubectl("label", "pod", pod["metadata"]["name"], "x=y")
    again = json.loads(kubectl("get", "pod", pod["metadata"]["name"], "-o", "json").stdout)
    assert token_volumes(again) == [volume]


def test_no_token_volume_when_the_pod_opts_out_or_mounts_its_own(kubectl):
    opted_out = json.loads(kubectl("create", "-f", "-", "-o", "json",
                                   input=adhoc_pod(automountServiceAccountToken=False)).stdout)
    assert token_volumes(opted_out) == [] and not opted_out["spec"]["containers"][0].get("volumeMounts")
    own = json.loads(adhoc_pod(volumes=[{"name": "creds", "emptyDir": {}}]))
    own["spec"]["containers"][0]["volumeMounts"] = [{"name": "creds", "mountPath": MOUNT}]
    made = json.loads(kubectl("create", "-f", "-", "-o", "json", input=json.dumps(own)).stdout)
    assert token_volumes(made) == []


def test_controller_pods_carry_generate_name_and_static_pods_do_not(kubectl, sim):
    pods = json.loads(kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    owned = [p for p in pods if p["metadata"].get("ownerReferences")
             and p["metadata"]["ownerReferences"][0]["kind"] in ("ReplicaSet", "DaemonSet")]
    assert len(owned) > 10
    for pod in owned:
        meta = pod["metadata"]
        assert re.fullmatch(re.escape(meta["generateName"]) + SUFFIX, meta["name"]), meta["name"]
        assert len(token_volumes(pod)) == 1
    mirrors = [p for p in pods if "kubernetes.io/config.mirror" in (p["metadata"].get("annotations") or {})]
    assert mirrors and all("generateName" not in p["metadata"] and not token_volumes(p) for p in mirrors)


def test_synthetic_pods_carry_generate_name_and_the_token_volume(kubectl, sim_factory):
    big = sim_factory(scenario="synthetic", nodes=12, pods_per_node=4)
    pods = json.loads(kubectl("get", "pods", "-A", "-o", "json", sim=big).stdout)["items"]
    apps = [p for p in pods if p["metadata"]["namespace"].startswith("team-")]
    proxies = [p for p in pods if p["metadata"].get("generateName") == "kube-proxy-"]
    assert apps and len(proxies) == 12
    for pod in apps + proxies:
        assert re.fullmatch(re.escape(pod["metadata"]["generateName"]) + SUFFIX, pod["metadata"]["name"])
        assert len(token_volumes(pod)) == 1


def test_a_generated_name_that_is_taken_is_retried():
    store = ObjectStore()
    store.create("namespaces", {"metadata": {"name": "default"}})
    random.seed(7)
    taken = "web-" + "".join(random.choices("bcdfghjklmnpqrstvwxz2456789", k=5))
    store.create("configmaps", {"metadata": {"name": taken, "namespace": "default"}})
    random.seed(7)  # the first candidate is the taken name
    made = store.create("configmaps", {"metadata": {"generateName": "web-", "namespace": "default"}})
    assert made["metadata"]["name"] != taken and made["metadata"]["name"].startswith("web-")
