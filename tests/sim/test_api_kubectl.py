"""Acceptance: the real kubectl (fresh --cache-dir) against the demo scenario."""

from __future__ import annotations

import json
import textwrap

import pytest

pytestmark = pytest.mark.kubectl


def _columns(output: str) -> list[str]:
    return output.splitlines()[0].split()


def _get_json(kubectl, *args) -> dict:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def test_get_nodes_and_pods_columns(kubectl):
    nodes = kubectl("get", "nodes").stdout
    assert _columns(nodes) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert "cp-1" in nodes and "control-plane" in nodes and "v1.32.4" in nodes
    pods = kubectl("get", "pods", "-A", "-o", "wide").stdout
    assert _columns(pods)[:8] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert "kube-system" in pods and "shop" in pods and "kube-proxy-" in pods
    assert "ImagePullBackOff" in pods or "ErrImagePull" in pods


def test_get_many_kinds(kubectl):
    out = kubectl("get", "deploy,rs,svc,ep,pdb,events,leases,httproutes", "-n", "shop").stdout
    for needle in ("deployment.apps/web-blue", "replicaset.apps/web-blue-", "service/web", "endpoints/web",
                   "poddisruptionbudget.policy/web", "httproute.gateway.networking.k8s.io/api"):
        assert needle in out, needle
    leases = kubectl("get", "leases", "-n", "kube-node-lease").stdout
    assert "worker-1" in leases
    assert "READY" in kubectl("get", "deploy", "-n", "shop").stdout.splitlines()[0]
    kubectl("get", "endpointslices,ds,cm,ns,ev", "-A")
    kubectl("get", "events.events.k8s.io", "-A")


def test_patch_service_strategic_and_merge(kubectl):
    out = kubectl("patch", "svc", "web", "-n", "shop", "-p", '{"spec":{"selector":{"color":"green"}}}').stdout
    assert "patched" in out
    assert _get_json(kubectl, "svc", "web", "-n", "shop")["spec"]["selector"] == {"app": "web", "color": "green"}
    again = kubectl("patch", "svc", "web", "-n", "shop", "-p", '{"spec":{"selector":{"color":"green"}}}').stdout
    assert "(no change)" in again
    kubectl("patch", "svc", "web", "-n", "shop", "--type", "merge", "-p", '{"spec":{"selector":{"app":null}}}')
    assert _get_json(kubectl, "svc", "web", "-n", "shop")["spec"]["selector"] == {"color": "green"}
    kubectl("patch", "svc", "web", "-n", "shop", "--type", "json",
            "-p", '[{"op":"replace","path":"/spec/selector/color","value":"blue"}]')
    assert _get_json(kubectl, "svc", "web", "-n", "shop")["spec"]["selector"] == {"color": "blue"}


MANIFEST = textwrap.dedent("""\
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: hello-config, namespace: default}
    data: {greeting: hi}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: hello, namespace: default, labels: {app: hello}}
    spec:
      replicas: 2
      selector: {matchLabels: {app: hello}}
      template:
        metadata: {labels: {app: hello}}
        spec:
          containers:
          - name: hello
            image: registry.example/hello:1.0
            ports: [{containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: hello, namespace: default}
    spec:
      selector: {app: hello}
      ports: [{port: 80, targetPort: 8080}]
    """)


def test_apply_create_and_delete_manifest(kubectl, tmp_path, wait_for):
    path = tmp_path / "hello.yaml"
    path.write_text(MANIFEST)
    out = kubectl("apply", "-f", str(path)).stdout
    assert "deployment.apps/hello created" in out and "service/hello created" in out
    assert "unchanged" in kubectl("apply", "-f", str(path)).stdout
    wait_for(lambda: "2/2" in kubectl("get", "deploy", "hello").stdout, timeout=20)
    out = kubectl("delete", "-f", str(path)).stdout
    assert 'deployment.apps "hello" deleted' in out
    assert kubectl("get", "deploy", "hello", check=False).returncode != 0
    out = kubectl("create", "-f", str(path)).stdout
    assert "configmap/hello-config created" in out


def test_get_watch_ends_with_request_timeout(kubectl):
    result = kubectl("get", "pods", "-n", "shop", "--watch", "--request-timeout=2s", check=False)
    assert "web-blue-" in result.stdout
    assert _columns(result.stdout)[:3] == ["NAME", "READY", "STATUS"]


def test_scale_and_set_image_and_rollout(kubectl, wait_for):
    assert "scaled" in kubectl("scale", "deploy", "web-green", "-n", "shop", "--replicas=4").stdout
    wait_for(lambda: _get_json(kubectl, "deploy", "web-green", "-n", "shop")["status"].get("readyReplicas") == 4,
             timeout=30)
    kubectl("set", "image", "deploy/web-green", "-n", "shop", "web=registry.example/web:1.6.0")
    out = kubectl("rollout", "status", "deploy/web-green", "-n", "shop", "--timeout=60s", timeout=90).stdout
    assert "successfully rolled out" in out
    images = {c["image"] for c in _get_json(kubectl, "deploy", "web-green", "-n", "shop")
              ["spec"]["template"]["spec"]["containers"]}
    assert images == {"registry.example/web:1.6.0"}


def test_rollout_undo_restart_pause_resume(kubectl):
    kubectl("rollout", "undo", "deploy/checkout", "-n", "shop")
    out = kubectl("rollout", "status", "deploy/checkout", "-n", "shop", "--timeout=60s", timeout=90).stdout
    assert "successfully rolled out" in out
    kubectl("rollout", "restart", "deploy/api-stable", "-n", "shop")
    out = kubectl("rollout", "status", "deploy/api-stable", "-n", "shop", "--timeout=60s", timeout=90).stdout
    assert "successfully rolled out" in out
    kubectl("rollout", "pause", "deploy/api-canary", "-n", "shop")
    assert _get_json(kubectl, "deploy", "api-canary", "-n", "shop")["spec"]["paused"] is True
    kubectl("rollout", "resume", "deploy/api-canary", "-n", "shop")
    assert "history" not in kubectl("rollout", "history", "deploy/checkout", "-n", "shop").stderr


