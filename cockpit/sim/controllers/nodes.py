"""Node objects, kubelet heartbeats (Leases) and the node lifecycle controller.

A kubelet that stops (``stop_kubelet``, ``faults.stopped_kubelets``) stops renewing its Lease; after
the node-monitor grace period the node lifecycle controller sets every condition to Unknown,
taints the node unreachable, marks its pods not Ready and records NodeNotReady. A kubelet that
(re)starts reports Ready=False briefly, then Ready with its installed version.
"""

from __future__ import annotations

import asyncio
import math

from cockpit.sim.controllers.base import Controller
from cockpit.sim.objects import iso, key_of, micro_iso, new_uid, tolerates
from cockpit.sim.store import KUBELET

GRACE_SECONDS = 40.0  # node-monitor-grace-period (40 s up to 1.31, 50 s from 1.32)
LEASE_SECONDS = 10.0  # kubelet Lease renew interval
LEASE_DURATION = 40
STATUS_REPORT_SECONDS = 60.0  # lastHeartbeatTime refresh (real kubelets: 5 min when nothing changes)
CHECK_SECONDS = 2.0
EVICTION_SECONDS = 300.0  # DefaultTolerationSeconds for not-ready/unreachable NoExecute taints
NOT_READY_AFTER_START = 3.0
MAX_LEASE_WRITES = 200  # per real second; bounds heartbeat load on big synthetic clusters
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"

HEALTHY = {
    "MemoryPressure": ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
}


def kube_proxy_version(kubelet_version: str) -> str:
    """nodeInfo.kubeProxyVersion: the kubelet's own version until 1.33, then empty."""
    minor = int(kubelet_version.split(".")[1])
    return "" if minor >= 33 else f"v{kubelet_version}"


def make_node(name: str, index: int, rt, control_plane: bool, now: str, since: str | None = None) -> dict:
    """A Node as a kubeadm-joined kubelet registers it (already Ready)."""
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    spec = {"podCIDR": pod_cidr(index), "podCIDRs": [pod_cidr(index)]}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        spec["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    resources = {"cpu": "4" if control_plane else "8", "ephemeral-storage": "101430960Ki",
                 "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                 "memory": "8148160Ki" if control_plane else "32827332Ki", "pods": "110"}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {
            "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": spec,
        "status": {
            "addresses": [{"type": "InternalIP", "address": node_ip(index)}, {"type": "Hostname", "address": name}],
            "allocatable": dict(resources, **{"ephemeral-storage": "93478772582"}),
            "capacity": resources,
            "conditions": [_cond(t, *v, now, since or now) for t, v in HEALTHY.items()],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": node_info(rt),
            "images": [],
        },
    }


def node_info(rt) -> dict:
    """Full nodeInfo (every field the strict python client requires)."""
    rhel = rt.os_id == "rhel"
    return {
        "architecture": "amd64", "bootID": rt.boot_id,
        "containerRuntimeVersion": "containerd://1.7.24",
        "kernelVersion": rt.kernel,
        "kubeProxyVersion": kube_proxy_version(rt.running_kubelet_version),
        "kubeletVersion": f"v{rt.running_kubelet_version}",
        "machineID": rt.machine_id, "operatingSystem": "linux",
        "osImage": "Red Hat Enterprise Linux 9.5 (Plow)" if rhel else "Debian GNU/Linux 12 (bookworm)",
        "systemUUID": rt.system_uuid,
    }


def node_ip(index: int) -> str:
    """InternalIP of the node with this index (data only: nothing connects there).

    Hosts .10 to .249 of consecutive /24s in 10.0.0.0/16: valid and unique for 61,440 nodes.
    """
    return f"10.0.{index // 240}.{index % 240 + 10}"


class PodAddresses:
    """Pod IPs from each node's /24 pod CIDR: the next free host after the last one handed out
    (as the host-local IPAM plugin does), freed again when the pod is deleted."""

    FIRST, LAST = 2, 254  # .1 is the node's bridge

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._used: dict[str, set[int]] = {}

    def allocate(self, node: str, subnet_prefix: str) -> str:
        """A free address in ``subnet_prefix`` (``10.244.3``) for a pod on ``node``."""
        used = self._used.setdefault(node, set())
        host, span = self._last.get(node, self.LAST), self.LAST - self.FIRST + 1
        for _ in range(span):
            host = host + 1 if host < self.LAST else self.FIRST
            if host not in used:
                break
        else:
            raise RuntimeError(f"node {node}: no free pod address left in {subnet_prefix}.0/24")
        used.add(host)
        self._last[node] = host
        return f"{subnet_prefix}.{host}"

    def release(self, node: str, ip: str | None) -> None:
        """Give ``ip`` back (a deleted pod's address)."""
        if ip and node in self._used:
            self._used[node].discard(int(ip.rsplit(".", 1)[1]))


def pod_cidr(index: int) -> str:
    """The /24 pod CIDR of the node with this index."""
    if index < 256:
        return f"10.244.{index}.0/24"
    i = index - 256
    return f"10.{100 + i // 256}.{i % 256}.0/24"


