"""Jobs, StatefulSets and default ServiceAccounts driven through the real kubectl."""

from __future__ import annotations

import json

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
