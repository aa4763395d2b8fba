"""End to end: `cockpit upgrade` against the simulated demo cluster over real SSH."""

from __future__ import annotations

import json
import signal

import pytest

from cockpit.cli.main import main
from cockpit.journal import read_journal
from tests.support.e2e import ann, cockpit_args, nodes, start_upgrade_process

TARGET = "1.33.1"
CPS = ["cp-1", "cp-2", "cp-3"]
WORKERS = [f"worker-{i}" for i in range(1, 7)]
FAST = ["--poll-interval", "0.05", "--retry-interval", "0.1", "--lease-duration", "5", "--yes"]

pytestmark = pytest.mark.slow


def is_ready(node):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])


def command_order(journal):
    """Nodes in the order their first upgrade command was journaled."""
    seen = []
    for entry in read_journal(journal):
        if entry.get("event") == "command" and entry.get("action") == "upgrade" and entry["target"] not in seen:
            seen.append(entry["target"])
    return seen


def assert_untouched(node):
    assert ann(node, "upgrade-state") is None, node["metadata"].get("annotations")
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.4"
    assert not node["spec"].get("unschedulable")


def test_upgrade_run_takes_all_nine_nodes_in_order(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    rc = main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST))
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    after = nodes(kubectl, cluster)
    assert sorted(after) == sorted(CPS + WORKERS)
    for name, node in after.items():
        assert is_ready(node), name
        assert not node["spec"].get("unschedulable"), name
        assert node["status"]["nodeInfo"]["kubeletVersion"] == f"v{TARGET}", name
        assert ann(node, "upgrade-state") == "done" and ann(node, "cordoned-by") is None
    version = json.loads(kubectl("get", "--raw", "/version", sim=cluster).stdout)
    assert version["gitVersion"] == f"v{TARGET}"
    assert command_order(journal) == CPS + WORKERS
    commands = [e["command"] for e in read_journal(journal) if e.get("event") == "command"]
    assert any("kubeadm upgrade apply -y v1.33.1" in c for c in commands)
    assert any("dnf install -y" in c and "kubeadm-1.33.1-" in c for c in commands)  # worker-6 is RHEL
    assert kubectl("get", "lease", "-n", "kube-system", "cockpit-upgrade-lock", check=False, sim=cluster).returncode != 0


def test_plan_that_skips_a_minor_is_refused(cluster, tmp_path, capsys):
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "plan", "--to", "1.34.0"))
    out = capsys.readouterr().out
    assert rc == 1
    assert "[no-minor-skip]" in out and "upgrade to 1.33.x first" in out


def test_plan_lists_order_and_exact_commands(cluster, tmp_path, capsys):
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "plan", "--to", TARGET, "--probe-ssh", "--json"))
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["ok"]
    plan = doc["result"]
    assert plan["batches"] == [[n] for n in CPS + WORKERS]
    first = plan["nodes"][0]
    assert first["role"] == "first-control-plane"
    assert "sudo -n kubeadm upgrade apply -y v1.33.1" in [c["command"] for c in first["commands"]]
    rhel = next(n for n in plan["nodes"] if n["name"] == "worker-6")
    assert rhel["os_family"] == "rhel"


def test_blocking_pdb_stalls_the_drain_and_halts_the_run(cluster, kubectl, tmp_path, capsys):
    cluster.call(lambda: cluster.faults.set("blocking_pdbs", "shop/web"))
    journal = tmp_path / "journal.jsonl"
    rc = main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST, "--drain-timeout", "1.5s"))
    out = capsys.readouterr().out
    assert rc == 1
    after = nodes(kubectl, cluster)
    failed = [n for n, node in after.items() if ann(node, "upgrade-state") == "failed"]
    assert len(failed) == 1, {n: ann(v, "upgrade-state") for n, v in after.items()}
    node = after[failed[0]]
    assert ann(node, "upgrade-step") == "draining"
    assert "shop/web" in ann(node, "upgrade-error") and "disruptionsAllowed=0" in ann(node, "upgrade-error")
    assert "halted" in out
    assert f"warning: node {failed[0]}: PDB shop/web blocks the drain" in out  # the plan said so up front
    order = CPS + WORKERS
    for later in order[order.index(failed[0]) + 1:]:
        assert_untouched(after[later])


