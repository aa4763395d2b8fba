"""The Traffic pane's live request numbers and the metric-gated actions, from the TUI.

The fast tests feed the pane through the same message the live poll uses (a fixed feed, an
unconfigured one, an unreachable Prometheus); the slow ones start the simulator with a real
Prometheus and read the numbers, and abort a canary that turns bad, off the screen.
"""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input, Log

from cockpit.cli.tui import build_app
from cockpit.controllers.traffic_metrics import MetricsSnapshot, Reading, TrafficMetrics
from cockpit.journal import read_journal
from cockpit.metrics.client import PrometheusSettings
from cockpit.metrics.config import MetricsConfig, builtin_analyses
from cockpit.sim.prometheus import free_port
from cockpit.sim.traffic_behaviour import ERROR_RATIO
from cockpit.ui.screens.hold import HoldScreen
from cockpit.ui.screens.prompt import PromptScreen
from tests.support.prometheus import prom_sim, requires_prometheus, wait_for_series  # noqa: F401
from tests.support.ui import apply_plan, asked_plan, make_app, row, rows, settle, tui_args, until

FAST_ANALYSES = """
[analysis.success-rate]
query = '(sum(rate(istio_requests_total{reporter="destination",destination_service_namespace="{{namespace}}",destination_service_name="{{backend}}",destination_version=~"{{colour}}",response_code!~"5.."}[5s])) or vector(0)) / sum(rate(istio_requests_total{reporter="destination",destination_service_namespace="{{namespace}}",destination_service_name="{{backend}}",destination_version=~"{{colour}}"}[5s]))'
success_condition = "result >= 0.99"
interval = "1s"
inconclusive_limit = 2
"""


class FixedFeed:
    """A metrics feed that always answers ``snapshot`` (the pane cannot tell it from a live one)."""

    configured = True
    interval = 3600.0
    url = "http://prometheus.test:9090"
    client = None

    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self.snapshot = snapshot

    async def poll(self) -> MetricsSnapshot:
        return self.snapshot

    async def close(self) -> None:
        pass


def fixed_snapshot() -> MetricsSnapshot:
    """The demo fixture's backends: a healthy stable, a canary failing its success rate."""
    readings = {("shop", "api-stable", ""): Reading(36.0, 1.0, 171.0),
                ("shop", "api-canary", ""): Reading(4.0, 0.812, 640.0, ("success-rate", "latency-p99")),
                ("shop", "web", "blue"): Reading(5.0, 0.9996, 142.0)}
    trends = {("shop", "api-stable", ""): (30, 32, 34, 36, 36, 36, 35, 36),
              ("shop", "api-canary", ""): (1, 1, 2, 2, 3, 4, 4, 4),
              ("shop", "web", "blue"): (5, 5, 5, 5, 5, 5, 5, 5)}
    return MetricsSnapshot("ok", "live from http://prometheus.test:9090", readings, trends)


async def test_fixed_measurements_show_per_backend_and_per_colour():
    app = make_app(metrics=FixedFeed(fixed_snapshot()))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        pane = app.pane("traffic")
        await until(pilot, lambda: pane.snapshot is not None, what="the first poll")
        await settle(pilot)
        stable = row(app, "traffic", "shop/api")
        assert stable[2:5] == ["36.0", "100.0%", "171ms"]
        canary = next(r for r in rows(app, "traffic") if "api-canary" in r[1])
        assert canary[2:5] == ["4.0", "✘81.2%", "✘640ms"]
        blue = row(app, "traffic", "shop/web")
        assert blue[2:5] == ["5.0", "100.0%", "142ms"]
        assert "failing: shop/api-canary success-rate+latency-p99" in pane._header.render().plain


async def test_no_prometheus_configured_says_so():
    app = make_app(metrics=TrafficMetrics(MetricsConfig(None, builtin_analyses())))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        pane = app.pane("traffic")
        assert "no Prometheus configured" in pane._header.render().plain
        assert len(row(app, "traffic", "shop/web")) == 4  # no empty metric columns


async def test_unreachable_prometheus_says_so():
    settings = PrometheusSettings(f"http://127.0.0.1:{free_port()}", timeout=2)
    app = make_app(metrics=TrafficMetrics(MetricsConfig(settings, builtin_analyses())))
    async with app.run_test(size=(160, 45)) as pilot:
        pane = app.pane("traffic")
        await until(pilot, lambda: pane.snapshot is not None, what="the first poll")
        assert pane.snapshot.status == "unreachable"
        assert "Prometheus not reachable" in pane._header.render().plain
        await settle(pilot)
        assert row(app, "traffic", "shop/web")[2:5] == ["–", "–", "–"]


