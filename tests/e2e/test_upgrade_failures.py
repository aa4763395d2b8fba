"""How a run fails: a step whose command exits non-zero, a package that installs the wrong
version, and a lock taken over while the run holds it. Each asserts what the cluster records
(node annotations, cordon, Lease), the journal and the Kubernetes Events."""

from __future__ import annotations

import asyncio
import json

import pytest

from cockpit.cli.main import main
from cockpit.controllers.upgrade import UpgradeController, UpgradeOptions
from cockpit.domain.drain import DrainOptions
from cockpit.journal import read_journal
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from cockpit.sim.nodes.shell import NodeShell
from cockpit.ssh.pool import SshPool
from tests.support.e2e import ann, cockpit_args, nodes
from tests.support.operations import services, step_journal
from tests.support.wait import async_wait_until

TARGET = "1.33.1"
FAST = ["--poll-interval", "0.05", "--retry-interval", "0.1", "--lease-duration", "3", "--yes"]
LATER = ["cp-2", "cp-3"] + [f"worker-{i}" for i in range(1, 7)]

pytestmark = pytest.mark.slow


def node_events(kubectl, cluster, name: str) -> list[dict]:
    raw = kubectl("get", "--raw", "/apis/events.k8s.io/v1/namespaces/default/events", sim=cluster).stdout
    return [e for e in json.loads(raw)["items"]
            if e["reportingController"] == "cockpit" and e["regarding"]["name"] == name]


def assert_halted_on_cp1_before_touching_others(kubectl, cluster, step: str) -> str:
    after = nodes(kubectl, cluster)
    cp1 = after["cp-1"]
    assert (ann(cp1, "upgrade-step"), ann(cp1, "upgrade-state")) == (step, "failed")
    for name in LATER:
        assert ann(after[name], "upgrade-state") is None, name
        assert not after[name]["spec"].get("unschedulable"), name
    assert kubectl("get", "lease", "-n", "kube-system", "cockpit-upgrade-lock", check=False,
                   sim=cluster).returncode != 0  # released
    failed = [e for e in node_events(kubectl, cluster, "cp-1") if e["reason"] == "UpgradeStepFailed"]
    assert len(failed) == 1 and failed[0]["type"] == "Warning"
    return ann(cp1, "upgrade-error")


def test_a_step_whose_command_exits_non_zero_fails_the_node(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    cluster.call(lambda: cluster.faults.set("ssh_fail", "cp-1=apt-get install"))
    rc = main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST))
    out = capsys.readouterr().out
    assert rc == 1, out[-2000:]
    error = assert_halted_on_cp1_before_touching_others(kubectl, cluster, "upgrading-kubeadm")
    assert "exited 1" in error and "simulated failure" in error, error
    results = [e for e in read_journal(journal) if e.get("event") == "command-result" and e["target"] == "cp-1"]
    assert results[-1]["exit_status"] == 1 and "apt-get install" in results[-1]["command"]
    run = [e for e in read_journal(journal) if e.get("action") == "upgrade" and e["event"] == "result"][-1]
    assert run["outcome"] == "halted" and run["node_results"]["cp-1"]["state"] == "failed"
    assert nodes(kubectl, cluster)["cp-1"]["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.4"


def test_a_package_that_installs_another_version_fails_the_step(cluster, kubectl, tmp_path, capsys, monkeypatch):
    real = NodeShell._set_installed

    def wrong_kubeadm(shell, package, version):  # the repository served 1.33.0 for 1.33.1-*
        real(shell, package, "1.33.0" if package == "kubeadm" and shell.node == "cp-1" else version)

    monkeypatch.setattr(NodeShell, "_set_installed", wrong_kubeadm)
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "run", "--to", TARGET, *FAST))
    out = capsys.readouterr().out
    assert rc == 1, out[-2000:]
    error = assert_halted_on_cp1_before_touching_others(kubectl, cluster, "upgrading-kubeadm")
    assert error == "kubeadm on cp-1 reports 'v1.33.0' after the install, not v1.33.1", error


async def test_a_run_whose_lock_is_taken_over_stops_and_leaves_the_new_holder_alone(cluster, tmp_path):
    client = KubeClient(load_cluster_config(cluster.kubeconfig, None))
    pool = SshPool(ssh_config=cluster.ssh_config, sudo=True)
    events = []
    options = UpgradeOptions(TARGET, poll_interval=0.05, lease_duration=2,
                             drain=DrainOptions(ignore_daemonsets=True, retry_interval=0.1, poll_interval=0.05))
    ctl = UpgradeController(client, pool, step_journal(services(client, tmp_path / "j")), options, events.append)
    lease_path = path_for("leases", "kube-system", "cockpit-upgrade-lock")
    try:
        task = asyncio.create_task(ctl.run())
        await async_wait_until(lambda: any(e.target == "cp-1" for e in events), what="cp-1 started")
        lease = await client.get(lease_path)
        lease["spec"]["holderIdentity"] = "mallory@ops/999999999999:1"  # another cockpit took it over
        await client.replace(lease_path, lease)
        result = await asyncio.wait_for(task, 60)
        assert result.outcome == "aborted" and "could not be renewed" in result.message
        assert "mallory@ops/999999999999:1" in result.message
        kept = await client.get(lease_path)
        assert kept["spec"]["holderIdentity"] == "mallory@ops/999999999999:1"  # not released by the loser
        cp1 = await client.get(path_for("nodes", name="cp-1"))
        assert cp1["metadata"]["annotations"]["cockpit.dev/upgrade-state"] in ("paused", "done")
        other = [n for n in LATER if n != "cp-2"]
        for name in other:
            node = await client.get(path_for("nodes", name=name))
            assert "cockpit.dev/upgrade-state" not in (node["metadata"].get("annotations") or {}), name
    finally:
        await pool.close()
        await client.close()
