"""Namespace deletion as a real control plane does it, seen through the real kubectl."""

from __future__ import annotations

import json


def _get(kubectl, *args) -> dict | None:
    result = kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


HELD = """\
apiVersion: v1
kind: Pod
metadata: {name: slow, namespace: doomed}
spec:
  terminationGracePeriodSeconds: 3600
  containers: [{name: app, image: registry.example/app:1.0}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: held, namespace: doomed, finalizers: [example.com/hold]}
data: {a: b}
"""


def test_delete_namespace_terminates_then_empties_then_goes(kubectl, wait_for, tmp_path):
    kubectl("create", "namespace", "doomed")
    kubectl("create", "configmap", "plain", "-n", "doomed", "--from-literal=a=b")
    (tmp_path / "held.yaml").write_text(HELD)
    kubectl("apply", "-f", str(tmp_path / "held.yaml"))
    wait_for(lambda: (_get(kubectl, "pod", "slow", "-n", "doomed") or {}).get("spec", {}).get("nodeName"),
             what="pod scheduled")
    assert 'namespace "doomed" deleted' in kubectl("delete", "namespace", "doomed", "--wait=false").stdout
    ns = _get(kubectl, "namespace", "doomed")
    assert ns["status"]["phase"] == "Terminating" and ns["metadata"]["deletionTimestamp"]
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    refused = kubectl("create", "configmap", "late", "-n", "doomed", "--from-literal=a=b", check=False)
    assert ('configmaps "late" is forbidden: unable to create new content in namespace doomed because it is '
            "being terminated") in refused.stderr
    again = kubectl("delete", "namespace", "doomed", "--wait=false", check=False)
    assert "The system is ensuring all content is removed from this namespace" in again.stderr
    wait_for(lambda: _get(kubectl, "configmap", "plain", "-n", "doomed") is None, what="plain content deleted")
    assert _get(kubectl, "pod", "slow", "-n", "doomed")["metadata"]["deletionGracePeriodSeconds"] == 3600
    assert _get(kubectl, "configmap", "held", "-n", "doomed")["metadata"]["deletionTimestamp"]
    wait_for(lambda: "NamespaceContentRemaining" in json.dumps(_get(kubectl, "namespace", "doomed")),
             what="remaining content reported")
    kubectl("delete", "pod", "slow", "-n", "doomed", "--grace-period=0", "--force")
    kubectl("patch", "configmap", "held", "-n", "doomed", "--type", "json",
            "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    wait_for(lambda: _get(kubectl, "namespace", "doomed") is None, what="namespace gone")


def test_kubectl_delete_waits_for_the_namespace(kubectl):
    kubectl("create", "namespace", "brief")
    kubectl("create", "configmap", "c", "-n", "brief", "--from-literal=a=b")
    kubectl("delete", "namespace", "brief", "--timeout=60s", timeout=90)
    assert kubectl("get", "namespace", "brief", check=False).returncode != 0


def test_system_namespaces_may_not_be_deleted(kubectl):
    refused = kubectl("delete", "namespace", "kube-system", check=False)
    assert 'namespaces "kube-system" is forbidden: this namespace may not be deleted' in refused.stderr


MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata: {name: stack}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: stack}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: stack}
spec:
  replicas: 0
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: app, image: registry.example/app:1.0}]}
"""


def test_delete_f_of_a_manifest_that_starts_with_its_namespace(kubectl, sim_factory, tmp_path, wait_for):
    """The namespace controller waits 5 simulated seconds (1 s here) before emptying, as the real one does."""
    sim = sim_factory(speed=5)
    (tmp_path / "stack.yaml").write_text(MANIFEST)
    kubectl("apply", "-f", str(tmp_path / "stack.yaml"), sim=sim)
    out = kubectl("delete", "-f", str(tmp_path / "stack.yaml"), "--wait=false", sim=sim).stdout
    for line in ('namespace "stack" deleted', 'configmap "settings" deleted', 'deployment.apps "app" deleted'):
        assert line in out
    wait_for(lambda: kubectl("get", "namespace", "stack", sim=sim, check=False).returncode != 0,
             what="namespace gone")
