"""Weighted shifts on the HTTPRoute shop/api and on an NGINX canary Ingress pair (simulator),
through the driver and the CLI: weights on the server, journal records and Kubernetes Events."""

from __future__ import annotations

import asyncio
import json

import pytest

from cockpit.controllers.base import ChangedSincePreview, PreconditionFailed, collecting_reporter
from cockpit.controllers.shift import CHECK_READY, ShiftOperation, traffic_view
from cockpit.errors import ReadOnlyRefusal
from cockpit.journal import Journal
from tests.support.e2e import run_cli
from tests.support.traffic import cockpit_events, drive, event_summary, journal_steps, route_weights
from tests.support.wait import async_wait_until, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

STABLE, CANARY = "api-stable", "api-canary"


def shift(client, **options) -> ShiftOperation:
    return ShiftOperation(client, "shop/api", **options)


async def ready_view(client):
    """The route's view once both backends have ready endpoints."""
    return await async_wait_until(lambda: traffic_view(client, "shop/api"),
                                  accept=lambda view: all(b.ready for b in view.backends),
                                  what="ready endpoints behind both backends of shop/api")


async def test_view_shows_declared_weights_and_ready_endpoints(client):
    view = await ready_view(client)
    assert view.weights() == {STABLE: 90, CANARY: 10}
    assert (view.stable, view.canary) == (STABLE, CANARY)
    assert [round(b.share) for b in view.backends] == [90, 10]
    assert "api-canary 10 (10%)" in view.text()


async def test_plan_runs_each_step_journaled_then_abort_restores_100_0(client, journal_path, kubectl):
    await ready_view(client)
    reporter, progress = collecting_reporter()
    result = await drive(client, journal_path, shift(client, steps=[10, 25, 50, 100], pause=0.01), reporter=reporter)
    assert result.ok and [s["percent"] for s in result.details["steps"]] == [25, 50, 100]
    assert result.details["skipped"] == [10]  # already at 10%: never a step back
    assert route_weights(kubectl) == {STABLE: 0, CANARY: 100}
    assert [p.step for p in progress if p.step.startswith("step ")] == ["step 1/3", "step 2/3", "step 3/3"]
    assert journal_steps(journal_path, "shift-plan") == ["preview", "start", "step:1", "step:2", "step:3", "result"]
    result_entry = Journal(journal_path).entries()[-1]
    assert result_entry["before"] == {"weights": {STABLE: 90, CANARY: 10}}
    assert result_entry["after"] == {"weights": {STABLE: 0, CANARY: 100}}

    aborted = await drive(client, journal_path, shift(client, abort=True))
    assert aborted.ok and aborted.details["aborted"] and aborted.after == {"weights": {STABLE: 100, CANARY: 0}}
    assert route_weights(kubectl) == {STABLE: 100, CANARY: 0}
    assert journal_steps(journal_path, "shift-abort") == ["preview", "start", "result"]
    assert [event_summary(e) for e in cockpit_events(kubectl)] == [
        ("TrafficShifted", "Normal", "HTTPRoute", "api"), ("TrafficShiftAborted", "Normal", "HTTPRoute", "api")]


async def test_step_from_80_20_never_moves_weight_away_from_the_canary(client, journal_path, kubectl):
    await ready_view(client)
    await drive(client, journal_path, shift(client, weights={"stable": 80, "canary": 20}))
    seen = []

    def watch(progress):
        if progress.step.startswith("step "):
            seen.append(progress.data["weights"][CANARY])
        if progress.step == "pause":
            seen.append(route_weights(kubectl)[CANARY])

    result = await drive(client, journal_path, shift(client, steps=[10, 25, 50, 100], pause=0.01), reporter=watch)
    assert result.ok and seen[0] == 25 and seen == sorted(seen) and min(seen) >= 20
    assert [e["percent"] for e in Journal(journal_path).entries() if e["event"] == "step"] == [25, 50, 100]
    assert route_weights(kubectl) == {STABLE: 0, CANARY: 100}
    noop = await drive(client, journal_path, shift(client, steps=[10, 50]))  # nothing left to step through
    assert not noop.changed and "already has 100%" in noop.message and route_weights(kubectl)[CANARY] == 100


async def test_a_step_whose_canary_lost_its_endpoints_returns_traffic_to_stable(client, journal_path, kubectl):
    await ready_view(client)

    def scale_canary_away(progress):
        if progress.step == "pause":
            kubectl("-n", "shop", "scale", "deployment/api-canary", "--replicas=0")
            wait_until(lambda: not json.loads(kubectl("-n", "shop", "get", "endpointslices", "-l",
                                                      "kubernetes.io/service-name=api-canary", "-o",
                                                      "json").stdout)["items"][0].get("endpoints"),
                       what="no canary endpoints")

    result = await drive(client, journal_path, shift(client, steps=[25, 50, 100], pause=0.01),
                         reporter=scale_canary_away)
    assert not result.ok and result.details["aborted"] and "traffic returned to api-stable" in result.message
    assert CHECK_READY in result.message
    assert route_weights(kubectl) == {STABLE: 100, CANARY: 0}
    assert journal_steps(journal_path, "shift-plan") == ["preview", "start", "step:1", "step:abort", "result"]
    assert event_summary(cockpit_events(kubectl)[-1]) == ("TrafficShiftedFailed", "Warning", "HTTPRoute", "api")


