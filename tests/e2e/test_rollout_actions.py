"""Rollout status/undo/pause/resume/restart on the simulator, checked with the real kubectl."""

from __future__ import annotations

import json

import pytest

from cockpit.controllers.base import PreconditionFailed
from cockpit.controllers.rollout import RestartOperation, SetPausedOperation, UndoOperation, rollout_status
from cockpit.journal import Journal
from tests.support.e2e import run_cli
from tests.support.operations import cockpit_events, drive, journal_events
from tests.support.wait import async_wait_until

pytestmark = pytest.mark.slow

HEALTHY, BROKEN = "registry.example/checkout:2.3.1", "registry.example/checkout:2.4.0-broken"


def get(kubectl, kind, name, path) -> str:
    return kubectl("-n", "shop", "get", kind, name, "-o", f"jsonpath={path}").stdout


def replicaset_names(kubectl) -> dict[str, str]:
    """revision -> ReplicaSet name of shop/checkout."""
    sets = json.loads(kubectl("-n", "shop", "get", "rs", "-l", "app=checkout", "-o", "json").stdout)["items"]
    return {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["metadata"]["name"] for rs in sets}


async def failing_status(client):
    """shop/checkout's status once the rollout is seen failing."""
    return await async_wait_until(lambda: rollout_status(client, "shop/checkout"),
                                  accept=lambda status: status.failed, what="shop/checkout's rollout to fail")


async def test_status_flags_failing_rollout_and_offers_roll_back(client):
    status = await failing_status(client)
    assert not status.done and status.can_roll_back and status.previous_revision == 1
    assert any("ImagePullBackOff" in r or "ErrImagePull" in r or "ProgressDeadlineExceeded" in r
               for r in status.reasons + [status.message]), status
    healthy = await rollout_status(client, "shop/web-blue", wait=True, timeout=20, poll_interval=0.05)
    assert healthy.done and not healthy.failed and "successfully rolled out" in healthy.message


async def test_undo_checkout_reuses_old_replicaset_and_kubectl_status_succeeds(client, journal_path, kubectl):
    await failing_status(client)
    before_sets = replicaset_names(kubectl)
    plan = await UndoOperation(client, "shop/checkout").preview()
    assert plan.after_state["revision"] == 1 and plan.after_state["images"] == {"checkout": HEALTHY}
    assert plan.commands == ("kubectl -n shop rollout undo deployment/checkout --to-revision=1",)
    result = await drive(UndoOperation(client, "shop/checkout"), client, journal_path)
    assert result.ok and result.changed
    assert get(kubectl, "deployment", "checkout", "{.spec.template.spec.containers[0].image}") == HEALTHY
    status = kubectl("-n", "shop", "rollout", "status", "deployment/checkout", "--timeout=30s")
    assert "successfully rolled out" in status.stdout
    after_sets = replicaset_names(kubectl)
    assert after_sets.get("3") == before_sets["1"], (before_sets, after_sets)  # revision 1's RS reused
    entries = [e for e in Journal(journal_path).entries() if e["action"] == "undo"]
    assert [e["event"] for e in entries] == ["preview", "start", "result"]
    assert entries[-1]["before"]["images"] == {"checkout": BROKEN}
    assert entries[-1]["after"]["images"] == {"checkout": HEALTHY}
    events = await cockpit_events(client, "shop", "checkout")
    assert [e["reason"] for e in events] == ["RolloutUndone"]
    assert events[0]["regarding"]["kind"] == "Deployment" and "revision 1" in events[0]["note"]


async def test_undo_stops_if_deployment_changed_since_preview(client, journal_path, kubectl):
    """A Deployment edited between the preview and the confirmation is never overwritten."""
    from cockpit.controllers.base import ChangedSincePreview
    from cockpit.controllers.driver import Driver
    from tests.support.operations import services

    async def edit_then_approve(_plan):
        kubectl("-n", "shop", "annotate", "deployment", "checkout", "note=edited")
        return True

    driver = Driver(services(client, journal_path), edit_then_approve)
    with pytest.raises(ChangedSincePreview):
        await driver.run(UndoOperation(client, "shop/checkout"), interactive=False)
    assert get(kubectl, "deployment", "checkout", "{.spec.template.spec.containers[0].image}") == BROKEN
    assert journal_events(journal_path, "undo") == ["preview"]


@pytest.mark.parametrize("make", [lambda c: UndoOperation(c, "shop/checkout"),
                                  lambda c: SetPausedOperation(c, "shop/checkout", True),
                                  lambda c: RestartOperation(c, "shop/checkout")], ids=["undo", "pause", "restart"])
async def test_a_status_update_after_the_preview_does_not_stop_the_action(sim, client, journal_path, kubectl, make):
    """A crash-looping rollout's status moves every few seconds, exactly when an SRE undoes it:
    only a change to what the preview was built from (spec, and for an undo the annotations it
    replaces) may stop the action, never a status update."""
    from cockpit.controllers.driver import Driver
    from tests.support.operations import services

    def touch_status(obj):
        obj["status"]["observedGeneration"] = obj["metadata"]["generation"]
        obj["status"].setdefault("conditions", []).append(
            {"type": "Probe", "status": "True", "reason": "StatusOnly", "message": "a status update"})

    async def status_moves_then_approve(_plan):
        before = get(kubectl, "deployment", "checkout", "{.metadata.resourceVersion}")
        sim.call(lambda: sim.store.mutate("deployments", "shop", "checkout", touch_status))
        assert get(kubectl, "deployment", "checkout", "{.metadata.resourceVersion}") != before
        return True

    driver = Driver(services(client, journal_path), status_moves_then_approve)
    operation = make(client)
    result = await driver.run(operation, interactive=False)
    assert result.ok and result.changed, result.message
    assert journal_events(journal_path, operation.action) == ["preview", "start", "result"]


