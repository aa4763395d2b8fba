"""Weighted shifts on the HTTPRoute shop/api and on an NGINX canary Ingress pair (simulator)."""

from __future__ import annotations

import asyncio
import json

import pytest

from cockpit.controllers.base import ActionFailed, ChangedSincePreview, PreconditionFailed
from cockpit.controllers.shift import CHECK_READY, ShiftController
from cockpit.journal import Journal
from tests.support.e2e import guard, run_cli
from tests.support.wait import async_wait_until

pytestmark = pytest.mark.slow

STABLE, CANARY = "api-stable", "api-canary"


def controller(client, journal_path) -> ShiftController:
    return ShiftController(client, guard(journal_path))


def route_weights(kubectl) -> dict[str, int]:
    route = json.loads(kubectl("-n", "shop", "get", "httproute", "api", "-o", "json").stdout)
    return {ref["name"]: ref.get("weight", 1) for rule in route["spec"]["rules"] for ref in rule["backendRefs"]}


async def ready_view(ctl):
    """The route's view once both backends have ready endpoints."""
    return await async_wait_until(lambda: ctl.view("shop/api"), accept=lambda view: all(b.ready for b in view.backends),
                                  what="ready endpoints behind both backends of shop/api")


async def test_view_shows_declared_weights_and_ready_endpoints(client, journal_path):
    view = await ready_view(controller(client, journal_path))
    assert view.weights() == {STABLE: 90, CANARY: 10}
    assert (view.stable, view.canary) == (STABLE, CANARY)
    assert [round(b.share) for b in view.backends] == [90, 10]
    assert "api-canary 10 (10%)" in view.text()


async def test_plan_runs_then_abort_restores_100_0(client, journal_path, kubectl):
    ctl = controller(client, journal_path)
    await ready_view(ctl)
    seen = []
    ctl.reporter = seen.append
    result = await ctl.run_plan("shop/api", [10, 25, 50, 100], pause=0.01)
    assert result.ok and [s["percent"] for s in result.steps] == [10, 25, 50, 100]
    assert route_weights(kubectl) == {STABLE: 0, CANARY: 100}
    assert [e for e in seen if e.step.startswith("step ")], "progress per step"
    entries = [e for e in Journal(journal_path).entries() if e["action"] == "shift-plan"]
    assert [e["event"] for e in entries] == ["preview", "start", "step", "step", "step", "step", "result"]
    assert entries[2]["weights"] == {STABLE: 90, CANARY: 10}

    aborted = await ctl.abort("shop/api")
    assert aborted.aborted and aborted.after == {STABLE: 100, CANARY: 0}
    assert route_weights(kubectl) == {STABLE: 100, CANARY: 0}
    last = Journal(journal_path).entries()[-1]
    assert last["event"] == "result" and last["after"] == {"weights": {STABLE: 100, CANARY: 0}}


async def test_plan_stops_and_aborts_when_canary_has_no_ready_endpoints(client, journal_path, kubectl):
    ctl = controller(client, journal_path)
    await ready_view(ctl)
    kubectl("-n", "shop", "scale", "deployment/api-canary", "--replicas=0")
    await async_wait_until(lambda: ctl.view("shop/api"), accept=lambda view: not view.backends[1].ready,
                           what="no ready canary endpoints")
    with pytest.raises(ActionFailed, match="traffic returned to api-stable") as caught:
        await ctl.run_plan("shop/api", [10, 50, 100])
    assert CHECK_READY in str(caught.value) and caught.value.result.aborted
    assert route_weights(kubectl) == {STABLE: 100, CANARY: 0}


async def test_set_weights_refuses_a_split_changed_since_preview(client, journal_path, kubectl):
    ctl = controller(client, journal_path)
    await ready_view(ctl)
    plan = await ctl.preview("shop/api", {STABLE: 50, CANARY: 50})
    kubectl("-n", "shop", "patch", "httproute", "api", "--type=json", "-p",
            '[{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":20}]')
    with pytest.raises(ChangedSincePreview):
        await ctl.set_weights(plan)
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 20}


async def test_set_weights_refuses_traffic_to_nothing(client, journal_path, kubectl):
    ctl = controller(client, journal_path)
    await ready_view(ctl)
    kubectl("-n", "shop", "scale", "deployment/api-canary", "--replicas=0")
    plan = await async_wait_until(lambda: ctl.preview("shop/api", {STABLE: 50, CANARY: 50}),
                                  accept=lambda plan: not plan.ok, what="a 50/50 plan refused for lack of endpoints")
    with pytest.raises(PreconditionFailed, match="no ready endpoints"):
        await ctl.set_weights(plan)
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 10}