def test_fixed_measurements_snapshot(snap_compare):
    async def maximise_traffic(pilot) -> None:
        await settle(pilot)
        await until(pilot, lambda: pilot.app.pane("traffic").snapshot is not None, what="the first poll")
        pilot.app.observe_cluster()  # the runbook hint line, whether or not its 1 s timer fired yet
        for key in ("2", "m"):
            await pilot.press(key)
        await settle(pilot)

    app = make_app(metrics=FixedFeed(fixed_snapshot()))
    assert snap_compare(app, terminal_size=(160, 45), run_before=maximise_traffic)


# ----- against the simulator and a real Prometheus ----------------------------------------------

@pytest.fixture
def scraped(prom_sim):
    """The Prometheus simulator once both canaries' traffic has been scraped (a sync fixture:
    the wait runs its own event loop, which an async test's loop would refuse)."""
    for service in ("api-canary", "cart-canary"):
        wait_for_series(prom_sim.prometheus_url, f'rate(istio_requests_total{{destination_service_name="{service}"}}[5s])')
    return prom_sim


def live_app(sim, tmp_path):
    """The TUI as ``cockpit demo`` builds it: the simulator's Prometheus URL passed in."""
    app = build_app(tui_args(sim, tmp_path, prometheus_url=sim.prometheus_url))
    app.metrics.interval = 1.0  # poll often: the test waits for the first numbers, not for 5 s ticks
    return app


def route_weights(sim, route: str) -> dict[str, int]:
    return sim.call(lambda: {b["name"]: b["weight"] for b in
                             sim.store.get("httproutes", "shop", route)["spec"]["rules"][0]["backendRefs"]})


def backend_row(app, backend: str) -> list[str]:
    return next(r for r in rows(app, "traffic") if f"→ {backend}" == r[1])


@pytest.mark.prometheus
@pytest.mark.slow
@requires_prometheus
@pytest.mark.timeout(240)
async def test_live_rate_success_and_p99_per_backend(scraped, tmp_path):
    app = live_app(scraped, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "traffic", "shop/api"), what="the api route")

        def measured():
            stable, canary = backend_row(app, "api-stable"), backend_row(app, "api-canary")
            assert stable[2] != "–" and canary[2] != "–"
            return stable, canary
        stable, canary = await until(pilot, measured, timeout=90, what="live numbers for both api backends")
        assert float(stable[2]) > float(canary[2]) > 0  # 90/10 split: the stable gets most requests
        assert stable[3] == "100.0%" and canary[3] == "100.0%"
        assert stable[4].endswith("ms") and 100 < float(stable[4][:-2]) < 500
        reading = app.pane("traffic").reading_of(next(k for k in app.pane("traffic").rows if k.endswith(":api-canary")))
        assert reading.rate > 0 and reading.success == pytest.approx(1.0) and not reading.failing
        blue = await until(pilot, lambda: row(app, "traffic", "shop/web") if row(app, "traffic", "shop/web")[2] != "–"
                           else None, timeout=90, what="live numbers for the active colour")
        assert blue[3] == "100.0%"
        assert "live from" in app.pane("traffic")._header.render().plain


@pytest.mark.prometheus
@pytest.mark.slow
@requires_prometheus
@pytest.mark.timeout(240)
async def test_gated_canary_turning_bad_at_the_second_step_is_aborted_from_the_tui(scraped, tmp_path,
                                                                                   isolated_config):
    (isolated_config / "config.toml").write_text(FAST_ANALYSES)
    app = live_app(scraped, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "traffic", "shop/cart"), what="the cart route")
        pane = app.pane("traffic")
        await pilot.press("2")
        pane.table.move_cursor(row=pane.table.get_row_index(next(k for k in pane.rows if k.endswith(":cart-stable"))))
        await pilot.press("G")
        prompt = await until(pilot, lambda: app.screen if isinstance(app.screen, PromptScreen) else None,
                             what="the plan prompt")
        # The cart canary serves 6 rps: fine at 12% of 40 rps, overloaded (503s) at 25%.
        prompt.query_one(Input).value = "12,25,50,100 6s success-rate"
        await pilot.press("enter")
        screen = await apply_plan(pilot, app, timeout=120)
        assert screen.result is not None and not screen.result.ok, screen.failed
        assert screen.result.details["aborted"]
        shown = "\n".join(screen.query_one(Log).lines)
        assert "step 2/4: success-rate" in shown and "failed" in shown and "does not hold" in shown
        assert "traffic returned to cart-stable" in str(screen.query_one("#result").render())
        await pilot.press("escape")
        await until(pilot, lambda: backend_row(app, "cart-stable")[5].strip().endswith("100%"),
                    what="all cart traffic on stable in the pane")
    assert route_weights(scraped, "cart") == {"cart-stable": 100, "cart-canary": 0}
    entries = list(read_journal(tmp_path / "journal.jsonl"))
    failed = [e for e in entries if e["event"] == "analysis" and e["phase"] == "failed"]
    assert failed and failed[0]["step"] == "step 2/4" and failed[0]["value"] < 0.99
    assert any(e.get("step") == "abort" for e in entries)


