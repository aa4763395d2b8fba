"""The demo scenario is complete and settled as soon as the simulator reports ready."""

from __future__ import annotations

import time

from cockpit.sim.objects import pod_is_ready


def test_demo_settles_fast_and_has_the_documented_shape(sim_factory):
    started = time.monotonic()
    sim = sim_factory(speed=20)
    assert time.monotonic() - started < 5

    def shape():
        store = sim.store
        deploys = {d["metadata"]["name"]: d for d in store.list("deployments", "shop")}
        pods = store.list("pods", "shop")
        return {
            "namespaces": sorted(n["metadata"]["name"] for n in store.list("namespaces")),
            "deployments": sorted(deploys),
            "ready": {name: (d["status"].get("readyReplicas"), d["spec"]["replicas"]) for name, d in deploys.items()},
            "stuck": [p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason")
                      for p in pods if "broken" in p["spec"]["containers"][0]["image"]],
            "web_selector": store.get("services", "shop", "web")["spec"]["selector"],
            "route": [(b["name"], b["weight"]) for b in
                      store.get("httproutes", "shop", "api")["spec"]["rules"][0]["backendRefs"]],
            "kubernetes_svc": store.get("services", "default", "kubernetes")["spec"]["clusterIP"],
            "kube_system": sorted({p["metadata"]["name"].rsplit("-", 1)[0] for p in store.list("pods", "kube-system")
                                   if pod_is_ready(p)}),
            "labels": {n: d["metadata"]["labels"] for n, d in deploys.items() if n.startswith("web-")},
        }

    s = sim.call(shape)
    assert s["namespaces"] == ["default", "kube-node-lease", "kube-public", "kube-system", "shop"]
    assert s["deployments"] == ["api-canary", "api-stable", "cart-canary", "cart-stable", "checkout", "web-blue",
                              "web-green"]
    assert s["ready"]["web-blue"] == (3, 3) and s["ready"]["web-green"] == (3, 3)
    assert s["ready"]["checkout"] == (3, 3)  # the old revision keeps serving
    assert s["stuck"] == ["ImagePullBackOff"]
    assert s["web_selector"] == {"app": "web", "color": "blue"}
    assert s["route"] == [("api-stable", 90), ("api-canary", 10)]
    assert s["kubernetes_svc"] == "10.96.0.1"
    for prefix in ("coredns-", "etcd-cp", "kube-apiserver-cp", "kube-controller-manager-cp", "kube-scheduler-cp",
                   "kube-proxy"):
        assert any(name.startswith(prefix) for name in s["kube_system"]), prefix
    assert s["labels"]["web-green"] == {"app": "web", "color": "green"}
    assert sim.cluster.version == "1.32.4"


def test_synthetic_cluster_is_consistent(sim_factory):
    sim = sim_factory(speed=20, nodes=20, pods_per_node=12)

    def summary():
        store = sim.store
        pods = store.list("pods")
        bad = [d["metadata"]["name"] for d in store.list("deployments")
               if d["status"].get("availableReplicas") != d["spec"]["replicas"]]
        per_node = {}
        for p in pods:
            per_node[p["spec"].get("nodeName")] = per_node.get(p["spec"].get("nodeName"), 0) + 1
        return len(store.list("nodes")), len(pods), bad, all(pod_is_ready(p) for p in pods), per_node

    nodes, pods, bad, ready, per_node = sim.call(summary)
    assert nodes == 20 and abs(pods - 20 * 12) <= 12
    assert bad == [] and ready
    assert None not in per_node and max(per_node.values()) <= 110
