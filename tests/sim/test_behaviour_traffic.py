"""Services, endpoints, PDBs, pod lifecycle details, events and churn."""

from __future__ import annotations

import time

from cockpit.sim.objects import condition, pod_is_active, pod_is_ready


def _get(sim, resource, ns, name):
    return sim.call(lambda: sim.store.get(resource, ns, name))


def _endpoint_pods(sim, name="web", ns="shop"):
    ep = _get(sim, "endpoints", ns, name)
    return sorted(a["targetRef"]["name"] for s in ep.get("subsets") or () for a in s.get("addresses") or ())


def _slice(sim, svc="web", ns="shop"):
    return sim.call(lambda: next(s for s in sim.store.list("endpointslices", ns)
                                 if s["metadata"]["labels"].get("kubernetes.io/service-name") == svc))


def test_endpoints_follow_selector_patch(sim, wait_for):
    assert len(_endpoint_pods(sim)) == 3 and all(n.startswith("web-blue-") for n in _endpoint_pods(sim))
    sl = _slice(sim)
    assert sl["addressType"] == "IPv4" and sl["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    ep = sl["endpoints"][0]
    assert ep["conditions"] == {"ready": True, "serving": True, "terminating": False}
    assert ep["targetRef"]["kind"] == "Pod" and ep["nodeName"].startswith("worker-")
    sim.call(lambda: sim.store.mutate("services", "shop", "web",
                                      lambda s: s["spec"]["selector"].__setitem__("color", "green")))
    wait_for(lambda: all(n.startswith("web-green-") for n in _endpoint_pods(sim)) and len(_endpoint_pods(sim)) == 3)
    assert all(e["targetRef"]["name"].startswith("web-green-") for e in _slice(sim)["endpoints"])
    kubernetes = _get(sim, "endpoints", "default", "kubernetes")
    assert len(kubernetes["subsets"][0]["addresses"]) == 3


def test_pdb_status_and_blocking_fault(sim, wait_for):
    pdb = _get(sim, "poddisruptionbudgets", "shop", "web")
    st = pdb["status"]
    assert (st["currentHealthy"], st["desiredHealthy"], st["disruptionsAllowed"], st["expectedPods"]) == (6, 5, 1, 6)
    assert st["observedGeneration"] == 1
    cond = st["conditions"][0]
    assert cond["type"] == "DisruptionAllowed" and cond["status"] == "True" and cond["reason"] == "SufficientPods"
    sim.call(lambda: sim.faults.blocking_pdbs.add("shop/web"))
    wait_for(lambda: _get(sim, "poddisruptionbudgets", "shop", "web")["status"]["disruptionsAllowed"] == 0, timeout=5)
    assert _get(sim, "poddisruptionbudgets", "shop", "web")["status"]["conditions"][0]["reason"] == "InsufficientPods"
    sim.call(lambda: sim.faults.blocking_pdbs.clear())
    wait_for(lambda: _get(sim, "poddisruptionbudgets", "shop", "web")["status"]["disruptionsAllowed"] == 1, timeout=5)


def test_graceful_delete_removes_pod_after_grace_and_replaces_it(sim, wait_for):
    pod = sim.call(lambda: next(p for p in sim.store.list("pods", "shop") if p["metadata"]["name"].startswith("web-blue-")))
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    start = time.monotonic()
    sim.call(lambda: sim.cluster.delete_pod(pod))
    gone = _get(sim, "pods", ns, name)
    assert gone["metadata"]["deletionGracePeriodSeconds"] == 30 and gone["metadata"]["deletionTimestamp"]
    wait_for(lambda: not pod_is_ready(_get(sim, "pods", ns, name)))
    wait_for(lambda: name not in _endpoint_pods(sim))
    terminating = [e["conditions"] for e in _slice(sim)["endpoints"] if e["targetRef"]["name"] == name]
    assert terminating == [{"ready": False, "serving": False, "terminating": True}]
    wait_for(lambda: _get(sim, "pods", ns, name) is None, timeout=5)
    elapsed = time.monotonic() - start
    assert 30 * 0.05 * 0.8 <= elapsed  # the grace period, scaled
    wait_for(lambda: len(_endpoint_pods(sim)) == 3, timeout=5)
    reasons = sim.call(lambda: {e["reason"] for e in sim.store.list("events", "shop")
                                if e["involvedObject"]["name"] == name})
    assert "Killing" in reasons


def test_crashing_and_never_ready_images(sim, wait_for):
    def deploy():
        sim.faults.never_ready_images.add("registry.example/web:1.9.0")
        for name, image in (("crasher", "registry.example/web:1.9.0-crash"), ("sleepy", "registry.example/web:1.9.0")):
            sim.store.create("deployments", {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": name, "image": image}]}}}})
    sim.call(deploy)

    def crash_status():
        pods = [p for p in sim.store.list("pods", "shop") if p["metadata"]["name"].startswith("crasher-")]
        return pods and (pods[0].get("status") or {}).get("containerStatuses", [{}])[0]
    wait_for(lambda: (sim.call(crash_status) or {}).get("restartCount", 0) >= 2, timeout=20)
    cs = sim.call(crash_status)
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    wait_for(lambda: sim.call(lambda: any(e["reason"] == "BackOff" and "restarting failed container" in e["message"]
                                          for e in sim.store.list("events", "shop"))), timeout=5)
    sleepy = sim.call(lambda: [p for p in sim.store.list("pods", "shop") if p["metadata"]["name"].startswith("sleepy-")])
    wait_for(lambda: sim.call(lambda: any(e["reason"] == "Unhealthy" for e in sim.store.list("events", "shop"))),
             timeout=5)
    pod = _get(sim, "pods", "shop", sleepy[0]["metadata"]["name"])
    assert pod["status"]["phase"] == "Running" and condition(pod, "Ready")["status"] == "False"


def test_events_are_real_shaped_and_bounded(sim):
    events = sim.call(lambda: sim.store.list("events", "shop"))
    reasons = {e["reason"] for e in events}
    assert {"Scheduled", "Pulling", "Pulled", "Created", "Started", "SuccessfulCreate", "ScalingReplicaSet",
            "Failed", "BackOff"} <= reasons
    v1 = sim.call(lambda: sim.store.list("events.events.k8s.io", "shop"))
    assert len(v1) == len(events) and all(e["eventTime"] for e in v1)
    recorder = sim.cluster.events
    recorder.per_namespace = 20

    def flood():
        node = sim.store.get("nodes", None, "worker-1")
        for i in range(50):
            recorder.record(node, "Normal", "Flood", f"message {i}", "test")
        return len(sim.store.list("events", "default")), len(sim.store.list("events.events.k8s.io", "default"))
    assert sim.call(flood) == (20, 20)


def test_churn_generates_pod_changes(sim, wait_for):
    counter = {"n": 0}

    def start():
        sim.store.add_listener(lambda t, r, o, old: counter.__setitem__("n", counter["n"] + 1)
                               if r == "pods" and t == "MODIFIED" else None)
        sim.faults.churn_per_second = 200
    sim.call(start)
    wait_for(lambda: counter["n"] >= 100, timeout=5)
    sim.call(lambda: setattr(sim.faults, "churn_per_second", 0))
    restarts = sim.call(lambda: sum(p["status"]["containerStatuses"][0]["restartCount"]
                                    for p in sim.store.list("pods") if p["status"].get("containerStatuses")))
    assert restarts >= 50
    assert sim.call(lambda: all(pod_is_active(p) for p in sim.store.list("pods", "shop")
                                if not p["metadata"]["name"].startswith("checkout")))
