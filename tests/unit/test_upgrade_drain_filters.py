"""kubectl drain parity of the pure pod filters, PDB impact, capacity and cordon ownership."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cockpit.domain import drain as d
from cockpit.domain.records import MIRROR_ANNOTATION, decode

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)


def pod(name, ns="shop", owner="ReplicaSet", phase="Running", labels=None, volumes=None, mirror=False,
        deleted=None, node="worker-1", tolerations=None, ready=True):
    meta = {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": f"{owner.lower()}-x", "controller": True}]
    if mirror:
        meta["annotations"] = {MIRROR_ANNOTATION: "hash"}
        meta["ownerReferences"] = [{"kind": "Node", "name": node, "controller": True}]
    if deleted:
        meta["deletionTimestamp"] = deleted
    status = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    return decode("pods", {"metadata": meta, "status": status,
                           "spec": {"nodeName": node, "volumes": volumes or [], "tolerations": tolerations or []}})


def test_daemonset_pod_is_an_error_without_ignore_daemonsets():
    result = d.filter_pods([pod("kube-proxy-a", "kube-system", owner="DaemonSet")], d.DrainOptions())
    assert result.error_lines() == [
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/kube-proxy-a"]
    assert not result.evict


def test_daemonset_pod_is_skipped_with_a_warning_when_ignored():
    result = d.filter_pods([pod("kube-proxy-a", "kube-system", owner="DaemonSet")], d.DrainOptions(ignore_daemonsets=True))
    assert [p.key for p in result.skipped] == ["kube-system/kube-proxy-a"]
    assert result.warning_lines() == ["Warning: ignoring DaemonSet-managed Pods: kube-system/kube-proxy-a"]


def test_orphaned_daemonset_pod_needs_force():
    pods = [pod("ds-a", owner="DaemonSet")]
    missing = frozenset({"shop/daemonset-x"})
    assert d.filter_pods(pods, d.DrainOptions(ignore_daemonsets=True), missing).errors
    forced = d.filter_pods(pods, d.DrainOptions(force=True), missing)
    assert [p.key for p in forced.evict] == ["shop/ds-a"]


def test_mirror_pods_are_silently_skipped():
    result = d.filter_pods([pod("kube-apiserver-cp-1", "kube-system", mirror=True)], d.DrainOptions())
    assert result.skipped[0].reason == "mirror" and not result.errors and not result.warning_lines()


def test_empty_dir_needs_delete_emptydir_data():
    pods = [pod("cache", volumes=[{"name": "tmp", "emptyDir": {}}])]
    assert d.filter_pods(pods, d.DrainOptions()).error_lines() == [
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): shop/cache"]
    allowed = d.filter_pods(pods, d.DrainOptions(delete_emptydir_data=True))
    assert allowed.warning_lines() == ["Warning: deleting Pods with local storage: shop/cache"]


def test_unmanaged_pod_needs_force():
    pods = [pod("bare", owner=None)]
    assert d.filter_pods(pods, d.DrainOptions()).error_lines() == [
        "cannot delete Pods declare no controller (use --force to override): shop/bare"]
    forced = d.filter_pods(pods, d.DrainOptions(force=True))
    assert forced.warning_lines() == ["Warning: deleting Pods that declare no controller: shop/bare"]


def test_first_failing_filter_wins():
    # emptyDir AND no controller: kubectl reports only the local-storage error (chain stops).
    result = d.filter_pods([pod("x", owner=None, volumes=[{"emptyDir": {}}])], d.DrainOptions())
    assert [e.reason for e in result.errors] == ["local-storage"]


def test_finished_pods_pass_every_filter():
    pods = [pod("job-done", owner=None, phase="Succeeded", volumes=[{"emptyDir": {}}]),
            pod("ds-failed", owner="DaemonSet", phase="Failed")]
    result = d.filter_pods(pods, d.DrainOptions())
    assert [p.key for p in result.evict] == ["shop/job-done", "shop/ds-failed"] and not result.errors


def test_terminating_pods_skipped_only_past_skip_wait_timeout():
    old = (NOW - timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pods = [pod("going", deleted=old)]
    assert d.filter_pods(pods, d.DrainOptions(), now=NOW).evict[0].reason == "terminating"
    skipped = d.filter_pods(pods, d.DrainOptions(skip_wait_for_delete_timeout=60), now=NOW)
    assert skipped.skipped[0].reason == "terminating"


def pdb(name, allowed, current=3, desired=2, labels=None, ns="shop", policy=None):
    spec = {"selector": {"matchLabels": labels or {"app": "web"}}}
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    return decode("poddisruptionbudgets", {
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"}, "spec": spec,
        "status": {"disruptionsAllowed": allowed, "currentHealthy": current, "desiredHealthy": desired,
                   "expectedPods": current}})


def test_pdb_impacts_name_blocking_and_overlapping_budgets():
    pods = [pod("web-1", labels={"app": "web"}), pod("web-2", labels={"app": "web"})]
    blocked = d.pdb_impacts(pods, [pdb("web", 0, 2, 2)])
    assert blocked[0].effect == "blocks"
    assert "PDB shop/web blocks the drain" in blocked[0].line()
    assert "disruptionsAllowed=0, currentHealthy=2/desiredHealthy=2" in blocked[0].line()
    assert d.pdb_impacts(pods, [pdb("web", 1)])[0].effect == "paces"
    overlap = d.pdb_impacts(pods, [pdb("web", 1), pdb("web-too", 1)])
    assert {i.effect for i in overlap} == {"multiple"}


def raw_node(name, pods=110, unschedulable=False, ready=True, taints=None):
    return {"metadata": {"name": name, "uid": f"uid-{name}"},
            "spec": {"unschedulable": unschedulable, "taints": taints or []},
            "status": {"allocatable": {"pods": str(pods)},
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def node(name, pods=110, **kwargs):
    return decode("nodes", raw_node(name, pods, **kwargs))


def test_capacity_counts_only_schedulable_untainted_ready_nodes():
    evicting = [pod("a"), pod("b"), pod("ds", owner="DaemonSet")]
    nodes = [node("worker-1", 3), node("worker-2", 2), node("worker-3", 5, unschedulable=True),
             node("cp-1", 50, taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])]
    running = [pod("x", node="worker-2")]
    check = d.capacity_check({"worker-1"}, nodes, running, evicting)
    assert (check.needed, check.free, check.nodes, check.ok) == (2, 1, ("worker-2",), False)


def test_eviction_refusals_are_classified_like_kubectl():
    body = {"message": "Cannot evict pod as it would violate the pod's disruption budget.",
            "details": {"causes": [{"reason": "DisruptionBudget",
                                    "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]}}
    refusal = d.classify_eviction_error(429, body)
    assert (refusal.kind, refusal.pdb, refusal.desired_healthy, refusal.current_healthy) == ("blocked", "web", 2, 2)
    assert refusal.retryable
    multi = d.classify_eviction_error(500, {"message": "This pod has more than one PodDisruptionBudget, which the "
                                                       "eviction subresource does not support."})
    assert multi.kind == "multiple-pdbs" and not multi.retryable


def cordoned_node(was_unschedulable):
    raw = raw_node("w", unschedulable=True)
    raw["metadata"]["annotations"] = {d.CORDONED_BY: d.cordon_record("run-1", "alice", NOW, was_unschedulable)}
    return decode("nodes", raw)


def test_uncordon_only_what_cockpit_cordoned():
    theirs = node("w", unschedulable=True)
    assert d.uncordon_decision(theirs, force=False)[0] is False
    assert d.uncordon_decision(theirs, force=True)[0] is True
    assert d.uncordon_decision(cordoned_node(False), force=False) == (True, "node/w uncordoned")
    assert d.read_cordon_record(cordoned_node(False))["user"] == "alice"
    assert d.uncordon_decision(cordoned_node(True), force=False)[0] is False
    assert d.uncordon_decision(node("w"), force=False) == (False, "node/w already uncordoned")


def test_cordon_decisions_still_take_a_raw_node():
    assert d.uncordon_decision(raw_node("w", unschedulable=True), force=False)[0] is False


# ----- the eviction API's view of PDBs: unhealthy pods, pending pods


@pytest.mark.parametrize("policy, current, desired, blocked", [
    (None, 2, 2, False),               # IfHealthyBudget (default) and the budget is met: goes at once
    ("IfHealthyBudget", 1, 2, True),   # budget not met: the unready pod is held like a ready one
    ("AlwaysAllow", 1, 2, False),      # always evicted at once
])
def test_unready_pods_follow_the_unhealthy_pod_eviction_policy(policy, current, desired, blocked):
    impacts = d.pdb_impacts([pod("web-1", labels={"app": "web"}, ready=False)],
                            [pdb("web", 0, current, desired, policy=policy)])
    assert [i.effect for i in impacts] == (["blocks"] if blocked else [])


def test_ready_pods_are_held_whatever_the_policy():
    impacts = d.pdb_impacts([pod("web-1", labels={"app": "web"})], [pdb("web", 0, 2, 2, policy="AlwaysAllow")])
    assert [i.effect for i in impacts] == ["blocks"]


def test_pending_and_finished_pods_ignore_budgets():
    pods = [pod("web-1", labels={"app": "web"}, phase="Pending"), pod("web-2", labels={"app": "web"}, phase="Failed")]
    assert d.pdb_impacts(pods, [pdb("web", 0)]) == []


def test_a_pdb_without_selector_guards_nothing():
    bare = decode("poddisruptionbudgets", {"metadata": {"name": "none", "namespace": "shop", "uid": "u"},
                                           "status": {"disruptionsAllowed": 0}})
    assert d.pdb_impacts([pod("web-1", labels={"app": "web"})], [bare]) == []
