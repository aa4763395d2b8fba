"""Runbook detectors over records: diagnosis, evidence and next actions (first things first)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cockpit.domain.certs import parse_check_expiration
from cockpit.domain.records import decode
from cockpit.domain.runbooks import (
    bad_deploys,
    detect_all,
    drains_blocked,
    expiring_certificates,
    image_pull_failures,
    nodes_not_ready,
    services_without_endpoints,
    unschedulable_pods,
)
from cockpit.domain.snapshot import ClusterSnapshot
from cockpit.domain.timeline import EntryKind, Severity
from tests.support import builders as b
from tests.unit.test_certs import OUTPUT as CERTS_OUTPUT
from tests.unit.test_timeline import pdb

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)  # an hour after the builders' creation time


def snapshot(objs: dict) -> ClusterSnapshot:
    return ClusterSnapshot.of(decode(kind, o) for kind, items in objs.items() if kind != "httproutes"
                              for o in items)


def test_bad_deploy_names_the_revision_and_image_and_offers_roll_back_first():
    [problem] = bad_deploys(snapshot(b.demo_objects()))
    assert problem.id == "bad-deploy" and problem.object_key == "shop/checkout"
    assert "revision 2 is failing (ImagePullBackOff)" in problem.title
    assert problem.evidence[0] == ("revision 2 introduced app=registry.example/checkout:2.4.0-broken "
                                   "(revision 1 ran registry.example/checkout:2.3.1)")
    assert "revision 1 still has 3 ready pods" in problem.evidence
    first = problem.actions[0]
    assert (first.action_id, first.target) == ("rollout.undo", "shop/checkout")
    assert first.command == "kubectl -n shop rollout undo deployment/checkout --to-revision=1"
    entry = problem.entry(NOW)
    assert entry.kind is EntryKind.PROBLEM and entry.severity is Severity.ERROR
    assert any(line.startswith("next: roll back to revision 1") for line in entry.details)


def test_image_pull_of_a_bad_deploy_is_reported_once():
    problems = detect_all(snapshot(b.demo_objects()), NOW)
    assert [p.id for p in problems] == ["bad-deploy"]


def test_image_pull_without_an_older_revision_is_its_own_problem():
    objs = b.demo_objects()
    objs["replicasets"] = [rs for rs in objs["replicasets"] if rs["metadata"]["name"] != "checkout-7c6f"]
    snap = snapshot(objs)
    assert bad_deploys(snap) == []
    [problem] = image_pull_failures(snap)
    assert problem.kind == "Deployment" and problem.name == "checkout"
    assert "registry.example/checkout:2.4.0-broken" in " ".join(problem.evidence)
    assert [a.action_id for a in problem.actions] == ["rollout.restart"]


def test_crash_loop_offers_undo_when_there_is_an_older_revision():
    objs = b.demo_objects()
    objs["pods"][0] = b.pod(objs["replicasets"][0], "a1", "worker-1", ready=False, waiting="CrashLoopBackOff",
                            restarts=7)
    problems = [p for p in detect_all(snapshot(objs), NOW) if p.id == "crash-loop"]
    assert [p.name for p in problems] == ["web-blue"]
    assert "up to 7 restarts" in problems[0].evidence


def test_node_not_ready_says_how_long_and_what_runs_there():
    objs = b.demo_objects()
    objs["nodes"][4] = b.node("worker-2", ready=False)
    objs["leases"] = [{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                       "metadata": {"name": "worker-2", "namespace": "kube-node-lease", "uid": "l2"},
                       "spec": {"holderIdentity": "worker-2", "renewTime": "2026-01-01T11:48:00.000000Z"}}]
    [problem] = nodes_not_ready(snapshot(objs), NOW)
    assert problem.title == "node worker-2 is NotReady for 12m"
    assert problem.evidence == ("Ready=False (KubeletNotReady)", "NotReady for 12m (since 11:48:00 UTC)",
                                "runs 4 pods: shop/checkout-7c6f-y2, shop/checkout-9f8e-q9, shop/web-blue-blu5d9-b2, "
                                "shop/web-green-gre5d9-b2")
    assert [a.action_id for a in problem.actions] == ["node.cordon", "node.drain"]


def test_service_without_ready_endpoints_offers_the_switch_back():
    objs = b.demo_objects()
    objs["services"][0]["spec"]["selector"]["color"] = "green"
    objs["endpointslices"][0] = b.endpointslice("shop", "web", objs["pods"][3:6], ready=False)
    for pod in objs["pods"][3:6]:
        pod["status"]["conditions"][0]["status"] = "False"
        pod["status"]["containerStatuses"][0]["ready"] = False
    [problem] = services_without_endpoints(snapshot(objs))
    assert problem.title == "service web has no ready endpoints"
    assert problem.evidence == ("selector app=web,color=green matches 3 pods, 0 ready", "3 ready pods carry color=blue")
    action = problem.actions[0]
    assert (action.action_id, action.label) == ("traffic.switch", "switch web to blue")


def test_drain_blocked_names_the_pdb():
    objs = b.demo_objects()
    objs["poddisruptionbudgets"] = [pdb()]
    objs["nodes"][3] = b.node("worker-1", unschedulable=True)
    [problem] = drains_blocked(snapshot(objs))
    assert problem.title == "drain of worker-1 blocked by PDB shop/web"
    assert problem.evidence[0].startswith("PDB shop/web: disruptionsAllowed 0, healthy 3/3 desired")
    assert "shop/web-blue-blu5d9-a1" in problem.evidence[0]
    assert [a.action_id for a in problem.actions] == ["node.drain", "node.uncordon"]


def test_unschedulable_pods_after_a_grace_period_with_the_scheduler_message():
    objs = b.demo_objects()
    pending = b.pod(objs["replicasets"][0], "p0", "", ready=False)
    pending["status"] = {"phase": "Pending"}
    objs["pods"].append(pending)
    objs["nodes"][3] = b.node("worker-1", unschedulable=True)
    objs["events"].append(b.event("shop", "ev9", "FailedScheduling", "0/6 nodes are available", "Pod",
                                  pending["metadata"]["name"]))
    [problem] = unschedulable_pods(snapshot(objs), NOW)
    assert problem.title == "1 pod in shop cannot be scheduled"
    assert "scheduler: 0/6 nodes are available" in problem.evidence
    assert problem.actions[0].action_id == "node.uncordon"
    assert unschedulable_pods(snapshot(objs), datetime(2026, 1, 1, 11, 0, 10, tzinfo=timezone.utc)) == []


def test_expiring_certificates_from_kubeadm_output():
    report = parse_check_expiration("cp-1", CERTS_OUTPUT)
    now = datetime(2026, 8, 7, 9, 0, tzinfo=timezone.utc)
    [problem] = expiring_certificates([report], now)
    assert problem.severity is Severity.ERROR  # one certificate is missing
    assert problem.title.startswith("cp-1: 3 control-plane certificates expired or missing")
    assert problem.actions[0].command == "ssh cp-1 sudo kubeadm certs renew all"
    assert expiring_certificates([report], now, within_days=1)  # the missing one always counts
    present = type(report)("cp-1", tuple(c for c in report.certificates if not c.missing))
    [soon] = expiring_certificates([present], now)
    assert soon.severity is Severity.WARNING and "expire within 30 days (admin.conf: 12 days left)" in soon.title
    assert expiring_certificates([present], now - timedelta(days=400)) == []