async def test_a_split_changed_since_the_preview_is_not_overwritten(client, journal_path, kubectl):
    await ready_view(client)

    async def someone_else_edits_then_yes(plan):
        kubectl("-n", "shop", "patch", "httproute", "api", "--type=json", "-p",
                '[{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":20}]')
        return True

    with pytest.raises(ChangedSincePreview):
        await drive(client, journal_path, shift(client, weights={STABLE: 50, CANARY: 50}),
                    confirm=someone_else_edits_then_yes)
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 20}


async def test_traffic_to_nothing_is_refused_abort_never_is(client, journal_path, kubectl):
    await ready_view(client)
    kubectl("-n", "shop", "scale", "deployment/api-canary", "--replicas=0")
    await async_wait_until(lambda: traffic_view(client, "shop/api"), accept=lambda view: not view.backends[1].ready,
                           what="no ready canary endpoints")
    with pytest.raises(PreconditionFailed, match="no ready endpoints"):
        await drive(client, journal_path, shift(client, weights={STABLE: 50, CANARY: 50}))
    with pytest.raises(PreconditionFailed, match="no ready endpoints"):
        await drive(client, journal_path, shift(client, steps=[50, 100]))
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 10}
    result = await drive(client, journal_path, shift(client, abort=True))
    assert result.ok and route_weights(kubectl) == {STABLE: 100, CANARY: 0}


async def test_read_only_and_dry_run_change_nothing(client, journal_path, kubectl):
    await ready_view(client)
    with pytest.raises(ReadOnlyRefusal):
        await drive(client, journal_path, shift(client, abort=True), read_only=True)
    for options in ({"weights": {STABLE: 50, CANARY: 50}}, {"steps": [25, 50]}, {"abort": True}):
        result = await drive(client, journal_path, shift(client, **options), dry_run=True)
        assert result.dry_run and not result.changed and result.message.startswith("[dry run] nothing changed")
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 10} and cockpit_events(kubectl) == []


async def test_plan_is_cancellable_between_steps(client, journal_path, kubectl):
    await ready_view(client)
    paused = asyncio.Event()
    task = asyncio.create_task(drive(client, journal_path, shift(client, steps=[20, 50, 100], pause=60),
                                     reporter=lambda p: paused.set() if p.step == "pause" else None))
    await asyncio.wait_for(paused.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert route_weights(kubectl) == {STABLE: 80, CANARY: 20}  # stays at the last completed step
    assert journal_steps(journal_path, "shift-plan") == ["preview", "start", "step:1", "cancelled"]


# ----- the CLI twin -----------------------------------------------------------------------

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
    assert code == 0 and json.loads(out)["result"]["after"] == {"weights": {STABLE: 0, CANARY: 100}}
    assert canary_weight(kubectl) == "100"
    code, out, _ = run_cli(capsys, sim, journal_path, "shift", "shop/api", "--kind", "ingress", "--abort", "--yes")
    assert code == 0 and canary_weight(kubectl) == "0"
    assert ("TrafficShiftAborted", "Normal", "Ingress", "api-canary") in [event_summary(e)
                                                                          for e in cockpit_events(kubectl)]


def test_cli_readme_shift_examples_work_as_written(sim, kubectl, capsys, journal_path, wait_for):
    """README: `cockpit shift NS/ROUTE --weights stable=90,canary=10 | --step --plan 10,25,50,100 --pause 30 | --abort`."""
    args = ("shift", "shop/api", "--weights", "stable=60,canary=40")
    wait_for(lambda: run_cli(capsys, sim, journal_path, *args, "--dry-run")[0] == 0, timeout=20)
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 10}  # dry runs change nothing
    code, out, _ = run_cli(capsys, sim, journal_path, *args, "--yes", "--json")
    assert code == 0 and json.loads(out)["result"]["after"] == {"weights": {STABLE: 60, CANARY: 40}}
    assert route_weights(kubectl) == {STABLE: 60, CANARY: 40}
    code, out, _ = run_cli(capsys, sim, journal_path, "shift", "shop/api", "--step", "--plan", "10,25,50,100",
                           "--pause", "0", "--yes")
    assert code == 0 and out.splitlines()[-1] == "plan complete: api-stable=0, api-canary=100", out
    assert "skipped  10%, 25%" in out and route_weights(kubectl) == {STABLE: 0, CANARY: 100}
    code, out, _ = run_cli(capsys, sim, journal_path, "shift", "shop/api", "--abort", "--yes", "--json")
    assert code == 0 and json.loads(out)["result"]["details"]["aborted"]
    assert route_weights(kubectl) == {STABLE: 100, CANARY: 0}
    events = [(e["action"], e["event"]) for e in Journal(journal_path).entries() if not e.get("dry_run")]
    assert ("shift-plan", "step") in events and events[-1] == ("shift-abort", "result")


def test_cli_dry_run_and_read_only_change_nothing(sim, kubectl, capsys, journal_path, wait_for):
    args = ("shift", "shop/api", "--step", "--plan", "50,100")
    code, out, _ = wait_for(lambda: (r := run_cli(capsys, sim, journal_path, *args, "--dry-run"))[0] == 0 and r,
                            timeout=20)
    assert out.splitlines()[-1].startswith("[dry run] nothing changed")
    code, _, err = run_cli(capsys, sim, journal_path, "--read-only", *args, "--yes")
    assert code == 1 and "read-only" in err
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 10} and cockpit_events(kubectl) == []


def test_cli_unwritable_journal_blocks_shift(sim, kubectl, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, sim, blocker / "j.jsonl", "shift", "shop/api", "--abort", "--yes")
    assert code == 1 and "audit journal" in err
    assert route_weights(kubectl) == {STABLE: 90, CANARY: 10}