def test_auth_can_i_and_describe(kubectl):
    assert kubectl("auth", "can-i", "delete", "pods", "-n", "shop").stdout.strip() == "yes"
    assert "Conditions:" in kubectl("describe", "node", "worker-1").stdout
    assert "Allowed disruptions" in kubectl("describe", "pdb", "web", "-n", "shop").stdout


def test_cordon_uncordon(kubectl):
    assert "cordoned" in kubectl("cordon", "worker-1").stdout
    assert "SchedulingDisabled" in kubectl("get", "node", "worker-1").stdout
    assert "already cordoned" in kubectl("cordon", "worker-1").stdout
    assert "uncordoned" in kubectl("uncordon", "worker-1").stdout
    assert "SchedulingDisabled" not in kubectl("get", "node", "worker-1").stdout


def test_drain_with_evictions(kubectl, sim):
    node = next(p["spec"]["nodeName"] for p in _get_json(kubectl, "pods", "-n", "shop", "-l", "app=web")["items"])
    result = kubectl("drain", node, "--ignore-daemonsets", "--timeout=90s", timeout=120)
    assert "evicted" in result.stdout and f"node/{node} drained" in result.stdout
    assert "eviction" in result.stdout or "evicting pod" in result.stdout
    left = _get_json(kubectl, "pods", "-A", "--field-selector", f"spec.nodeName={node}")["items"]
    owners = {(p["metadata"].get("ownerReferences") or [{}])[0].get("kind") for p in left}
    assert owners <= {"DaemonSet", "Node"}
    kubectl("uncordon", node)


def test_drain_reports_pdb_refusal_then_completes(kubectl, sim):
    sim.call(sim.faults.blocking_pdbs.add, "shop/web")
    node = next(p["spec"]["nodeName"] for p in _get_json(kubectl, "pods", "-n", "shop", "-l", "app=web")["items"])
    blocked = kubectl("drain", node, "--ignore-daemonsets", "--timeout=3s", check=False, timeout=60)
    assert blocked.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget" in blocked.stderr
    sim.call(sim.faults.blocking_pdbs.discard, "shop/web")
    kubectl("drain", node, "--ignore-daemonsets", "--timeout=90s", timeout=120)


def test_logs_and_graceful_delete(kubectl, sim, wait_for):
    pods = _get_json(kubectl, "pods", "-n", "shop", "-l", "app=checkout")["items"]
    running = next(p["metadata"]["name"] for p in pods if p["status"].get("phase") == "Running"
                   and all(c.get("ready") for c in p["status"].get("containerStatuses") or []))
    logs = kubectl("logs", "-n", "shop", running, "--tail=5").stdout.splitlines()
    assert len(logs) == 5 and all("INFO" in line or "FATAL" in line for line in logs)
    broken = next(p["metadata"]["name"] for p in pods if p["metadata"]["name"] != running
                  and "broken" in p["spec"]["containers"][0]["image"])
    waiting = kubectl("logs", "-n", "shop", broken, check=False)
    assert waiting.returncode != 0 and "waiting to start" in waiting.stderr
    out = kubectl("delete", "pod", "-n", "shop", running, "--timeout=60s", timeout=90).stdout
    assert f'pod "{running}" deleted' in out
    assert kubectl("get", "pod", "-n", "shop", running, check=False).returncode != 0


def test_watch_prints_changes(kubectl, sim):
    import subprocess
    import threading
    proc_result = {}

    def watch():
        proc_result["r"] = kubectl("get", "nodes", "--watch", "--request-timeout=4s", check=False, timeout=30)
    t = threading.Thread(target=watch)
    t.start()
    threading.Event().wait(1.5)  # let the watch start before the change (the watch ends by itself)
    kubectl("label", "node", "worker-3", "demo=watched")
    kubectl("cordon", "worker-3")
    t.join(30)
    lines = proc_result["r"].stdout.splitlines()
    assert any("worker-3" in line and "SchedulingDisabled" in line for line in lines), lines
    assert isinstance(proc_result["r"], subprocess.CompletedProcess)


@pytest.mark.parametrize("version", ["1.27.16", "1.29.3"])
def test_older_kubectl_via_dispatcher(kubectl, sim_factory, version):
    """The dispatcher picks kubectl 1.<minor> from /version; 1.27-1.29 only know v2beta1 discovery."""
    old = sim_factory(version=version)
    assert f"v{version}" in kubectl("get", "nodes", sim=old).stdout
    out = kubectl("drain", "worker-2", "--ignore-daemonsets", "--timeout=60s", sim=old, timeout=90).stdout
    assert "evicted" in out and "node/worker-2 drained" in out


def test_delete_with_orphan_cascade_keeps_replicasets(kubectl, wait_for):
    kubectl("delete", "deploy", "api-canary", "-n", "shop", "--cascade=orphan")
    rs = _get_json(kubectl, "rs", "-n", "shop", "-l", "app=api,track=canary")["items"]
    assert rs and all(not r["metadata"].get("ownerReferences") for r in rs)
    kubectl("delete", "deploy", "web-green", "-n", "shop")
    wait_for(lambda: not _get_json(kubectl, "rs", "-n", "shop", "-l", "color=green")["items"], timeout=20)