def test_ssh_drop_during_kubeadm_upgrade_node_halts_with_accurate_state(cluster, kubectl, tmp_path, capsys):
    cluster.call(lambda: cluster.faults.set("ssh_drop", "cp-2=kubeadm upgrade node"))
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "run", "--to", TARGET, *FAST))
    capsys.readouterr()
    assert rc == 1
    after = nodes(kubectl, cluster)
    assert ann(after["cp-1"], "upgrade-state") == "done"
    assert (ann(after["cp-2"], "upgrade-step"), ann(after["cp-2"], "upgrade-state")) == ("kubeadm-upgrade", "failed")
    assert "dropped" in ann(after["cp-2"], "upgrade-error")
    assert not after["cp-2"]["spec"].get("unschedulable")  # not drained yet
    for later in ["cp-3"] + WORKERS:
        assert_untouched(after[later])


def test_kubelet_that_never_returns_halts_at_waiting_ready(cluster, kubectl, tmp_path, capsys):
    cluster.call(lambda: cluster.faults.set("kubelet_never_returns", "cp-1"))
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "run", "--to", TARGET, *FAST, "--ready-timeout", "2s"))
    capsys.readouterr()
    assert rc == 1
    after = nodes(kubectl, cluster)
    cp1 = after["cp-1"]
    assert (ann(cp1, "upgrade-step"), ann(cp1, "upgrade-state")) == ("waiting-ready", "failed")
    assert "not Ready" in ann(cp1, "upgrade-error")
    assert cp1["spec"].get("unschedulable")  # drained and still cordoned: the node is broken
    for later in CPS[1:] + WORKERS:
        assert_untouched(after[later])


def test_kill_9_after_the_kubelet_install_resumes_without_reinstalling(cluster, kubectl, tmp_path, capsys, wait_for):
    """Killed at waiting-ready (kubelet package already installed), the next run continues at the
    kubelet restart: no package is installed again and kubeadm is not run again on that node."""
    journal = tmp_path / "journal.jsonl"
    cluster.call(lambda: cluster.faults.set("kubelet_never_returns", "cp-2"))
    proc = start_upgrade_process(cluster, journal, TARGET, *FAST, "--lease-duration", "2", "--ready-timeout", "120s")
    try:
        wait_for(lambda: ann(nodes(kubectl, cluster)["cp-2"], "upgrade-step") == "waiting-ready", timeout=90)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    killed_holder = json.loads(kubectl("get", "lease", "-n", "kube-system", "cockpit-upgrade-lock", "-o", "json",
                                       sim=cluster).stdout)["spec"]["holderIdentity"]
    assert killed_holder.endswith(f":{proc.pid}") and "/" in killed_holder  # user@host/bootid:pid
    first = len(list(read_journal(journal)))
    cluster.call(lambda: cluster.faults.set("kubelet_never_returns", None))
    # Liveness is the renewal time alone: the dead run's lease blocks until it expires (2 s).
    wait_for(lambda: main(cockpit_args(cluster, journal, "upgrade", "status", "--json")) == 0
             and json.loads(capsys.readouterr().out)["result"]["lock"]["stale"], timeout=30)
    rc = main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST))
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    after = nodes(kubectl, cluster)
    for name, node in after.items():
        assert node["status"]["nodeInfo"]["kubeletVersion"] == f"v{TARGET}", name
        assert not node["spec"].get("unschedulable"), name
        assert ann(node, "upgrade-state") == "done", name
    second = list(read_journal(journal))[first:]
    on_cp2 = [e["command"] for e in second if e.get("event") == "command" and e["target"] == "cp-2"]
    assert any("systemctl restart kubelet" in c for c in on_cp2), on_cp2  # the restart step ran again
    assert not any("install" in c or "kubeadm" in c for c in on_cp2), on_cp2  # no reinstall, no kubeadm
    on_cp1 = [e for e in second if e.get("event") == "command" and e["target"] == "cp-1"]
    assert on_cp1 == []  # finished before the kill: untouched
    takeover = [e for e in second if e.get("event") == "lock-takeover"]
    assert len(takeover) == 1 and takeover[0]["previous"]["holder"] == killed_holder
    starts = [i for i, e in enumerate(second) if e.get("action") == "upgrade" and e.get("event") == "start"]
    assert starts and starts[0] < second.index(takeover[0])  # the journal's start precedes the Lease write


