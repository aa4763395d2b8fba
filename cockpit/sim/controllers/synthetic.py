"""The synthetic scale scenario: N nodes and about N*M pods, seeded in bulk.

Deployments, their ReplicaSets and Running/Ready pods are written directly in a consistent
state (no per-pod start-up churn and no events); the controllers then adopt them as they are.
"""

from __future__ import annotations

import time

from cockpit.sim.controllers import system
from cockpit.sim.controllers.daemonset import daemon_pod
from cockpit.sim.controllers.podstatus import StatusBuilder
from cockpit.sim.objects import DESIRED_REPLICAS, MAX_REPLICAS, REVISION, TEMPLATE_HASH, new_uid, owner_ref
from cockpit.sim.objects import template_hash

REPLICAS = 30  # pods per synthetic Deployment
DEPLOYMENTS_PER_NAMESPACE = 100
SERVICE_EVERY = 5  # one Service (with Endpoints and an EndpointSlice) per N Deployments


async def seed_synthetic(cluster, nodes: int, pods_per_node: int) -> None:
    """Seed the synthetic cluster and wait until the controllers have adopted it."""
    from cockpit.sim.controllers import idle
    from cockpit.sim.scenarios import SEED_SPEED, rolled_out, settle

    started = time.monotonic()
    cluster.events.enabled = False
    try:
        cp, workers = _node_names(nodes)
        app_pods = max(0, nodes * pods_per_node - nodes - 4 * len(cp) - 2)
        plan = _plan(app_pods)
        namespaces = sorted({ns for ns, _, _ in plan})
        system.namespaces(cluster, tuple(namespaces))
        system.system_layer(cluster, cp, workers)
        _raise_capacity(cluster, [w for w, _ in workers], pods_per_node)
        seeder = _Seeder(cluster, [w for w, _ in workers] or cp)
        seeder.daemon_pods()
        for ns, name, replicas in plan:
            seeder.deployment(ns, name, replicas)
        seeder.services(plan)
    finally:
        cluster.events.enabled = True
    with cluster.clock.fast_forward(SEED_SPEED):  # coredns and the static pods start the normal way
        await settle(cluster, lambda: idle(cluster) and rolled_out(cluster, "kube-system", "coredns")
                     and _static_pods_ready(cluster, cp), timeout=600)
    cluster.seed_seconds = time.monotonic() - started


def _static_pods_ready(cluster, cp: list[str]) -> bool:
    from cockpit.sim.objects import pod_is_ready

    for node in cp:
        for component in system.STATIC_COMPONENTS:
            pod = cluster.store.get("pods", "kube-system", f"{component}-{node}")
            if pod is None or not pod_is_ready(pod):
                return False
    return True


def _node_names(nodes: int) -> tuple[list[str], list[tuple[str, str]]]:
    cp_count = 1 if nodes < 10 else 3
    cp = [f"cp-{i}" for i in range(1, cp_count + 1)]
    workers = [(f"worker-{i:05d}", "rhel" if i % 10 == 0 else "debian")
               for i in range(1, max(1, nodes - cp_count) + 1)]
    return cp, workers