def make_lease(name: str, node_uid: str, now) -> dict:
    """The node's heartbeat Lease in kube-node-lease."""
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease", "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid}]},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_DURATION,
                     "renewTime": micro_iso(now)}}


def _cond(ctype: str, status: str, reason: str, message: str, now: str, since: str) -> dict:
    return {"type": ctype, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": since,
            "reason": reason, "message": message}


class NodeLifecycle:
    """Heartbeats of live kubelets and the node lifecycle controller's reaction to silent ones."""

    name = "node-lifecycle"

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.clock = cluster.clock
        self.down_since: dict[str, float] = {}
        self.unknown: set[str] = set()
        self._lease_cursor = 0
        self._last_report: dict[str, float] = {}

    def handlers(self) -> dict:
        """No store handlers: this runs on a timer."""
        return {}

    async def run(self) -> None:
        """Check kubelet liveness and renew leases forever."""
        while True:
            await self.clock.sleep(CHECK_SECONDS)
            try:
                self.check()
                await self._renew_leases()
            except Exception:  # keep heartbeating even if one node's update fails
                import logging

                logging.getLogger("cockpit.sim").exception("node lifecycle tick failed")

    def check(self) -> None:
        """Mark silent nodes Unknown after the grace period; bring back nodes whose kubelet returned."""
        now = self.clock.monotonic()
        suspects = set(self.cluster.faults.stopped_kubelets) | set(self.down_since) | self.unknown
        suspects |= self.cluster.kubelets_stopped
        for node in suspects:
            if node not in self.cluster.runtimes:
                continue
            if self.cluster.kubelet_up(node):
                self.cluster.kubelets_stopped.discard(node)
                if node in self.down_since or node in self.unknown:
                    self.kubelet_started(node)  # the kubelet process came back
                continue
            since = self.down_since.setdefault(node, now)
            if now - since > GRACE_SECONDS and node not in self.unknown:
                self.mark_unknown(node)

    def mark_unknown(self, node: str) -> None:
        """Node lifecycle controller: conditions Unknown, unreachable taints, pods not Ready."""
        self.unknown.add(node)
        stamp = iso(self.clock.now())

        def apply(obj: dict) -> None:
            for cond in obj["status"]["conditions"]:
                if cond["status"] != "Unknown":
                    cond["lastTransitionTime"] = stamp
                cond.update(status="Unknown", reason="NodeStatusUnknown",
                            message="Kubelet stopped posting node status.")
            _set_taints(obj, [{"key": UNREACHABLE, "effect": "NoSchedule"},
                              {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp}])

        node_obj = self.store.mutate("nodes", None, node, apply)
        if node_obj is not None:
            self.cluster.events.record(node_obj, "Normal", "NodeNotReady",
                                       f"Node {node} status is now: NodeNotReady", "node-controller")
        self._mark_pods_not_ready(node, stamp)
        rt = self.cluster.runtimes.get(node)
        self.cluster.later(EVICTION_SECONDS, self._taint_evict, node, rt.generation if rt else 0)

    def _taint_evict(self, node: str, generation: int) -> None:
        """NoExecute taint manager: evict pods whose unreachable toleration ran out (300 s by default).

        They stay Terminating until a kubelet confirms, while their controllers replace them elsewhere.
        """
        rt = self.cluster.runtimes.get(node)
        if node not in self.unknown or rt is None or rt.generation != generation:
            return
        taint = {"key": UNREACHABLE, "effect": "NoExecute"}
        for key in list(self.cluster.index.pods_by_node.get(node, ())):
            pod = self.store.get("pods", *key)
            if pod is None or pod["metadata"].get("deletionTimestamp") or _tolerates_forever(pod, taint):
                continue
            self.cluster.events.record(pod, "Normal", "TaintManagerEviction",
                                       f"Marking for deletion Pod {key[0]}/{key[1]}", "taint-eviction-controller")
            self.cluster.delete_pod(pod)

    def _mark_pods_not_ready(self, node: str, stamp: str) -> None:
        def apply(pod: dict) -> None:
            for cond in (pod.get("status") or {}).get("conditions") or ():
                if cond["type"] == "Ready" and cond["status"] != "False":
                    cond.update(status="False", lastTransitionTime=stamp)

        for key in list(self.cluster.index.pods_by_node.get(node, ())):
            self.store.mutate("pods", *key, apply)

    def kubelet_started(self, node: str, settle: float = NOT_READY_AFTER_START) -> None:
        """A kubelet process started: NotReady (runtime warming up), then Ready shortly after."""
        rt = self.cluster.runtimes[node]
        rt.running_kubelet_version = rt.installed["kubelet"]
        stamp = iso(self.clock.now())
        self.down_since.pop(node, None)

        def apply(obj: dict) -> None:
            obj["status"]["nodeInfo"] = node_info(rt)
            for cond in obj["status"]["conditions"]:
                status, reason, message = HEALTHY[cond["type"]] if cond["type"] in HEALTHY else (
                    cond["status"], cond.get("reason", ""), cond.get("message", ""))
                if cond["type"] == "Ready":
                    status, reason = "False", "KubeletNotReady"
                    message = "container runtime status check may not have completed yet"
                if cond["status"] != status:
                    cond["lastTransitionTime"] = stamp
                cond.update(status=status, reason=reason, message=message, lastHeartbeatTime=stamp)
            _set_taints(obj, [{"key": NOT_READY, "effect": "NoSchedule"}])

        node_obj = self.store.mutate("nodes", None, node, apply, writer=KUBELET)
        if node_obj is not None:
            self.cluster.events.record(node_obj, "Normal", "Starting", "Starting kubelet.", "kubelet", host=node)
        self.cluster.later(settle, self._ready, node, rt.generation)

    def _ready(self, node: str, generation: int) -> None:
        rt = self.cluster.runtimes.get(node)
        if rt is None or rt.generation != generation or not self.cluster.kubelet_up(node):
            return
        self.unknown.discard(node)
        stamp = iso(self.clock.now())

        def apply(obj: dict) -> None:
            for cond in obj["status"]["conditions"]:
                if cond["type"] in HEALTHY:
                    status, reason, message = HEALTHY[cond["type"]]
                    if cond["status"] != status:
                        cond["lastTransitionTime"] = stamp
                    cond.update(status=status, reason=reason, message=message, lastHeartbeatTime=stamp)
            _set_taints(obj, [])

        node_obj = self.store.mutate("nodes", None, node, apply, writer=KUBELET)
        if node_obj is not None:
            self.cluster.events.record(node_obj, "Normal", "NodeReady", f"Node {node} status is now: NodeReady",
                                       "kubelet", host=node)
        self._last_report[node] = self.clock.monotonic()
        self.cluster.kubelet.resync_node(node)

    async def _renew_leases(self) -> None:
        names = list(self.cluster.runtimes)
        if not names:
            return
        per_tick_real = self.clock.scaled(CHECK_SECONDS)
        due = max(1, math.ceil(len(names) * CHECK_SECONDS / LEASE_SECONDS))
        count = min(due, max(1, int(MAX_LEASE_WRITES * per_tick_real)), len(names))
        now, mono = self.clock.now(), self.clock.monotonic()
        for i in range(count):
            name = names[(self._lease_cursor + i) % len(names)]
            if self.cluster.kubelet_up(name) and name not in self.unknown:
                self._renew(name, now, mono)
            if i % 200 == 199:
                await asyncio.sleep(0)
        self._lease_cursor = (self._lease_cursor + count) % len(names)

    def _renew(self, name: str, now, mono: float) -> None:
        renew = micro_iso(now)

        def lease(obj: dict) -> None:
            obj["spec"]["renewTime"] = renew

        self.store.mutate("leases", "kube-node-lease", name, lease, writer=KUBELET)
        if mono - self._last_report.get(name, 0.0) >= STATUS_REPORT_SECONDS:
            self._last_report[name] = mono
            stamp = iso(now)

            def beat(obj: dict) -> None:
                for cond in obj["status"]["conditions"]:
                    cond["lastHeartbeatTime"] = stamp

            self.store.mutate("nodes", None, name, beat, writer=KUBELET)


