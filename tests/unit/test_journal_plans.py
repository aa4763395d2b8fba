"""Pure planning helpers of the rollout/switch/shift controllers (what gets journaled as previews).

No cluster here: raw Kubernetes JSON in, plans out.
"""

from __future__ import annotations

import pytest

from cockpit.controllers import switch
from cockpit.cli.traffic import parse_plan, parse_weights
from cockpit.controllers.shift import HTTPRouteRouter, IngressCanaryRouter, ingress_pair, pick_roles
from cockpit.errors import UsageError


def deployment(name, colour, *, ready=3, generation=1, observed=1, port=8080):
    return {
        "metadata": {"name": name, "namespace": "shop", "generation": generation, "uid": name},
        "spec": {"replicas": 3, "template": {
            "metadata": {"labels": {"app": "web", "color": colour}},
            "spec": {"containers": [{"name": "web", "ports": [{"containerPort": port, "name": "http"}]}]}}},
        "status": {"observedGeneration": observed, "replicas": 3, "updatedReplicas": 3,
                   "readyReplicas": ready, "availableReplicas": ready},
    }


def pod(name, colour, ready=True, port=8080):
    return {"metadata": {"name": name, "namespace": "shop", "labels": {"app": "web", "color": colour}},
            "spec": {"containers": [{"name": "web", "ports": [{"containerPort": port}]}]},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


SERVICE = {"metadata": {"name": "web", "namespace": "shop", "resourceVersion": "42"},
           "spec": {"selector": {"app": "web", "color": "blue"}, "ports": [{"port": 80, "targetPort": 8080}]}}


def test_switch_plan_picks_other_colour_and_passes_checks():
    deps = [deployment("web-blue", "blue"), deployment("web-green", "green")]
    pods = [pod(f"g{i}", "green") for i in range(3)] + [pod(f"b{i}", "blue") for i in range(3)]
    plan = switch.build_plan("shop/web", SERVICE, deps, pods, None)
    assert plan.from_colour == "blue" and plan.to_colour == "green"
    assert plan.selector_after == {"app": "web", "color": "green"}
    assert plan.ok, [c.line() for c in plan.checks]
    assert plan.deployments == ["web-green"] and plan.resource_version == "42"
    assert plan.ready_by_colour == {"green": 3, "blue": 3}


@pytest.mark.parametrize("dep, pods, failing", [
    (deployment("web-green", "green", ready=1), [pod("g0", "green")], switch.CHECK_ROLLED_OUT),
    (deployment("web-green", "green", generation=2), [pod("g0", "green")], switch.CHECK_ROLLED_OUT),
    (deployment("web-green", "green"), [pod("g0", "green", ready=False)], switch.CHECK_ENDPOINTS),
    (deployment("web-green", "green", port=9090), [pod("g0", "green", port=9090)], switch.CHECK_PORTS),
])
def test_switch_plan_names_the_failing_precondition(dep, pods, failing):
    plan = switch.build_plan("shop/web", SERVICE, [deployment("web-blue", "blue"), dep], pods, "green")
    assert not plan.ok
    assert failing in [c.name for c in plan.checks if not c.ok]


def test_switch_to_unknown_colour_fails_target_exists():
    plan = switch.build_plan("shop/web", SERVICE, [deployment("web-blue", "blue")], [], "purple")
    assert [c.name for c in plan.checks if not c.ok][0] == switch.CHECK_TARGET_EXISTS


def test_service_without_colour_label_is_a_usage_error():
    service = {"metadata": {"name": "x"}, "spec": {"selector": {"app": "x"}}}
    with pytest.raises(UsageError, match="no colour label"):
        switch.build_plan("shop/x", service, [], [], None)


def test_endpoint_state_only():
    state = switch.EndpointState(ready={"green": 3}, total={"green": 3})
    assert state.only("green") and not state.only("blue")
    assert not switch.EndpointState(ready={"green": 3}, total={"green": 3, "blue": 1}).only("green")


ROUTE = {"spec": {"rules": [{"backendRefs": [{"name": "api-stable", "port": 80, "weight": 90},
                                             {"name": "api-canary", "port": 80, "weight": 10}]}]}}


def test_httproute_router_weights_patch_and_command():
    router = HTTPRouteRouter("shop", "api", ROUTE)
    assert router.weights() == {"api-stable": 90, "api-canary": 10}
    ops = router.patch({"api-stable": 50, "api-canary": 50})
    assert ops[0] == {"op": "test", "path": "/spec/rules/0/backendRefs",
                      "value": ROUTE["spec"]["rules"][0]["backendRefs"]}
    assert [r["weight"] for r in ops[1]["value"]] == [50, 50]
    assert "kubectl -n shop patch httproute api --type=json" in router.command({"api-stable": 50, "api-canary": 50})


def ingress(name, service, canary=None):
    annotations = {} if canary is None else {"nginx.ingress.kubernetes.io/canary": "true",
                                             "nginx.ingress.kubernetes.io/canary-weight": str(canary)}
    return {"metadata": {"name": name, "namespace": "shop", "annotations": annotations},
            "spec": {"rules": [{"host": "shop.example", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}]}}


def test_ingress_pair_from_either_side_and_weights():
    main, canary = ingress("web", "web-stable"), ingress("web-canary", "web-next", canary=20)
    assert ingress_pair(main, [main, canary]) == (main, canary)
    assert ingress_pair(canary, [main, canary]) == (main, canary)
    router = IngressCanaryRouter("shop", "web", main, canary)
    assert router.weights() == {"web-stable": 80, "web-next": 20}
    ops = router.patch({"web-stable": 3, "web-next": 1})
    assert ops[-1] == {"op": "add", "path": "/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight",
                       "value": "25"}
    assert ops[1]["value"] == "20"  # pins the previewed weight


def test_pick_roles_by_name_and_explicit():
    assert pick_roles(["api-canary", "api-stable"]) == ("api-stable", "api-canary")
    assert pick_roles(["a", "b"]) == ("a", "b")
    assert pick_roles(["a", "b"], stable="b") == ("b", "a")
    with pytest.raises(UsageError):
        pick_roles(["a", "b"], canary="zzz")


def test_parsers():
    assert parse_weights("a=90, b=10") == {"a": 90, "b": 10}
    assert parse_plan("10,25,50,100") == [10, 25, 50, 100]
    for bad in ("a", "a=x", ""):
        with pytest.raises(UsageError):
            parse_weights(bad)
    with pytest.raises(UsageError):
        parse_plan("10,200")


def replicaset(name, revision, image, owner="dep-uid"):
    return {"metadata": {"name": name, "namespace": "shop", "uid": name,
                         "annotations": {"deployment.kubernetes.io/revision": str(revision), "note": name},
                         "ownerReferences": [{"uid": owner, "controller": True, "kind": "Deployment"}]},
            "spec": {"template": {"metadata": {"labels": {"app": "checkout", "pod-template-hash": name[-3:]}},
                                  "spec": {"containers": [{"name": "checkout", "image": image}]}}}}


CHECKOUT = {"metadata": {"name": "checkout", "namespace": "shop", "uid": "dep-uid", "resourceVersion": "77",
                         "annotations": {"deployment.kubernetes.io/revision": "2", "team": "pay"}},
            "spec": {"template": {"metadata": {"labels": {"app": "checkout"}},
                                  "spec": {"containers": [{"name": "checkout", "image": "c:2.4.0-broken"}]}}}}


def test_pick_revision_like_kubectl():
    from cockpit.controllers.rollout import pick_revision
    from cockpit.domain.records import decode

    raw = [replicaset("rs-aaa", 1, "c:2.3.1"), replicaset("rs-bbb", 3, "c:2.4.0"), replicaset("rs-ccc", 2, "c:x")]
    sets = [decode("replicasets", rs) for rs in raw]
    assert pick_revision(sets, None).name == "rs-ccc"  # second newest
    assert pick_revision(sets, 1).name == "rs-aaa"
    assert pick_revision(sets, 9) is None
    assert pick_revision(sets[:1], None) is None


def test_undo_patch_copies_template_without_hash_and_tests_resource_version():
    from cockpit.kube.rollback import template_matches, undo_patch

    rs = replicaset("rs-aaa", 1, "c:2.3.1")
    test, template, annotations = undo_patch(CHECKOUT, rs)
    assert test == {"op": "test", "path": "/metadata/resourceVersion", "value": "77"}
    assert template["value"]["metadata"]["labels"] == {"app": "checkout"}
    assert template["value"]["spec"]["containers"] == [{"name": "checkout", "image": "c:2.3.1"}]
    assert annotations["value"] == {"deployment.kubernetes.io/revision": "2", "note": "rs-aaa"}
    assert not template_matches(CHECKOUT, rs)


def test_undo_to_current_template_is_a_noop():
    from cockpit.kube.rollback import template_matches

    assert template_matches(CHECKOUT, replicaset("rs-ddd", 2, "c:2.4.0-broken"))


def test_ingress_canary_without_weight_annotation_and_route_default_weights():
    main, canary = ingress("web", "web-stable"), ingress("web-canary", "web-next", canary=0)
    del canary["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"]
    router = IngressCanaryRouter("shop", "web", main, canary)
    assert router.weights() == {"web-stable": 100, "web-next": 0}
    ops = router.patch({"web-stable": 90, "web-next": 10})
    assert [op["op"] for op in ops] == ["test", "add"] and ops[-1]["value"] == "10"
    assert "annotate ingress web-canary --overwrite nginx.ingress.kubernetes.io/canary-weight=10" in \
        router.command({"web-stable": 90, "web-next": 10})
    with pytest.raises(UsageError):
        router.canary_weight({"web-stable": 0, "web-next": 0})
    route = HTTPRouteRouter("shop", "r", {"spec": {"rules": [{"backendRefs": [{"name": "a"}, {"name": "b"}]}]}})
    assert route.weights() == {"a": 1, "b": 1}  # Gateway API default weight
    assert route.patch({"a": 1, "b": 1}) == []  # nothing to change, nothing sent
