"""SimCluster: the simulated cluster's behaviour on top of the ObjectStore.

Controllers are fed by one store listener (O(1) work per change: index updates and enqueues)
and run as tasks on the loop that owns the store. Node "machines" are NodeRuntime objects that
the SSH emulation (cockpit/sim/nodes/ssh.py) reads and changes: installed package versions,
held packages, OS, kernel and whether the kubelet runs.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from cockpit.domain.versions import parse_version
from cockpit.sim.controllers.base import Index
from cockpit.sim.controllers.events import EventRecorder
from cockpit.sim.controllers.nodes import PodAddresses
from cockpit.sim.objects import iso, key_of

log = logging.getLogger("cockpit.sim")


@dataclass
class NodeRuntime:
    """The machine behind a Node, as seen over SSH."""

    name: str
    os_id: str = "debian"
    kernel: str = "6.1.0-28-amd64"
    installed: dict[str, str] = field(default_factory=dict)
    held_packages: set[str] = field(default_factory=lambda: {"kubelet", "kubeadm", "kubectl"})
    kubelet_running: bool = True
    running_kubelet_version: str = ""
    config_version: str = ""
    control_plane: bool = False
    index: int = 0
    generation: int = 0  # bumped on every kubelet (re)start, so stale timers can tell
    boot_id: str = field(default_factory=lambda: _uuid())
    machine_id: str = field(default_factory=lambda: secrets.token_hex(16))
    system_uuid: str = field(default_factory=lambda: _uuid())

    @property
    def kubelet_version(self) -> str:
        """Installed kubelet package version, e.g. "1.32.4"."""
        return self.installed.get("kubelet", "")

    @kubelet_version.setter
    def kubelet_version(self, value: str) -> None:
        self.installed["kubelet"] = value

    @property
    def kubeadm_version(self) -> str:
        """Installed kubeadm package version."""
        return self.installed.get("kubeadm", "")

    @kubeadm_version.setter
    def kubeadm_version(self, value: str) -> None:
        self.installed["kubeadm"] = value

    @property
    def kubectl_version(self) -> str:
        """Installed kubectl package version."""
        return self.installed.get("kubectl", "")

    @kubectl_version.setter
    def kubectl_version(self, value: str) -> None:
        self.installed["kubectl"] = value


def _uuid() -> str:
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class SimCluster:
    """Seeds a scenario and runs the simulated controllers, kubelets and scheduler."""

    def __init__(self, store, clock, faults, version: str = "1.32.4", scenario: str = "demo",
                 nodes: int | None = None, pods_per_node: int | None = None, endpoint_delay: float = 1.0) -> None:
        from cockpit.sim import controllers

        self.store, self.clock, self.faults = store, clock, faults
        self.scenario, self.node_count, self.pods_per_node = scenario, nodes, pods_per_node
        parse_version(version)  # ValueError for what no real build reports
        self._version = version.removeprefix("v")
        self.runtimes: dict[str, NodeRuntime] = {}
        self.ready_since: dict[str, float] = {}
        self.index = Index()
        self.events = EventRecorder(store, clock)
        self.stopped = False
        self.endpoint_delay = endpoint_delay  # simulated seconds an EndpointSlice update is batched
        self.seed_age_days = 0.0  # scenarios backdate seeded objects' creationTimestamp
        self.seed_seconds = 0.0
        self.kubelets_stopped: set[str] = set()  # nodes whose kubelet we stopped (the lifecycle checks them)
        self._tasks: list[asyncio.Task] = []
        self.pod_addresses = PodAddresses()
        self._handlers: dict[str, list] = defaultdict(list)
        self.controllers = controllers.build(self)
        for resource, fn in self.index.handlers().items():
            self._handlers[resource].append(fn)
        self._handlers["pods"].append(self._release_pod_ip)
        for ctl in self.controllers:
            for resource, fn in ctl.handlers().items():
                self._handlers[resource].append(fn)
        store.add_listener(self._on_change)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the controllers and seed the scenario (returns once it has settled)."""
        from cockpit.sim import controllers, scenarios

        self._tasks = controllers.start_tasks(self)
        # Seeding bulk-loads acyclic JSON: the collector finds nothing in it, yet its full passes
        # over the growing store cost a third of the seeding (and more with managedFields). Then
        # the seeded objects, which live as long as the simulator, are kept out of its passes, as
        # the cockpit's informers do; replaced objects are still freed by reference counting.
        collecting = gc.isenabled()
        gc.disable()
        try:
            await scenarios.seed(self)
        finally:
            if collecting:
                gc.enable()
        gc.freeze()

    async def stop(self) -> None:
        """Stop every controller task and timer; leaves the store as it is."""
        self.stopped = True
        remove = getattr(self.store, "remove_listener", None)
        if remove is not None:
            remove(self._on_change)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        gc.unfreeze()  # what is garbage now is collected again

    def _on_change(self, etype: str, resource: str, obj: dict, old: dict | None) -> None:
        for fn in self._handlers.get(resource, ()):
            try:
                fn(etype, obj, old)
            except Exception:  # a handler bug must not break the API server's write path
                log.exception("handler for %s %s failed", etype, resource)

    def later(self, seconds: float, fn, *args) -> None:
        """Run ``fn(*args)`` after ``seconds`` simulated seconds unless the cluster stopped."""
        self.clock.call_later(seconds, self._fire, fn, args)

    def _fire(self, fn, args) -> None:
        if self.stopped:
            return
        try:
            fn(*args)
        except Exception:
            log.exception("timer %r failed", fn)

    def controller(self, name: str):
        """The controller with this ``name`` attribute."""
        return next(c for c in self.controllers if c.name == name)

    @property
    def kubelet(self):
        """The kubelet controller (all nodes)."""
        return self.controller("kubelet")

    @property
    def lifecycle(self):
        """The node lifecycle (heartbeats, NotReady detection)."""
        return self.controller("node-lifecycle")

    # ------------------------------------------------------------------ versions and nodes

    @property
    def version(self) -> str:
        """The control plane (API server) version, e.g. "1.32.4"."""
        return self._version

    def node_runtime(self, name: str) -> NodeRuntime:
        """The machine behind node ``name`` (KeyError if there is none)."""
        return self.runtimes[name]

    def kubelet_up(self, node: str) -> bool:
        """The node's kubelet runs and is not stopped by a fault."""
        rt = self.runtimes.get(node)
        return rt is not None and rt.kubelet_running and node not in self.faults.stopped_kubelets

    def set_control_plane_version(self, version: str, node: str | None = None) -> None:
        """``kubeadm upgrade apply``: move /version and the static pods (of ``node``, or of every cp node)."""
        from cockpit.sim.controllers import system

        self._version = version.lstrip("v")
        nodes = [node] if node else [n for n, rt in self.runtimes.items() if rt.control_plane]
        for name in nodes:
            self.runtimes[name].config_version = self._version
            system.refresh_static_pods(self, name)
        if all(rt.config_version == self._version for rt in self.runtimes.values() if rt.control_plane):
            system.upgrade_addons(self)

    def upgrade_node_config(self, node: str) -> None:
        """``kubeadm upgrade node``: static pods (cp nodes) and kubelet config follow the cluster version."""
        from cockpit.sim.controllers import system

        rt = self.runtimes[node]
        rt.config_version = self._version
        if rt.control_plane:
            system.refresh_static_pods(self, node)
            if all(r.config_version == self._version for r in self.runtimes.values() if r.control_plane):
                system.upgrade_addons(self)

    def restart_kubelet(self, node: str) -> None:
        """``systemctl restart kubelet``: NotReady briefly, then Ready with the installed kubelet version."""
        rt = self.runtimes[node]
        rt.kubelet_running = False
        rt.generation += 1
        self.kubelets_stopped.add(node)
        self.later(1.0, self._kubelet_back, node, rt.generation)

    def start_kubelet(self, node: str) -> None:
        """``systemctl start kubelet`` on a stopped kubelet."""
        rt = self.runtimes[node]
        if not rt.kubelet_running:
            rt.generation += 1
            self._kubelet_back(node, rt.generation)

    def stop_kubelet(self, node: str) -> None:
        """``systemctl stop kubelet``: heartbeats stop; the node goes Unknown after the grace period."""
        rt = self.runtimes[node]
        rt.kubelet_running = False
        rt.generation += 1
        self.kubelets_stopped.add(node)

    def _kubelet_back(self, node: str, generation: int) -> None:
        rt = self.runtimes[node]
        if rt.generation != generation or node in self.faults.kubelet_never_returns:
            return
        rt.kubelet_running = True
        self.kubelets_stopped.discard(node)
        if node not in self.faults.stopped_kubelets:
            self.lifecycle.kubelet_started(node)

    def node_ip(self, node: str) -> str:
        """InternalIP of a node."""
        from cockpit.sim.controllers.nodes import node_ip

        rt = self.runtimes.get(node)
        return node_ip(rt.index if rt else 0)

    def alloc_pod_ip(self, node: str) -> str:
        """Next pod IP from the node's pod CIDR."""
        from cockpit.sim.controllers.nodes import pod_cidr

        rt = self.runtimes.get(node)
        return self.pod_addresses.allocate(node, pod_cidr(rt.index if rt else 0).rsplit(".", 1)[0])

    def _release_pod_ip(self, etype: str, obj: dict, old: dict | None) -> None:
        spec = obj.get("spec") or {}
        if etype == "DELETED" and spec.get("nodeName") and not spec.get("hostNetwork"):
            self.pod_addresses.release(spec["nodeName"], (obj.get("status") or {}).get("podIP"))

    # ------------------------------------------------------------------ shared helpers

    def owned_pods(self, uid: str) -> list[dict]:
        """Pods whose ownerReferences name ``uid``."""
        out = []
        for ns, name in self.index.owned(uid, "pods"):
            pod = self.store.get("pods", ns, name)
            if pod is not None:
                out.append(pod)
        return out

    def count_available(self, ready_pods: list[dict], min_ready: int) -> tuple[int, float | None]:
        """(available count, seconds until the next pod becomes available or None)."""
        if min_ready <= 0:
            return len(ready_pods), None
        now, count, wait = self.clock.monotonic(), 0, None
        for pod in ready_pods:
            since = self.ready_since.get(pod["metadata"]["uid"])
            if since is None or now - since >= min_ready:
                count += 1
            else:
                left = min_ready - (now - since) + 0.05
                wait = left if wait is None else min(wait, left)
        return count, wait

    def delete_pod(self, pod: dict, grace: int | None = None) -> None:
        """Graceful delete as the API server does it: deletionTimestamp now, kubelet removes later."""
        ns, name = key_of(pod)
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        if not pod["spec"].get("nodeName") or grace <= 0:
            self.store.remove("pods", ns, name)
            return
        stamp = iso(self.clock.now() + timedelta(seconds=grace))

        def mark(obj: dict) -> None:
            meta = obj["metadata"]
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = stamp
                meta["deletionGracePeriodSeconds"] = grace

        self.store.mutate("pods", ns, name, mark)
