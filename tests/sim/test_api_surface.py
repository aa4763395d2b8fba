"""The simulator's wider API surface, through the real kubectl (fresh --cache-dir) and HTTP:
health checks, whoami / can-i, the refused streaming subresources, OpenAPI v3 and metrics."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from tests.support.api import Api


def _pod(kubectl, namespace: str = "shop") -> str:
    return kubectl("get", "pods", "-n", namespace, "-o", "name").stdout.split()[0].removeprefix("pod/")


# ---------------------------------------------------------------------- health


def test_readyz_and_livez_verbose_list_their_checks(kubectl):
    ready = kubectl("get", "--raw", "/readyz?verbose").stdout.splitlines()
    assert ready[0] == "[+]ping ok" and "[+]etcd ok" in ready and "[+]informer-sync ok" in ready
    assert ready[-1] == "readyz check passed"
    live = kubectl("get", "--raw", "/livez?verbose&exclude=etcd").stdout.splitlines()
    assert "[+]etcd excluded: ok" in live and "[+]informer-sync ok" not in live
    assert live[-1] == "livez check passed"
    assert kubectl("get", "--raw", "/readyz/ping").stdout == "ok"
    assert kubectl("get", "--raw", "/healthz").stdout == "ok"


def test_health_is_public_and_unknown_checks_are_404(api_sim):
    url, ca = api_sim.url, api_sim.ca_file
    plain = requests.get(url + "/readyz", params={"verbose": ""}, verify=ca, timeout=5)
    assert plain.status_code == 200 and plain.text.endswith("readyz check passed\n")
    assert Api(api_sim)("GET", "/livez/no-such-check").status_code == 404


# ---------------------------------------------------------------------- who am I, what may I do


def test_whoami_and_can_i_for_the_admin(kubectl):
    whoami = kubectl("auth", "whoami").stdout
    assert "kubernetes-admin" in whoami and "system:masters" in whoami
    assert kubectl("auth", "can-i", "patch", "services").stdout.strip() == "yes"
    listing = kubectl("auth", "can-i", "--list", "-n", "shop").stdout.splitlines()
    assert listing[0].split()[:2] == ["Resources", "Non-Resource"]
    assert any(line.split()[:4] == ["*.*", "[]", "[]", "[*]"] for line in listing)
    assert any(line.startswith("selfsubjectrulesreviews.authorization.k8s.io") for line in listing)


def test_whoami_on_kubectl_1_27(kubectl, sim_factory):
    """kubectl 1.27 asks authentication.k8s.io v1beta1 (v1 came with 1.28)."""
    old = sim_factory(version="1.27.16")
    assert "kubernetes-admin" in kubectl("auth", "whoami", sim=old).stdout


def test_review_apis_in_discovery(api_sim):
    api = Api(api_sim)
    authz = {r["name"] for r in api.get("/apis/authorization.k8s.io/v1")["resources"]}
    assert {"selfsubjectaccessreviews", "selfsubjectrulesreviews"} <= authz
    authn = {r["name"] for r in api.get("/apis/authentication.k8s.io/v1")["resources"]}
    assert authn == {"selfsubjectreviews"}


def test_access_review_needs_attributes(api_sim):
    r = Api(api_sim)("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                     {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "spec": {}})
    assert r.status_code == 422 and r.json()["reason"] == "Invalid"


# ---------------------------------------------------------------------- exec, attach, port-forward, cp


def test_streaming_subresources_are_refused_clearly(kubectl, tmp_path):
    pod = _pod(kubectl)
    for args in (["exec", "-n", "shop", pod, "--", "ls"], ["attach", "-n", "shop", pod],
                 ["cp", f"shop/{pod}:/etc/hosts", str(tmp_path / "hosts")]):
        out = kubectl(*args, check=False)
        assert out.returncode != 0
        sub = "attach" if args[0] == "attach" else "exec"
        assert f"Error from server (BadRequest): pods/{sub} is not supported by the simulated cluster" in out.stderr
    forward = kubectl("port-forward", "-n", "shop", pod, "18080:80", check=False)
    assert forward.returncode != 0
    assert "pods/portforward is not supported by the simulated cluster" in forward.stderr
    missing = kubectl("exec", "-n", "shop", "no-such-pod", "--", "ls", check=False)
    assert 'Error from server (NotFound): pods "no-such-pod" not found' in missing.stderr


def test_streaming_subresources_in_discovery(api_sim):
    entries = {r["name"]: r for r in Api(api_sim).get("/api/v1")["resources"]}
    for sub, kind in (("exec", "PodExecOptions"), ("attach", "PodAttachOptions"),
                      ("portforward", "PodPortForwardOptions")):
        assert entries[f"pods/{sub}"]["kind"] == kind and "create" in entries[f"pods/{sub}"]["verbs"]


# ---------------------------------------------------------------------- metrics.k8s.io


def _cpu_m(text: str) -> float:
    return int(text.removesuffix("n")) / 1e6


def test_kubectl_top_nodes_and_pods_print_numbers(kubectl):
    nodes = kubectl("top", "nodes").stdout.splitlines()
    assert nodes[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    names = set(kubectl("get", "nodes", "-o", "name").stdout.replace("node/", "").split())
    assert {line.split()[0] for line in nodes[1:]} == names
    for line in nodes[1:]:
        _, cpu, cpu_pct, memory, memory_pct = line.split()
        assert cpu.endswith("m") and int(cpu[:-1]) > 0 and memory.endswith("Mi") and int(memory[:-2]) > 0
        assert cpu_pct.endswith("%") and memory_pct.endswith("%")
    pods = kubectl("top", "pods", "-n", "shop").stdout.splitlines()
    assert pods[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    running = kubectl("get", "pods", "-n", "shop", "--field-selector", "status.phase=Running", "-o", "name")
    assert {line.split()[0] for line in pods[1:]} == set(running.stdout.replace("pod/", "").split())


HUNGRY = """\
apiVersion: v1
kind: Pod
metadata: {name: hungry, namespace: shop}
spec:
  containers:
  - name: main
    image: nginx:1.27
    resources: {requests: {cpu: "1", memory: 1Gi}}
