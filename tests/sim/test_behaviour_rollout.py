"""Deployment behaviour: rolling updates within maxSurge/maxUnavailable, progress deadline,
undo reusing the old ReplicaSet, restart, pause/resume, Recreate, revision history, GC."""

from __future__ import annotations

from cockpit.sim.objects import REVISION, TEMPLATE_HASH, pod_is_active, pod_is_ready


def _deploy(sim, name, ns="shop"):
    return sim.call(lambda: sim.store.get("deployments", ns, name))


def _rses(sim, name, ns="shop"):
    def read():
        d = sim.store.get("deployments", ns, name)
        uid = d["metadata"]["uid"]
        return [rs for rs in sim.store.list("replicasets", ns)
                if any(r["uid"] == uid for r in rs["metadata"].get("ownerReferences") or ())]
    return sim.call(read)


def _rolled_out(sim, name, ns="shop"):
    d = _deploy(sim, name, ns)
    st, want = d.get("status") or {}, d["spec"]["replicas"]
    return (st.get("observedGeneration") == d["metadata"]["generation"] and st.get("updatedReplicas") == want
            and st.get("replicas") == want and st.get("availableReplicas") == want)


def _mutate(sim, name, fn, ns="shop"):
    sim.call(lambda: sim.store.mutate("deployments", ns, name, fn))


def _set_image(image):
    def apply(d):
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return apply


def _progressing(sim, name):
    conds = (_deploy(sim, name).get("status") or {}).get("conditions") or []
    return next((c for c in conds if c["type"] == "Progressing"), {})


