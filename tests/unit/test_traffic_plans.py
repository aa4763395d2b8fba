"""Pure planning of the traffic operations: switch plans on records, shift steps, routers, parsers.

No cluster here: raw Kubernetes JSON decoded into records, plans out.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.cli.traffic import parse_plan, parse_weights
from cockpit.controllers import switch_plan
from cockpit.controllers.shift import Backend, TrafficView, nudged, pick_roles, plan_steps, resolve_names
from cockpit.kube.routers import HTTPRouteRouter, IngressCanaryRouter, ingress_pair
from cockpit.controllers.switch_plan import PENDING, PendingSwitch, build_plan
from cockpit.controllers.switch_txn import EndpointState, finish_despite_cancel
from cockpit.controllers.transient import is_transient
from cockpit.domain.records import decode
from cockpit.errors import UsageError
from cockpit.kube.errors import ApiError, Forbidden, TooManyRequests, Unreachable


def deployment(name, colour, *, ready=3, generation=1, observed=1, port=8080):
    return decode("deployments", {
        "metadata": {"name": name, "namespace": "shop", "generation": generation, "uid": name},
        "spec": {"replicas": 3, "template": {
            "metadata": {"labels": {"app": "web", "color": colour}},
            "spec": {"containers": [{"name": "web", "image": "web", "ports": [{"containerPort": port, "name": "http"}]}]}}},
        "status": {"observedGeneration": observed, "replicas": 3, "updatedReplicas": 3,
                   "readyReplicas": ready, "availableReplicas": ready},
    })


def pod(name, colour, ready=True):
    return decode("pods", {"metadata": {"name": name, "namespace": "shop", "uid": name,
                                        "labels": {"app": "web", "color": colour}},
                           "spec": {"containers": [{"name": "web", "image": "web"}]},
                           "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}})


def service(annotations=None, selector=None):
    return decode("services", {
        "metadata": {"name": "web", "namespace": "shop", "uid": "svc", "resourceVersion": "42",
                     "annotations": annotations or {}},
        "spec": {"selector": selector or {"app": "web", "color": "blue"}, "ports": [{"port": 80, "targetPort": 8080}]}})


PODS = [pod(f"g{i}", "green") for i in range(3)] + [pod(f"b{i}", "blue") for i in range(3)]
DEPS = [deployment("web-blue", "blue"), deployment("web-green", "green")]


def test_switch_plan_picks_other_colour_and_passes_checks():
    plan = build_plan("shop/web", service(), DEPS, PODS, None)
    spec = plan.spec
    assert (spec.from_colour, spec.to_colour, spec.mode) == ("blue", "green", "switch")
    assert plan.after_state == {"selector": {"app": "web", "color": "green"}}
    assert not plan.blocked, [c.line() for c in plan.checks]
    assert plan.version == "42" and plan.reason == "ServiceSwitched" and plan.subject.kind == "Service"
    assert plan.commands == ("kubectl -n shop patch service web --type=merge -p "
                             "'{\"spec\":{\"selector\":{\"color\":\"green\"}}}'",)
    assert spec.ready_by_colour == {"green": 3, "blue": 3}


@pytest.mark.parametrize("dep, pods, failing", [
    (deployment("web-green", "green", ready=1), [pod("g0", "green")], switch_plan.CHECK_ROLLED_OUT),
    (deployment("web-green", "green", generation=2), [pod("g0", "green")], switch_plan.CHECK_ROLLED_OUT),
    (deployment("web-green", "green"), [pod("g0", "green", ready=False)], switch_plan.CHECK_ENDPOINTS),
    (deployment("web-green", "green", port=9090), [pod("g0", "green")], switch_plan.CHECK_PORTS),
])
def test_switch_plan_names_the_failing_precondition(dep, pods, failing):
    plan = build_plan("shop/web", service(), [deployment("web-blue", "blue"), dep], pods, "green")
    assert plan.blocked and failing in [c.name for c in plan.failed]


def test_switch_to_unknown_colour_fails_target_exists():
    plan = build_plan("shop/web", service(), [deployment("web-blue", "blue")], [], "purple")
    assert plan.failed[0].name == switch_plan.CHECK_TARGET_EXISTS


def test_switch_to_the_current_colour_is_a_noop():
    assert build_plan("shop/web", service(), DEPS, PODS, "blue").noop == "shop/web already selects blue"


def test_service_without_colour_label_is_a_usage_error():
    with pytest.raises(UsageError, match="no colour label"):
        build_plan("shop/web", service(selector={"app": "x"}), [], [], None)


def marker(deadline="2026-01-01T00:00:00+00:00"):
    return PendingSwitch({"app": "web", "color": "blue"}, {"app": "web", "color": "green"}, "color", "blue",
                         "green", deadline, "alice (kube user admin)")


def test_pending_marker_round_trips_and_offers_finish_or_undo():
    pending = marker()
    assert PendingSwitch.parse(pending.to_annotation()) == pending and pending.overdue
    assert PendingSwitch.parse("not json") is None and PendingSwitch.parse('{"to": "x"}') is None
    left = service({PENDING: pending.to_annotation()}, {"app": "web", "color": "green"})
    finish = build_plan("shop/web", left, DEPS, PODS, None)
    assert finish.spec.mode == "finish" and "finish the unverified switch" in finish.title
    assert finish.commands == () and any("--undo" in d for d in finish.details)
    undo = build_plan("shop/web", left, DEPS, PODS, None, undo=True)
    assert undo.spec.mode == "undo" and undo.after_state == {"selector": {"app": "web", "color": "blue"}}
    assert build_plan("shop/web", left, DEPS, PODS, "blue").spec.mode == "undo"  # --to the old colour
    with pytest.raises(UsageError, match="unverified switch"):
        build_plan("shop/web", left, DEPS, PODS, "purple")
    with pytest.raises(UsageError, match="no unverified switch"):
        build_plan("shop/web", service(), DEPS, PODS, None, undo=True)


def test_endpoint_state_is_strict():
    assert EndpointState(ready={"green": 3}, total={"green": 3}).only("green")
    assert not EndpointState(ready={"green": 3}, total={"green": 3}).only("blue")
    assert not EndpointState(ready={"green": 3}, total={"green": 3, "blue": 1}).only("green")  # old colour left
    assert not EndpointState(ready={"green": 3}, total={"green": 3, "?": 1}).only("green")  # an unknown pod
    assert not EndpointState(ready={}, total={"green": 2}).only("green")  # none ready


def test_transient_errors_are_retried_answers_are_not():
    assert is_transient(Unreachable("refused")) and is_transient(TooManyRequests(429, "x", "x"))
    assert is_transient(ApiError(503, "ServiceUnavailable", "x"))
    assert not is_transient(Forbidden(403, "Forbidden", "x")) and not is_transient(ApiError(409, "Conflict", "x"))


async def test_finish_despite_cancel_runs_to_its_end_and_reports_the_cancel():
    started, release = asyncio.Event(), asyncio.Event()

    async def recovery():
        started.set()
        await release.wait()
        return "switched back"

    task = asyncio.create_task(finish_despite_cancel(recovery()))
    await started.wait()
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()  # a second Esc / Ctrl-C changes nothing either
    await asyncio.sleep(0)
    assert not task.done()
    release.set()
    assert await task == ("switched back", True)


def view(stable=90, canary=10):
    return TrafficView("shop/api", "httproute", [Backend("api-stable", stable, 0, 3, 3, "stable"),
                                                 Backend("api-canary", canary, 0, 1, 1, "canary")],
                       "api-stable", "api-canary")


def test_steps_never_move_weight_away_from_the_canary():
    steps, skipped = plan_steps(view(80, 20), [10, 25, 50, 100])
    assert [s.percent for s in steps] == [25, 50, 100] and skipped == [10]
    assert [s.index for s in steps] == [1, 2, 3]
    assert steps[0].weights == {"api-stable": 75, "api-canary": 25}
    assert plan_steps(view(0, 100), [10, 50]) == ([], [10, 50])


def test_role_names_and_nudge():
    assert resolve_names(view(), {"stable": 80, "canary": 20}) == {"api-stable": 80, "api-canary": 20}
    assert resolve_names(view(), {"api-canary": 5}) == {"api-canary": 5}
    with pytest.raises(UsageError, match="no backend named other"):
        resolve_names(view(), {"other": 1})
    assert nudged(view(), 10) == {"api-stable": 80, "api-canary": 20}
    assert nudged(view(0, 100), 10) == {"api-stable": 0, "api-canary": 100}


ROUTE = {"metadata": {"name": "api", "namespace": "shop", "uid": "r1"},
         "spec": {"rules": [{"backendRefs": [{"name": "api-stable", "port": 80, "weight": 90},
                                             {"name": "api-canary", "port": 80, "weight": 10}]}]}}


def test_httproute_router_weights_patch_and_command():
    router = HTTPRouteRouter("shop", "api", ROUTE)
    assert router.weights() == {"api-stable": 90, "api-canary": 10}
    assert router.subject.kind == "HTTPRoute" and router.subject.uid == "r1"
    ops = router.patch({"api-stable": 50, "api-canary": 50})
    assert ops[0] == {"op": "test", "path": "/spec/rules/0/backendRefs",
                      "value": ROUTE["spec"]["rules"][0]["backendRefs"]}
    assert [r["weight"] for r in ops[1]["value"]] == [50, 50]
    assert "kubectl -n shop patch httproute api --type=json" in router.command({"api-stable": 50, "api-canary": 50})


def ingress(name, svc, canary=None):
    annotations = {} if canary is None else {"nginx.ingress.kubernetes.io/canary": "true",
                                             "nginx.ingress.kubernetes.io/canary-weight": str(canary)}
    return {"metadata": {"name": name, "namespace": "shop", "annotations": annotations},
            "spec": {"rules": [{"host": "shop.example", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": svc, "port": {"number": 80}}}}]}}]}}


def test_ingress_pair_from_either_side_and_weights():
    main, canary = ingress("web", "web-stable"), ingress("web-canary", "web-next", canary=20)
    assert ingress_pair(main, [main, canary]) == (main, canary)
    assert ingress_pair(canary, [main, canary]) == (main, canary)
    router = IngressCanaryRouter("shop", "web", main, canary)
    assert router.weights() == {"web-stable": 80, "web-next": 20}
    assert router.subject.kind == "Ingress" and router.subject.name == "web-canary"
    ops = router.patch({"web-stable": 3, "web-next": 1})
    assert ops[-1] == {"op": "add", "path": "/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight",
                       "value": "25"}
    assert ops[1]["value"] == "20"  # pins the previewed weight


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


def test_pick_roles_by_name_and_explicit():
    assert pick_roles(["api-canary", "api-stable"]) == ("api-stable", "api-canary")
    assert pick_roles(["a", "b"]) == ("a", "b")
    assert pick_roles(["a", "b"], stable="b") == ("b", "a")
    with pytest.raises(UsageError):
        pick_roles(["a", "b"], canary="zzz")


def test_parsers():
    assert parse_weights("a=90, b=10") == {"a": 90, "b": 10}
    assert parse_plan("10,25,50,100") == [10, 25, 50, 100]
    for bad in ("a", "a=x", "", "a=１"):
        with pytest.raises(UsageError):
            parse_weights(bad)
    for bad in ("10,200", "x", "１0"):
        with pytest.raises(UsageError):
            parse_plan(bad)


def test_weights_read_back_after_a_write_follow_the_router():
    main, canary = ingress("web", "web-stable"), ingress("web-canary", "web-next", canary=100)
    canary["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight-total"] = "1000"
    router = IngressCanaryRouter("shop", "web", main, canary)
    assert router.declared({"web-stable": 75, "web-next": 25}) == {"web-stable": 750, "web-next": 250}
    route = HTTPRouteRouter("shop", "api", ROUTE)
    assert route.declared({"api-canary": 25}) == {"api-stable": 90, "api-canary": 25}


@settings(max_examples=300)
@given(st.text() | st.sampled_from(["a=" + "9" * 5000, "9" * 5000, "a=1,b=" + "0" * 12]))
def test_weights_and_plans_never_crash_on_any_text(text):
    """Anything typed after --weights or --plan is parsed or refused with a usage error, never a traceback."""
    for parse in (parse_weights, parse_plan):
        try:
            value = parse(text)
        except UsageError:
            continue
        assert value and all(isinstance(v, int) and v >= 0 for v in (value.values() if isinstance(value, dict)
                                                                     else value))


def test_the_shown_command_is_safe_to_paste_whatever_the_colour():
    import shlex

    plan = build_plan("shop/web", service(), DEPS, PODS, "it's")
    argv = shlex.split(plan.commands[0])
    assert argv[:6] == ["kubectl", "-n", "shop", "patch", "service", "web"]
    assert argv[-1] == '{"spec":{"selector":{"color":"it\'s"}}}'
