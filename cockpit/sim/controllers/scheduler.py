"""The default scheduler: binds pending pods to feasible nodes, spreading by pod count.

Feasibility follows the real filters we need: spec.unschedulable, NoSchedule/NoExecute taints
vs tolerations, nodeSelector, and the node's pod capacity (status.allocatable.pods, 110).
Unschedulable pods are retried when a node changes or a pod leaves a node.
"""

from __future__ import annotations

from collections import Counter

from cockpit.sim.controllers.base import Controller
from cockpit.sim.objects import iso, key_of, set_condition, tolerates
from cockpit.sim.store import SCHEDULER

SAMPLE = 50  # feasible nodes scored per pod (like percentageOfNodesToScore on big clusters)
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class Scheduler(Controller):
    """Schedules pods whose schedulerName is default-scheduler."""

    name = "default-scheduler"

    def __init__(self, cluster) -> None:
        super().__init__(cluster)
        self.nodes: dict[str, None] = {}
        self._order: list[str] = []
        self._cursor = 0
        self._waiting: dict[tuple[str, str], None] = {}

    def handlers(self):
        """Watch pods (pending ones, and pods leaving nodes) and nodes."""
        return {"pods": self._on_pod, "nodes": self._on_node}

    def _on_pod(self, etype: str, obj: dict, old: dict | None) -> None:
        spec = obj["spec"]
        if etype == "DELETED" or obj["metadata"].get("deletionTimestamp"):
            self._waiting.pop(key_of(obj), None)
            if spec.get("nodeName") and self._waiting:
                self._retry_waiting()
        elif not spec.get("nodeName") and spec.get("schedulerName", "default-scheduler") == "default-scheduler":
            if etype == "ADDED":
                self.enqueue(key_of(obj))

    def _on_node(self, etype: str, obj: dict, old: dict | None) -> None:
        name = obj["metadata"]["name"]
        if etype == "DELETED":
            self.nodes.pop(name, None)
            self._order = list(self.nodes)
            return
        if name not in self.nodes:
            self.nodes[name] = None
            self._order.append(name)
        if old is None or _sched_view(old) != _sched_view(obj):
            self._retry_waiting()

    def _retry_waiting(self) -> None:
        for key in self._waiting:
            self.enqueue(key)
        self._waiting.clear()

    def sync(self, key) -> None:
        """Try to bind one pending pod."""
        pod = self.store.get("pods", *key)
        if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return
        node, reasons = self._pick(pod)
        if node is None:
            self._fail(pod, reasons)
        else:
            self._bind(pod, node)

    def _pick(self, pod: dict) -> tuple[str | None, Counter]:
        order, n = self._order, len(self._order)
        reasons: Counter = Counter()
        feasible: list[tuple[int, str]] = []
        start = self._cursor % n if n else 0
        for i in range(n):
            name = order[(start + i) % n]
            why = self.misfit(pod, name)
            if why:
                reasons[why] += 1
                continue
            feasible.append((len(self.cluster.index.pods_by_node.get(name, ())), name))
            if len(feasible) >= SAMPLE:
                break
        self._cursor = start + 1
        if not feasible:
            return None, reasons
        return min(feasible)[1], reasons

    def misfit(self, pod: dict, node_name: str) -> str | None:
        """Why ``pod`` cannot run on the node (the scheduler's message fragment), or None."""
        node = self.store.get("nodes", None, node_name)
        if node is None:
            return "node(s) not found"
        spec, tolerations = node.get("spec") or {}, pod["spec"].get("tolerations")
        if spec.get("unschedulable") and not tolerates(tolerations, UNSCHEDULABLE_TAINT):
            return "node(s) were unschedulable"
        labels = node["metadata"].get("labels") or {}
        if any(labels.get(k) != v for k, v in (pod["spec"].get("nodeSelector") or {}).items()):
            return "node(s) didn't match Pod's node affinity/selector"
        for taint in spec.get("taints") or ():
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
                return f"node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}"
        capacity = int((node.get("status") or {}).get("allocatable", {}).get("pods", "110"))
        if len(self.cluster.index.pods_by_node.get(node_name, ())) >= capacity:
            return "Too many pods"
        return None

    def _bind(self, pod: dict, node: str) -> None:
        now = iso(self.clock.now())

        def bind(obj: dict) -> None:
            obj["spec"]["nodeName"] = node
            conds = obj.setdefault("status", {}).setdefault("conditions", [])
            set_condition(conds, {"type": "PodScheduled", "status": "True", "lastProbeTime": None}, now)
            for c in conds:
                if c["type"] == "PodScheduled":
                    c.pop("reason", None)
                    c.pop("message", None)

        if self.store.mutate("pods", *key_of(pod), bind, writer=SCHEDULER) is None:
            return
        ns, name = key_of(pod)
        self.cluster.events.record(pod, "Normal", "Scheduled",
                                   f"Successfully assigned {ns}/{name} to {node}", self.name,
                                   action="Binding")

    def _fail(self, pod: dict, reasons: Counter) -> None:
        total = len(self._order)
        parts = ", ".join(f"{count} {why}" for why, count in sorted(reasons.items()))
        message = (f"0/{total} nodes are available: {parts}. preemption: 0/{total} nodes are available: "
                   f"{total} Preemption is not helpful for scheduling.")
        now = iso(self.clock.now())

        def mark(obj: dict) -> None:
            conds = obj.setdefault("status", {}).setdefault("conditions", [])
            set_condition(conds, {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                  "reason": "Unschedulable", "message": message}, now)

        self.store.mutate("pods", *key_of(pod), mark, writer=SCHEDULER)
        self._waiting[key_of(pod)] = None
        self.cluster.events.record(pod, "Warning", "FailedScheduling", message, self.name,
                                   action="Scheduling")


def _sched_view(node: dict) -> tuple:
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    return (spec.get("unschedulable"), repr(spec.get("taints")), repr(node["metadata"].get("labels")),
            repr(status.get("allocatable")))