def _plan(app_pods: int) -> list[tuple[str, str, int]]:
    """(namespace, deployment, replicas) covering ``app_pods`` pods."""
    plan, left, k = [], app_pods, 0
    count = -(-app_pods // REPLICAS) if app_pods else 0
    namespaces = max(1, -(-count // DEPLOYMENTS_PER_NAMESPACE))
    while left > 0:
        replicas = min(REPLICAS, left)
        plan.append((f"team-{k % namespaces:03d}", f"app-{k:05d}", replicas))
        left -= replicas
        k += 1
    return plan


def _raise_capacity(cluster, workers: list[str], pods_per_node: int) -> None:
    capacity = str(max(110, pods_per_node + 10))
    if capacity == "110":
        return

    def apply(node: dict) -> None:
        node["status"]["capacity"]["pods"] = capacity
        node["status"]["allocatable"]["pods"] = capacity

    for name in workers:
        cluster.store.mutate("nodes", None, name, apply)


class _Seeder:
    """Writes ready-made workloads; pods are spread round-robin over the workers."""

    def __init__(self, cluster, workers: list[str]) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.workers = workers
        self.next_worker = 0
        self.build = StatusBuilder(cluster)

    def _ready(self, pod: dict) -> dict:
        pod["metadata"]["uid"] = new_uid()
        self.build.apply(pod, "ready", 0)
        return self.store.create("pods", pod)

    def daemon_pods(self) -> None:
        """One ready kube-proxy pod per node."""
        ds = self.store.get("daemonsets", "kube-system", "kube-proxy")
        revision = template_hash(ds["spec"]["template"])
        for name in self.cluster.runtimes:
            self._ready(daemon_pod(ds, name, revision))  # named from generateName, as the real controller's

    def deployment(self, ns: str, name: str, replicas: int) -> None:
        """A rolled-out Deployment with its ReplicaSet and ready pods."""
        labels = {"app": name}
        d = self.store.create("deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels),
                         "annotations": {REVISION: "1"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": "app", "image": f"registry.example/{name}:1.0.0",
                                         "ports": [{"containerPort": 8080, "name": "http"}]}]}}}})
        h = template_hash(d["spec"]["template"])
        rs = self.store.create("replicasets", self._replicaset(d, h, replicas))
        template = rs["spec"]["template"]
        refs = [owner_ref(rs)]
        base = None
        for suffix in _unique_suffixes(replicas):
            node = self.workers[self.next_worker % len(self.workers)]
            self.next_worker += 1
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": f"{rs['metadata']['name']}-{suffix}",
                                "generateName": f"{rs['metadata']['name']}-", "namespace": ns,
                                "labels": template["metadata"]["labels"], "ownerReferences": refs,
                                "uid": new_uid()},
                   "spec": {**template["spec"], "nodeName": node}}
            if base is None:
                self.build.apply(pod, "ready", 0)
                base = pod["status"]
            else:
                # store.create copies the object, so pods may share the unchanged parts of a status.
                pod["status"] = self._status_like(base, node, pod["metadata"]["uid"])
            self.store.create("pods", pod)

    def _status_like(self, base: dict, node: str, uid: str) -> dict:
        host_ip, pod_ip = self.cluster.node_ip(node), self.cluster.alloc_pod_ip(node)
        cs = dict(base["containerStatuses"][0])
        cs["containerID"] = "containerd://" + uid.replace("-", "") * 2
        return {**base, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": pod_ip,
                "podIPs": [{"ip": pod_ip}], "containerStatuses": [cs]}

    def _replicaset(self, d: dict, h: str, replicas: int) -> dict:
        labels = {**d["spec"]["template"]["metadata"]["labels"], TEMPLATE_HASH: h}
        return {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{d['metadata']['name']}-{h}", "namespace": d["metadata"]["namespace"],
                         "labels": dict(labels), "ownerReferences": [owner_ref(d)],
                         "annotations": {REVISION: "1", DESIRED_REPLICAS: str(replicas),
                                         MAX_REPLICAS: str(replicas + -(-replicas // 4))}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": d["spec"]["template"]["spec"]}},
            "status": {"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                       "availableReplicas": replicas, "observedGeneration": 1},
        }

    def services(self, plan: list[tuple[str, str, int]]) -> None:
        """A Service for every SERVICE_EVERY-th Deployment (the endpoints controller fills them)."""
        for i, (ns, name, _) in enumerate(plan):
            if i % SERVICE_EVERY == 0:
                self.store.create("services", {
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                    "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})


def _unique_suffixes(count: int) -> set[str]:
    """``count`` distinct random name suffixes: at 150,000 pods, duplicates within one ReplicaSet
    would otherwise happen (a birthday collision) and fail the seeding with AlreadyExists."""
    from cockpit.sim.objects import rand_suffix

    suffixes: set[str] = set()
    while len(suffixes) < count:
        suffixes.add(rand_suffix())
    return suffixes
