"""Endpoints and EndpointSlice controllers: recomputed from Service selectors and pod readiness.

Membership (which pods a Service selects) is kept incrementally: a pod change is checked against
the few Services of its namespace only, and a selector change rescans that namespace once.

Like the real EndpointSlice controller, which batches pod updates, a selector or pod (readiness)
change reaches the Endpoints and EndpointSlice only after ``cluster.endpoint_delay`` simulated
seconds (default 1, so it scales with ``--speed``); changes within that window share one write.
Clients that verify a switch must therefore wait for the slice, as on a real cluster.
"""

from __future__ import annotations

from collections import defaultdict

from cockpit.domain.selectors import LabelSelector
from cockpit.sim.controllers.base import Controller
from cockpit.sim.objects import backdate, iso, key_of, owner_ref, pod_is_ready

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_MANAGER = "endpointslice-controller.k8s.io"


def pod_view(pod: dict | None) -> tuple | None:
    """The parts of a pod that endpoints depend on."""
    if pod is None:
        return None
    st = pod.get("status") or {}
    return (repr(pod["metadata"].get("labels")), st.get("podIP"), pod_is_ready(pod),
            bool(pod["metadata"].get("deletionTimestamp")), pod["spec"].get("nodeName"), st.get("phase"))


class EndpointsController(Controller):
    """Writes Endpoints and one EndpointSlice per selector-bearing Service."""

    name = "endpoint-controller"

    def __init__(self, cluster) -> None:
        super().__init__(cluster)
        self.selectors: dict[str, dict[str, LabelSelector]] = defaultdict(dict)  # ns -> svc -> selector
        self.members: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.slices: dict[tuple[str, str], str] = {}
        self._batched: dict[tuple[str, str], object] = {}  # keys waiting out the batching delay -> token

    def handlers(self):
        """Services, pods, and our own slices (to learn their generated names)."""
        return {"services": self._on_service, "pods": self._on_pod, "endpointslices": self._on_slice}

    def _on_service(self, etype: str, obj: dict, old: dict | None) -> None:
        ns, name = key_of(obj)
        if etype == "DELETED":
            self.selectors[ns].pop(name, None)
            self.members.pop((ns, name), None)
            self.enqueue((ns, name))
            return
        selector = obj["spec"].get("selector") or {}
        if old is None or (old["spec"].get("selector") or {}) != selector:
            self.selectors[ns][name] = LabelSelector.from_map(selector)
            self.members[(ns, name)] = self._scan(ns, selector)
            if old is None:
                self.enqueue((ns, name))  # a new Service gets its slice at once, as on a real cluster
            else:
                self._batch((ns, name), restart=True)  # a full delay from the selector change
        elif old.get("spec") != obj.get("spec") or old["metadata"].get("labels") != obj["metadata"].get("labels"):
            self.enqueue((ns, name))

    def _scan(self, ns: str, selector: dict) -> set[str]:
        return self.cluster.index.pods_matching(ns, selector) if selector else set()

    def _on_pod(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype == "MODIFIED" and pod_view(old) == pod_view(obj):
            return
        ns, name = key_of(obj)
        labels = None if etype == "DELETED" else obj["metadata"].get("labels")
        for svc, selector in self.selectors.get(ns, {}).items():
            members = self.members[(ns, svc)]
            selected = labels is not None and selector.matches(labels)
            if selected or name in members:
                if selected:
                    members.add(name)
                else:
                    members.discard(name)
                self._batch((ns, svc))

    def _batch(self, key: tuple[str, str], restart: bool = False) -> None:
        """Sync ``key`` after the batching delay; changes meanwhile join the pending sync
        (``restart``: the delay counts from now, even if a sync was already pending)."""
        delay = self.cluster.endpoint_delay
        if delay <= 0:
            self.enqueue(key)
        elif restart or key not in self._batched:
            token = self._batched[key] = object()
            self.cluster.later(delay, self._batch_due, key, token)

    def _batch_due(self, key: tuple[str, str], token: object) -> None:
        if self._batched.get(key) is token:  # else a restarted window replaced this timer
            del self._batched[key]
            self.enqueue(key)

    def pending(self) -> int:
        """Queued keys plus those waiting out the batching delay (so settling waits for them)."""
        return super().pending() + len(self._batched)

    def _on_slice(self, etype: str, obj: dict, old: dict | None) -> None:
        labels = obj["metadata"].get("labels") or {}
        if labels.get(MANAGED_BY) != SLICE_MANAGER or SERVICE_NAME not in labels:
            return
        key = (obj["metadata"]["namespace"], labels[SERVICE_NAME])
        if etype == "DELETED":
            if self.slices.get(key) == obj["metadata"]["name"]:
                del self.slices[key]
        else:
            self.slices.setdefault(key, obj["metadata"]["name"])

    # ------------------------------------------------------------------ sync

    def sync(self, key) -> None:
        """Rewrite the Endpoints and EndpointSlice of one Service."""
        ns, name = key
        svc = self.store.get("services", ns, name)
        if svc is None:
            ep = self.store.get("endpoints", ns, name)
            if ep is not None and not (ep["metadata"].get("labels") or {}).get("sim.cockpit.dev/manual"):
                self.store.remove("endpoints", ns, name)
            return
        if not svc["spec"].get("selector"):
            return  # selector-less Services have hand-managed endpoints (e.g. "kubernetes")
        pods = [p for p in (self.store.get("pods", ns, n) for n in sorted(self.members.get(key, ())))
                if p is not None and (p.get("status") or {}).get("podIP")
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        self._write_endpoints(svc, pods)
        self._write_slice(svc, pods)

    def _write_endpoints(self, svc: dict, pods: list[dict]) -> None:
        groups: dict[tuple, dict] = {}
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp"):
                continue  # Endpoints drop terminating pods
            ports = tuple(_resolve_ports(svc, pod, for_slice=False))
            group = groups.setdefault(ports, {"addresses": [], "notReadyAddresses": []})
            field = "addresses" if pod_is_ready(pod) else "notReadyAddresses"
            group[field].append(_address(pod))
        subsets = []
        for ports, group in groups.items():
            subset = {k: v for k, v in group.items() if v}
            subset["ports"] = [dict(p) for p in ports]
            subsets.append(subset)
        ns, name = key_of(svc)
        meta = {"name": name, "namespace": ns, "labels": dict(svc["metadata"].get("labels") or {}),
                "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": iso(self.clock.now())}}
        body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta}
        if subsets:
            body["subsets"] = subsets
        self._upsert("endpoints", ns, name, body, ("subsets",))

    def _write_slice(self, svc: dict, pods: list[dict]) -> None:
        ns, name = key_of(svc)
        endpoints, ports = [], None
        for pod in pods:
            endpoints.append(_slice_endpoint(pod))
            ports = ports or _resolve_ports(svc, pod, for_slice=True)
        if ports is None:
            ports = [_dictify(p) for p in _resolve_ports(svc, None, for_slice=True)]
        labels = dict(svc["metadata"].get("labels") or {})
        labels.update({SERVICE_NAME: name, MANAGED_BY: SLICE_MANAGER})
        body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"namespace": ns, "labels": labels, "ownerReferences": [owner_ref(svc)]},
                "addressType": "IPv4", "endpoints": endpoints, "ports": [_dictify(p) for p in ports]}
        existing = self.slices.get((ns, name))
        if existing and self.store.get("endpointslices", ns, existing) is not None:
            body["metadata"]["name"] = existing
            self._upsert("endpointslices", ns, existing, body, ("endpoints", "ports", "addressType"))
        else:
            body["metadata"]["generateName"] = f"{name}-"
            made = self.store.create("endpointslices", backdate(body, self.clock.now(), self.cluster.seed_age_days))
            self.slices[(ns, name)] = made["metadata"]["name"]

    def _upsert(self, resource: str, ns: str, name: str, body: dict, fields: tuple[str, ...]) -> None:
        current = self.store.get(resource, ns, name)
        if current is None:
            self.store.create(resource, backdate(body, self.clock.now(), self.cluster.seed_age_days))
            return
        if all(current.get(f) == body.get(f) for f in fields) and \
                current["metadata"].get("labels") == body["metadata"].get("labels"):
            return  # unchanged: keep the old trigger-time annotation and resourceVersion

        def apply(obj: dict) -> None:
            for f in fields:
                if f in body:
                    obj[f] = body[f]
                else:
                    obj.pop(f, None)
            obj["metadata"]["labels"] = body["metadata"]["labels"]
            if "annotations" in body["metadata"]:
                obj["metadata"].setdefault("annotations", {}).update(body["metadata"]["annotations"])

        self.store.mutate(resource, ns, name, apply)


