"""Scenarios the simulated cluster can start with.

``demo``: 3 control-plane nodes and 6 workers on one version; kube-system (kube-proxy, coredns,
static control-plane pods); namespace ``shop`` with a blue/green pair behind Service ``web`` and a
PDB, a ``checkout`` Deployment whose latest rollout is stuck on a broken image, and two
HTTPRoutes splitting traffic 90/10 between a stable and a canary Service: the ``api`` canary
stays healthy at any weight; the ``cart`` canary serves at most 6 requests/s, so it is fine at
10% of its route's 40 requests/s and answers 503s once a shift gives it more (it goes bad
part-way through a shift). Request metrics: see :mod:`cockpit.sim.traffic`.

``synthetic`` (or any scenario with ``nodes``): N nodes and about N*M pods, for the scale work.
"""

from __future__ import annotations

import asyncio
import time

from cockpit.sim.controllers import system
from cockpit.sim.controllers.system import namespaces
from cockpit.sim.objects import pod_is_ready
from cockpit.sim.traffic_behaviour import CAPACITY_RPS
from cockpit.sim.traffic_flows import RATE

SEED_SPEED = 100.0  # the demo is seeded in fast-forward, then runs at the configured speed
SETTLE_TIMEOUT = 20.0  # real seconds

DEMO_CP = ["cp-1", "cp-2", "cp-3"]
DEMO_WORKERS = [(f"worker-{i}", "rhel" if i == 6 else "debian") for i in range(1, 7)]


async def seed(cluster) -> None:
    """Seed ``cluster.scenario`` and wait until it has settled."""
    if cluster.node_count is not None or cluster.scenario == "synthetic":
        from cockpit.sim.controllers.synthetic import seed_synthetic

        await seed_synthetic(cluster, cluster.node_count or 10, cluster.pods_per_node or 30)
    elif cluster.scenario == "demo":
        await seed_demo(cluster)
    elif cluster.scenario == "empty":
        namespaces(cluster)
        system.system_layer(cluster, DEMO_CP[:1], [("worker-1", "debian")])
    else:
        raise ValueError(f"unknown scenario {cluster.scenario!r} (known: demo, synthetic, empty)")


async def settle(cluster, predicate, timeout: float = SETTLE_TIMEOUT) -> bool:
    """Poll ``predicate()`` on the loop until true or ``timeout`` real seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


# ---------------------------------------------------------------------- demo


async def seed_demo(cluster) -> None:
    """The demo cluster (see the module docstring); returns once it is settled."""
    cluster.seed_age_days = 87
    with cluster.clock.fast_forward(SEED_SPEED):
        namespaces(cluster, ("shop",))
        system.system_layer(cluster, DEMO_CP, DEMO_WORKERS)
        cluster.seed_age_days = 12  # what the controllers create while seeding: the last restart
        shop(cluster)
        names = ["web-blue", "web-green", "checkout", "api-stable", "api-canary", "cart-stable", "cart-canary"]
        await settle(cluster, lambda: all(rolled_out(cluster, "shop", n) for n in names)
                     and rolled_out(cluster, "kube-system", "coredns") and daemons_ready(cluster))
        cluster.seed_age_days = 0
        set_image(cluster, "shop", "checkout", "registry.example/checkout:2.4.0-broken")
        await settle(cluster, lambda: checkout_stuck(cluster))


def rolled_out(cluster, ns: str, name: str) -> bool:
    """The Deployment's rollout is complete (as ``kubectl rollout status`` judges it)."""
    d = cluster.store.get("deployments", ns, name)
    if d is None:
        return False
    st, want = d.get("status") or {}, d["spec"].get("replicas", 1)
    return (st.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
            and st.get("updatedReplicas", 0) == want and st.get("replicas", 0) == want
            and st.get("availableReplicas", 0) == want)


def daemons_ready(cluster) -> bool:
    """kube-proxy runs ready on every node and every mirror pod is ready."""
    ds = cluster.store.get("daemonsets", "kube-system", "kube-proxy")
    if ds is None:
        return False
    st = ds.get("status") or {}
    if not (st.get("desiredNumberScheduled") and st.get("numberReady") == st["desiredNumberScheduled"]):
        return False
    mirrors = [p for p in cluster.store.list("pods", "kube-system") if p["metadata"]["name"].startswith("etcd-")]
    return len(mirrors) == len(DEMO_CP) and all(pod_is_ready(p) for p in mirrors)


