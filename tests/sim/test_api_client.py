"""The official Python client (strict v37 models) against the demo scenario: list and watch every
kind, resume a cut watch without loss or duplication, 410 on a too-old resourceVersion, and
kubernetes-validate (strict) on every served built-in object."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


@pytest.fixture
def apis(sim):
    api_client = config.new_client_from_config(sim.kubeconfig)
    yield api_client
    api_client.close()


def _listers(c):
    core, apps = client.CoreV1Api(c), client.AppsV1Api(c)
    return {
        "namespaces": core.list_namespace, "nodes": core.list_node,
        "pods": core.list_pod_for_all_namespaces, "services": core.list_service_for_all_namespaces,
        "endpoints": core.list_endpoints_for_all_namespaces, "events": core.list_event_for_all_namespaces,
        "configmaps": core.list_config_map_for_all_namespaces,
        "deployments": apps.list_deployment_for_all_namespaces,
        "replicasets": apps.list_replica_set_for_all_namespaces,
        "daemonsets": apps.list_daemon_set_for_all_namespaces,
        "endpointslices": client.DiscoveryV1Api(c).list_endpoint_slice_for_all_namespaces,
        "events.events.k8s.io": client.EventsV1Api(c).list_event_for_all_namespaces,
        "poddisruptionbudgets": client.PolicyV1Api(c).list_pod_disruption_budget_for_all_namespaces,
        "leases": client.CoordinationV1Api(c).list_lease_for_all_namespaces,
        "ingresses": client.NetworkingV1Api(c).list_ingress_for_all_namespaces,
    }


def test_list_and_watch_every_kind(apis):
    failures: list[str] = []

    def check(kind, lister):
        try:
            listed = lister()
            names = {i.metadata.name for i in listed.items}
            seen = {e["object"].metadata.name for e in watch.Watch().stream(lister, timeout_seconds=1)}
            if not names <= seen:
                failures.append(f"{kind}: watch missed {names - seen}")
        except Exception as exc:  # collected and reported below
            failures.append(f"{kind}: {exc!r}")
    threads = [threading.Thread(target=check, args=item) for item in _listers(apis).items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failures, failures
    routes = client.CustomObjectsApi(apis).list_cluster_custom_object("gateway.networking.k8s.io", "v1", "httproutes")
    assert [r["metadata"]["name"] for r in routes["items"]] == ["api", "cart"]


def test_resumed_watch_sees_every_change_once(apis, sim, wait_for):
    core = client.CoreV1Api(apis)
    start_rv = core.list_namespaced_config_map("default").metadata.resource_version
    sim.call(sim.faults.set, "watch_cut_after", 0.3)
    names = [f"cm-{i}" for i in range(30)]
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def consume():
        w = watch.Watch()
        for event in w.stream(core.list_namespaced_config_map, "default", resource_version=start_rv):
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) >= len(names):
                w.stop()
        done.set()
    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    for name in names:
        core.create_namespaced_config_map("default", {"metadata": {"name": name}, "data": {"k": name}})
        threading.Event().wait(0.03)  # spread the writes over several cut streams
    wait_for(done.is_set, timeout=20)
    assert seen == [("ADDED", n) for n in names]


def test_too_old_resource_version_is_410(apis, sim):
    core = client.CoreV1Api(apis)
    sim.call(sim.faults.set, "force_410", True)
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(core.list_namespaced_pod, "shop", resource_version="1", timeout_seconds=2):
            pass
    assert err.value.status == 410


def test_served_objects_validate_strictly(apis, sim, kubectl, monkeypatch):
    import functools

    import kubernetes_validate
    import kubernetes_validate.utils as kv_utils
    # The package re-reads its (large) schema files on every call; cache them for this test.
    monkeypatch.setattr(kv_utils, "schema_contents", functools.lru_cache(maxsize=None)(kv_utils.schema_contents))
    kubectl("patch", "svc", "web", "-n", "shop", "-p", '{"spec":{"selector":{"color":"green"}}}')
    kubectl("rollout", "restart", "deploy/web-blue", "-n", "shop")
    kubectl("rollout", "status", "deploy/web-blue", "-n", "shop", "--timeout=60s", timeout=90)
    kubectl("drain", "worker-2", "--ignore-daemonsets", "--timeout=90s", timeout=120)
    version = sim.cluster.version.rsplit(".", 1)[0] + ".0"
    problems = []

    from cockpit.sim.resources import RESOURCES
    from cockpit.sim.store import decode, encode
    snapshot = sim.call(lambda: {k: decode(encode(sim.store.list(k))) for k, t in RESOURCES.items()
                                 if t.group != "gateway.networking.k8s.io"})
    for key, objects in snapshot.items():
        for obj in objects:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                problems.append(f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}: "
                                f"{exc.message}")
    assert not problems, "\n".join(problems[:20])


def test_typed_and_dynamic_calls(apis):
    from kubernetes.dynamic import DynamicClient
    core, apps = client.CoreV1Api(apis), client.AppsV1Api(apis)
    assert client.VersionApi(apis).get_code().git_version == "v1.32.4"
    assert apps.read_namespaced_deployment_scale("web-blue", "shop").spec.replicas == 3
    pod = core.list_namespaced_pod("shop", label_selector="app=web").items[0].metadata.name
    assert len(core.read_namespaced_pod_log(pod, "shop", tail_lines=2).splitlines()) == 2
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod, namespace="shop"))
    core.create_namespaced_pod_eviction(pod, "shop", eviction)
    assert core.read_namespaced_pod(pod, "shop").metadata.deletion_timestamp is not None
    assert apps.patch_namespaced_deployment_scale("web-blue", "shop", {"spec": {"replicas": 4}}).spec.replicas == 4
    assert core.read_node_status("cp-1").status.node_info.kubelet_version == "v1.32.4"
    routes = DynamicClient(apis).resources.get(api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute")
    assert [r.metadata.name for r in routes.get(namespace="shop").items] == ["api", "cart"]
