"""An SSH drain's cordon is cockpit's to lift, and a control-plane node's static pods
must run the target version before its kubeadm step counts as done."""

from __future__ import annotations

import asyncio

import pytest

from cockpit.cli.main import main
from cockpit.controllers import upgrade_facts
from cockpit.domain.records import decode
from tests.support.e2e import ann, cockpit_args, nodes

TARGET = "1.33.1"
FAST = ["--poll-interval", "0.05", "--retry-interval", "0.1", "--lease-duration", "5", "--yes"]
STUCK = "kube-scheduler-cp-2"
OLD_IMAGE = "registry.k8s.io/kube-scheduler:v1.32.4"


def mirror(component: str, node: str, tag: str) -> dict:
    """A control-plane mirror pod as the kubelet publishes it."""
    return {"metadata": {"namespace": "kube-system", "name": f"{component}-{node}", "uid": f"{component}-{node}",
                         "annotations": {"kubernetes.io/config.mirror": "hash"}},
            "spec": {"nodeName": node,
                     "containers": [{"name": component, "image": f"registry.k8s.io/{component}:{tag}"}]}}


def control_plane(node: str, tag: str) -> list[dict]:
    return [mirror(c, node, tag) for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")]


def static_pods_behind(pods: list[dict], node: str, target: str) -> list[str]:
    return upgrade_facts.static_pods_behind([decode("pods", p) for p in pods], node, target)


def static_pod_versions(pods: list[dict]) -> dict[str, tuple[str, ...]]:
    return upgrade_facts.static_pod_versions([decode("pods", p) for p in pods])


# ---------------------------------------------------------------------- the pure check


def test_static_pods_at_the_target_pass_the_check():
    pods = control_plane("cp-1", "v1.33.1") + control_plane("cp-2", "v1.32.4")
    assert static_pods_behind(pods, "cp-1", TARGET) == []
    assert static_pod_versions(pods)["cp-1"] == ("v1.33.1",) * 3


def test_a_lagging_static_pod_is_named_with_the_image_it_still_runs():
    pods = control_plane("cp-2", "v1.33.1")
    pods[2] = mirror("kube-scheduler", "cp-2", "v1.32.4")
    assert static_pods_behind(pods, "cp-2", TARGET) == [
        "kube-system/kube-scheduler-cp-2 still runs registry.k8s.io/kube-scheduler:v1.32.4"]


def test_a_missing_mirror_pod_is_not_proof_of_the_new_version():
    pods = control_plane("cp-3", "v1.33.1")[:2]
    assert static_pods_behind(pods, "cp-3", TARGET) == ["no kube-scheduler mirror pod on node/cp-3 yet"]


def test_digest_pinned_and_registry_port_images_are_read_by_tag():
    pods = control_plane("cp-1", "v1.33.1@sha256:" + "a" * 64)
    pods[0]["spec"]["containers"][0]["image"] = "mirror.local:5000/kube-apiserver:v1.33.1"
    assert static_pods_behind(pods, "cp-1", TARGET) == []
    pods[1]["spec"]["containers"][0]["image"] = "mirror.local:5000/kube-controller-manager"
    assert static_pods_behind(pods, "cp-1", TARGET) == [
        "kube-system/kube-controller-manager-cp-1 still runs mirror.local:5000/kube-controller-manager"]


# ---------------------------------------------------------------------- against the simulator


@pytest.mark.slow
def test_drain_via_ssh_records_the_cordon_so_uncordon_lifts_it(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    rc = main(cockpit_args(cluster, journal, "drain", "worker-1", "--ignore-daemonsets", "--via-ssh", "cp-1",
                           "--yes"))
    out = capsys.readouterr().out
    assert rc == 0, out
    drained = nodes(kubectl, cluster)["worker-1"]
    assert drained["spec"]["unschedulable"] is True
    assert '"was_unschedulable": false' in ann(drained, "cordoned-by")
    rc = main(cockpit_args(cluster, journal, "uncordon", "worker-1", "--yes"))
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "node/worker-1 uncordoned" in out
    after = nodes(kubectl, cluster)["worker-1"]
    assert not after["spec"].get("unschedulable")
    assert ann(after, "cordoned-by") is None


@pytest.mark.slow
def test_drain_via_ssh_of_a_node_cordoned_before_leaves_it_cordoned(cluster, kubectl, tmp_path, capsys):
    kubectl("cordon", "worker-2", sim=cluster)
    journal = tmp_path / "journal.jsonl"
    rc = main(cockpit_args(cluster, journal, "drain", "worker-2", "--ignore-daemonsets", "--via-ssh", "cp-1",
                           "--yes"))
    assert rc == 0, capsys.readouterr().out
    assert '"was_unschedulable": true' in ann(nodes(kubectl, cluster)["worker-2"], "cordoned-by")
    rc = main(cockpit_args(cluster, journal, "uncordon", "worker-2", "--yes"))
    err = capsys.readouterr().err
    assert rc == 1 and "was already cordoned before" in err, err  # refused: not cockpit's cordon to lift
    assert nodes(kubectl, cluster)["worker-2"]["spec"]["unschedulable"] is True


@pytest.mark.slow
def test_failed_remote_drain_leaves_no_cordon_claim_on_a_schedulable_node(cluster, kubectl, tmp_path, capsys):
    cluster.call(lambda: cluster.faults.set("ssh_fail", "cp-1=*"))  # exits 1 before cordoning
    rc = main(cockpit_args(cluster, tmp_path / "j", "drain", "worker-3", "--ignore-daemonsets", "--via-ssh", "cp-1",
                           "--yes"))
    capsys.readouterr()
    assert rc == 1
    after = nodes(kubectl, cluster)["worker-3"]
    assert not after["spec"].get("unschedulable")
    assert ann(after, "cordoned-by") is None


def _keep_scheduler_stuck(sim) -> None:
    """From now on, the sim's kube-scheduler mirror pod on cp-2 falls back to the old image
    whenever it is recreated (a kubelet that keeps the old static pod running)."""
    store = sim.cluster.store

    def revert(pod: dict) -> None:
        pod["spec"]["containers"][0]["image"] = OLD_IMAGE

    def listener(event_type, resource, obj, old) -> None:
        meta = obj.get("metadata") or {}
        if (event_type != "DELETED" and resource == "pods" and meta.get("name") == STUCK
                and obj["spec"]["containers"][0]["image"] != OLD_IMAGE):
            # After the commit that triggered us, not inside it (listeners run synchronously).
            asyncio.get_running_loop().call_soon(store.mutate, "pods", "kube-system", STUCK, revert)

    store.add_listener(listener)


@pytest.mark.slow
def test_static_pod_left_on_the_old_version_fails_kubeadm_upgrade_node(cluster, kubectl, tmp_path, capsys):
    cluster.call(_keep_scheduler_stuck, cluster)
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "run", "--to", TARGET, *FAST, "--ready-timeout", "2s"))
    out = capsys.readouterr().out
    assert rc == 1, out[-3000:]
    after = nodes(kubectl, cluster)
    assert ann(after["cp-1"], "upgrade-state") == "done"
    cp2 = after["cp-2"]
    assert (ann(cp2, "upgrade-step"), ann(cp2, "upgrade-state")) == ("kubeadm-upgrade", "failed")
    error = ann(cp2, "upgrade-error")
    assert error == (f"kubeadm upgrade node on cp-2 exited 0 but its control plane is not at v{TARGET} after 2s: "
                     f"kube-system/{STUCK} still runs {OLD_IMAGE}"), error
    assert not cp2["spec"].get("unschedulable")  # halted before its drain
    for later in ["cp-3"] + [f"worker-{i}" for i in range(1, 7)]:
        assert ann(after[later], "upgrade-state") is None, later
