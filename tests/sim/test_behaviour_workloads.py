"""Jobs, StatefulSets and default ServiceAccounts driven through the real kubectl."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cockpit.sim.controllers.cron import parse_schedule

STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: registry.example/db:1.0}]
"""


def _get(kubectl, *args) -> dict | None:
    result = kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def test_job_runs_its_pod_to_completion(kubectl):
    kubectl("create", "job", "once", "-n", "shop", "--image=registry.example/task:1.0", "--", "true")
    kubectl("wait", "--for=condition=complete", "job/once", "-n", "shop", "--timeout=60s", timeout=90)
    job = _get(kubectl, "job", "once", "-n", "shop")
    assert job["status"]["succeeded"] == 1 and job["status"]["completionTime"]
    pods = _get(kubectl, "pods", "-n", "shop", "-l", "job-name=once")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"]
    assert "Completed" in kubectl("get", "pods", "-n", "shop", "-l", "job-name=once").stdout
    assert "Complete" in kubectl("get", "job", "once", "-n", "shop").stdout


def _record_pod_transitions(sim) -> list[tuple[str, str, list[str]]]:
    """(event, pod, ready db pods at that moment) for every db pod created or marked for deletion."""
    seen: list[tuple[str, str, list[str]]] = []

    def ready_now() -> list[str]:
        return sorted(p["metadata"]["name"] for p in sim.store.list("pods", "shop")
                      if p["metadata"]["name"].startswith("db-") and any(
                          c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])))

    def listener(etype: str, resource: str, obj: dict, old: dict | None) -> None:
        name = obj["metadata"]["name"]
        if resource != "pods" or not name.startswith("db-"):
            return
        if etype == "ADDED":
            seen.append(("create", name, ready_now()))
        elif obj["metadata"].get("deletionTimestamp") and not (old or {}).get("metadata", {}).get("deletionTimestamp"):
            seen.append(("delete", name, ready_now()))
    sim.call(lambda: sim.store.add_listener(listener))
    return seen


def test_statefulset_creates_and_updates_in_order(kubectl, sim, tmp_path):
    seen = _record_pod_transitions(sim)
    (tmp_path / "sts.yaml").write_text(STATEFULSET)
    kubectl("apply", "-f", str(tmp_path / "sts.yaml"))
    kubectl("rollout", "status", "sts/db", "-n", "shop", "--timeout=60s", timeout=90)
    assert seen == [("create", "db-0", []), ("create", "db-1", ["db-0"]), ("create", "db-2", ["db-0", "db-1"])]
    seen.clear()
    kubectl("set", "image", "sts/db", "db=registry.example/db:1.1", "-n", "shop")
    kubectl("rollout", "status", "sts/db", "-n", "shop", "--timeout=90s", timeout=120)
    assert [(event, name) for event, name, _ in seen] == [
        ("delete", "db-2"), ("create", "db-2"), ("delete", "db-1"), ("create", "db-1"),
        ("delete", "db-0"), ("create", "db-0")]
    # each pod goes only when every pod (the one going included) is Ready: one pod down at a time
    assert all(ready == ["db-0", "db-1", "db-2"] for event, _, ready in seen if event == "delete"), seen
    status = _get(kubectl, "sts", "db", "-n", "shop")["status"]
    assert status["currentRevision"] == status["updateRevision"] and status["updatedReplicas"] == 3
    images = {p["spec"]["containers"][0]["image"] for p in _get(kubectl, "pods", "-n", "shop", "-l", "app=db")["items"]}
    assert images == {"registry.example/db:1.1"}


def test_every_namespace_gets_a_default_service_account(kubectl, wait_for):
    kubectl("create", "namespace", "fresh")
    wait_for(lambda: _get(kubectl, "serviceaccount", "default", "-n", "fresh") is not None, what="default SA")
    kubectl("delete", "serviceaccount", "default", "-n", "fresh")
    wait_for(lambda: _get(kubectl, "serviceaccount", "default", "-n", "fresh") is not None, what="recreated")


def test_cronjob_runs_on_schedule_and_keeps_its_history_limit(kubectl, wait_for):
    """At speed 20 a simulated minute lasts 3 s: a per-minute CronJob fires every 3 s."""
    kubectl("create", "cronjob", "tick", "-n", "shop", "--image=registry.example/task:1.0",
            "--schedule=*/1 * * * *", "--", "true")
    kubectl("patch", "cronjob", "tick", "-n", "shop", "--type", "merge", "-p",
            '{"spec":{"successfulJobsHistoryLimit":1}}')

    def finished_jobs() -> list[dict]:
        jobs = _get(kubectl, "jobs", "-n", "shop")["items"]
        return [j for j in jobs if j["metadata"]["name"].startswith("tick-") and j["status"].get("succeeded")]
    wait_for(lambda: _get(kubectl, "cronjob", "tick", "-n", "shop")["status"].get("lastSuccessfulTime"),
             what="a scheduled run completed")
    first = finished_jobs()[0]
    assert first["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert first["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    wait_for(lambda: [j["metadata"]["name"] for j in finished_jobs()] not in ([], [first["metadata"]["name"]]),
             what="a later run")
    wait_for(lambda: len(finished_jobs()) == 1, what="history pruned to the limit")
    assert "*/1 * * * *" in kubectl("get", "cronjob", "tick", "-n", "shop").stdout


@pytest.mark.parametrize(("spec", "after", "expected"), [
    ("*/15 9-17 * * mon-fri", datetime(2026, 12, 5, 18, 0), datetime(2026, 12, 7, 9, 0)),  # Saturday evening
    ("@hourly", datetime(2026, 1, 1, 0, 30), datetime(2026, 1, 1, 1, 0)),
    ("0 0 1,15 * 1", datetime(2026, 1, 2, 0, 0), datetime(2026, 1, 5, 0, 0)),  # day OR weekday when both set
    ("30 2 29 2 *", datetime(2026, 3, 1), datetime(2028, 2, 29, 2, 30)),
])
def test_cron_schedules(spec, after, expected):
    assert parse_schedule(spec).next_after(after) == expected


@pytest.mark.parametrize("bad", ["* * * *", "61 * * * *", "*/0 * * * *", "x * * * *"])
def test_cron_refuses_malformed_schedules(bad):
    with pytest.raises(ValueError):
        parse_schedule(bad)


def test_apiserver_bootstrap_objects(kubectl):
    services = kubectl("get", "apiservices").stdout
    for name in ("v1.", "v1.apps", "v1.batch", "v1.rbac.authorization.k8s.io"):
        assert any(line.split()[:3] == [name, "Local", "True"] for line in services.splitlines()), name
    roles = kubectl("get", "clusterroles").stdout
    assert all(role in roles for role in ("cluster-admin", "admin", "edit", "view"))
    binding = _get(kubectl, "clusterrolebinding", "cluster-admin")
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]
