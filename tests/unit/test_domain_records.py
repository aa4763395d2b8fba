"""Decoding raw API JSON into slim records (every kind), selectors, watch event lines."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from cockpit.domain import records as r

SAMPLES = Path("/work/shared/reference/samples")


def test_every_kind_decodes_an_almost_empty_object():
    for kind in r.KINDS:
        rec = r.decode(kind, {"metadata": {"name": "x", "namespace": "ns", "uid": "u"}})
        assert isinstance(rec, r.RECORD_TYPES[kind])
        assert (rec.key, rec.uid) == ("ns/x", "u")


def test_pod_fields():
    raw = {
        "metadata": {"name": "p", "namespace": "shop", "uid": "u1", "resourceVersion": "7",
                     "labels": {"app": "web"}, "annotations": {"kubernetes.io/config.mirror": "h"},
                     "creationTimestamp": "2026-01-01T00:00:00Z", "deletionTimestamp": "2026-01-01T00:01:00Z",
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "x"},
                                         {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rsu",
                                          "controller": True}]},
        "spec": {"nodeName": "worker-1", "containers": [{"name": "a", "image": "img:1"}, {"name": "b", "image": "img:2"}],
                 "volumes": [{"name": "tmp", "emptyDir": {}}]},
        "status": {"phase": "Running", "podIP": "10.0.0.1", "startTime": "2026-01-01T00:00:01Z",
                   "conditions": [{"type": "Ready", "status": "False"}],
                   "containerStatuses": [
                       {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}}},
                       {"name": "b", "ready": False, "restartCount": 5,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
    }
    p = r.decode("pods", raw)
    assert (p.phase, p.ready, p.ready_containers, p.total_containers, p.restarts) == ("Running", False, 1, 2, 7)
    assert (p.node_name, p.waiting_reason, p.pod_ip, p.images) == ("worker-1", "CrashLoopBackOff", "10.0.0.1", ("img:1", "img:2"))
    assert (p.owner_kind, p.owner_uid, p.owner_name) == ("ReplicaSet", "rsu", "rs")
    assert p.is_mirror and p.terminating and p.has_local_storage
    assert p.start_time.year == 2026 and p.resource_version == "7"


def test_pod_init_and_terminated_reasons():
    init = {"metadata": {"name": "p", "uid": "u"}, "status": {"initContainerStatuses": [
        {"name": "i", "state": {"waiting": {"reason": "ErrImagePull"}}}]}}
    assert r.decode("pods", init).waiting_reason == "Init:ErrImagePull"
    oom = {"metadata": {"name": "p", "uid": "u"}, "status": {"containerStatuses": [
        {"name": "c", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}}
    assert r.decode("pods", oom).waiting_reason == "OOMKilled"
    creating = {"metadata": {"name": "p", "uid": "u"}, "status": {"containerStatuses": [
        {"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
    assert r.decode("pods", creating).waiting_reason == ""


def test_node_sample():
    n = r.decode_json("nodes", (SAMPLES / "node.json").read_bytes())
    assert n.key == "node-1" and n.ready and n.kubelet_version == "v1.32.0" and n.internal_ip == "192.168.0.1"


def test_node_roles_taints_cordon():
    n = r.decode("nodes", {
        "metadata": {"name": "cp-1", "uid": "u", "labels": {"node-role.kubernetes.io/control-plane": ""},
                     "annotations": {"cockpit.dev/upgrade": "{}"}},
        "spec": {"unschedulable": True, "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"},
                                  {"type": "DiskPressure", "status": "True"}]},
    })
    assert n.roles == ("control-plane",) and n.is_control_plane and n.unschedulable
    assert [str(t) for t in n.taints] == ["node-role.kubernetes.io/control-plane:NoSchedule"]
    assert (n.ready, n.ready_status, n.ready_reason, n.pressures) == (False, "Unknown", "NodeStatusUnknown", ("DiskPressure",))
    assert n.annotations["cockpit.dev/upgrade"] == "{}"


def test_deployment_sample():
    d = r.decode_json("deployments", (SAMPLES / "deployment_web.json").read_bytes())
    assert (d.revision, d.replicas, d.strategy, d.images) == (1, 2, "RollingUpdate", ("nginx:1.25",))
    assert d.condition("Progressing").reason == "NewReplicaSetAvailable"
    assert d.progress_deadline_seconds == 600 and d.max_surge == "25%"


def test_lists_from_samples():
    pods, rv, token = r.decode_list("pods", (SAMPLES / "podlist_default.json").read_bytes())
    assert pods and rv and token == ""
    sets, _, _ = r.decode_list("replicasets", (SAMPLES / "replicasets.json").read_bytes())
    assert sets[0].pod_template_hash and sets[0].revision >= 1 and sets[0].owner_kind == "Deployment"


def test_list_continue_and_null_items():
    recs, rv, token = r.decode_list("pods", b'{"kind":"PodList","metadata":{"resourceVersion":"9","continue":"abc"},"items":null}')
    assert (recs, rv, token) == ([], "9", "abc")


def test_watch_events_from_sample():
    events = [r.decode_watch_event("pods", line) for line in (SAMPLES / "watch_pods.ndjson").read_bytes().splitlines() if line]
    assert {e.type for e in events} >= {"ADDED", "BOOKMARK"}
    bookmark = next(e for e in events if e.type == "BOOKMARK")
    assert bookmark.record is None and bookmark.resource_version


def test_watch_error_event():
    line = json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}})
    e = r.decode_watch_event("pods", line.encode())
    assert e.type == "ERROR" and e.status["code"] == 410 and e.record is None


def test_event_timestamps_fall_back():
    e = r.decode("events", {"metadata": {"name": "e", "namespace": "shop", "uid": "u", "creationTimestamp": "2026-01-01T00:00:00Z"},
                            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "shop", "uid": "pu"},
                            "type": "Warning", "reason": "BackOff", "message": "m", "eventTime": None,
                            "series": {"count": 4, "lastObservedTime": "2026-01-01T00:05:00.123456Z"}})
    assert (e.object_kind, e.object_name, e.count, e.last_seen.minute) == ("Pod", "p", 4, 5)


def test_endpointslice_conditions_default_to_ready():
    s = r.decode("endpointslices", {"metadata": {"name": "s", "namespace": "n", "uid": "u",
                                                 "labels": {"kubernetes.io/service-name": "web"}},
                                    "addressType": "IPv4",
                                    "endpoints": [{"addresses": ["1.1.1.1"]},
                                                  {"addresses": ["1.1.1.2"], "conditions": {"ready": False, "terminating": True},
                                                   "targetRef": {"kind": "Pod", "name": "p", "uid": "pu"}}]})
    assert s.service_name == "web" and s.ready_count == 1
    assert s.endpoints[1].terminating and not s.endpoints[1].serving and s.endpoints[1].target_uid == "pu"


def test_pdb_lease_route():
    pdb = r.decode("poddisruptionbudgets", {"metadata": {"name": "web", "namespace": "shop", "uid": "u"},
                                            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
                                            "status": {"disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3}})
    assert (pdb.min_available, pdb.disruptions_allowed, pdb.selector.match_labels) == (2, 1, {"app": "web"})
    lease = r.decode("leases", {"metadata": {"name": "l", "namespace": "kube-system", "uid": "u"},
                                "spec": {"holderIdentity": "me", "renewTime": "2026-01-01T00:00:00.000000Z", "leaseDurationSeconds": 15}})
    assert lease.holder == "me" and lease.lease_duration_seconds == 15
    route = r.decode("httproutes", {"metadata": {"name": "api", "namespace": "shop", "uid": "u"},
                                    "spec": {"rules": [{"backendRefs": [{"name": "a", "weight": 0}, {"name": "b"}]}]}})
    assert [(b.name, b.weight) for b in route.rules[0].backends] == [("a", 0), ("b", 1)]


@pytest.mark.parametrize("spec,labels,ok", [
    ({"selector": {"matchLabels": {"app": "web"},
                   "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}},
     {"app": "web", "tier": "a"}, True),
    ({"selector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}}, {}, True),
    ({"selector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}}, {}, False),
    ({"selector": {}}, {"anything": "x"}, True),
    ({}, {"anything": "x"}, False),
    ({"selector": {"matchExpressions": [{"key": "tier", "operator": "Bogus"}]}}, {"tier": "a"}, False),
])
def test_decoded_pdb_selector(spec, labels, ok):
    pdb = r.decode("poddisruptionbudgets", {"metadata": {"name": "p", "uid": "u"}, "spec": spec})
    assert pdb.selector.matches(labels) is ok


def test_service_without_selector_selects_nothing():
    svc = r.decode("services", {"metadata": {"name": "s", "uid": "u"}, "spec": {}})
    assert not svc.label_selector.matches({"app": "web"})


def test_wrong_types_raise_validation_errors():
    with pytest.raises(msgspec.ValidationError):
        r.decode("pods", {"metadata": {"name": 5}})


def test_pod_fields_for_drain_and_upgrade():
    p = r.decode("pods", {
        "metadata": {"name": "p", "namespace": "kube-system", "uid": "u",
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "cp-1", "uid": "n"},
                                         {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "uid": "d",
                                          "controller": True}]},
        "spec": {"priority": 2000001000, "priorityClassName": "system-node-critical",
                 "initContainers": [{"name": "init", "image": "busybox:1"}],
                 "containers": [{"name": "c", "image": "registry.k8s.io/kube-proxy:v1.32.4"}],
                 "tolerations": [{"operator": "Exists"}, {"key": "k", "value": "v", "effect": "NoSchedule",
                                                         "tolerationSeconds": 30}]},
        "status": {"phase": "Succeeded"}})
    assert [(o.kind, o.controller) for o in p.owners] == [("Node", False), ("DaemonSet", True)]
    assert p.controller_ref.name == "ds" and p.daemonset_owned and p.is_controlled_by("d")
    assert [c.image for c in p.init_containers] == ["busybox:1"] and p.images == ("registry.k8s.io/kube-proxy:v1.32.4",)
    assert (p.priority, p.priority_class, p.finished) == (2000001000, "system-node-critical", True)
    assert p.tolerations[1] == r.Toleration("k", "Equal", "v", "NoSchedule", 30)


@pytest.mark.parametrize("toleration, taint, ok", [
    (r.Toleration(operator="Exists"), r.Taint("a", "b", "NoSchedule"), True),
    (r.Toleration("a", "Exists"), r.Taint("a", "x", "NoExecute"), True),
    (r.Toleration("a", "Equal", "b"), r.Taint("a", "b", "NoSchedule"), True),
    (r.Toleration("a", "Equal", "b"), r.Taint("a", "c", "NoSchedule"), False),
    (r.Toleration("a", "Exists", effect="NoExecute"), r.Taint("a", "", "NoSchedule"), False),
    (r.Toleration("b", "Exists"), r.Taint("a", "", "NoSchedule"), False),
])
def test_tolerations(toleration, taint, ok):
    assert toleration.tolerates(taint) is ok


def test_node_fields_for_drain_and_upgrade():
    n = r.decode("nodes", {
        "metadata": {"name": "cp-1", "uid": "u", "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                            {"key": "soft", "effect": "PreferNoSchedule"}]},
        "status": {"allocatable": {"pods": "250"}, "addresses": [{"type": "InternalIP", "address": "10.0.0.1"},
                                                                 {"type": "Hostname", "address": "cp-1"}],
                   "conditions": [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}]}})
    assert n.is_control_plane and n.ready and n.allocatable_pods == 250 and n.internal_ip == "10.0.0.1"
    assert [a.type for a in n.addresses] == ["InternalIP", "Hostname"] and len(n.conditions) == 2
    assert [t.key for t in n.hard_taints] == ["node-role.kubernetes.io/control-plane"]
    plain = r.decode("pods", {"metadata": {"name": "p", "uid": "p"}})
    tolerant = r.decode("pods", {"metadata": {"name": "q", "uid": "q"},
                                 "spec": {"tolerations": [{"key": "node-role.kubernetes.io/control-plane",
                                                           "operator": "Exists"}]}})
    assert not n.accepts(plain) and n.accepts(tolerant)


def test_pdb_unhealthy_pod_eviction_policy_defaults_to_if_healthy_budget():
    default = r.decode("poddisruptionbudgets", {"metadata": {"name": "a", "uid": "a"}, "spec": {}})
    always = r.decode("poddisruptionbudgets", {"metadata": {"name": "b", "uid": "b"},
                                               "spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}})
    assert (default.unhealthy_pod_eviction_policy, always.unhealthy_pod_eviction_policy) == (
        "IfHealthyBudget", "AlwaysAllow")
