"""Rollout state: every `kubectl rollout status` branch, Paused, the failing signal, sorting."""

from __future__ import annotations

from cockpit.domain import rollout as r
from cockpit.domain.records import decode


def deployment(name="web", *, generation=2, observed=2, replicas=3, status_replicas=3, updated=3,
               available=3, ready=3, paused=False, progressing=None, extra_conditions=(), revision="2"):
    conditions = list(extra_conditions)
    if progressing:
        status, reason = progressing
        conditions.append({"type": "Progressing", "status": status, "reason": reason, "message": "m"})
    return {
        "metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}", "resourceVersion": "1",
                     "generation": generation, "annotations": {"deployment.kubernetes.io/revision": revision}},
        "spec": {"replicas": replicas, "paused": paused, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "img:1"}]}}},
        "status": {"observedGeneration": observed, "replicas": status_replicas, "updatedReplicas": updated,
                   "availableReplicas": available, "readyReplicas": ready, "conditions": conditions},
    }


def test_spec_update_not_observed_waits():
    s = r.rollout_status(deployment(generation=3, observed=2))
    assert s.state == r.RolloutState.PROGRESSING and s.step == "observing"
    assert s.message == "Waiting for deployment spec update to be observed..."
    assert not s.done and not s.failed and s.progress < 1


def test_missing_observed_generation_counts_as_zero():
    raw = deployment()
    del raw["status"]["observedGeneration"]
    assert r.rollout_status(raw).step == "observing"


def test_progress_deadline_exceeded_is_failed_even_with_other_counters_short():
    s = r.rollout_status(deployment(updated=1, available=1, progressing=("False", "ProgressDeadlineExceeded")))
    assert s.state == r.RolloutState.FAILED and s.failed and not s.done
    assert s.reason == "ProgressDeadlineExceeded"
    assert s.message == 'deployment "web" exceeded its progress deadline'


def test_generation_check_comes_before_deadline():
    s = r.rollout_status(deployment(generation=5, observed=4, progressing=("False", "ProgressDeadlineExceeded")))
    assert s.step == "observing" and not s.failed


def test_new_replicas_not_all_updated():
    s = r.rollout_status(deployment(updated=1, status_replicas=4, available=3))
    assert s.step == "updating"
    assert s.message.endswith("1 out of 3 new replicas have been updated...")


def test_old_replicas_pending_termination():
    s = r.rollout_status(deployment(status_replicas=5, updated=3, available=3))
    assert s.step == "terminating-old"
    assert s.message.endswith("2 old replicas are pending termination...")
    assert s.progress < 1


def test_updated_replicas_not_available():
    s = r.rollout_status(deployment(available=2))
    assert s.step == "waiting-available"
    assert s.message.endswith("2 of 3 updated replicas are available...")


def test_complete():
    s = r.rollout_status(deployment())
    assert s.state == r.RolloutState.COMPLETE and s.done and s.progress == 1.0
    assert s.message == 'deployment "web" successfully rolled out'


def test_spec_replicas_missing_defaults_to_one():
    raw = deployment(status_replicas=1, updated=1, available=1)
    del raw["spec"]["replicas"]
    assert r.rollout_status(raw).done


def test_paused_midway_is_paused_but_paused_and_complete_is_complete():
    assert r.rollout_status(deployment(paused=True, updated=1)).state == r.RolloutState.PAUSED
    assert r.rollout_status(deployment(paused=True)).state == r.RolloutState.COMPLETE


def test_scaled_to_zero_is_complete():
    s = r.rollout_status(deployment(replicas=0, status_replicas=0, updated=0, available=0))
    assert s.done and s.progress == 1.0


def test_accepts_records_too():
    assert r.rollout_status(decode("deployments", deployment())).done


def _rs(name, owner, revision):
    return {"metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}", "resourceVersion": "1",
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "labels": {"pod-template-hash": name[-3:]},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                              "uid": owner, "controller": True}]},
            "spec": {"replicas": 1}, "status": {"replicas": 1}}


def _pod(name, rs_uid, waiting=None, deleting=False):
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    meta = {"name": name, "namespace": "shop", "uid": f"uid-{name}", "resourceVersion": "1",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x",
                                 "uid": rs_uid, "controller": True}]}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Pending" if waiting else "Running",
                       "containerStatuses": [{"name": "c", "ready": not waiting, "restartCount": 4,
                                              "image": "i", "imageID": "", "state": state}]}}


def test_diagnose_flags_bad_pods_of_the_new_replicaset_only():
    dep = deployment(updated=1, available=0)
    sets = [_rs("web-old", "uid-web", 1), _rs("web-new", "uid-web", 2)]
    pods = [_pod("a", "uid-web-new", "ImagePullBackOff"), _pod("b", "uid-web-new", "ImagePullBackOff"),
            _pod("c", "uid-web-old", "CrashLoopBackOff"), _pod("d", "uid-web-new", "CrashLoopBackOff", deleting=True)]
    d = r.diagnose(dep, sets, pods)
    assert d.failing and d.reasons == ("2 pods ImagePullBackOff",)


def test_diagnose_conditions():
    failure = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "quota"}
    assert r.diagnose(deployment(extra_conditions=[failure])).reasons == ("ReplicaFailure: FailedCreate",)
    assert not r.diagnose(deployment(progressing=("True", "NewReplicaSetAvailable"))).failing


def test_rollout_view_groups_sets_and_pods():
    sets = [_rs("web-old", "uid-web", 1), _rs("web-new", "uid-web", 2), _rs("api-1", "uid-api", 1)]
    pods = [_pod("p1", "uid-web-new"), _pod("p2", "uid-web-old"), _pod("p3", "uid-api-1")]
    view = r.rollout_view(deployment(), sets, pods)
    assert view.new_replicaset.name == "web-new"
    assert [rs.name for rs in view.old_replicasets] == ["web-old"]
    assert [p.name for p in view.pods] == ["p1", "p2"]


def test_sort_failed_then_failing_then_progressing_then_complete():
    deps = {
        "done": deployment("done"),
        "failed": deployment("failed", progressing=("False", "ProgressDeadlineExceeded")),
        "moving": deployment("moving", updated=1),
        "paused": deployment("paused", paused=True, updated=1),
        "failing": deployment("failing", updated=1,
                              extra_conditions=[{"type": "ReplicaFailure", "status": "True", "reason": "X"}]),
    }
    keyed = []
    for raw in deps.values():
        rec = decode("deployments", raw)
        keyed.append((r.sort_key(r.rollout_status(rec), rec, r.diagnose(rec)), rec.name))
    assert [name for _, name in sorted(keyed)] == ["failed", "failing", "moving", "paused", "done"]
