"""Request bodies: what every kubectl on the machine sends for ``kubectl create`` (JSON up to 1.31,
protobuf from 1.32 on) and YAML bodies from other clients, all stored the same way."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import requests
import yaml

from cockpit.sim.api import proto_extract, protoschema
from cockpit.sim.api.protobody import decode_object

# The dispatcher runs kubectl 1.<minor> for the minor the server reports (see the reference).
KUBECTL_VERSIONS = ["1.27.16", "1.28.15", "1.29.14", "1.30.13", "1.31.9", "1.32.4", "1.33.1"]


def _client_minor(kubectl, sim) -> str:
    out = kubectl("version", "-o", "json", sim=sim).stdout
    return json.loads(out)["clientVersion"]["minor"]


def _is_dispatcher(kubectl, sim) -> bool:
    return "dispatcher" in kubectl("version", "--client", "-o", "json", sim=sim).stdout


def _create_everything(kubectl, sim) -> None:
    for args in (["deployment", "x", "--image=nginx:1.25", "--replicas=0", "--port=8080"],
                 ["configmap", "c", "--from-literal=a=b", "--from-literal=empty="],
                 ["namespace", "n"],
                 ["service", "clusterip", "s", "--tcp=80:8080"],
                 ["secret", "generic", "sec", "--from-literal=password=hunter2"],
                 ["job", "j", "--image=busybox", "--", "true"]):
        kubectl("create", *args, sim=sim)


def _check_created(kubectl, sim) -> None:
    def get(*args):
        return json.loads(kubectl("get", *args, "-o", "json", sim=sim).stdout)
    deploy = get("deployment", "x")
    assert deploy["spec"]["replicas"] == 0  # a zero that protobuf cannot tell from "unset"
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["ports"][0]["containerPort"]) == ("nginx:1.25", 8080)
    assert not deploy["metadata"]["creationTimestamp"].startswith("1970")
    assert get("configmap", "c")["data"] == {"a": "b", "empty": ""}
    assert get("namespace", "n")["status"]["phase"] == "Active"
    port = get("service", "s")["spec"]["ports"][0]
    assert (port["port"], port["targetPort"]) == (80, 8080)
    assert get("secret", "sec")["data"] == {"password": "aHVudGVyMg=="}
    assert get("job", "j")["spec"]["template"]["spec"]["containers"][0]["command"] == ["true"]


def test_kubectl_create_with_every_kubectl_version(kubectl, sim_factory):
    first = sim_factory(version=KUBECTL_VERSIONS[0])
    versions = KUBECTL_VERSIONS if _is_dispatcher(kubectl, first) else [KUBECTL_VERSIONS[0]]
    for version in versions:
        sim = first if version == KUBECTL_VERSIONS[0] else sim_factory(version=version)
        if len(versions) > 1:
            assert _client_minor(kubectl, sim) == version.split(".")[1]
        _create_everything(kubectl, sim)
        _check_created(kubectl, sim)


def test_protobuf_delete_options_are_honoured(kubectl, sim):
    """``--grace-period=0 --force`` reaches the server (as protobuf DeleteOptions from 1.32 on)."""
    pod = json.loads(kubectl("get", "pods", "-n", "shop", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    kubectl("delete", "pod", pod, "-n", "shop", "--grace-period=0", "--force", "--wait=false")
    assert kubectl("get", "pod", pod, "-n", "shop", check=False).returncode != 0


def _api(sim, method: str, path: str, body: bytes, ctype: str) -> requests.Response:
    return requests.request(method, sim.url + path, data=body, verify=sim.ca_file, timeout=10,
                            headers={"Authorization": f"Bearer {sim.token}", "Content-Type": ctype})


def test_yaml_bodies_for_create_and_update(api_sim):
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-yaml"}, "data": {"k": "v"}}
    created = _api(api_sim, "POST", "/api/v1/namespaces/shop/configmaps", yaml.safe_dump(manifest).encode(),
                   "application/yaml")
    assert created.status_code == 201, created.text
    manifest = {**manifest, "data": {"k": "w"}, "metadata": created.json()["metadata"]}
    updated = _api(api_sim, "PUT", "/api/v1/namespaces/shop/configmaps/from-yaml",
                   yaml.safe_dump(manifest).encode(), "application/yaml")
    assert updated.status_code == 200 and updated.json()["data"] == {"k": "w"}, updated.text


def test_unreadable_bodies_are_refused_not_stored(api_sim):
    bad_proto = _api(api_sim, "POST", "/api/v1/namespaces/shop/configmaps", b"k8s\x00\x0a\xff",
                     "application/vnd.kubernetes.protobuf")
    assert (bad_proto.status_code, bad_proto.json()["reason"]) == (400, "BadRequest")
    unknown = _api(api_sim, "POST", "/api/v1/namespaces/shop/configmaps", b"<cm/>", "application/xml")
    assert (unknown.status_code, unknown.json()["reason"]) == (415, "UnsupportedMediaType")


def test_decode_object_maps_the_wrapper_types():
    # Secret "s" in ns "d": data{k: b"\x00v"}, type Opaque; envelope apiVersion v1 kind Secret
    meta = b"\x0a\x01s\x1a\x01d"
    entry = b"\x0a\x01k\x12\x02\x00v"
    raw = b"\x0a" + bytes([len(meta)]) + meta + b"\x12" + bytes([len(entry)]) + entry + b"\x1a\x06Opaque"
    type_meta = b"\x0a\x02v1\x12\x06Secret"
    body = b"k8s\x00" + b"\x0a" + bytes([len(type_meta)]) + type_meta + b"\x12" + bytes([len(raw)]) + raw
    assert decode_object(body) == {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s", "namespace": "d"},
                                   "data": {"k": "AHY="}, "type": "Opaque"}


def _kubectl_binary() -> Path:
    exe = Path(os.path.realpath(shutil.which("kubectl") or Path(sys.executable).parent / "kubectl"))
    pinned = exe.with_name("kubectl.1.33")
    return pinned if pinned.exists() else exe


def test_committed_schema_agrees_with_kubectl():
    """Every field the decoder knows has the same number, name and type in kubectl's own descriptors
    (a newer kubectl may add fields; it must not change any)."""
    binary = _kubectl_binary()
    assert subprocess.run([str(binary), "version", "--client"], capture_output=True).returncode == 0
    current = proto_extract.schema(binary.read_bytes())
    for name, table in protoschema.MESSAGES.items():
        assert name in current, name
        for number, spec in table.items():
            assert current[name].get(number) == spec, (name, number)
