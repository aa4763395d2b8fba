"""Who placed a node's cordon, as the uncordon refusal names it."""

from __future__ import annotations

from datetime import datetime, timezone

from cockpit.controllers.cordon import who_cordoned
from cockpit.domain import drain as d
from cockpit.domain.records import decode


def node(managed=None, annotations=None):
    meta = {"name": "worker-3", "uid": "u", "annotations": annotations or {}, "managedFields": managed or []}
    return decode("nodes", {"metadata": meta, "spec": {"unschedulable": True}})


def test_managed_fields_name_the_tool_that_set_unschedulable():
    managed = [{"manager": "kubelet", "operation": "Update", "fieldsV1": {"f:status": {"f:conditions": {}}}},
               {"manager": "kubectl-cordon", "operation": "Update", "fieldsV1": {"f:spec": {"f:unschedulable": {}}}},
               {"manager": "kube-controller-manager", "fieldsV1": {"f:spec": {"f:podCIDR": {}}}}]
    record = node(managed)
    assert record.unschedulable_managers == ("kubectl-cordon",)
    text = who_cordoned(record, None)
    assert "was not cordoned by cockpit" in text and "kubectl-cordon set spec.unschedulable" in text


def test_without_managed_fields_the_refusal_says_it_was_not_cockpit():
    assert "kubectl cordon or another tool" in who_cordoned(node(), None)


def test_cockpits_record_names_the_run_and_the_state_before():
    value = d.cordon_record("drain-1", "alice", datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc), True)
    record = node(annotations={d.CORDONED_BY: value})
    assert who_cordoned(record, d.read_cordon_record(record)) == (
        "node/worker-3 was already cordoned before cockpit's run drain-1 by alice at 2026-12-02T07:00:00Z")
