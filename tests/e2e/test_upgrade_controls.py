"""Operator controls of a run: pause/resume (in-process and through the Lease), retry, skip, abort."""

from __future__ import annotations

import asyncio
import json

import pytest

from cockpit.cli.main import main
from cockpit.controllers.guard import ActionGuard
from cockpit.controllers.upgrade import UpgradeController, UpgradeOptions, abort_run, read_status
from cockpit.domain.drain import DrainOptions
from cockpit.journal import Journal, read_journal
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from cockpit.ssh.pool import SshPool
from tests.support.e2e import ann, cockpit_args, nodes, start_upgrade_process
from tests.support.wait import async_wait_until

TARGET = "1.33.1"
FAST = ["--poll-interval", "0.05", "--retry-interval", "0.1", "--lease-duration", "3", "--yes"]

pytestmark = pytest.mark.slow


async def test_pause_at_a_step_boundary_then_abort_cleans_up(cluster, tmp_path):
    config = load_cluster_config(cluster.kubeconfig, None)
    client = KubeClient(config)
    pool = SshPool(ssh_config=cluster.ssh_config, sudo=True)
    guard = ActionGuard(False, Journal(tmp_path / "j", context=config.context), config.context)
    events = []
    options = UpgradeOptions(TARGET, poll_interval=0.05, lease_duration=5,
                             drain=DrainOptions(ignore_daemonsets=True, retry_interval=0.1, poll_interval=0.05))
    def report(event):
        events.append(event)
        if event.target == "cp-1" and event.step == "draining" and event.data.get("state") == "running":
            ctl.pause()  # synchronously, as a TUI key press would: takes effect at the next boundary
        if event.target == "cp-2" and event.step == "draining":
            ctl.abort()

    ctl = UpgradeController(client, pool, guard, options, report)
    try:
        task = asyncio.create_task(ctl.run())
        await async_wait_until(lambda: any(e.data.get("state") == "paused" for e in events), what="a paused step")
        cp1 = await client.get(path_for("nodes", name="cp-1"))
        assert cp1["metadata"]["annotations"]["cockpit.dev/upgrade-state"] == "paused"
        assert cp1["metadata"]["annotations"]["cockpit.dev/upgrade-step"] == "upgrading-kubelet"
        status = await read_status(client)
        assert status["lock"]["holder"] == ctl.lock.identity and not status["lock"]["stale"]
        assert all(r["state"] == "pending" for r in status["nodes"] if r["node"] != "cp-1")
        ctl.resume()
        result = await asyncio.wait_for(task, 20)
        assert result.outcome == "aborted"
        lines = await abort_run(client, guard)
        assert any(line.startswith("node/cp-2: cleared") for line in lines)
        cp2 = await client.get(path_for("nodes", name="cp-2"))
        assert "cockpit.dev/upgrade-state" not in (cp2["metadata"].get("annotations") or {})
        assert not cp2["spec"].get("unschedulable")
        assert (await read_status(client))["lock"] is None
    finally:
        await pool.close()
        await client.close()
    # every Progress carries what the TUI needs for a per-node row
    row = next(e for e in events if e.target == "cp-1" and e.step == "waiting-ready")
    assert {"node", "step", "state", "label", "elapsed", "fraction", "last_lines", "started"} <= set(row.data)


def test_pause_and_resume_from_another_terminal_through_the_lease(cluster, kubectl, tmp_path, wait_for, capsys):
    journal = tmp_path / "journal.jsonl"
    proc = start_upgrade_process(cluster, journal, TARGET, *FAST)
    try:
        wait_for(lambda: ann(nodes(kubectl, cluster)["cp-1"], "upgrade-step") is not None, timeout=30)
        assert main(cockpit_args(cluster, tmp_path / "j2", "upgrade", "pause")) == 0
        wait_for(lambda: any(ann(n, "upgrade-state") == "paused" for n in nodes(kubectl, cluster).values()),
                 timeout=30)
        capsys.readouterr()
        assert main(cockpit_args(cluster, tmp_path / "j2", "upgrade", "status", "--json")) == 0
        status = json.loads(capsys.readouterr().out)["result"]
        assert status["lock"]["pauseRequested"] and not status["lock"]["stale"]
        assert main(cockpit_args(cluster, tmp_path / "j2", "upgrade", "run", "--to", TARGET, *FAST)) == 1
        assert "another cockpit holds the upgrade lock" in capsys.readouterr().out
        assert main(cockpit_args(cluster, tmp_path / "j2", "upgrade", "resume")) == 0
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for node in nodes(kubectl, cluster).values():
        assert node["status"]["nodeInfo"]["kubeletVersion"] == f"v{TARGET}"


def test_retry_after_a_pdb_halt_resumes_at_the_failed_step(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    cluster.call(lambda: cluster.faults.set("blocking_pdbs", "shop/web"))
    assert main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST, "--drain-timeout", "1s")) == 1
    failed = next(n for n, v in nodes(kubectl, cluster).items() if ann(v, "upgrade-state") == "failed")
    before = len(list(read_journal(journal)))
    cluster.call(lambda: cluster.faults.set("blocking_pdbs", None))
    assert main(cockpit_args(cluster, journal, "upgrade", "retry", "--to", TARGET, *FAST)) == 0, \
        capsys.readouterr().out[-2000:]
    second = list(read_journal(journal))[before:]
    on_failed = [e["command"] for e in second if e.get("event") == "command" and e["target"] == failed]
    assert not any("kubeadm" in c for c in on_failed), on_failed  # resumed at draining, not from scratch
    for node in nodes(kubectl, cluster).values():
        assert ann(node, "upgrade-state") == "done" and not node["spec"].get("unschedulable")


def test_skip_a_node_whose_kubelet_never_returns_and_finish(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    cluster.call(lambda: cluster.faults.set("kubelet_never_returns", "worker-5"))
    rc = main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST, "--ready-timeout", "1s"))
    assert rc == 1
    before = nodes(kubectl, cluster)
    assert (ann(before["worker-5"], "upgrade-step"), ann(before["worker-5"], "upgrade-state")) == \
        ("waiting-ready", "failed")
    assert ann(before["worker-6"], "upgrade-state") is None
    assert main(cockpit_args(cluster, journal, "upgrade", "skip", "worker-5")) == 0
    assert main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST)) == 0
    after = nodes(kubectl, cluster)
    assert ann(after["worker-5"], "upgrade-state") == "skipped"
    assert not after["worker-5"]["spec"].get("unschedulable")  # skip lifted cockpit's own cordon
    assert ann(after["worker-6"], "upgrade-state") == "done"
