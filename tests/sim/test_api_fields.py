"""Server-side field validation with the real kubectl: Strict refuses unknown fields with the
apiserver's message, Warn sends Warning headers, Ignore is silent, and no mode stores them."""

from __future__ import annotations

import json

import requests

TYPO = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo, namespace: shop}
spec:
  replica: 3
  selector: {matchLabels: {app: typo}}
  template:
    metadata: {labels: {app: typo}}
    spec:
      containers: [{name: c, image: nginx:1.25, imagex: foo}]
"""
UNKNOWN = 'unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagex"'


def _manifest(tmp_path) -> str:
    path = tmp_path / "typo.yaml"
    path.write_text(TYPO)
    return str(path)


def test_strict_refuses_create_and_update(kubectl, tmp_path):
    manifest = _manifest(tmp_path)
    refused = kubectl("apply", "-f", manifest, check=False)
    assert refused.returncode == 1
    assert ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
            + UNKNOWN) in refused.stderr
    assert kubectl("get", "deploy", "typo", "-n", "shop", check=False).returncode == 1
    kubectl("apply", "-f", manifest, "--validate=false")
    replaced = kubectl("replace", "-f", manifest, check=False)
    assert "strict decoding error: " + UNKNOWN in replaced.stderr


def test_warn_creates_without_the_unknown_fields(kubectl, tmp_path):
    created = kubectl("apply", "-f", _manifest(tmp_path), "--validate=warn")
    assert 'Warning: unknown field "spec.replica"' in created.stderr
    assert 'Warning: unknown field "spec.template.spec.containers[0].imagex"' in created.stderr
    spec = json.loads(kubectl("get", "deploy", "typo", "-n", "shop", "-o", "json").stdout)["spec"]
    assert "replica" not in spec and spec["replicas"] == 1
    assert "imagex" not in spec["template"]["spec"]["containers"][0]


def test_ignore_is_silent(kubectl, tmp_path):
    created = kubectl("apply", "-f", _manifest(tmp_path), "--validate=false")
    assert "Warning" not in created.stderr


def test_patch_warns_by_default_and_strict_refuses(kubectl, sim):
    patched = kubectl("patch", "deploy", "web-blue", "-n", "shop", "--type", "merge", "-p",
                      '{"spec":{"replica":3}}')
    assert 'Warning: unknown field "spec.replica"' in patched.stderr and "(no change)" in patched.stdout
    r = requests.patch(sim.url + "/apis/apps/v1/namespaces/shop/deployments/web-blue",
                       params={"fieldValidation": "Strict"}, data='{"spec":{"replica":3}}', verify=sim.ca_file,
                       headers={"Authorization": f"Bearer {sim.token}",
                                "Content-Type": "application/merge-patch+json"}, timeout=10)
    assert (r.status_code, r.json()["message"]) == (400, 'strict decoding error: unknown field "spec.replica"')
    bad = requests.patch(r.url.replace("Strict", "Loud"), data="{}", verify=sim.ca_file, timeout=10,
                         headers={"Authorization": f"Bearer {sim.token}",
                                  "Content-Type": "application/merge-patch+json"})
    assert bad.status_code == 400


EVERYDAY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: everyday, namespace: shop}
spec:
  selector: {matchLabels: {app: everyday}}
  template:
    metadata: {labels: {app: everyday}}
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/os, operator: In, values: [linux]}]}]
      volumes: [{name: conf, configMap: {name: web-conf}}]
      containers:
      - name: c
        image: nginx:1.25
        securityContext:
          capabilities: {drop: [ALL]}
          seccompProfile: {type: RuntimeDefault}
        lifecycle: {preStop: {exec: {command: [sleep, "5"]}}}
        livenessProbe: {httpGet: {path: /healthz, port: 80}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: everyday, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: User, name: dana, apiGroup: rbac.authorization.k8s.io}]
"""


def test_everyday_fields_pass_strict_validation_and_are_kept(kubectl, tmp_path):
    """Fields named after their own type (roleRef, affinity, capabilities, lifecycle...) are plain
    fields, and the inline ones (a probe's httpGet, a configMap volume's name) sit in their parent:
    Strict accepts them all and nothing is dropped."""
    path = tmp_path / "everyday.yaml"
    path.write_text(EVERYDAY)
    applied = kubectl("apply", "-f", str(path))
    assert "Warning" not in applied.stderr, applied.stderr
    pod = json.loads(kubectl("get", "deploy", "everyday", "-n", "shop", "-o", "json").stdout)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"] == {"capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert pod["volumes"][0]["configMap"]["name"] == "web-conf"
    binding = json.loads(kubectl("get", "rolebinding", "everyday", "-n", "shop", "-o", "json").stdout)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
