"""A stand-in cluster for protocol tests: static objects, no controllers."""

from __future__ import annotations


class MinimalCluster:
    """A stand-in for SimCluster with a few static objects and no controllers.

    For API-server tests that must not depend on simulated behaviour (selectors, paging,
    patch, watch protocol, bad input).
    """

    version = "1.32.4"

    def __init__(self, store, clock=None, faults=None):
        self.store = store

    async def start(self) -> None:
        """Seed namespaces, two nodes, pods with labels, a service and a PDB."""
        s = self.store
        for ns in ("default", "kube-system", "shop"):
            s.create("namespaces", {"metadata": {"name": ns}, "spec": {"finalizers": ["kubernetes"]},
                                    "status": {"phase": "Active"}})
        for n in ("node-1", "node-2"):
            s.create("nodes", {"metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}}, "spec": {},
                               "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
        for i in range(6):
            labels = {"app": "web", "color": "blue" if i < 3 else "green"}
            s.create("pods", {
                "metadata": {"name": f"web-{i}", "namespace": "shop", "labels": labels},
                "spec": {"nodeName": f"node-{i % 2 + 1}", "containers": [{"name": "web", "image": "nginx:1"}]},
                "status": {"phase": "Running", "podIP": f"10.0.0.{i}",
                           "conditions": [{"type": "Ready", "status": "True"}],
                           "containerStatuses": [{"name": "web", "image": "nginx:1", "imageID": "", "ready": True,
                                                  "restartCount": 0, "started": True,
                                                  "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}})
        s.create("services", {"metadata": {"name": "web", "namespace": "shop"},
                              "spec": {"selector": {"app": "web", "color": "blue"},
                                       "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
        s.create("poddisruptionbudgets", {
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"minAvailable": 5, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"currentHealthy": 6, "desiredHealthy": 5, "disruptionsAllowed": 1, "expectedPods": 6}})

    async def stop(self) -> None:
        """Nothing runs."""
