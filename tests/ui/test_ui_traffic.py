"""The Traffic pane's operations against the simulator: the TUI and the CLI leave the same journal
records and the same Kubernetes Events; read-only refuses both; Esc after a switch's write switches
back; a Service left mid-switch shows in red and `s` finishes it."""

from __future__ import annotations

import asyncio
import json

import pytest

from cockpit.cli.tui import build_app
from cockpit.controllers.switch_plan import PENDING, PendingSwitch
from cockpit.journal import Journal
from cockpit.ui.screens.operation import OperationScreen
from tests.support.e2e import run_cli
from tests.support.traffic import (
    cockpit_events, event_summary, hold_old_endpoints, journal_steps, marker_of, route_weights, selector_of,
)
from tests.support.ui import apply_plan, asked_plan, row, rows, tui_args, until

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]
BLUE, GREEN = {"app": "web", "color": "blue"}, {"app": "web", "color": "green"}


def runs(journal_path, action):
    """The journal entries of ``action``, split into runs (each starts with a preview)."""
    out: list[list[dict]] = []
    for entry in Journal(journal_path).entries():
        if entry.get("action") != action:
            continue
        if entry["event"] == "preview":
            out.append([])
        out[-1].append(entry)
    return out


def shape(run):
    """What must be the same whoever drove the run: events, steps, and the fields each entry carries."""
    ignore = {"ts", "message", "seconds", "endpoints", "title", "before_text", "after_text", "checks", "details",
              "commands", "version", "noop", "marker", "selector", "dry_run"}
    return [(e["event"], e.get("step"), sorted(set(e) - ignore)) for e in run]


async def test_tui_and_cli_switch_and_shift_leave_the_same_records(sim, tmp_path, kubectl, capsys):
    journal = tmp_path / "journal.jsonl"
    app = build_app(tui_args(sim, tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "traffic", "shop/api"), what="web pair and api route")
        await pilot.press("2", "s")
        screen = await apply_plan(pilot, app)
        assert screen.result.ok, screen.failed
        await pilot.press("escape", "j", "j", "plus")
        screen = await apply_plan(pilot, app)
        assert screen.result.ok, screen.failed
    assert selector_of(kubectl) == GREEN and route_weights(kubectl) == {"api-stable": 80, "api-canary": 20}

    code, out, _ = await asyncio.to_thread(run_cli, capsys, sim, journal, "switch", "shop/web", "--yes")
    assert code == 0, out
    code, out, _ = await asyncio.to_thread(run_cli, capsys, sim, journal, "shift", "shop/api", "--weights",
                                           "stable=70,canary=30", "--yes")
    assert code == 0, out
    assert selector_of(kubectl) == BLUE and route_weights(kubectl) == {"api-stable": 70, "api-canary": 30}

    tui_switch, cli_switch = runs(journal, "switch")
    assert shape(tui_switch) == shape(cli_switch)
    assert [e["event"] for e in tui_switch] == ["preview", "start", "step", "step", "result"]
    assert (tui_switch[-1]["before"], tui_switch[-1]["after"]) == ({"selector": BLUE}, {"selector": GREEN})
    assert (cli_switch[-1]["before"], cli_switch[-1]["after"]) == ({"selector": GREEN}, {"selector": BLUE})
    tui_shift, cli_shift = runs(journal, "shift")
    assert shape(tui_shift) == shape(cli_shift) and [e["event"] for e in tui_shift] == ["preview", "start", "result"]
    assert tui_shift[-1]["after"] == {"weights": {"api-stable": 80, "api-canary": 20}}
    assert cli_shift[-1]["after"] == {"weights": {"api-stable": 70, "api-canary": 30}}

    events = cockpit_events(kubectl)
    assert [event_summary(e) for e in events] == [
        ("ServiceSwitched", "Normal", "Service", "web"), ("TrafficShifted", "Normal", "HTTPRoute", "api"),
        ("ServiceSwitched", "Normal", "Service", "web"), ("TrafficShifted", "Normal", "HTTPRoute", "api")]
    assert all("via cockpit, context cockpit-sim" in e["note"] for e in events)


