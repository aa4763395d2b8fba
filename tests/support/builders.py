"""Raw Kubernetes objects (as the API returns them) for UI tests, shaped like the demo scenario."""

from __future__ import annotations

import itertools

_rv = itertools.count(100)
T0 = "2026-01-01T11:00:00Z"


def _meta(name: str, namespace: str = "", uid: str | None = None, **extra) -> dict:
    meta = {"name": name, "uid": uid or f"uid-{namespace}-{name}", "resourceVersion": str(next(_rv)),
            "creationTimestamp": T0}
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def node(name: str, cp: bool = False, version: str = "v1.32.4", ready: bool = True,
         unschedulable: bool = False) -> dict:
    labels = {"kubernetes.io/hostname": name}
    if cp:
        labels["node-role.kubernetes.io/control-plane"] = ""
    taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}] if cp else []
    if unschedulable:
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    return {"apiVersion": "v1", "kind": "Node", "metadata": _meta(name, labels=labels),
            "spec": {"unschedulable": unschedulable, "taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "reason": "KubeletReady" if ready else "KubeletNotReady"}],
                       "nodeInfo": {"kubeletVersion": version, "kubeProxyVersion": version}}}


def deployment(namespace: str, name: str, replicas: int = 3, image: str = "registry.example/web:1.4.0",
               ready: int | None = None, updated: int | None = None, revision: int = 1,
               labels: dict | None = None, failed: bool = False, paused: bool = False) -> dict:
    ready = replicas if ready is None else ready
    updated = replicas if updated is None else updated
    labels = labels or {"app": name}
    progressing = ({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                    "message": f'ReplicaSet "{name}-2" has timed out progressing.'} if failed else
                   {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"})
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": _meta(name, namespace, generation=revision,
                              annotations={"deployment.kubernetes.io/revision": str(revision)}, labels=labels),
            "spec": {"replicas": replicas, "paused": paused, "progressDeadlineSeconds": 60,
                     "selector": {"matchLabels": labels}, "strategy": {"type": "RollingUpdate"},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"observedGeneration": revision, "replicas": replicas, "updatedReplicas": updated,
                       "readyReplicas": ready, "availableReplicas": ready,
                       "conditions": [{"type": "Available", "status": "True" if ready else "False"}, progressing]}}


def replicaset(dep: dict, revision: int, hash_: str, replicas: int, ready: int, image: str) -> dict:
    ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
    labels = {**dep["spec"]["selector"]["matchLabels"], "pod-template-hash": hash_}
    owner = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": dep["metadata"]["uid"],
              "controller": True}]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": _meta(f"{name}-{hash_}", ns, labels=labels, ownerReferences=owner,
                              annotations={"deployment.kubernetes.io/revision": str(revision)}),
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready}}


def pod(rs: dict, suffix: str, node_name: str, ready: bool = True, waiting: str = "", restarts: int = 0) -> dict:
    ns, name = rs["metadata"]["namespace"], rs["metadata"]["name"]
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name, "uid": rs["metadata"]["uid"],
              "controller": True}]
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": T0}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": _meta(f"{name}-{suffix}", ns, labels=rs["metadata"]["labels"], ownerReferences=owner),
            "spec": {"nodeName": node_name, "containers": rs["spec"]["template"]["spec"]["containers"]},
            "status": {"phase": "Running" if not waiting else "Pending", "startTime": T0,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "app", "ready": ready, "restartCount": restarts,
                                              "state": state, "image": "x", "imageID": ""}]}}


def service(namespace: str, name: str, selector: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace),
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}], "type": "ClusterIP"}}


def endpointslice(namespace: str, service_name: str, pods: list[dict], ready: bool = True) -> dict:
    endpoints = [{"addresses": [f"10.0.0.{i}"], "conditions": {"ready": ready},
                  "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}}
                 for i, p in enumerate(pods, 1)]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": _meta(f"{service_name}-abc", namespace,
                              labels={"kubernetes.io/service-name": service_name}),
            "addressType": "IPv4", "endpoints": endpoints, "ports": [{"port": 8080}]}