def _address(pod: dict) -> dict:
    meta = pod["metadata"]
    return {"ip": pod["status"]["podIP"], "nodeName": pod["spec"].get("nodeName", ""),
            "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
                          "uid": meta["uid"]}}


def _slice_endpoint(pod: dict) -> dict:
    meta = pod["metadata"]
    terminating = bool(meta.get("deletionTimestamp"))
    ready = pod_is_ready(pod)
    return {"addresses": [pod["status"]["podIP"]],
            "conditions": {"ready": ready and not terminating, "serving": ready, "terminating": terminating},
            "nodeName": pod["spec"].get("nodeName", ""),
            "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}}


def _resolve_ports(svc: dict, pod: dict | None, for_slice: bool) -> list[tuple]:
    out = []
    for port in svc["spec"].get("ports") or ():
        target = port.get("targetPort", port.get("port"))
        if isinstance(target, str) and not target.isdigit():
            target = _named_port(pod, target) if pod else None
            if target is None:
                continue
        entry = [("port", int(target)), ("protocol", port.get("protocol", "TCP"))]
        if port.get("name") or for_slice:
            entry.insert(0, ("name", port.get("name", "")))
        if port.get("appProtocol"):
            entry.append(("appProtocol", port["appProtocol"]))
        out.append(tuple(entry))
    return out


def _named_port(pod: dict, name: str) -> int | None:
    for c in pod["spec"].get("containers") or ():
        for p in c.get("ports") or ():
            if p.get("name") == name:
                return int(p["containerPort"])
    return None


def _dictify(port) -> dict:
    return dict(port) if not isinstance(port, dict) else port