def test_second_cockpit_is_refused_by_the_lease(cluster, kubectl, tmp_path, capsys):
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "cockpit-upgrade-lock", "namespace": "kube-system",
                          "annotations": {"cockpit.dev/upgrade-target": TARGET, "cockpit.dev/upgrade-run": "run-x"}},
             "spec": {"holderIdentity": "alice@bastion-2:4242", "leaseDurationSeconds": 300,
                      "renewTime": _now_micro(), "acquireTime": _now_micro()}}
    kubectl("create", "-f", "-", input=json.dumps(lease), sim=cluster)
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "run", "--to", TARGET, *FAST))
    err = capsys.readouterr().err
    assert rc == 1
    assert "held by alice@bastion-2:4242" in err and "no other live run holds the upgrade lock" in err
    for node in nodes(kubectl, cluster).values():
        assert_untouched(node)
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "status", "--json"))
    status = json.loads(capsys.readouterr().out)["result"]
    assert status["lock"]["holder"] == "alice@bastion-2:4242" and not status["lock"]["stale"]


def _now_micro():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_concurrency_is_capped_by_the_pdb_and_batches_run_together_without_it(cluster, kubectl, tmp_path, capsys):
    assert main(cockpit_args(cluster, tmp_path / "j", "upgrade", "plan", "--to", TARGET, "--concurrency", "3")) == 0
    assert "capped at 1: a PodDisruptionBudget allows 1 disruption(s)" in capsys.readouterr().out
    kubectl("delete", "pdb", "-n", "shop", "web", sim=cluster)
    journal = tmp_path / "journal.jsonl"
    rc = main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, "--concurrency", "3", *FAST))
    out = capsys.readouterr().out
    assert rc == 0, out[-2000:]
    assert "batch 4: worker-1, worker-2, worker-3" in out and "batch 5: worker-4, worker-5, worker-6" in out
    for node in nodes(kubectl, cluster).values():
        assert node["status"]["nodeInfo"]["kubeletVersion"] == f"v{TARGET}" and not node["spec"].get("unschedulable")


def test_changed_host_key_halts_before_anything_runs_even_when_accepting_new_keys(cluster, kubectl, tmp_path, capsys):
    known = cluster.ssh_config.replace("ssh_config", "known_hosts")
    lines = open(known).read().splitlines()
    first_host, second_key = lines[0].split()[0], " ".join(lines[1].split()[1:])
    lines[0] = f"{first_host} {second_key}"  # cp-1 now "presents" a different key than recorded
    open(known, "w").write("\n".join(lines) + "\n")
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "run", "--to", TARGET, "--accept-new-host-keys", *FAST))
    capsys.readouterr()
    assert rc == 1
    after = nodes(kubectl, cluster)
    cp1 = after["cp-1"]
    assert (ann(cp1, "upgrade-step"), ann(cp1, "upgrade-state")) == ("upgrading-kubeadm", "failed")
    assert "host key" in ann(cp1, "upgrade-error").lower()
    assert after["cp-1"]["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.4"
    for later in CPS[1:] + WORKERS:
        assert_untouched(after[later])


def test_read_only_refuses_the_run_before_taking_the_lock(cluster, kubectl, tmp_path, capsys):
    rc = main(cockpit_args(cluster, tmp_path / "j", "--read-only", "upgrade", "run", "--to", TARGET, *FAST))
    assert rc == 1
    assert "read-only mode" in capsys.readouterr().err
    assert kubectl("get", "lease", "-n", "kube-system", "cockpit-upgrade-lock", check=False, sim=cluster).returncode