def httproute(namespace: str, name: str, weights: dict[str, int]) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": _meta(name, namespace),
            "spec": {"parentRefs": [{"name": "gw"}],
                     "rules": [{"backendRefs": [{"name": n, "port": 80, "weight": w} for n, w in weights.items()]}]}}


def event(namespace: str, name: str, reason: str, message: str, obj_kind: str, obj_name: str,
          when: str = "2026-01-01T11:59:00Z", type_: str = "Warning") -> dict:
    return {"apiVersion": "v1", "kind": "Event", "metadata": _meta(name, namespace),
            "type": type_, "reason": reason, "message": message, "count": 1,
            "involvedObject": {"kind": obj_kind, "name": obj_name, "namespace": namespace},
            "firstTimestamp": when, "lastTimestamp": when, "source": {"component": "kubelet"}}


def demo_objects() -> dict[str, list[dict]]:
    """A small demo-like cluster: 3 cp + 3 workers, blue/green web, a failed checkout, an api route."""
    objs: dict[str, list[dict]] = {k: [] for k in ("nodes", "deployments", "replicasets", "pods", "services",
                                                   "endpointslices", "httproutes", "events")}
    objs["nodes"] = [node(f"cp-{i}", cp=True) for i in (1, 2, 3)] + [node(f"worker-{i}") for i in (1, 2, 3)]
    for colour, image in (("blue", "web:1.4.0"), ("green", "web:1.5.0")):
        labels = {"app": "web", "color": colour}
        dep = deployment("shop", f"web-{colour}", image=f"registry.example/{image}", labels=labels)
        rs = replicaset(dep, 1, f"{colour[:3]}5d9", 3, 3, dep["spec"]["template"]["spec"]["containers"][0]["image"])
        pods = [pod(rs, s, f"worker-{i}") for i, s in enumerate(("a1", "b2", "c3"), 1)]
        objs["deployments"].append(dep)
        objs["replicasets"].append(rs)
        objs["pods"] += pods
    objs["services"].append(service("shop", "web", {"app": "web", "color": "blue"}))
    objs["endpointslices"].append(endpointslice("shop", "web", objs["pods"][:3]))
    checkout = deployment("shop", "checkout", image="registry.example/checkout:2.4.0-broken", updated=1,
                          revision=2, failed=True)
    old = replicaset(checkout, 1, "7c6f", 3, 3, "registry.example/checkout:2.3.1")
    new = replicaset(checkout, 2, "9f8e", 1, 0, "registry.example/checkout:2.4.0-broken")
    objs["deployments"].append(checkout)
    objs["replicasets"] += [old, new]
    objs["pods"] += [pod(old, s, f"worker-{i}") for i, s in enumerate(("x1", "y2", "z3"), 1)]
    objs["pods"].append(pod(new, "q9", "worker-2", ready=False, waiting="ImagePullBackOff"))
    for track, weight in (("stable", 90), ("canary", 10)):
        dep = deployment("shop", f"api-{track}", replicas=2, image="registry.example/api:3.0",
                         labels={"app": "api", "track": track})
        objs["deployments"].append(dep)
        objs["services"].append(service("shop", f"api-{track}", {"app": "api", "track": track}))
        rs = replicaset(dep, 1, f"{track[:3]}11", 2, 2, "registry.example/api:3.0")
        pods = [pod(rs, s, "worker-3") for s in ("m1", "m2")]
        objs["replicasets"].append(rs)
        objs["pods"] += pods
        objs["endpointslices"].append(endpointslice("shop", f"api-{track}", pods))
    objs["httproutes"].append(httproute("shop", "api", {"api-stable": 90, "api-canary": 10}))
    objs["events"] = [
        event("shop", "ev1", "Failed", 'Failed to pull image "registry.example/checkout:2.4.0-broken"',
              "Pod", "checkout-9f8e-q9", when="2026-01-01T11:59:30Z"),
        event("shop", "ev2", "ProgressDeadlineExceeded", "ReplicaSet has timed out progressing",
              "Deployment", "checkout", when="2026-01-01T11:58:00Z"),
        event("shop", "ev3", "Scheduled", "assigned", "Pod", "web-blue-x", type_="Normal"),
    ]
    return objs