# ----- NGINX canary Ingress pair ----------------------------------------------------------

INGRESSES = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api, namespace: shop}
spec:
  rules:
  - host: api.shop.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: api-stable, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api-canary
  namespace: shop
  annotations: {nginx.ingress.kubernetes.io/canary: "true", nginx.ingress.kubernetes.io/canary-weight: "10"}
spec:
  rules:
  - host: api.shop.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: api-canary, port: {number: 80}}}}]}
"""


def canary_weight(kubectl) -> str:
    return kubectl("-n", "shop", "get", "ingress", "api-canary", "-o",
                   "jsonpath={.metadata.annotations.nginx\\.ingress\\.kubernetes\\.io/canary-weight}").stdout


def test_cli_ingress_canary_weights_plan_and_abort(sim, kubectl, capsys, journal_path, wait_for):
    kubectl("apply", "-f", "-", input=INGRESSES)

    def view():
        code, out, _ = run_cli(capsys, sim, journal_path, "shift", "shop/api", "--kind", "ingress", "--json")
        doc = json.loads(out)
        return doc if all(b["ready"] > 0 for b in doc["result"]["backends"]) else None

    doc = wait_for(view, timeout=20)
    assert {b["name"]: b["weight"] for b in doc["result"]["backends"]} == {STABLE: 90, CANARY: 10}
    code, out, _ = run_cli(capsys, sim, journal_path, "shift", "shop/api-canary", "--kind", "ingress",
                           "--weights", f"{STABLE}=75,{CANARY}=25", "--yes")
    assert code == 0, out
    assert canary_weight(kubectl) == "25"
    code, out, _ = run_cli(capsys, sim, journal_path, "shift", "shop/api", "--kind", "ingress",
                           "--step", "--plan", "50,100", "--yes", "--json")
    assert code == 0 and json.loads(out)["result"]["after"] == {STABLE: 0, CANARY: 100}
    assert canary_weight(kubectl) == "100"
    code, out, _ = run_cli(capsys, sim, journal_path, "shift", "shop/api", "--kind", "ingress", "--abort", "--yes")
    assert code == 0 and canary_weight(kubectl) == "0"


def test_cli_route_weights_plan_and_abort(sim, kubectl, capsys, journal_path, wait_for):
    args = ("shift", "shop/api", "--weights", f"{STABLE}=60,{CANARY}=40")
    wait_for(lambda: run_cli(capsys, sim, journal_path, *args, "--dry-run")[0] == 0, timeout=20)
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 10}  # dry runs change nothing
    code, out, _ = run_cli(capsys, sim, journal_path, *args, "--yes", "--json")
    assert code == 0 and json.loads(out)["result"]["after"] == {STABLE: 60, CANARY: 40}
    assert route_weights(kubectl) == {STABLE: 60, CANARY: 40}
    code, out, _ = run_cli(capsys, sim, journal_path, "shift", "shop/api", "--step", "--plan", "25,100", "--yes")
    assert code == 0 and "plan complete" in out and route_weights(kubectl) == {STABLE: 0, CANARY: 100}
    code, out, _ = run_cli(capsys, sim, journal_path, "shift", "shop/api", "--abort", "--yes", "--json")
    assert code == 0 and json.loads(out)["result"]["aborted"]
    assert route_weights(kubectl) == {STABLE: 100, CANARY: 0}
    events = [(e["action"], e["event"]) for e in Journal(journal_path).entries() if not e.get("dry_run")]
    assert ("shift-plan", "step") in events and events[-1] == ("shift", "result")


def test_cli_unwritable_journal_blocks_shift(sim, kubectl, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, sim, blocker / "j.jsonl", "shift", "shop/api", "--abort", "--yes")
    assert code == 1 and "audit journal" in err
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 10}


async def test_plan_is_cancellable_between_steps(client, journal_path, kubectl):
    ctl = controller(client, journal_path)
    await ready_view(ctl)
    paused = asyncio.Event()
    ctl.reporter = lambda p: paused.set() if p.step == "pause" else None
    task = asyncio.create_task(ctl.run_plan("shop/api", [20, 50, 100], pause=60))
    await asyncio.wait_for(paused.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert route_weights(kubectl) == {STABLE: 80, CANARY: 20}  # stays at the last completed step
    events = [e["event"] for e in Journal(journal_path).entries() if e["action"] == "shift-plan"]
    assert events == ["preview", "start", "step", "cancelled"]
