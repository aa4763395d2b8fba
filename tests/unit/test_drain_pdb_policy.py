"""The pre-flight's PDB arithmetic follows the eviction API's rule for Pods that are not Ready.

kube-apiserver (pkg/registry/core/pod/storage/eviction.go): an unready pod is deleted without
spending a disruption under ``unhealthyPodEvictionPolicy: AlwaysAllow``, or under the default
``IfHealthyBudget`` when ``currentHealthy >= desiredHealthy`` and ``desiredHealthy > 0``;
otherwise the eviction needs ``disruptionsAllowed > 0`` like any other.
"""

from __future__ import annotations

import pytest

from cockpit.domain import drain as d
from cockpit.domain.records import decode


def unready_pod(name: str = "web-1"):
    return decode("pods", {
        "metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}", "labels": {"app": "web"},
                     "ownerReferences": [{"kind": "ReplicaSet", "name": "web-x", "controller": True}]},
        "spec": {"nodeName": "worker-1"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}})


def budget(current: int, desired: int, allowed: int, policy: str | None = None):
    spec = {"selector": {"matchLabels": {"app": "web"}}}
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    return decode("poddisruptionbudgets", {
        "metadata": {"name": "web", "namespace": "shop", "uid": "pdb"}, "spec": spec,
        "status": {"currentHealthy": current, "desiredHealthy": desired, "disruptionsAllowed": allowed,
                   "expectedPods": 2}})


@pytest.mark.parametrize(("policy", "current", "desired", "allowed", "effect"), [
    ("AlwaysAllow", 0, 2, 0, None),          # goes at once, whatever the budget
    (None, 1, 1, 0, None),                   # IfHealthyBudget met: goes at once
    ("IfHealthyBudget", 1, 2, 0, "blocks"),  # not met: needs a disruption, none left
    (None, 0, 0, 0, "blocks"),               # a budget that wants nobody healthy is no met budget
    (None, 1, 0, 1, "ok"),                   # ... so the pod spends one of the allowed disruptions
])
def test_unready_pod_is_blocked_exactly_when_the_api_server_refuses_it(policy, current, desired, allowed, effect):
    impacts = d.pdb_impacts([unready_pod()], [budget(current, desired, allowed, policy)])
    assert [i.effect for i in impacts] == ([effect] if effect else [])
    assert d.evicted_at_once(unready_pod(), budget(current, desired, allowed, policy)) is (effect is None)
