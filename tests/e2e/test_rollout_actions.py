"""Rollout status/undo/pause/resume/restart on the simulator, checked with the real kubectl."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from cockpit.cli.main import main as cli_main
from cockpit.controllers.guard import ActionGuard
from cockpit.controllers.rollout import RolloutController
from cockpit.errors import CockpitError
from cockpit.journal import Journal

pytestmark = pytest.mark.slow

HEALTHY, BROKEN = "registry.example/checkout:2.3.1", "registry.example/checkout:2.4.0-broken"


def controller(client, journal_path) -> RolloutController:
    return RolloutController(client, ActionGuard(False, Journal(journal_path), "cockpit-sim"), poll_interval=0.05)


def get(kubectl, kind, name, path) -> str:
    return kubectl("-n", "shop", "get", kind, name, "-o", f"jsonpath={path}").stdout


def replicaset_names(kubectl) -> dict[str, str]:
    """revision -> ReplicaSet name of shop/checkout."""
    sets = json.loads(kubectl("-n", "shop", "get", "rs", "-l", "app=checkout", "-o", "json").stdout)["items"]
    return {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["metadata"]["name"] for rs in sets}


async def failing_status(ctl, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        status = await ctl.status("shop/checkout")
        if status.failed:
            return status
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.05)


async def test_status_flags_failing_rollout_and_offers_roll_back(client, journal_path):
    ctl = controller(client, journal_path)
    status = await failing_status(ctl)
    assert not status.done and status.can_roll_back and status.previous_revision == 1
    assert any("ImagePullBackOff" in r or "ErrImagePull" in r or "ProgressDeadlineExceeded" in r
               for r in status.reasons + [status.message]), status
    healthy = await ctl.status("shop/web-blue", wait=True, timeout=20)
    assert healthy.done and not healthy.failed and "successfully rolled out" in healthy.message


async def test_undo_checkout_reuses_old_replicaset_and_kubectl_status_succeeds(client, journal_path, kubectl):
    ctl = controller(client, journal_path)
    await failing_status(ctl)
    before_sets = replicaset_names(kubectl)
    plan = await ctl.plan_undo("shop/checkout")
    assert plan.to_revision == 1 and plan.after["images"] == {"checkout": HEALTHY}
    result = await ctl.undo("shop/checkout", plan=plan)
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


async def test_undo_refuses_if_deployment_changed_since_preview(client, journal_path, kubectl):
    from cockpit.controllers.base import ChangedSincePreview

    ctl = controller(client, journal_path)
    plan = await ctl.plan_undo("shop/checkout")
    kubectl("-n", "shop", "annotate", "deployment", "checkout", "note=edited")
    with pytest.raises(ChangedSincePreview):
        await ctl.undo("shop/checkout", plan=plan)
    assert get(kubectl, "deployment", "checkout", "{.spec.template.spec.containers[0].image}") == BROKEN


async def test_pause_resume_restart(client, journal_path, kubectl):
    ctl = controller(client, journal_path)
    assert (await ctl.pause("shop/web-blue")).changed
    assert get(kubectl, "deployment", "web-blue", "{.spec.paused}") == "true"
    assert not (await ctl.pause("shop/web-blue")).changed  # already paused: a no-op
    with pytest.raises(CockpitError, match="paused"):
        await ctl.restart("shop/web-blue")
    with pytest.raises(CockpitError, match="resume it first"):
        await ctl.plan_undo("shop/web-blue")  # kubectl refuses to roll back a paused deployment too
    assert (await ctl.resume("shop/web-blue")).changed
    assert get(kubectl, "deployment", "web-blue", "{.spec.paused}") in ("", "false")
    result = await ctl.restart("shop/web-blue")
    stamp = get(kubectl, "deployment", "web-blue",
                "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}")
    assert stamp and stamp == result.after["restartedAt"]
    actions = [e["action"] for e in Journal(journal_path).entries() if e["event"] == "result"]
    assert actions == ["pause", "pause", "resume", "restart"]


# ----- CLI --------------------------------------------------------------------------------


def run_cli(capsys, sim, journal_path, *args) -> tuple[int, str, str]:
    code = cli_main([*args, "--kubeconfig", sim.kubeconfig, "--journal", str(journal_path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_undo_dry_run_then_real(sim, kubectl, capsys, journal_path):
    code, out, _ = run_cli(capsys, sim, journal_path, "rollout", "undo", "shop/checkout", "--dry-run")
    assert code == 0 and "revision 1" in out, out
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