class CordonTaints(Controller):
    """Adds/removes node.kubernetes.io/unschedulable:NoSchedule as spec.unschedulable flips."""

    name = "node-lifecycle-controller"

    def handlers(self):
        """Nodes whose unschedulable flag changed."""
        return {"nodes": self._on_node}

    def _on_node(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype != "DELETED" and _cordon_mismatch(obj):
            self.enqueue(obj["metadata"]["name"])

    def sync(self, name) -> None:
        """Make the taint match spec.unschedulable."""
        def apply(obj: dict) -> None:
            spec = obj.setdefault("spec", {})
            kept = [t for t in spec.get("taints") or () if t.get("key") != UNSCHEDULABLE]
            if spec.get("unschedulable"):
                kept.append({"key": UNSCHEDULABLE, "effect": "NoSchedule",
                             "timeAdded": iso(self.clock.now())})
            if kept:
                spec["taints"] = kept
            else:
                spec.pop("taints", None)

        node = self.store.get("nodes", None, name)
        if node is not None and _cordon_mismatch(node):
            self.store.mutate("nodes", None, name, apply)


def _cordon_mismatch(node: dict) -> bool:
    spec = node.get("spec") or {}
    tainted = any(t.get("key") == UNSCHEDULABLE for t in spec.get("taints") or ())
    return bool(spec.get("unschedulable")) != tainted


def _tolerates_forever(pod: dict, taint: dict) -> bool:
    for tol in pod["spec"].get("tolerations") or ():
        if tolerates([tol], taint) and tol.get("tolerationSeconds") is None:
            return True
    return False


def _set_taints(node: dict, lifecycle: list[dict]) -> None:
    """Replace the lifecycle taints (unreachable / not-ready) and keep everyone else's."""
    spec = node.setdefault("spec", {})
    kept = [t for t in spec.get("taints") or () if t.get("key") not in (UNREACHABLE, NOT_READY)]
    taints = kept + lifecycle
    if taints:
        spec["taints"] = taints
    else:
        spec.pop("taints", None)


__all__ = ["NodeLifecycle", "make_node", "make_lease", "node_info", "node_ip", "key_of", "new_uid"]
