"""Server-side apply (PATCH application/apply-patch+yaml) with the real kubectl: create by apply,
ownership of exactly the applied fields, conflicts with another manager's fields (409 with the
API server's Status shape), --force-conflicts, fields dropped from the configuration."""

from __future__ import annotations

import json

import pytest

from tests.support.api import Api

pytestmark = pytest.mark.timeout(120)
PATH = "/apis/apps/v1/namespaces/default/deployments/ssa"


def deployment(replicas: int | None = 2, image: str = "nginx:1.25", labels: dict | None = None) -> dict:
    """A Deployment manifest named ssa."""
    spec = {"selector": {"matchLabels": {"app": "ssa"}},
            "template": {"metadata": {"labels": {"app": "ssa"}},
                         "spec": {"containers": [{"name": "web", "image": image}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    meta = {"name": "ssa", "namespace": "default", **({"labels": labels} if labels else {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def apply(kubectl, manifest: dict, *flags: str, check: bool = True):
    return kubectl("apply", "--server-side", *flags, "-f", "-", input=json.dumps(manifest), check=check)


def live(kubectl) -> dict:
    return json.loads(kubectl("get", "deployment", "ssa", "-o", "json", "--show-managed-fields").stdout)


def owner(obj: dict, manager: str, operation: str) -> dict:
    """The fields ``manager`` owns through ``operation`` ({} when it has no entry)."""
    return next((e["fieldsV1"] for e in obj["metadata"]["managedFields"]
                 if e["manager"] == manager and e["operation"] == operation and not e.get("subresource")), {})


def test_apply_creates_and_owns_exactly_what_it_applied(kubectl):
    out = apply(kubectl, deployment()).stdout
    assert "deployment.apps/ssa serverside-applied" in out
    obj = live(kubectl)
    assert obj["spec"]["replicas"] == 2 and obj["spec"]["revisionHistoryLimit"] == 10  # defaulted as usual
    fields = owner(obj, "kubectl", "Apply")
    assert "f:replicas" in fields["f:spec"] and "f:revisionHistoryLimit" not in fields["f:spec"]


def test_the_same_configuration_again_changes_nothing(kubectl):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "same", "namespace": "default"},
          "data": {"a": "1"}}
    kubectl("apply", "--server-side", "-f", "-", input=json.dumps(cm))
    before = json.loads(kubectl("get", "configmap", "same", "-o", "json", "--show-managed-fields").stdout)
    kubectl("apply", "--server-side", "-f", "-", input=json.dumps(cm))
    after = json.loads(kubectl("get", "configmap", "same", "-o", "json", "--show-managed-fields").stdout)
    assert after["metadata"] == before["metadata"]  # same resourceVersion, same managedFields time


def test_a_field_another_manager_owns_conflicts_and_force_takes_it(kubectl, sim):
    kubectl("apply", "-f", "-", input=json.dumps(deployment(replicas=2)))  # client-side apply owns replicas
    result = apply(kubectl, deployment(replicas=5), check=False)
    assert result.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
            in result.stderr)
    assert live(kubectl)["spec"]["replicas"] == 2  # refused: nothing changed

    body = json.dumps(deployment(replicas=5))
    status = Api(sim)("PATCH", PATH, body, "application/apply-patch+yaml", fieldManager="other").json()
    assert status["code"] == 409 and status["reason"] == "Conflict" and status["status"] == "Failure"
    assert status["details"]["causes"] == [{"type": "FieldManagerConflict", "field": ".spec.replicas",
                                            "message": 'conflict with "kubectl-client-side-apply" using apps/v1'}]

    apply(kubectl, deployment(replicas=5), "--force-conflicts")
    obj = live(kubectl)
    assert obj["spec"]["replicas"] == 5
    assert "f:replicas" in owner(obj, "kubectl", "Apply")["f:spec"]
    # Forced away from the client-side manager (whose entry kubectl then folds into its own).
    assert "f:replicas" not in owner(obj, "kubectl-client-side-apply", "Update").get("f:spec", {})


def test_the_same_value_is_shared_not_a_conflict(kubectl, sim):
    kubectl("create", "-f", "-", input=json.dumps(deployment(replicas=2)))
    body = json.dumps(deployment(replicas=2))
    answer = Api(sim)("PATCH", PATH, body, "application/apply-patch+yaml", fieldManager="other")
    assert answer.status_code == 200, answer.text  # agrees with kubectl-create's value: both own it
    obj = live(kubectl)
    assert "f:replicas" in owner(obj, "other", "Apply")["f:spec"]
    assert "f:replicas" in owner(obj, "kubectl-create", "Update")["f:spec"]


def test_fields_left_out_of_the_configuration_are_removed(kubectl):
    apply(kubectl, deployment(replicas=3, labels={"team": "a", "tier": "web"}))
    apply(kubectl, deployment(replicas=None, labels={"team": "a"}, image="nginx:1.26"))
    obj = live(kubectl)
    assert obj["metadata"]["labels"] == {"team": "a"}
    assert obj["spec"]["replicas"] == 1  # removed, so defaulted again (as on a real cluster)
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"


def test_a_field_another_manager_still_owns_is_kept(kubectl):
    apply(kubectl, deployment(labels={"team": "a"}))
    kubectl("label", "deployment", "ssa", "team=a", "--overwrite")  # no change: kubectl-label owns nothing
    kubectl("label", "deployment", "ssa", "tier=web")
    apply(kubectl, deployment(labels={"tier": "web"}))  # takes tier too; drops team
    apply(kubectl, deployment())  # drops tier, which kubectl-label still owns
    assert live(kubectl)["metadata"]["labels"] == {"tier": "web"}


def test_yaml_body_and_the_required_field_manager(sim):
    api = Api(sim)
    yaml_body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: by-yaml\n  namespace: default\n"
                 "data:\n  a: '1'\n")
    path = "/api/v1/namespaces/default/configmaps/by-yaml"
    missing = api("PATCH", path, yaml_body, "application/apply-patch+yaml")
    assert missing.status_code == 400 and "fieldManager" in missing.json()["message"]
    made = api("PATCH", path, yaml_body, "application/apply-patch+yaml", fieldManager="tool")
    assert made.status_code == 201 and made.json()["data"] == {"a": "1"}
    [entry] = made.json()["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["fieldsV1"]) == ("tool", "Apply",
                                                                         {"f:data": {".": {}, "f:a": {}}})
    again = api("PATCH", path, yaml_body.replace("'1'", "'2'"), "application/apply-patch+yaml", fieldManager="tool")
    assert again.status_code == 200 and again.json()["data"] == {"a": "2"}