def checkout_stuck(cluster) -> bool:
    """A checkout pod of the broken revision sits in ImagePullBackOff."""
    for pod in cluster.store.list("pods", "shop"):
        if not pod["metadata"]["name"].startswith("checkout-"):
            continue
        for cs in (pod.get("status") or {}).get("containerStatuses") or ():
            if ((cs.get("state") or {}).get("waiting") or {}).get("reason") == "ImagePullBackOff":
                return True
    return False


def set_image(cluster, ns: str, name: str, image: str) -> None:
    """``kubectl set image`` on the first container of a Deployment."""
    def apply(d: dict) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image

    cluster.store.mutate("deployments", ns, name, apply)


def deployment(name: str, ns: str, labels: dict, image: str, replicas: int, port: int = 8080,
               **spec_extra) -> dict:
    """An ordinary application Deployment manifest (as a user would apply it)."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, **spec_extra,
                 "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{
                     "name": labels.get("app", name), "image": image,
                     "ports": [{"containerPort": port, "name": "http"}],
                     "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}}}]}}},
    }


def service(name: str, ns: str, selector: dict, labels: dict | None = None) -> dict:
    """A ClusterIP Service on port 80 -> 8080."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels or selector)},
            "spec": {"selector": dict(selector),
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


def shop(cluster) -> None:
    """Namespace ``shop``: web blue/green, checkout, api stable/canary with an HTTPRoute."""
    def create(resource: str, obj: dict) -> dict:
        return cluster.store.create(resource, system.aged(cluster, obj, days=12))
    for color, image in (("blue", "registry.example/web:1.4.0"), ("green", "registry.example/web:1.5.0")):
        create("deployments", deployment(f"web-{color}", "shop", {"app": "web", "color": color}, image, 3))
    create("services", service("web", "shop", {"app": "web", "color": "blue"}, {"app": "web"}))
    create("poddisruptionbudgets", {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        # maxUnavailable 1 over both colours: a drain evicts one web pod at a time and retries
        # (429) until its replacement is Ready, then completes.
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    create("deployments", deployment("checkout", "shop", {"app": "checkout"},
                                     "registry.example/checkout:2.3.1", 3, progressDeadlineSeconds=60))
    create("services", service("checkout", "shop", {"app": "checkout"}))
    canary_pair(create, "api", ("registry.example/api:3.1.0", 3), ("registry.example/api:3.2.0-rc.1", 1))
    canary_pair(create, "cart", ("registry.example/cart:5.0.0", 2), ("registry.example/cart:5.1.0-rc.1", 1),
                canary_annotations={CAPACITY_RPS: "6"})
    create("httproutes", http_route())
    create("httproutes", http_route("cart"))


def canary_pair(create, app: str, stable: tuple[str, int], canary: tuple[str, int],
                canary_annotations: dict | None = None) -> None:
    """Deployments and Services ``<app>-stable`` and ``<app>-canary`` (label ``track``)."""
    for track, (image, replicas) in (("stable", stable), ("canary", canary)):
        labels = {"app": app, "track": track}
        manifest = deployment(f"{app}-{track}", "shop", labels, image, replicas)
        if track == "canary" and canary_annotations:
            manifest["spec"]["template"]["metadata"]["annotations"] = dict(canary_annotations)
        create("deployments", manifest)
        create("services", service(f"{app}-{track}", "shop", labels))


def http_route(app: str = "api", requests_per_second: int = 40) -> dict:
    """HTTPRoute shop/<app>: 90/10 between <app>-stable and <app>-canary."""
    parent = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "shop-gateway",
              "namespace": "shop"}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": app, "namespace": "shop", "labels": {"app": app},
                     "annotations": {RATE: str(requests_per_second)}},
        "spec": {"parentRefs": [dict(parent)], "hostnames": [f"{app}.shop.example"], "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [{"name": f"{app}-stable", "port": 80, "weight": 90},
                            {"name": f"{app}-canary", "port": 80, "weight": 10}]}]},
        "status": {"parents": [{"parentRef": dict(parent), "controllerName": "example.net/gateway-controller",
                                "conditions": [
                                    _route_cond("Accepted", "Accepted"), _route_cond("ResolvedRefs", "ResolvedRefs")]}]},
    }


def _route_cond(ctype: str, reason: str) -> dict:
    import datetime

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": ctype, "status": "True", "reason": reason, "message": "", "observedGeneration": 1,
            "lastTransitionTime": now}
