"""The per-node state machine and its annotation round trip."""

from __future__ import annotations

import pytest

from cockpit.domain.steps import (A_STATE, A_STEP, WORK_STEPS, InvalidTransition, NodeProgress, RunBoard, State, Step,
                                  next_step, progress_from_annotations)


def test_steps_follow_the_kubeadm_order():
    assert [s.value for s in WORK_STEPS] == ["upgrading-kubeadm", "kubeadm-upgrade", "draining", "upgrading-kubelet",
                                             "restarting-kubelet", "waiting-ready", "uncordoning"]
    assert next_step(Step.PENDING) is Step.UPGRADING_KUBEADM
    assert next_step(Step.UNCORDONING) is Step.DONE


def test_walk_to_done():
    p = NodeProgress("w1", target="1.33.1", run="r")
    p = p.start(Step.UPGRADING_KUBEADM, "t0")
    for _ in WORK_STEPS:
        assert p.state is State.RUNNING
        p = p.succeed("t")
    assert (p.step, p.state, p.fraction) == (Step.DONE, State.DONE, 1.0)


def test_failure_keeps_the_step_for_retry():
    p = NodeProgress("w1").start(Step.DRAINING, "t").fail("PDB shop/web blocks")
    assert (p.step, p.state, p.error) == (Step.DRAINING, State.FAILED, "PDB shop/web blocks")
    assert p.resume_step() is Step.DRAINING
    again = p.start(p.resume_step(), "t2")
    assert again.state is State.RUNNING and again.error == ""


def test_pause_skip_and_invalid_transitions():
    p = NodeProgress("w1").start(Step.UPGRADING_KUBELET, "t").pause()
    assert p.state is State.PAUSED and p.resume_step() is Step.UPGRADING_KUBELET
    skipped = p.skip()
    assert skipped.finished
    with pytest.raises(InvalidTransition):
        skipped.start(Step.DRAINING, "t")
    with pytest.raises(InvalidTransition):
        NodeProgress("w1").succeed("t")


def test_annotations_round_trip():
    p = NodeProgress("w1", Step.WAITING_READY, State.FAILED, "1.33.1", "run-7", "kubelet not Ready", "2026-11-26T03:00:00Z")
    ann = {k: v for k, v in p.annotations().items() if v is not None}
    assert ann[A_STEP] == "waiting-ready" and ann[A_STATE] == "failed"
    assert progress_from_annotations("w1", ann) == p
    assert progress_from_annotations("w1", {A_STEP: "bogus"}).step is Step.PENDING


def test_run_board_halts_and_batches():
    board = RunBoard([["cp-1"], ["w1", "w2"]], {n: NodeProgress(n) for n in ("cp-1", "w1", "w2")})
    assert board.next_batch() == ["cp-1"]
    board.nodes["cp-1"] = NodeProgress("cp-1", Step.DONE, State.DONE)
    assert board.next_batch() == ["w1", "w2"]
    board.nodes["w1"] = NodeProgress("w1", Step.DRAINING, State.FAILED)
    assert board.halted_on() == ["w1"]
    board.nodes["w1"] = board.nodes["w1"].skip()
    board.nodes["w2"] = NodeProgress("w2", Step.DONE, State.DONE)
    assert board.complete() and board.next_batch() == []


def test_elapsed_since_the_step_started():
    from datetime import datetime, timezone

    p = NodeProgress("w1").start(Step.DRAINING, "2026-11-26T03:00:00Z")
    assert p.elapsed(datetime(2026, 11, 26, 3, 0, 42, tzinfo=timezone.utc)) == 42.0
    assert NodeProgress("w1").elapsed() == 0.0