async def test_pause_resume_restart(client, journal_path, kubectl):
    assert (await drive(SetPausedOperation(client, "shop/web-blue", True), client, journal_path)).changed
    assert get(kubectl, "deployment", "web-blue", "{.spec.paused}") == "true"
    again = await drive(SetPausedOperation(client, "shop/web-blue", True), client, journal_path)
    assert not again.changed and "already paused" in again.message  # a no-op
    with pytest.raises(PreconditionFailed, match="resume it first"):
        await drive(RestartOperation(client, "shop/web-blue"), client, journal_path)
    with pytest.raises(PreconditionFailed, match="resume it first"):
        await drive(UndoOperation(client, "shop/web-blue"), client, journal_path)  # kubectl refuses too
    assert (await drive(SetPausedOperation(client, "shop/web-blue", False), client, journal_path)).changed
    assert get(kubectl, "deployment", "web-blue", "{.spec.paused}") in ("", "false")
    result = await drive(RestartOperation(client, "shop/web-blue"), client, journal_path)
    stamp = get(kubectl, "deployment", "web-blue",
                "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}")
    assert stamp and stamp == result.after["restartedAt"]
    actions = [e["action"] for e in Journal(journal_path).entries() if e["event"] == "result"]
    assert actions == ["pause", "pause", "resume", "restart"]
    reasons = [e["reason"] for e in await cockpit_events(client, "shop", "web-blue")]
    assert sorted(reasons) == ["RolloutPaused", "RolloutRestarted", "RolloutResumed"]


# ----- CLI --------------------------------------------------------------------------------


def test_cli_undo_dry_run_then_real(sim, kubectl, capsys, journal_path):
    code, out, _ = run_cli(capsys, sim, journal_path, "rollout", "undo", "shop/checkout", "--dry-run")
    assert code == 0 and "revision 1" in out and "[dry run] nothing changed" in out, out
    assert "rolled back" not in out.splitlines()[-1]
    assert get(kubectl, "deployment", "checkout", "{.spec.template.spec.containers[0].image}") == BROKEN
    code, out, _ = run_cli(capsys, sim, journal_path, "rollout", "undo", "shop/checkout", "--to-revision", "1",
                           "--yes", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["result"]["after"]["images"] == {"checkout": HEALTHY}
    code, out, _ = run_cli(capsys, sim, journal_path, "rollout", "status", "shop/checkout", "--watch",
                           "--timeout", "30")
    assert code == 0 and "successfully rolled out" in out


def test_cli_status_exit_codes(sim, capsys, journal_path, wait_for):
    def failing():
        code, out, _ = run_cli(capsys, sim, journal_path, "rollout", "status", "shop/checkout", "--json")
        return code == 1 and json.loads(out)
    doc = wait_for(failing, timeout=20)
    assert doc["result"]["can_roll_back"] and not doc["ok"]
    code, out, _ = run_cli(capsys, sim, journal_path, "rollout", "status", "shop/web-blue", "--watch",
                           "--timeout", "20")
    assert code == 0


def test_cli_undo_unknown_revision_and_missing_deployment(sim, capsys, journal_path):
    code, _, err = run_cli(capsys, sim, journal_path, "rollout", "undo", "shop/checkout", "--to-revision", "9", "--yes")
    assert code == 1 and "unable to find revision 9" in err
    code, _, err = run_cli(capsys, sim, journal_path, "rollout", "pause", "shop/nope", "--yes")
    assert code == 1 and "not found" in err


def test_cli_unwritable_journal_and_read_only_change_nothing(sim, kubectl, capsys, tmp_path, journal_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, sim, blocker / "j.jsonl", "rollout", "undo", "shop/checkout", "--yes")
    assert code == 1 and "audit journal" in err
    code, _, err = run_cli(capsys, sim, journal_path, "rollout", "restart", "shop/web-blue", "--yes", "--read-only")
    assert code == 1 and "read-only" in err
    assert get(kubectl, "deployment", "checkout", "{.spec.template.spec.containers[0].image}") == BROKEN
    assert get(kubectl, "deployment", "web-blue",
               "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}") == ""


def test_python_dash_m_cockpit_subprocess(sim, tmp_path, journal_path):
    """The real entry point in a child process: JSON status, and no tty + no --yes refuses."""
    import subprocess
    import sys

    base = [sys.executable, "-m", "cockpit", "--kubeconfig", sim.kubeconfig, "--journal", str(journal_path)]
    done = subprocess.run([*base, "rollout", "status", "shop/web-blue", "--watch", "--timeout", "20", "--json"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"]["done"] is True
    refused = subprocess.run([*base, "rollout", "restart", "shop/web-blue"], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
    assert refused.returncode == 1 and "pass --yes" in refused.stderr
    bad = subprocess.run([*base, "rollout", "undo", "shop/checkout/x"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "NAMESPACE/NAME" in bad.stderr
    named = subprocess.run([*base, "-n", "shop", "rollout", "status", "web-blue"], capture_output=True, text=True,
                           timeout=60)
    assert named.returncode == 0 and "successfully rolled out" in named.stdout
