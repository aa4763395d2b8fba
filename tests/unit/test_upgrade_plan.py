"""Pure upgrade planning: skew refusals, node order, batch sizing, resume points."""

from __future__ import annotations

import pytest

from cockpit.domain.steps import NodeProgress, State, Step
from cockpit.domain.upgrade import ClusterFacts, NodeFacts, check_skew, plan_upgrade


def demo(version="1.32.4", **overrides):
    nodes = [NodeFacts(f"cp-{i}", True, version, "debian", static_pod_versions=(f"v{version}",) * 3)
             for i in (3, 1, 2)]
    nodes += [NodeFacts(f"worker-{i}", False, version, "rhel" if i == 6 else "debian", movable_pods=3, running_pods=4)
              for i in range(1, 7)]
    return ClusterFacts(api_version=f"v{version}", nodes=tuple(nodes), **overrides)


def rules(facts, target):
    return [v.rule for v in check_skew(facts, target)]


def test_minor_skip_is_refused_naming_the_rule():
    plan = plan_upgrade(demo(), "1.34.0")
    assert plan.refused and [v.rule for v in plan.violations] == ["no-minor-skip"]
    assert "upgrade to 1.33.x first" in plan.violations[0].message


def test_downgrade_and_bad_versions_are_refused():
    assert rules(demo(), "1.31.9") == ["no-downgrade"]
    assert rules(demo(), "1.32.3") == ["no-downgrade"]
    assert rules(demo(), "1.33.1; rm -rf /") == ["version-format"]
    assert rules(demo(), "2.0.0") == ["major-version"]


def test_patch_and_next_minor_are_allowed():
    assert rules(demo(), "1.32.9") == []
    assert rules(demo(), "1.33.1") == []


def test_kubelet_skew_rules():
    old = demo()
    nodes = list(old.nodes)
    nodes[4] = NodeFacts("worker-2", False, "1.29.0")
    assert rules(ClusterFacts(old.api_version, tuple(nodes)), "1.33.1") == ["kubelet-too-old"]
    nodes[4] = NodeFacts("worker-2", False, "1.34.0")
    assert rules(ClusterFacts(old.api_version, tuple(nodes)), "1.33.1") == ["kubelet-newer"]
    nodes[4] = NodeFacts("worker-2", False, "1.33.2")
    assert rules(ClusterFacts(old.api_version, tuple(nodes)), "1.33.1") == ["kubelet-downgrade"]


def test_kubeadm_rules():
    facts = demo()
    nodes = list(facts.nodes)
    nodes[0] = NodeFacts("cp-3", True, "1.32.4", kubeadm="1.34.0")
    assert "kubeadm-newer-than-target" in rules(ClusterFacts(facts.api_version, tuple(nodes)), "1.33.1")


def test_order_first_cp_then_other_cps_one_at_a_time_then_workers():
    plan = plan_upgrade(demo(), "1.33.1")
    assert not plan.refused
    assert plan.batches[:3] == [["cp-1"], ["cp-2"], ["cp-3"]]
    assert plan.order()[3:] == [f"worker-{i}" for i in range(1, 7)]
    assert plan.first_control_plane() == "cp-1"
    assert all(len(b) == 1 for b in plan.batches)


def test_worker_batches_follow_concurrency_capped_by_pdbs():
    plan = plan_upgrade(demo(), "1.33.1", concurrency=3)
    assert [len(b) for b in plan.batches[3:]] == [3, 3]
    capped = plan_upgrade(demo(min_pdb_disruptions=2), "1.33.1", concurrency=3)
    assert [len(b) for b in capped.batches[3:]] == [2, 2, 2]
    assert "PodDisruptionBudget" in capped.concurrency_note


def test_worker_batches_capped_by_capacity():
    nodes = [NodeFacts("cp-1", True, "1.32.4")]
    nodes += [NodeFacts(f"w{i}", False, "1.32.4", movable_pods=5, running_pods=6, allocatable_pods=10) for i in range(4)]
    plan = plan_upgrade(ClusterFacts("v1.32.4", tuple(nodes)), "1.33.1", concurrency=4)
    # 4 free slots per remaining worker: two workers (10 pods) fit in the other two (8 slots)? no -> 1
    assert plan.concurrency == 1 and "capacity" in plan.concurrency_note


def test_resume_points_come_from_recorded_progress():
    facts = demo()
    nodes = list(facts.nodes)
    nodes[1] = NodeFacts("cp-1", True, "1.33.1", static_pod_versions=("v1.33.1",) * 3,
                         progress=NodeProgress("cp-1", Step.DONE, State.DONE, "1.33.1", "r1"))
    nodes[2] = NodeFacts("cp-2", True, "1.32.4", static_pod_versions=("v1.32.4",) * 3,
                         progress=NodeProgress("cp-2", Step.DRAINING, State.RUNNING, "1.33.1", "r1"))
    plan = plan_upgrade(ClusterFacts("v1.33.1", tuple(nodes)), "1.33.1")
    assert not plan.refused
    assert plan.nodes["cp-1"].done and plan.nodes["cp-1"].role == "first-control-plane"
    assert plan.nodes["cp-2"].start_step is Step.DRAINING
    assert plan.nodes["cp-2"].steps[0] is Step.DRAINING
    assert plan.nodes["worker-1"].start_step is Step.UPGRADING_KUBEADM


def test_nodes_already_at_target_are_done():
    plan = plan_upgrade(demo("1.33.1"), "1.33.1")
    assert all(n.done for n in plan.nodes.values())


@pytest.mark.parametrize("target", ["01.33.1", "1.033.1", "\uff11.33.1", "1.33", "", "1.33.0-rc.1"])
def test_malformed_or_prerelease_targets_are_refused_by_name(target):
    plan = plan_upgrade(demo(), target)
    assert [v.rule for v in plan.violations] == ["version-format"]
    assert "\n" not in plan.violations[0].message


def test_target_is_printed_bare_whatever_its_spelling():
    plan = plan_upgrade(demo("1.32.0-beta.0"), "v1.32.0")
    assert (plan.target, plan.cluster_version) == ("1.32.0", "1.32.0-beta.0")
    assert {n.current for n in plan.nodes.values()} == {"1.32.0-beta.0"}
    assert {n.target for n in plan.nodes.values()} == {"1.32.0"}