@pytest.mark.prometheus
@pytest.mark.slow
@requires_prometheus
@pytest.mark.timeout(240)
async def test_a_canary_held_by_a_stopped_prometheus_asks_and_aborts_on_request(scraped, tmp_path, isolated_config):
    (isolated_config / "config.toml").write_text(FAST_ANALYSES)
    journal = tmp_path / "journal.jsonl"
    app = live_app(scraped, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "traffic", "shop/api"), what="the api route")
        pane = app.pane("traffic")
        await pilot.press("2")
        pane.table.move_cursor(row=pane.table.get_row_index(next(k for k in pane.rows if k.endswith(":api-stable"))))
        await pilot.press("G")
        prompt = await until(pilot, lambda: app.screen if isinstance(app.screen, PromptScreen) else None,
                             what="the plan prompt")
        # 8 measurements planned: a stop that lands a few late still leaves more inconclusive
        # ones than the limit allows before the step could pass.
        prompt.query_one(Input).value = "25,50,100 8s success-rate"
        await pilot.press("enter")
        screen = await asked_plan(pilot, app)
        await pilot.press("y")
        await until(pilot, lambda: any(e.get("step") == 1 for e in read_journal(journal)), what="the first step")
        await asyncio.to_thread(scraped.call, scraped.sim.prometheus.stop)
        hold = await until(pilot, lambda: app.screen if isinstance(app.screen, HoldScreen) else None, timeout=60,
                           what="the hold question")
        assert "held at step 1/3" in hold.message and "did not answer" in hold.message
        assert route_weights(scraped, "api") == {"api-stable": 75, "api-canary": 25}  # held, never promoted
        await pilot.press("a")
        await until(pilot, lambda: screen.has_class("-done"), timeout=60, what="the abort")
        assert screen.result.details["aborted"] and "api-stable" in screen.result.message
        assert any("decided: abort" in line for line in screen.query_one(Log).lines)
    assert route_weights(scraped, "api") == {"api-stable": 100, "api-canary": 0}
    decisions = [e for e in read_journal(journal) if e.get("step") == "held-decision"]
    assert [d["choice"] for d in decisions] == ["abort"]


@pytest.mark.prometheus
@pytest.mark.slow
@requires_prometheus
@pytest.mark.timeout(240)
async def test_a_verified_switch_to_a_colour_returning_errors_is_switched_back_from_the_tui(scraped, tmp_path,
                                                                                           isolated_config):
    (isolated_config / "config.toml").write_text(FAST_ANALYSES)

    def bad_green():
        for pod in scraped.store.list("pods", "shop"):
            if pod["metadata"]["name"].startswith("web-green-"):
                scraped.store.mutate("pods", "shop", pod["metadata"]["name"],
                                     lambda o: o["metadata"].setdefault("annotations", {}).update({ERROR_RATIO: "0.2"}))
    scraped.call(bad_green)
    app = live_app(scraped, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "traffic", "shop/web"), what="the web pair")
        await pilot.press("2", "V")
        prompt = await until(pilot, lambda: app.screen if isinstance(app.screen, PromptScreen) else None,
                             what="the verification prompt")
        prompt.query_one(Input).value = "8s success-rate"
        await pilot.press("enter")
        screen = await apply_plan(pilot, app, timeout=120)
        assert screen.result is not None and not screen.result.ok, screen.failed
        assert screen.result.details["rolled_back"] and screen.result.details["analysis_verdict"] == "failed"
        shown = "\n".join(screen.query_one(Log).lines)
        assert "verify green: success-rate" in shown and "does not hold" in shown
    assert scraped.call(lambda: scraped.store.get("services", "shop", "web")["spec"]["selector"]["color"]) == "blue"