"""


def test_usage_follows_requests_and_adds_up_per_node(kubectl, sim, tmp_path, wait_for):
    manifest = tmp_path / "hungry.yaml"
    manifest.write_text(HUNGRY)
    kubectl("apply", "-f", str(manifest))
    api = Api(sim)
    wait_for(lambda: api.get("/api/v1/namespaces/shop/pods/hungry")["status"].get("phase") == "Running",
             what="pod hungry running")
    line = kubectl("top", "pod", "hungry", "-n", "shop").stdout.splitlines()[1].split()
    assert 200 <= int(line[1].removesuffix("m")) <= 900  # a 20-90 % share of the 1-CPU request
    assert 205 <= int(line[2].removesuffix("Mi")) <= 922
    hungry = api.get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/hungry")
    assert api.get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/hungry")["containers"] == \
        hungry["containers"]  # deterministic
    # Every node: its running pods plus the same system share (polled: the demo's pods churn
    # between the reads).
    wait_for(lambda: _system_shares(api) is not None, what="node usage = pods + one system share")


def _system_shares(api: Api) -> float | None:
    pods = api.get("/apis/metrics.k8s.io/v1beta1/pods")["items"]
    node_of = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in api.get("/api/v1/pods")["items"]}
    per_node: dict[str, float] = {}
    for p in pods:
        node = node_of.get(p["metadata"]["name"], "")
        per_node[node] = per_node.get(node, 0) + sum(_cpu_m(c["usage"]["cpu"]) for c in p["containers"])
    system = {round(_cpu_m(n["usage"]["cpu"]) - per_node.get(n["metadata"]["name"], 0), 3)
              for n in api.get("/apis/metrics.k8s.io/v1beta1/nodes")["items"]}
    return system.pop() if len(system) == 1 and min(system) > 0 else None


def test_metrics_api_service_is_registered(kubectl):
    """As on a cluster with metrics-server: an Available APIService backed by kube-system/metrics-server."""
    line = kubectl("get", "apiservice", "v1beta1.metrics.k8s.io").stdout.splitlines()[1].split()
    assert line[:3] == ["v1beta1.metrics.k8s.io", "kube-system/metrics-server", "True"]
    core_age = kubectl("get", "apiservice", "v1.").stdout.splitlines()[1].split()[-1]
    assert line[3] == core_age  # registered when the apiserver started, like the built-in ones
    assert kubectl("get", "apiservice", "v1.authentication.k8s.io").stdout.splitlines()[1].split()[1] == "Local"


def test_metrics_group_discovery_and_not_found(api_sim):
    api = Api(api_sim)
    assert "metrics.k8s.io" in {g["name"] for g in api.get("/apis")["groups"]}
    kinds = {r["name"]: r["kind"] for r in api.get("/apis/metrics.k8s.io/v1beta1")["resources"]}
    assert kinds == {"nodes": "NodeMetrics", "pods": "PodMetrics"}
    missing = api("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/nope")
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
    assert api("POST", "/apis/metrics.k8s.io/v1beta1/nodes", {}).status_code == 405


# ---------------------------------------------------------------------- OpenAPI v3


def test_kubectl_explain_field_and_kind(kubectl):
    field = kubectl("explain", "deployment.spec.replicas").stdout
    assert "FIELD: replicas <integer>" in field and "Number of desired pods" in field
    pods = kubectl("explain", "pods").stdout
    assert "KIND:       Pod" in pods and "spec\t<PodSpec>" in pods and "status\t<PodStatus>" in pods
    surge = kubectl("explain", "deployment.spec.strategy.rollingUpdate.maxSurge").stdout
    assert "FIELD: maxSurge <IntOrString>" in surge
    ports = kubectl("explain", "svc.spec.ports", "--recursive").stdout
    assert "port\t<integer> -required-" in ports
    assert "KIND:       HTTPRoute" in kubectl("explain", "httproutes").stdout  # a kind without a published schema


@pytest.mark.parametrize("version", ["1.27.16", "1.28.15", "1.29.14", "1.33.1"])
def test_explain_and_strict_validation_across_kubectl_versions(kubectl, sim_factory, tmp_path, version):
    """kubectl 1.29+ reads OpenAPI v3 for explain and for whether the server validates fields;
    1.27 and 1.28 read the protobuf OpenAPI v2 for both."""
    other = sim_factory(version=version)
    assert "FIELD: image <string>" in kubectl("explain", "pods.spec.containers.image", sim=other).stdout
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strict, namespace: default}\n"
                        "data: {a: b}\nbogus: 1\n")
    refused = kubectl("apply", "-f", str(manifest), sim=other, check=False)
    assert refused.returncode != 0 and 'unknown field "bogus"' in refused.stderr  # fieldValidation=Strict sent
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strict, namespace: default}\n"
                        "data: {a: b}\n")
    assert "configmap/strict created" in kubectl("apply", "-f", str(manifest), sim=other).stdout


def test_every_served_kind_has_its_schema(api_sim):
    api = Api(api_sim)
    paths = api.get("/openapi/v3")["paths"]
    for prefix, entry in paths.items():
        url = entry["serverRelativeURL"]
        assert "?hash=" in url and len(url.split("?hash=")[1]) == 128
        doc = api.get(url.split("?")[0])
        gvks = {(g["group"], g["version"], g["kind"]) for s in doc["components"]["schemas"].values()
                for g in s.get("x-kubernetes-group-version-kind") or ()}
        group_version = "v1" if prefix == "api/v1" else prefix.removeprefix("apis/")
        for r in api.get("/" + prefix)["resources"]:
            if "/" not in r["name"]:
                group, _, version = group_version.rpartition("/")
                assert (group, version, r["kind"]) in gvks, (prefix, r["kind"])
        assert _refs(doc) <= set(doc["components"]["schemas"])  # every $ref resolves in its document


def _refs(doc: dict) -> set[str]:
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                found.add(node["$ref"].removeprefix("#/components/schemas/"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(doc)
    return found


def test_schemas_follow_the_apiserver_shape(api_sim):
    schemas = Api(api_sim).get("/openapi/v3/apis/apps/v1")["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["properties"]["apiVersion"]["type"] == "string"
    assert "enum" not in deployment["properties"]["apiVersion"]  # kubernetes-validate's pin is not served
    spec_ref = {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}
    assert deployment["properties"]["spec"]["allOf"] == [spec_ref]
    assert schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["replicas"]["type"] == "integer"
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"  # what kubectl apply merges lists by


def test_documents_are_built_once_and_not_at_start_up(tmp_path):
    """A fresh simulator process has read no schema; a document is then built once and reused."""
    script = textwrap.dedent(f"""
        from cockpit.sim.api import openapi
        from cockpit.sim.runner import SimThread
        sim = SimThread({str(tmp_path)!r}, cluster_factory=__import__("tests.support.minimal_cluster",
                        fromlist=["MinimalCluster"]).MinimalCluster).start()
        try:
            print(openapi.definitions.cache_info().currsize, openapi._document.cache_info().currsize,
                  "cockpit.sim.api.openapi_v2" in sys.modules)
            first = openapi.document("apis/apps/v1")
            print(first is openapi.document("apis/apps/v1"), openapi.definitions.cache_info().currsize)
            from cockpit.sim.api import openapi_v2
            print(openapi_v2.document("1.28.15", True) is openapi_v2.document("1.28.15", True))
        finally:
            sim.stop()
    """)
    out = subprocess.run([sys.executable, "-c", "import sys\n" + script], capture_output=True, text=True,
                         timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["0", "0", "False", "True", "1", "True"], out.stderr


def test_openapi_v2_document(api_sim):
    """The swagger 2.0 form (JSON unless protobuf is asked for): definitions with their kinds, and
    the fieldValidation parameter on PATCH that kubectl 1.27/1.28 look for."""
    api = Api(api_sim)
    doc = api.get("/openapi/v2")
    assert doc["swagger"] == "2.0"
    deployment = doc["definitions"]["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment["properties"]["spec"]["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    surge = doc["definitions"]["io.k8s.api.apps.v1.RollingUpdateDeployment"]["properties"]["maxSurge"]
    assert surge["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"
    assert doc["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert {"name": "fieldValidation", "in": "query", "type": "string", "uniqueItems": True} in patch["parameters"]
    proto = api("GET", "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert proto.headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert proto.content.startswith(b"\n\x032.0")  # Document.swagger = "2.0", field 1
