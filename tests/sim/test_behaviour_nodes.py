"""Nodes: demo shape, DaemonSet per node, scheduler filters, kubelet stop/restart, upgrades."""

from __future__ import annotations

from cockpit.sim.controllers import system
from cockpit.sim.objects import condition, pod_is_active, pod_is_ready


def _node(sim, name):
    return sim.call(lambda: sim.store.get("nodes", None, name))


def _ready(sim, name):
    return (condition(_node(sim, name), "Ready") or {}).get("status")


def _pods_on(sim, node, ns=None):
    return sim.call(lambda: [p for p in sim.store.list("pods", ns) if p["spec"].get("nodeName") == node
                             and pod_is_active(p)])


def test_demo_nodes_and_machines(sim):
    nodes = sim.call(lambda: {n["metadata"]["name"]: n for n in sim.store.list("nodes")})
    assert sorted(nodes) == ["cp-1", "cp-2", "cp-3"] + [f"worker-{i}" for i in range(1, 7)]
    for name, node in nodes.items():
        assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.4"
        assert condition(node, "Ready")["status"] == "True"
        cp = name.startswith("cp-")
        assert ("node-role.kubernetes.io/control-plane" in node["metadata"]["labels"]) == cp
    assert nodes["cp-1"]["spec"]["taints"][0]["key"] == "node-role.kubernetes.io/control-plane"
    assert sim.cluster.node_runtime("worker-6").os_id == "rhel"
    assert sim.cluster.node_runtime("worker-1").os_id == "debian"
    rt = sim.cluster.node_runtime("cp-2")
    assert (rt.kubelet_version, rt.kubeadm_version, rt.kubectl_version) == ("1.32.4",) * 3
    assert {"kubelet", "kubeadm", "kubectl"} <= rt.held_packages
    mirrors = sim.call(lambda: [p for p in sim.store.list("pods", "kube-system")
                                if "kubernetes.io/config.mirror" in (p["metadata"].get("annotations") or {})])
    assert len(mirrors) == 12 and all(pod_is_ready(p) for p in mirrors)
    assert all(p["metadata"]["ownerReferences"][0]["kind"] == "Node" for p in mirrors)
    leases = sim.call(lambda: sim.store.list("leases", "kube-node-lease"))
    assert len(leases) == 9


def test_daemonset_runs_one_pod_per_node_including_new_ones(sim, wait_for):
    def proxies():
        return sim.call(lambda: sorted(p["spec"]["nodeName"] for p in sim.store.list("pods", "kube-system")
                                       if p["metadata"]["name"].startswith("kube-proxy-") and pod_is_active(p)))
    assert len(proxies()) == 9 and len(set(proxies())) == 9
    sim.call(lambda: system.add_node(sim.cluster, "worker-7", 9, control_plane=False))
    wait_for(lambda: "worker-7" in proxies(), timeout=5)
    ds = sim.call(lambda: sim.store.get("daemonsets", "kube-system", "kube-proxy"))
    wait_for(lambda: sim.call(lambda: sim.store.get("daemonsets", "kube-system", "kube-proxy"))["status"]
             .get("numberReady") == 10, timeout=5)
    assert ds["status"]["desiredNumberScheduled"] == 10


def test_scheduler_skips_cordoned_and_tainted_nodes_and_respects_capacity(sim, wait_for):
    store = sim.store

    def cordon_all_but_worker_1():
        for i in range(2, 7):
            store.mutate("nodes", None, f"worker-{i}", lambda n: n["spec"].__setitem__("unschedulable", True))
        used = len([p for p in store.list("pods") if p["spec"].get("nodeName") == "worker-1"])

        def capacity(n):
            n["status"]["allocatable"]["pods"] = str(used + 2)
        store.mutate("nodes", None, "worker-1", capacity)
        store.mutate("deployments", "shop", "api-stable", lambda d: d["spec"].__setitem__("replicas", 8))
    sim.call(cordon_all_but_worker_1)

    def pending():
        return [p for p in _pods_in(sim, "api-stable-") if not p["spec"].get("nodeName")]
    wait_for(lambda: len(pending()) == 3, timeout=10)
    placed = [p["spec"]["nodeName"] for p in _pods_in(sim, "api-stable-") if p["spec"].get("nodeName")]
    assert placed.count("worker-1") >= 2 and not any(n.startswith("cp-") for n in placed)
    pod = pending()[0]
    cond = condition(pod, "PodScheduled")
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable"
    assert "Too many pods" in cond["message"] and "node(s) were unschedulable" in cond["message"]
    assert "untolerated taint {node-role.kubernetes.io/control-plane: }" in cond["message"]
    assert sim.call(lambda: any(e["reason"] == "FailedScheduling" for e in store.list("events", "shop")))
    # the node lifecycle controller mirrors cordon as a taint
    assert any(t["key"] == "node.kubernetes.io/unschedulable" for t in _node(sim, "worker-2")["spec"]["taints"])
    sim.call(lambda: store.mutate("nodes", None, "worker-2", lambda n: n["spec"].pop("unschedulable")))
    wait_for(lambda: not pending(), timeout=10)
    assert "taints" not in _node(sim, "worker-2")["spec"]


