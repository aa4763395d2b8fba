"""Operator controls of a run (pause, resume, retry, skip, abort) against the simulator: the lock
they respect, the journal records and Kubernetes Events they leave, and the state on the server."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest

from cockpit.cli.main import main
from cockpit.controllers.upgrade import UpgradeController, UpgradeOptions
from cockpit.controllers.upgrade_ops import UpgradeAbort, read_status
from cockpit.domain.drain import DrainOptions
from cockpit.journal import read_journal
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from cockpit.ssh.pool import SshPool
from tests.support.e2e import ann, cockpit_args, nodes, start_upgrade_process
from tests.support.operations import drive, services, step_journal
from tests.support.wait import async_wait_until

TARGET = "1.33.1"
FAST = ["--poll-interval", "0.05", "--retry-interval", "0.1", "--lease-duration", "3", "--yes"]
ALICE = "alice@bastion-2/0123456789ab:4242"
LEASE = ["lease", "-n", "kube-system", "cockpit-upgrade-lock"]

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------- helpers


def micro_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def live_lease(kubectl, cluster, *, paused: bool = False, holder: str = ALICE) -> None:
    """A run of another operator machine that renewed its lock just now."""
    annotations = {"cockpit.dev/upgrade-target": TARGET, "cockpit.dev/upgrade-run": "run-x"}
    if paused:
        annotations["cockpit.dev/pause-requested"] = "true"
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "cockpit-upgrade-lock", "namespace": "kube-system", "annotations": annotations},
             "spec": {"holderIdentity": holder, "leaseDurationSeconds": 300, "renewTime": micro_now(),
                      "acquireTime": micro_now()}}
    kubectl("create", "-f", "-", input=json.dumps(lease), sim=cluster)


def lease(kubectl, cluster) -> dict | None:
    done = kubectl("get", *LEASE, "-o", "json", check=False, sim=cluster)
    return json.loads(done.stdout) if done.returncode == 0 else None


def mark(kubectl, cluster, node: str, step: str, state: str, target: str = TARGET) -> None:
    """Record upgrade progress on a node as a run would."""
    kubectl("annotate", "node", node, "--overwrite", f"cockpit.dev/upgrade-step={step}",
            f"cockpit.dev/upgrade-state={state}", f"cockpit.dev/upgrade-target={target}",
            "cockpit.dev/upgrade-run=run-x", sim=cluster)


def server_state(kubectl, cluster) -> dict:
    """What an upgrade control may change: node annotations and cordons, and the Lease."""
    held = lease(kubectl, cluster)
    return {"nodes": {n: (v["metadata"].get("annotations"), bool(v["spec"].get("unschedulable")))
                      for n, v in nodes(kubectl, cluster).items()},
            "lease": (held["spec"], held["metadata"].get("annotations")) if held else None}


def entries(journal, action: str) -> list[dict]:
    return [e for e in read_journal(journal) if e.get("action") == action]


def cockpit_events(kubectl, cluster, namespace: str, name: str) -> list[dict]:
    """The events.k8s.io Events cockpit recorded about ``name``."""
    raw = kubectl("get", "--raw", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events", sim=cluster).stdout
    return [e for e in json.loads(raw).get("items") or []
            if e.get("reportingController") == "cockpit" and e["regarding"]["name"] == name]


def assert_previewed_started_and_recorded(journal, action: str) -> dict:
    """preview, start, result in that order; returns the result entry (with before/after)."""
    events = [e["event"] for e in entries(journal, action)]
    assert events[:3] == ["preview", "start", "result"], events
    result = entries(journal, action)[2]
    assert "before" in result and "after" in result
    return result


# ---------------------------------------------------------------------- pause / resume / abort


async def test_pause_at_a_step_boundary_then_abort_cleans_up(cluster, tmp_path):
    config = load_cluster_config(cluster.kubeconfig, None)
    client = KubeClient(config)
    pool = SshPool(ssh_config=cluster.ssh_config, sudo=True)
    journal = tmp_path / "j"
    ops = services(client, journal)
    events = []
    options = UpgradeOptions(TARGET, poll_interval=0.05, lease_duration=5,
                             drain=DrainOptions(ignore_daemonsets=True, retry_interval=0.1, poll_interval=0.05))

    def report(event):
        events.append(event)
        if event.target == "cp-1" and event.step == "draining" and event.data.get("state") == "running":
            ctl.pause()  # synchronously, as a key press would: takes effect at the next boundary
        if event.target == "cp-2" and event.step == "draining":
            ctl.abort()

    ctl = UpgradeController(client, pool, step_journal(ops), options, report)
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
        outcome = await drive(UpgradeAbort(ops), client, journal)
        assert "node/cp-2: cleared" in outcome.message
        cp2 = await client.get(path_for("nodes", name="cp-2"))
        assert "cockpit.dev/upgrade-state" not in (cp2["metadata"].get("annotations") or {})
        assert not cp2["spec"].get("unschedulable")
        assert (await read_status(client))["lock"] is None
    finally:
        await pool.close()
        await client.close()
    row = next(e for e in events if e.target == "cp-1" and e.step == "waiting-ready")
    assert {"node", "step", "state", "label", "elapsed", "fraction", "last_lines", "started"} <= set(row.data)


def test_pause_and_resume_from_another_terminal_through_the_lease(cluster, kubectl, tmp_path, wait_for, capsys):
    journal = tmp_path / "journal.jsonl"
    other = tmp_path / "j2"
    proc = start_upgrade_process(cluster, journal, TARGET, *FAST)
    try:
        wait_for(lambda: ann(nodes(kubectl, cluster)["cp-1"], "upgrade-step") is not None, timeout=30)
        assert main(cockpit_args(cluster, other, "upgrade", "pause", "--yes")) == 0
        wait_for(lambda: any(ann(n, "upgrade-state") == "paused" for n in nodes(kubectl, cluster).values()),
                 timeout=30)
        capsys.readouterr()
        assert main(cockpit_args(cluster, other, "upgrade", "status", "--json")) == 0
        status = json.loads(capsys.readouterr().out)["result"]
        assert status["lock"]["pauseRequested"] and not status["lock"]["stale"]
        assert main(cockpit_args(cluster, other, "upgrade", "run", "--to", TARGET, *FAST)) == 1
        assert "no other live run holds the upgrade lock" in capsys.readouterr().err
        assert main(cockpit_args(cluster, other, "upgrade", "resume", "--yes")) == 0
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for node in nodes(kubectl, cluster).values():
        assert node["status"]["nodeInfo"]["kubeletVersion"] == f"v{TARGET}"
    paused = assert_previewed_started_and_recorded(other, "upgrade-pause")
    assert paused["after"]["lock"]["pauseRequested"] is True
    assert_previewed_started_and_recorded(other, "upgrade-resume")
    reasons = {e["reason"] for e in cockpit_events(kubectl, cluster, "kube-system", "cockpit-upgrade-lock")}
    assert {"UpgradePauseRequested", "UpgradeResumeRequested", "UpgradeStarted", "UpgradeRun"} <= reasons
    node_reasons = [e["reason"] for e in cockpit_events(kubectl, cluster, "default", "worker-6")]
    assert sorted(node_reasons) == ["UpgradeNodeCompleted", "UpgradeNodeStarted"], node_reasons


def test_abort_of_a_paused_run_needs_no_force(cluster, kubectl, tmp_path, wait_for, capsys):
    journal = tmp_path / "journal.jsonl"
    other = tmp_path / "j2"
    proc = start_upgrade_process(cluster, journal, TARGET, *FAST)
    try:
        wait_for(lambda: ann(nodes(kubectl, cluster)["cp-1"], "upgrade-step") is not None, timeout=30)
        assert main(cockpit_args(cluster, other, "upgrade", "pause", "--yes")) == 0
        wait_for(lambda: any(ann(n, "upgrade-state") == "paused" for n in nodes(kubectl, cluster).values()),
                 timeout=30)
        rc = main(cockpit_args(cluster, other, "upgrade", "abort", "--yes"))
        out = capsys.readouterr()
        assert rc == 0, out
        assert proc.wait(30) == 1  # the run stopped: aborted
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert lease(kubectl, cluster) is None
    for name, node in nodes(kubectl, cluster).items():
        assert ann(node, "upgrade-state") in (None, "done"), name
        assert not node["spec"].get("unschedulable"), name
    result = assert_previewed_started_and_recorded(other, "upgrade-abort")
    assert result["before"]["lock"]["pauseRequested"] is True and result["after"]["lock"] is None
    run_result = [e for e in entries(journal, "upgrade") if e["event"] == "result"]
    assert run_result and run_result[-1]["outcome"] == "aborted"
    assert "UpgradeAborted" in {e["reason"] for e in cockpit_events(kubectl, cluster, "kube-system",
                                                                    "cockpit-upgrade-lock")}


def test_abort_refuses_a_live_run_then_force_breaks_its_lock(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    live_lease(kubectl, cluster)
    mark(kubectl, cluster, "cp-1", "draining", "running")
    before = server_state(kubectl, cluster)
    assert main(cockpit_args(cluster, journal, "upgrade", "abort", "--yes")) == 1
    err = capsys.readouterr().err
    assert f"held by {ALICE}" in err and "--force" in err
    assert server_state(kubectl, cluster) == before
    assert [e["event"] for e in entries(journal, "upgrade-abort")] == ["preview", "refused"]
    rc = main(cockpit_args(cluster, journal, "upgrade", "abort", "--force", "--wait", "0.5s", "--yes"))
    out = capsys.readouterr()
    assert rc == 0, out
    assert lease(kubectl, cluster) is None
    assert ann(nodes(kubectl, cluster)["cp-1"], "upgrade-state") is None
    assert "breaking its lock" in out.out


# ---------------------------------------------------------------------- retry / skip


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


def test_retry_after_kubelet_never_ready_restarts_the_kubelet(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    cluster.call(lambda: cluster.faults.set("kubelet_never_returns", "cp-1"))
    assert main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST, "--ready-timeout", "1s")) == 1
    cp1 = nodes(kubectl, cluster)["cp-1"]
    assert (ann(cp1, "upgrade-step"), ann(cp1, "upgrade-state")) == ("waiting-ready", "failed")
    assert cp1["metadata"]["annotations"].get("cockpit.dev/upgrade-error", "").startswith("node/cp-1 not Ready")
    cluster.call(lambda: cluster.faults.set("kubelet_never_returns", None))
    before = len(list(read_journal(journal)))
    rc = main(cockpit_args(cluster, journal, "upgrade", "retry", "--to", TARGET, *FAST))
    assert rc == 0, capsys.readouterr().out[-2000:]
    second = list(read_journal(journal))[before:]
    on_cp1 = [e["command"] for e in second if e.get("event") == "command" and e["target"] == "cp-1"]
    assert any("systemctl restart kubelet" in c for c in on_cp1), on_cp1
    assert not any("install" in c or "kubeadm" in c for c in on_cp1), on_cp1
    assert ann(nodes(kubectl, cluster)["cp-1"], "upgrade-state") == "done"


def test_skip_a_node_whose_kubelet_never_returns_and_finish(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    cluster.call(lambda: cluster.faults.set("kubelet_never_returns", "worker-5"))
    rc = main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST, "--ready-timeout", "1s"))
    assert rc == 1
    before = nodes(kubectl, cluster)
    assert (ann(before["worker-5"], "upgrade-step"), ann(before["worker-5"], "upgrade-state")) == \
        ("waiting-ready", "failed")
    assert ann(before["worker-6"], "upgrade-state") is None
    assert main(cockpit_args(cluster, journal, "upgrade", "skip", "worker-5", "--yes")) == 0
    assert main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST)) == 0
    after = nodes(kubectl, cluster)
    assert ann(after["worker-5"], "upgrade-state") == "skipped"
    assert not after["worker-5"]["spec"].get("unschedulable")  # skip lifted cockpit's own cordon
    assert ann(after["worker-6"], "upgrade-state") == "done"
    skipped = assert_previewed_started_and_recorded(journal, "upgrade-skip")
    assert skipped["before"]["progress"]["state"] == "failed" and skipped["before"]["unschedulable"] is True
    assert skipped["after"]["progress"]["state"] == "skipped" and skipped["after"]["unschedulable"] is False
    reasons = [e["reason"] for e in cockpit_events(kubectl, cluster, "default", "worker-5")]
    assert "UpgradeStepFailed" in reasons and "UpgradeNodeSkipped" in reasons


def test_skip_is_refused_while_another_run_holds_the_lock(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    live_lease(kubectl, cluster)
    mark(kubectl, cluster, "worker-1", "restarting-kubelet", "running")
    kubectl("cordon", "worker-1", sim=cluster)
    before = server_state(kubectl, cluster)
    assert main(cockpit_args(cluster, journal, "upgrade", "skip", "worker-1", "--yes")) == 1
    err = capsys.readouterr().err
    assert f"held by {ALICE}" in err and "Traceback" not in err
    assert server_state(kubectl, cluster) == before  # not skipped, still cordoned mid kubelet restart
    refused = entries(journal, "upgrade-skip")
    assert [e["event"] for e in refused] == ["preview", "refused"]
    assert any(not c["ok"] and ALICE in c["detail"] for c in refused[1]["checks"])
    assert cockpit_events(kubectl, cluster, "default", "worker-1") == []


@pytest.mark.parametrize("state", ["done", "skipped"])
def test_skip_of_a_finished_node_is_a_one_line_refusal(cluster, kubectl, tmp_path, capsys, state):
    mark(kubectl, cluster, "worker-2", "done" if state == "done" else "draining", state)
    before = server_state(kubectl, cluster)
    assert main(cockpit_args(cluster, tmp_path / "j", "upgrade", "skip", "worker-2", "--yes")) == 1
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("cockpit: refused: skip worker-2 in the upgrade:"), err
    assert ("already done at 1.33.1" if state == "done" else "skipped at draining") in first
    assert "Traceback" not in err and "InvalidTransition" not in err
    assert server_state(kubectl, cluster) == before


# ---------------------------------------------------------------------- refusals, dry runs, input

CONTROLS = [
    ["upgrade", "run", "--to", TARGET, *FAST],
    ["upgrade", "retry", "--to", TARGET, *FAST],
    ["upgrade", "pause", "--yes"],
    ["upgrade", "resume", "--yes"],
    ["upgrade", "skip", "worker-1", "--yes"],
    ["upgrade", "abort", "--force", "--yes"],
]


@pytest.mark.parametrize("argv", CONTROLS, ids=lambda argv: argv[1])
def test_read_only_refuses_every_control_and_changes_nothing(cluster, kubectl, tmp_path, capsys, argv):
    journal = tmp_path / "journal.jsonl"
    live_lease(kubectl, cluster, paused=True)
    mark(kubectl, cluster, "worker-1", "draining", "failed")
    before = server_state(kubectl, cluster)
    assert main(cockpit_args(cluster, journal, "--read-only", *argv)) == 1
    assert "read-only mode" in capsys.readouterr().err
    assert server_state(kubectl, cluster) == before
    assert [e["event"] for e in read_journal(journal)] == ["refused"]


def test_dry_run_of_every_control_changes_nothing(cluster, kubectl, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    mark(kubectl, cluster, "worker-1", "draining", "failed")
    before = server_state(kubectl, cluster)
    for argv in (["run", "--to", TARGET, *FAST], ["skip", "worker-1", "--yes"], ["abort", "--yes"]):
        assert main(cockpit_args(cluster, journal, "upgrade", *argv, "--dry-run")) == 0, argv
        out = capsys.readouterr().out
        assert "[dry run] nothing changed" in out, (argv, out)
        assert server_state(kubectl, cluster) == before, argv
    live_lease(kubectl, cluster)
    before = server_state(kubectl, cluster)
    for argv in (["pause", "--yes"], ["abort", "--force", "--yes"]):
        assert main(cockpit_args(cluster, journal, "upgrade", *argv, "--dry-run")) == 0, argv
        assert "[dry run] nothing changed" in capsys.readouterr().out, argv
        assert server_state(kubectl, cluster) == before, argv
    starts = [e for e in read_journal(journal) if e["event"] == "start"]
    assert starts and all(e["dry_run"] for e in starts)
    assert cockpit_events(kubectl, cluster, "kube-system", "cockpit-upgrade-lock") == []


def test_run_dry_run_shows_the_plan_and_sends_nothing(cluster, kubectl, tmp_path, capsys):
    before = server_state(kubectl, cluster)
    assert main(cockpit_args(cluster, tmp_path / "j", "upgrade", "run", "--to", TARGET, *FAST, "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "batch 1: cp-1" in out and f"kubeadm upgrade apply -y v{TARGET}" in out
    assert "[dry run] nothing changed" in out
    assert server_state(kubectl, cluster) == before


@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_concurrency_below_one_is_a_usage_error(cluster, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_:
        main(cockpit_args(cluster, tmp_path / "j", "upgrade", "run", "--to", TARGET, "--concurrency", value, "--yes"))
    assert exit_.value.code == 2
    assert "--concurrency" in capsys.readouterr().err


def test_status_names_the_target_of_nodes_finished_for_an_earlier_one(cluster, kubectl, tmp_path, capsys):
    mark(kubectl, cluster, "worker-3", "done", "done", target="1.32.4")
    assert main(cockpit_args(cluster, tmp_path / "j", "upgrade", "status")) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("worker-3"))
    assert "done (to 1.32.4)" in line


# ---------------------------------------------------------------------- an API outage mid-run


def _refuse_when(sim, node: str, step: str, seconds: float) -> None:
    """Once ``node`` records ``step``, the API server refuses connections for ``seconds``."""
    fired = []

    def listener(event_type, resource, obj, old) -> None:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if (not fired and resource == "nodes" and obj["metadata"]["name"] == node
                and annotations.get("cockpit.dev/upgrade-step") == step):
            fired.append(True)
            sim.faults.set("refuse_for", seconds)

    sim.cluster.store.add_listener(listener)


def test_a_short_api_outage_mid_run_is_ridden_out(cluster, kubectl, tmp_path, capsys):
    cluster.call(_refuse_when, cluster, "cp-2", "waiting-ready", 2.5)
    rc = main(cockpit_args(cluster, tmp_path / "j", "upgrade", "run", "--to", TARGET, *FAST,
                           "--lease-duration", "8"))
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    assert "API unreachable for" in out and "retrying" in out
    for node in nodes(kubectl, cluster).values():
        assert ann(node, "upgrade-state") == "done" and not node["spec"].get("unschedulable")


def test_a_long_api_outage_stops_the_run_saying_where_and_it_resumes_there(cluster, kubectl, tmp_path, capsys,
                                                                          wait_for):
    journal = tmp_path / "journal.jsonl"
    cluster.call(_refuse_when, cluster, "cp-2", "waiting-ready", 6)
    rc = main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST, "--api-outage", "1s"))
    out = capsys.readouterr().out
    assert rc == 1, out[-3000:]
    assert ("the upgrade stopped on cp-2 at step waiting-ready" in out
            and f"run `cockpit upgrade run --to {TARGET}` to resume" in out), out[-3000:]
    wait_for(lambda: kubectl("get", "nodes", check=False, sim=cluster).returncode == 0, timeout=30)
    cp2 = nodes(kubectl, cluster)["cp-2"]
    assert (ann(cp2, "upgrade-step"), ann(cp2, "upgrade-state")) == ("waiting-ready", "running")
    result = [e for e in entries(journal, "upgrade") if e["event"] == "result"][-1]
    assert result["outcome"] == "stopped" and not result["ok"]
    wait_for(lambda: (lease(kubectl, cluster) is None) or main(cockpit_args(
        cluster, tmp_path / "s", "upgrade", "status", "--json")) == 0 and json.loads(
        capsys.readouterr().out)["result"]["lock"]["stale"], timeout=30)
    before = len(list(read_journal(journal)))
    assert main(cockpit_args(cluster, journal, "upgrade", "run", "--to", TARGET, *FAST)) == 0
    second = list(read_journal(journal))[before:]
    on_cp2 = [e["command"] for e in second if e.get("event") == "command" and e["target"] == "cp-2"]
    assert not any("install" in c or "kubeadm" in c for c in on_cp2), on_cp2
    assert all(ann(n, "upgrade-state") == "done" for n in nodes(kubectl, cluster).values())
