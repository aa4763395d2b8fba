"""Pure parts of the upgrade controls: where a run resumes, the lock check every control makes,
the CLI's numeric validation and the status line of a node finished for an earlier target."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

import pytest

from cockpit.cli.upgrade import positive_int, status_line
from cockpit.controllers.upgrade import resume_at
from cockpit.controllers.upgrade_lock import LockHolder
from cockpit.controllers.upgrade_ops import fingerprint, lock_check, touched
from cockpit.domain.steps import WORK_STEPS, NodeProgress, State, Step

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)


def holder(renewed_ago: float, identity: str = "alice@bastion/0123456789ab:42") -> LockHolder:
    return LockHolder(identity, NOW - timedelta(seconds=renewed_ago), 30, "1.33.1", "run-1", False)


def test_a_kubelet_not_seen_ready_is_restarted_again_every_other_step_resumes_where_it_was():
    assert resume_at(Step.WAITING_READY) is Step.RESTARTING_KUBELET
    for step in WORK_STEPS:
        if step is not Step.WAITING_READY:
            assert resume_at(step) is step


def test_lock_check_names_a_live_holder_and_lets_a_stale_or_own_one_pass():
    refused = lock_check(holder(3), NOW)
    assert not refused.ok and "held by alice@bastion/0123456789ab:42" in refused.detail
    assert lock_check(holder(3), NOW, ours=True).ok
    stale = lock_check(holder(31), NOW)
    assert stale.ok and "stale lock of alice@bastion/0123456789ab:42" in stale.detail
    assert lock_check(None, NOW).ok


def test_touched_means_something_for_an_abort_to_clear():
    assert not touched(NodeProgress("n"))
    assert not touched(NodeProgress("n", Step.DONE, State.DONE))
    assert touched(NodeProgress("n", Step.DRAINING, State.FAILED))
    assert touched(NodeProgress("n", Step.UPGRADING_KUBEADM, State.SKIPPED))


def test_fingerprint_changes_with_what_the_plan_was_built_from():
    assert fingerprint({"a": 1}, "x") == fingerprint({"a": 1}, "x")
    assert fingerprint({"a": 1}, "x") != fingerprint({"a": 2}, "x")


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "two", ""])
def test_concurrency_and_lease_duration_must_be_whole_numbers_of_at_least_one(text):
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int(text)
    assert positive_int("3") == 3


def test_status_names_the_target_a_node_finished_for():
    row = {"node": "worker-3", "kubelet": "v1.32.4", "state": "done", "label": "done", "target": "1.32.4",
           "unschedulable": False, "error": ""}
    assert "done (to 1.32.4)" in status_line(row)
    skipped = {**row, "state": "skipped", "label": "draining", "target": "1.33.1"}
    assert "skipped at draining (to 1.33.1)" in status_line(skipped)
    running = {**row, "state": "running", "label": "draining", "target": "1.33.1"}
    assert "(to " not in status_line(running)
