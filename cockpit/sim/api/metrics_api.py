"""``metrics.k8s.io/v1beta1``: NodeMetrics and PodMetrics, as metrics-server serves them.

A real cluster serves this group through metrics-server behind an APIService; ``kubectl top``
reads it. Usage here is derived from the simulated pods, deterministically: each running
container uses a fixed share (20-90 %, from a hash of its pod's uid and its name) of its
resource requests, or of a small default when it requests nothing; a node uses what its running
pods use plus a fixed system share. The same cluster always shows the same numbers, and a
scale-up or a drain moves them the way it would on a real cluster.
"""

from __future__ import annotations

import re
import zlib

from aiohttp import web

from cockpit.sim.api.rest import json_response
from cockpit.sim.api.selectors import parse_label_selector
from cockpit.sim.errors import ApiError, not_found
from cockpit.sim.store import timestamp

GROUP_VERSION = "metrics.k8s.io/v1beta1"
PREFIX = f"/apis/{GROUP_VERSION}/"
WINDOW = "15s"
_DEFAULT_CPU_M, _DEFAULT_MEMORY = 10.0, 32 * 2**20  # a container that requests nothing
_SYSTEM_CPU_M, _SYSTEM_MEMORY = 120.0, 700 * 2**20  # kubelet, runtime and OS on every node
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(text) -> float:
    """A resource.Quantity (``250m``, ``1.5``, ``128Mi``, ``1e3``) as a float; 0 when unreadable."""
    match = _QUANTITY.match(str(text).strip())
    if not match or match.group(2) not in _SUFFIX:
        return 0.0
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def _share(pod: dict, container: str) -> float:
    """A stable 0.2-0.9 share for one container (crc32: the same on every run and machine)."""
    seed = f"{pod['metadata'].get('uid', pod['metadata']['name'])}/{container}".encode()
    return 0.2 + (zlib.crc32(seed) % 701) / 1000


def container_usage(pod: dict, container: dict) -> tuple[float, float]:
    """(cpu millicores, memory bytes) a running container uses."""
    requests = (container.get("resources") or {}).get("requests") or {}
    cpu_m = quantity(requests["cpu"]) * 1000 if "cpu" in requests else _DEFAULT_CPU_M
    memory = quantity(requests["memory"]) if "memory" in requests else _DEFAULT_MEMORY
    share = _share(pod, container.get("name", ""))
    return cpu_m * share, memory * share


def _running(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")


def _ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or ())


def _cpu(millicores: float) -> str:
    return f"{round(millicores * 1_000_000)}n"


def _memory(size: float) -> str:
    return f"{int(size // 1024)}Ki"


def _meta(obj: dict, now: str) -> dict:
    meta = {"name": obj["metadata"]["name"], "creationTimestamp": now}
    if obj["metadata"].get("namespace"):
        meta["namespace"] = obj["metadata"]["namespace"]
    if obj["metadata"].get("labels"):
        meta["labels"] = dict(obj["metadata"]["labels"])
    return meta


def pod_metrics(pod: dict, now: str) -> dict:
    """The PodMetrics of one running pod."""
    containers = []
    for c in (pod.get("spec") or {}).get("containers") or ():
        cpu_m, memory = container_usage(pod, c)
        containers.append({"name": c.get("name", ""), "usage": {"cpu": _cpu(cpu_m), "memory": _memory(memory)}})
    return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(pod, now), "timestamp": now,
            "window": WINDOW, "containers": containers}


def node_usage(store) -> dict[str, tuple[float, float]]:
    """node name -> (cpu millicores, memory bytes) of its running pods plus the system share."""
    usage: dict[str, list[float]] = {}
    for pod in store.list("pods"):
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or not _running(pod):
            continue
        total = usage.setdefault(node, [_SYSTEM_CPU_M, _SYSTEM_MEMORY])
        for c in pod["spec"].get("containers") or ():
            cpu_m, memory = container_usage(pod, c)
            total[0] += cpu_m
            total[1] += memory
    return {name: (cpu_m, memory) for name, (cpu_m, memory) in usage.items()}


def node_metrics(node: dict, usage: tuple[float, float], now: str) -> dict:
    """The NodeMetrics of one node."""
    return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(node, now), "timestamp": now,
            "window": WINDOW, "usage": {"cpu": _cpu(usage[0]), "memory": _memory(usage[1])}}


def _list(kind: str, items: list[dict]) -> dict:
    return {"kind": f"{kind}List", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}


def serve(server, request: web.Request, path: str) -> web.Response:
    """GET /apis/metrics.k8s.io/v1beta1/{nodes[/n], pods, namespaces/<ns>/pods[/p]}."""
    if request.method != "GET":
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
    parts = path[len(PREFIX):].split("/")
    selector = parse_label_selector(request.query.get("labelSelector"))
    now = timestamp(server.store.now())
    if parts[0] == "nodes" and len(parts) <= 2:
        return _nodes(server.store, parts[1] if len(parts) == 2 else None, selector, now)
    if parts[0] == "pods" and len(parts) == 1:
        return _pods(server.store, None, None, selector, now)
    if len(parts) in (3, 4) and parts[0] == "namespaces" and parts[2] == "pods":
        return _pods(server.store, parts[1], parts[3] if len(parts) == 4 else None, selector, now)
    raise ApiError(404, "NotFound", "the server could not find the requested resource", {})


def _nodes(store, name: str | None, selector, now: str) -> web.Response:
    usage = node_usage(store)
    # metrics-server has no sample from a node whose kubelet is down: it is left out, as kubectl shows it
    nodes = [n for n in store.list("nodes") if _ready(n) and selector.matches(n["metadata"].get("labels") or {})]
    if name is None:
        return json_response(_list("NodeMetrics", [node_metrics(n, usage.get(n["metadata"]["name"],
                                                                              (_SYSTEM_CPU_M, _SYSTEM_MEMORY)), now)
                                                   for n in nodes]))
    node = next((n for n in nodes if n["metadata"]["name"] == name), None)
    if node is None:
        raise not_found("nodes", name, "metrics.k8s.io")
    return json_response(node_metrics(node, usage.get(name, (_SYSTEM_CPU_M, _SYSTEM_MEMORY)), now))


def _pods(store, namespace: str | None, name: str | None, selector, now: str) -> web.Response:
    if name is not None:
        pod = store.get("pods", namespace, name)
        if pod is None or not _running(pod):  # no sample from a pod that does not run
            raise not_found("pods", name, "metrics.k8s.io")
        return json_response(pod_metrics(pod, now))
    pods = [p for p in store.list("pods", namespace) if _running(p)
            and selector.matches(p["metadata"].get("labels") or {})]
    return json_response(_list("PodMetrics", [pod_metrics(p, now) for p in pods]))