def _pods_in(sim, prefix, ns="shop"):
    return sim.call(lambda: [p for p in sim.store.list("pods", ns) if p["metadata"]["name"].startswith(prefix)
                             and pod_is_active(p)])


def test_stopped_kubelet_makes_the_node_unknown_and_back(sim, wait_for):
    sim.call(lambda: sim.faults.stopped_kubelets.add("worker-3"))
    wait_for(lambda: _ready(sim, "worker-3") == "Unknown", timeout=10)
    node = _node(sim, "worker-3")
    assert condition(node, "Ready")["reason"] == "NodeStatusUnknown"
    assert {t["key"] for t in node["spec"]["taints"]} == {"node.kubernetes.io/unreachable"}
    assert not any(pod_is_ready(p) for p in _pods_on(sim, "worker-3"))
    events = sim.call(lambda: [e for e in sim.store.list("events", "default") if e["reason"] == "NodeNotReady"])
    assert events and events[0]["involvedObject"]["kind"] == "Node"
    sim.call(lambda: sim.faults.stopped_kubelets.discard("worker-3"))
    wait_for(lambda: _ready(sim, "worker-3") == "True", timeout=10)
    assert "taints" not in _node(sim, "worker-3")["spec"]
    wait_for(lambda: all(pod_is_ready(p) for p in _pods_on(sim, "worker-3")), timeout=10)


def test_restart_kubelet_reports_the_installed_version(sim, wait_for):
    seen = []

    def restart():
        sim.store.add_listener(lambda t, r, o, old: seen.append(condition(o, "Ready")["status"])
                               if r == "nodes" and o["metadata"]["name"] == "worker-1" else None)
        sim.cluster.node_runtime("worker-1").installed["kubelet"] = "1.33.1"
        sim.cluster.restart_kubelet("worker-1")
    sim.call(restart)
    wait_for(lambda: _node(sim, "worker-1")["status"]["nodeInfo"]["kubeletVersion"] == "v1.33.1"
             and _ready(sim, "worker-1") == "True", timeout=10)
    assert "False" in seen
    assert _node(sim, "worker-1")["status"]["nodeInfo"]["kubeProxyVersion"] == ""


def test_kubelet_that_never_returns_goes_unknown(sim, wait_for):
    def restart():
        sim.faults.kubelet_never_returns.add("worker-4")
        sim.cluster.restart_kubelet("worker-4")
    sim.call(restart)
    wait_for(lambda: _ready(sim, "worker-4") == "Unknown", timeout=10)
    assert sim.cluster.node_runtime("worker-4").kubelet_running is False


def test_control_plane_upgrade_moves_version_static_pods_and_kube_proxy(sim, wait_for):
    def image(name):
        return sim.call(lambda: sim.store.get("pods", "kube-system", name))["spec"]["containers"][0]["image"]
    sim.call(lambda: sim.cluster.set_control_plane_version("1.33.1", "cp-1"))
    assert sim.cluster.version == "1.33.1"
    wait_for(lambda: pod_is_ready(sim.call(lambda: sim.store.get("pods", "kube-system", "kube-apiserver-cp-1"))),
             timeout=5)
    assert image("kube-apiserver-cp-1") == "registry.k8s.io/kube-apiserver:v1.33.1"
    assert image("etcd-cp-1") == "registry.k8s.io/etcd:3.5.21-0"
    assert image("kube-apiserver-cp-2") == "registry.k8s.io/kube-apiserver:v1.32.4"
    for node in ("cp-2", "cp-3"):
        sim.call(lambda n=node: sim.cluster.upgrade_node_config(n))
    assert image("kube-scheduler-cp-3") == "registry.k8s.io/kube-scheduler:v1.33.1"

    def proxies_upgraded():
        pods = _pods_in(sim, "kube-proxy-", "kube-system")
        return len(pods) == 9 and all(p["spec"]["containers"][0]["image"].endswith(":v1.33.1") and pod_is_ready(p)
                                      for p in pods)
    wait_for(proxies_upgraded, timeout=20)


def test_pods_on_an_unreachable_node_are_evicted_after_their_toleration(sim_factory, wait_for):
    sim = sim_factory(speed=100)
    victims = [p for p in _pods_on(sim, "worker-2", "shop")]
    assert victims
    sim.call(lambda: sim.cluster.stop_kubelet("worker-2"))
    wait_for(lambda: all(_get_pod(sim, p) is None or _get_pod(sim, p)["metadata"].get("deletionTimestamp")
                         for p in victims), timeout=15)
    assert _pods_on(sim, "worker-2", "kube-system")  # kube-proxy tolerates unreachable forever
    wait_for(lambda: len([p for p in _pods_in(sim, "web-") if pod_is_ready(p)]) == 6, timeout=15)
    assert all(p["spec"]["nodeName"] != "worker-2" for p in _pods_in(sim, "web-") if pod_is_ready(p))
    sim.call(lambda: sim.cluster.start_kubelet("worker-2"))
    wait_for(lambda: not any(_get_pod(sim, p) for p in victims), timeout=15)


def _get_pod(sim, pod):
    return sim.call(lambda: sim.store.get("pods", pod["metadata"]["namespace"], pod["metadata"]["name"]))