def test_rolling_update_respects_surge_and_unavailable(sim, wait_for):
    """Watch every pod change during a rollout of 4 replicas with maxSurge 1 / maxUnavailable 1."""
    store, seen = sim.store, {"max_pods": 0, "min_available": 99, "samples": 0}

    def count():
        pods = [p for p in store.list("pods", "shop") if p["metadata"]["name"].startswith("web-green-")
                and pod_is_active(p)]
        seen["max_pods"] = max(seen["max_pods"], len(pods))
        seen["min_available"] = min(seen["min_available"], sum(1 for p in pods if pod_is_ready(p)))
        seen["samples"] += 1

    def setup():
        def spec(d):
            d["spec"]["replicas"] = 4
            d["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
        store.mutate("deployments", "shop", "web-green", spec)

    sim.call(setup)
    wait_for(lambda: _rolled_out(sim, "web-green"), timeout=15)

    def start():
        store.add_listener(lambda t, r, o, old: count() if r == "pods" else None)
        store.mutate("deployments", "shop", "web-green", _set_image("registry.example/web:1.6.0"))

    sim.call(start)
    wait_for(lambda: _rolled_out(sim, "web-green"), timeout=20)
    assert seen["samples"] > 10
    assert seen["max_pods"] <= 4 + 1
    assert seen["min_available"] >= 4 - 1
    d = _deploy(sim, "web-green")
    assert d["metadata"]["annotations"][REVISION] == "2"
    assert _progressing(sim, "web-green")["reason"] == "NewReplicaSetAvailable"
    events = sim.call(lambda: [e["message"] for e in store.list("events", "shop") if e["reason"] == "ScalingReplicaSet"
                               and e["involvedObject"]["name"] == "web-green"])
    assert any("Scaled down replica set" in m for m in events)


def test_checkout_is_stuck_then_exceeds_deadline(sim_factory, wait_for):
    sim = sim_factory(speed=100)
    rses = _rses(sim, "checkout")
    assert sorted(rs["metadata"]["annotations"][REVISION] for rs in rses) == ["1", "2"]
    wait_for(lambda: _progressing(sim, "checkout").get("reason") == "ProgressDeadlineExceeded", timeout=10)
    cond = _progressing(sim, "checkout")
    assert cond["status"] == "False" and "has timed out progressing" in cond["message"]
    st = _deploy(sim, "checkout")["status"]
    assert st["updatedReplicas"] == 1 and st["availableReplicas"] == 3 and st["replicas"] == 4


def test_undo_reuses_the_old_replicaset(sim, wait_for):
    """What `kubectl rollout undo` does: put the previous RS template back (hash label stripped)."""
    old = next(rs for rs in _rses(sim, "checkout") if rs["metadata"]["annotations"][REVISION] == "1")

    def undo(d):
        tpl = old["spec"]["template"]
        labels = {k: v for k, v in tpl["metadata"]["labels"].items() if k != TEMPLATE_HASH}
        d["spec"]["template"] = {"metadata": {"creationTimestamp": None, "labels": labels},
                                 "spec": {**tpl["spec"], "containers": [
                                     {**c, "resources": {}} for c in tpl["spec"]["containers"]]}}
    _mutate(sim, "checkout", undo)
    wait_for(lambda: _rolled_out(sim, "checkout"), timeout=15)
    rses = {rs["metadata"]["name"]: rs for rs in _rses(sim, "checkout")}
    assert len(rses) == 2
    assert rses[old["metadata"]["name"]]["metadata"]["annotations"][REVISION] == "3"
    assert _deploy(sim, "checkout")["metadata"]["annotations"][REVISION] == "3"
    assert _progressing(sim, "checkout")["reason"] == "NewReplicaSetAvailable"


def test_restart_rolls_a_new_replicaset(sim, wait_for):
    def restart(d):
        d["spec"]["template"]["metadata"].setdefault("annotations", {})[
            "kubectl.kubernetes.io/restartedAt"] = "2026-11-26T02:21:57Z"
    before = {p["metadata"]["uid"] for p in _pods(sim, "web-blue-")}
    _mutate(sim, "web-blue", restart)
    wait_for(lambda: _rolled_out(sim, "web-blue") and len(_rses(sim, "web-blue")) == 2, timeout=15)
    wait_for(lambda: not before & {p["metadata"]["uid"] for p in _pods(sim, "web-blue-")}, timeout=15)


def _pods(sim, prefix, ns="shop"):
    return sim.call(lambda: [p for p in sim.store.list("pods", ns) if p["metadata"]["name"].startswith(prefix)
                             and pod_is_active(p)])


def test_paused_deployment_does_not_roll_until_resumed(sim, wait_for):
    def pause_and_change(d):
        d["spec"]["paused"] = True
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example/api:3.1.1"
    _mutate(sim, "api-stable", pause_and_change)
    wait_for(lambda: _progressing(sim, "api-stable").get("reason") == "DeploymentPaused", timeout=5)
    assert len(_rses(sim, "api-stable")) == 1
    assert _deploy(sim, "api-stable")["status"]["observedGeneration"] == _deploy(sim, "api-stable")["metadata"]["generation"]

    def resume(d):
        d["spec"]["paused"] = False
    _mutate(sim, "api-stable", resume)
    wait_for(lambda: _rolled_out(sim, "api-stable") and len(_rses(sim, "api-stable")) == 2, timeout=15)
    assert _progressing(sim, "api-stable")["reason"] == "NewReplicaSetAvailable"


def test_recreate_stops_old_pods_before_new_ones(sim, wait_for):
    store, overlap = sim.store, []

    def watch(t, r, o, old):
        if r != "pods" or not o["metadata"]["name"].startswith("api-canary-"):
            return
        hashes = {p["metadata"]["labels"].get(TEMPLATE_HASH) for p in store.list("pods", "shop")
                  if p["metadata"]["name"].startswith("api-canary-")}
        if len(hashes) > 1:
            overlap.append(hashes)

    def start():
        def recreate(d):
            d["spec"]["strategy"] = {"type": "Recreate"}
            d["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example/api:3.2.0-rc.2"
        store.add_listener(watch)
        store.mutate("deployments", "shop", "api-canary", recreate)
    sim.call(start)
    wait_for(lambda: _rolled_out(sim, "api-canary") and len(_rses(sim, "api-canary")) == 2, timeout=15)
    assert overlap == []


def test_revision_history_limit_and_cascade_delete(sim, wait_for):
    def limit(d):
        d["spec"]["revisionHistoryLimit"] = 1
    _mutate(sim, "web-blue", limit)
    for tag in ("1.4.1", "1.4.2", "1.4.3"):
        _mutate(sim, "web-blue", _set_image(f"registry.example/web:{tag}"))
        wait_for(lambda: _rolled_out(sim, "web-blue"), timeout=15)
    wait_for(lambda: len(_rses(sim, "web-blue")) == 2, timeout=5)
    sim.call(lambda: sim.store.remove("deployments", "shop", "web-blue"))
    wait_for(lambda: not sim.call(lambda: [rs for rs in sim.store.list("replicasets", "shop")
                                           if rs["metadata"]["name"].startswith("web-blue-")]), timeout=5)
    wait_for(lambda: not sim.call(lambda: [p for p in sim.store.list("pods", "shop")
                                           if p["metadata"]["name"].startswith("web-blue-")]), timeout=10)