async def test_read_only_refuses_switch_and_shift_in_the_tui_and_the_cli(sim, tmp_path, kubectl, capsys):
    journal = tmp_path / "journal.jsonl"
    app = build_app(tui_args(sim, tmp_path, read_only=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "traffic", "shop/api"), what="web pair and api route")
        for keys, action in ((("2",), "traffic.switch"), (("j", "j"), "traffic.shift"), ((), "traffic.abort")):
            await pilot.press(*keys)  # the row the action works on (the keys themselves are hidden)
            await app.run_pane_action(action)  # what the palette does
            await pilot.pause()
            assert not isinstance(app.screen, OperationScreen) and "read-only" in app.banner_text
    for args in (("switch", "shop/web", "--yes"), ("shift", "shop/api", "--abort", "--yes")):
        code, _, err = await asyncio.to_thread(run_cli, capsys, sim, journal, "--read-only", *args)
        assert code == 1 and "read-only" in err
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    assert route_weights(kubectl) == {"api-stable": 90, "api-canary": 10} and cockpit_events(kubectl) == []


async def test_esc_after_the_write_switches_back_and_verifies(sim, tmp_path, kubectl):
    hold_old_endpoints(kubectl, "blue")  # verification cannot pass: Esc lands while it runs
    app = build_app(tui_args(sim, tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "traffic", "shop/web"), what="web pair")
        await pilot.press("2", "s")
        screen = await asked_plan(pilot, app)
        await pilot.press("y")
        log = screen.query_one("#progress")
        await until(pilot, lambda: any(" write: " in line for line in log.lines), what="the write")
        await pilot.press("escape")  # "Cancel run"
        await until(pilot, lambda: screen.has_class("-done"), timeout=60, what="the switch back")
        assert screen.result is not None and screen.result.details["cancelled"]
        assert screen.result.message == "cancelled after the write: switched shop/web back to blue (verified)"
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    journal = tmp_path / "journal.jsonl"
    assert journal_steps(journal) == ["preview", "start", "step:write", "rollback", "step:switched-back", "result"]
    assert Journal(journal).entries()[-1]["cancelled"] is True


def pending_marker() -> str:
    return PendingSwitch(BLUE, GREEN, "color", "blue", "green", "2026-01-01T00:00:00+00:00",
                         "bob (kube user admin)").to_annotation()


@pytest.mark.parametrize("how", ["s finishes it", "the palette undoes it"])
async def test_a_service_left_mid_switch_shows_red_until_resolved(sim, tmp_path, kubectl, how):
    kubectl("-n", "shop", "patch", "service", "web", "--type=merge", "-p",
            json.dumps({"spec": {"selector": GREEN}, "metadata": {"annotations": {PENDING: pending_marker()}}}))
    app = build_app(tui_args(sim, tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: "⚠ unverified" in rows(app, "traffic")[1][2], what="the unverified switch marked")
        table = app.query_one("#traffic-table")
        name = table.get_row_at(0)[0]
        assert app.pane("traffic").colour("state-failed") in str(name.style)  # red
        await pilot.press("2")
        if how == "s finishes it":
            await pilot.press("s")
            screen = await asked_plan(pilot, app)
            assert screen.plan.title == "finish the unverified switch of shop/web to green"
        else:
            await app.run_pane_action("traffic.undo_switch")
            screen = await asked_plan(pilot, app)
            assert screen.plan.title == "undo the unverified switch of shop/web (back to blue)"
        screen = await apply_plan(pilot, app)
        assert screen.result.ok, screen.failed
        await pilot.press("escape")
        await until(pilot, lambda: not any("⚠ unverified" in r[2] for r in rows(app, "traffic")),
                    what="the marker gone from the pane")
    assert selector_of(kubectl) == (GREEN if how == "s finishes it" else BLUE) and marker_of(kubectl) is None


async def test_dry_run_from_the_tui_and_the_cli_changes_nothing_and_says_so(sim, tmp_path, kubectl, capsys):
    journal = tmp_path / "journal.jsonl"
    app = build_app(tui_args(sim, tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "traffic", "shop/api"), what="web pair and api route")
        for keys in (("2", "s"), ("escape", "j", "j", "plus")):
            await pilot.press(*keys)
            screen = await asked_plan(pilot, app)
            await pilot.press("d")
            await until(pilot, lambda: screen.has_class("-done"), timeout=60, what="the dry run")
            assert screen.result.dry_run and screen.result.message.startswith("[dry run] nothing changed")
    for args in (("switch", "shop/web"), ("shift", "shop/api", "--weights", "stable=70,canary=30")):
        code, out, _ = await asyncio.to_thread(run_cli, capsys, sim, journal, *args, "--dry-run")
        assert code == 0 and out.splitlines()[-1].startswith("[dry run] nothing changed")
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    assert route_weights(kubectl) == {"api-stable": 90, "api-canary": 10} and cockpit_events(kubectl) == []
    for action in ("switch", "shift"):
        tui, cli = runs(journal, action)
        assert shape(tui) == shape(cli) and all(e["dry_run"] for e in tui + cli if e["event"] == "start")
