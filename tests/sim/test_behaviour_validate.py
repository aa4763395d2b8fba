"""Every object of a built-in kind in the demo validates against the official 1.32 schemas
(kubernetes-validate, strict) and parses in the official python client's strict models,
also after a rollout, a selector patch and a pod deletion."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest
from kubernetes import client

from cockpit.sim.resources import RESOURCES
from cockpit.sim.store import encode

# Store key -> the client model class of its objects (Gateway API has no built-in schema).
MODELS = {
    "namespaces": "V1Namespace", "nodes": "V1Node", "pods": "V1Pod", "services": "V1Service",
    "endpoints": "V1Endpoints", "events": "CoreV1Event", "configmaps": "V1ConfigMap",
    "deployments": "V1Deployment", "replicasets": "V1ReplicaSet", "daemonsets": "V1DaemonSet",
    "endpointslices": "V1EndpointSlice", "events.events.k8s.io": "EventsV1Event",
    "poddisruptionbudgets": "V1PodDisruptionBudget", "leases": "V1Lease",
    "secrets": "V1Secret", "serviceaccounts": "V1ServiceAccount", "replicationcontrollers": "V1ReplicationController",
    "statefulsets": "V1StatefulSet", "jobs": "V1Job", "cronjobs": "V1CronJob", "roles": "V1Role",
    "rolebindings": "V1RoleBinding", "clusterroles": "V1ClusterRole", "clusterrolebindings": "V1ClusterRoleBinding",
    "apiservices": "V1APIService",
}


def snapshot(sim) -> dict[str, list[dict]]:
    """A JSON copy of every object, taken on the sim loop."""
    # The store's encoder: stored managedFields sets are pre-encoded JSON (msgspec.Raw).
    return sim.call(lambda: {key: json.loads(encode(sim.store.list(key))) for key in MODELS})


def _sample(key: str, items: list[dict]) -> list[dict]:
    """Events are many and alike: check one per (reason, kind) to keep the test fast."""
    if not key.startswith("events"):
        return items
    seen, out = set(), []
    for ev in items:
        ref = ev.get("involvedObject") or ev.get("regarding") or {}
        mark = (ev.get("reason"), ref.get("kind"))
        if mark not in seen:
            seen.add(mark)
            out.append(ev)
    return out


def problems(objects: dict[str, list[dict]]) -> list[str]:
    """Schema and client-model failures, one line each."""
    api = client.ApiClient()
    out = []
    for key, items in objects.items():
        for obj in _sample(key, items):
            name = f"{key} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
            try:
                kubernetes_validate.validate(obj, "1.32", strict=True)
            except kubernetes_validate.ValidationError as err:
                out.append(f"{name}: schema: {err.message} at {list(err.path)}")
            try:
                api.deserialize(json.dumps(obj), MODELS[key], "application/json")
            except Exception as err:  # pydantic ValidationError or ValueError
                out.append(f"{name}: client: {str(err)[:300]}")
    return out


def test_models_cover_every_builtin_kind():
    custom = {"gateway.networking.k8s.io", "argoproj.io"}  # CRD-based: no built-in schema or model
    assert set(MODELS) == {k for k, t in RESOURCES.items() if t.group not in custom and k != "ingresses"}


def test_demo_objects_validate(sim):
    objects = snapshot(sim)
    assert sum(len(v) for v in objects.values()) > 100
    assert problems(objects) == []


def test_objects_validate_after_rollout_patch_and_delete(sim, wait_for):
    store = sim.store

    def roll():
        def apply(d):
            d["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example/web:1.5.1"
        store.mutate("deployments", "shop", "web-green", apply)

        def patch(svc):
            svc["spec"]["selector"]["color"] = "green"
        store.mutate("services", "shop", "web", patch)
        pod = next(p for p in store.list("pods", "shop") if p["metadata"]["name"].startswith("web-blue"))
        sim.cluster.delete_pod(pod)

    sim.call(roll)

    def rolled():
        d = store.get("deployments", "shop", "web-green")
        st = d["status"]
        return st.get("updatedReplicas") == 3 and st.get("replicas") == 3 and st.get("availableReplicas") == 3 \
            and st.get("observedGeneration") == d["metadata"]["generation"]

    wait_for(lambda: sim.call(rolled), timeout=15)
    objects = snapshot(sim)
    assert problems(objects) == []


@pytest.mark.parametrize("kind", ["pods", "nodes", "deployments"])
def test_list_through_official_client(sim, kind):
    from kubernetes import config as kconfig

    api_client = kconfig.new_client_from_config(config_file=sim.kubeconfig)
    try:
        if kind == "pods":
            items = client.CoreV1Api(api_client).list_pod_for_all_namespaces().items
        elif kind == "nodes":
            items = client.CoreV1Api(api_client).list_node().items
        else:
            items = client.AppsV1Api(api_client).list_deployment_for_all_namespaces().items
    finally:
        api_client.close()
    assert items


def test_user_manifests_are_defaulted_like_a_real_server(sim, wait_for):
    """What `kubectl apply -f` of ordinary manifests leaves in the cluster validates too."""
    manifests = {
        "deployments": {"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": "hello", "namespace": "default"},
                        "spec": {"selector": {"matchLabels": {"app": "hello"}}, "template": {
                            "metadata": {"labels": {"app": "hello"}},
                            "spec": {"containers": [{"name": "hello", "image": "nginx",
                                                     "ports": [{"containerPort": 80}]}]}}}},
        "services": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hello", "namespace": "default"},
                     "spec": {"selector": {"app": "hello"}, "ports": [{"port": 80}]}},
        "configmaps": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hello", "namespace": "default"},
                       "data": {"a": "b"}},
        "poddisruptionbudgets": {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                 "metadata": {"name": "hello", "namespace": "default"},
                                 "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "hello"}}}},
        "daemonsets": {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
                       "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
                           "metadata": {"labels": {"app": "agent"}},
                           "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]}}}},
    }
    sim.call(lambda: [sim.store.create(kind, body) for kind, body in manifests.items()])
    d = sim.call(lambda: sim.store.get("deployments", "default", "hello"))
    assert d["spec"]["replicas"] == 1 and d["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%",
                                                                                     "maxUnavailable": "25%"}
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "Always" and c["terminationMessagePath"] == "/dev/termination-log"
    svc = sim.call(lambda: sim.store.get("services", "default", "hello"))
    assert svc["spec"]["ports"][0] == {"port": 80, "protocol": "TCP", "targetPort": 80}
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["clusterIP"].startswith("10.96.")

    def settled():
        pdb = sim.store.get("poddisruptionbudgets", "default", "hello")
        ds = sim.store.get("daemonsets", "default", "agent")
        return (pdb.get("status", {}).get("currentHealthy") == 1
                and ds["status"].get("numberReady") == 6)  # workers only: no control-plane toleration
    wait_for(lambda: sim.call(settled), timeout=10)
    objects = snapshot(sim)
    assert problems(objects) == []
