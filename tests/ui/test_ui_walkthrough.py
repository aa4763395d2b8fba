"""Screen-shared walkthroughs in the TUI: clock, key-cast, command echo, redaction, production
guard, Timeline and runbook problems (Pilot, fixture cache)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from cockpit.controllers.base import Progress
from cockpit.controllers.driver import Services
from cockpit.controllers.operation import Plan
from cockpit.journal import Journal
from cockpit.ui.clock import clock_text
from cockpit.ui.config import UiConfig
from cockpit.ui.echo import CommandEcho
from cockpit.ui.hints import RunbookHint
from cockpit.ui.keycast import KeyCast
from cockpit.ui.production_guard import ProductionBanner, TypedNameScreen
from cockpit.ui.screens.operation import OperationScreen
from cockpit.ui.timeline_view import TimelineScreen
from tests.support.builders import demo_objects, event
from tests.support.ui import FROZEN_NOW, make_app, settle, until

IP = "10.1.2.3"


def production_config() -> UiConfig:
    """A config naming ``prod-*`` contexts production."""
    return UiConfig(production_contexts=("prod-*",))


def screen_text(app) -> str:
    """What the terminal shows, as text (the SVG export keeps each cell's character)."""
    return app.export_screenshot().replace("&#160;", " ")


async def test_clock_shows_time_and_utc_offset():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert clock_text(FROZEN_NOW) in str(app.query_one("#clock").render())
        assert clock_text(FROZEN_NOW).endswith("UTC+00:00")


async def test_keycast_shows_key_and_action_and_never_spells_out_typing():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        cast = app.query_one(KeyCast)
        await pilot.press("3")
        assert cast.lines()[-1] == "3 → Nodes"
        await pilot.press("1", "s")
        assert cast.lines()[-1].startswith("s → rollout: status shop/")
        await pilot.press("slash", "w", "e", "b")
        assert cast.lines()[-1].startswith("typing in")
        assert not any(line.startswith(("w ", "e ", "b ")) for line in cast.lines())
        assert cast.display


async def test_command_echo_shows_the_plan_commands_now_and_last():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        echo = app.query_one(CommandEcho)
        command = "kubectl -n shop rollout undo deployment/checkout --to-revision=1"
        echo.on_journal_entry({"event": "preview", "action": "undo", "target": "shop/checkout", "commands": [command]})
        assert echo.lines() == [f"now   undo shop/checkout (planned)  $ {command}"]
        echo.on_journal_entry({"event": "start", "action": "undo", "target": "shop/checkout"})
        echo.on_journal_entry({"event": "result", "action": "undo", "target": "shop/checkout", "ok": True})
        assert echo.lines() == [f"last  undo shop/checkout (done)  $ {command}"]


async def test_redaction_masks_an_ip_in_every_pane_the_echo_strip_and_the_ssh_log_view():
    objects = demo_objects()
    objects["events"].append(event("shop", "ev-ip", "Unhealthy", f"{IP} refused", "Pod",
                                   "web-blue-x", when="2026-01-01T11:59:50Z"))
    app = make_app(objects)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        app.query_one(CommandEcho).show_entry({"event": "preview", "action": "drain", "target": "worker-1",
                                               "commands": [f"ssh {IP} sudo kubeadm upgrade node"]})
        await pilot.pause()
        assert IP in screen_text(app)
        await pilot.press("x")
        await pilot.pause()
        shown = screen_text(app)
        assert IP not in shown and "ip-1" in shown

        async def ssh_job(screen):
            screen.report(Progress("upgrade", "worker-1", "kubeadm-upgrade", f"connected to {IP}:22"))
            await asyncio.Event().wait()

        app.push_screen(OperationScreen("upgrade worker-1", ssh_job))
        await until(pilot, lambda: isinstance(app.screen, OperationScreen)
                    and any(log.lines for log in app.screen.query("#progress")))
        await pilot.pause()
        shown = screen_text(app)
        assert IP not in shown and "ip-1" in shown
        await pilot.press("escape", "escape")  # cancel the run, close its screen
        await until(pilot, lambda: not isinstance(app.screen, OperationScreen))
        await pilot.press("x")
        await pilot.pause()
        assert IP in screen_text(app)  # off again: the truth is back


async def test_production_context_shows_the_banner_and_demands_the_typed_name():
    app = make_app(config=production_config(), context="prod-eu")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        banner = app.query_one(ProductionBanner)
        assert banner.display and "PRODUCTION" in str(banner.render()) and "prod-eu" in str(banner.render())
        plan = Plan(action="undo", target="shop/checkout", title="roll shop/checkout back", before="", after="",
                    reason="RolloutUndone")

        async def approve(_plan):
            return True

        answers = []

        async def run():
            answers.append(await app.guarded(approve)(plan))

        app.run_worker(run())
        await until(pilot, lambda: isinstance(app.screen, TypedNameScreen))
        await pilot.press(*"check", "enter")
        assert isinstance(app.screen, TypedNameScreen) and answers == []  # a wrong name is not enough
        app.screen.query_one("#typed-name").value = ""
        await pilot.press(*"checkout", "enter")
        await until(pilot, lambda: answers == [True])


async def test_outside_production_there_is_no_banner_and_no_typed_name():
    app = make_app(config=production_config(), context="staging")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert not app.query_one(ProductionBanner).display

        async def ask(_plan):
            return True

        assert app.guarded(ask) is ask


async def test_bad_deploy_is_detected_with_its_revision_and_roll_back_is_a_key():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        app.observe_cluster()
        [problem] = app.problems_for("shop/checkout")
        assert "revision 2 is failing" in problem.title and "revision 1" in problem.title
        first = problem.actions[0]
        assert first.action_id == "rollout.undo" and first.label == "roll back to revision 1"
        assert app.registry.get(first.action_id).key == "u"
        app.jump_to_object("rollouts", "shop/checkout")
        await pilot.pause()
        hint = app.query_one(RunbookHint)
        await until(pilot, lambda: hint.display)
        assert hint.lines()[0].startswith("⚠ bad deploy: checkout revision 2 is failing")
        assert "u roll back to revision 1 · p pause the rollout" in hint.lines()[0]
        app.jump_to_object("rollouts", "shop/web-blue")
        await until(pilot, lambda: not hint.display)


async def test_timeline_reads_this_cockpits_journal_from_before_it_started(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl", context="test")
    journal.record("result", action="undo", target="shop/checkout", ok=True, message="rolled back to revision 1",
                   before={"revision": 2}, after={"revision": 1})
    app = make_app(ops=Services(object(), journal, "test"), clock=lambda: datetime.now(timezone.utc))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        row = await until(pilot, lambda: next((r for r in app.timeline.rows(app.now())
                                               if r.text == "undo: rolled back to revision 1"), None))
        assert row.details == ("before: revision=2", "after: revision=1")


async def test_timeline_lists_problems_and_warnings_filters_and_jumps_to_the_object():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, TimelineScreen) else None)
        texts = [row.text for row in screen.shown]
        assert any(t.startswith("bad deploy: checkout") for t in texts)
        assert any(t.startswith("Failed: Failed to pull image") for t in texts)
        await pilot.press("n")  # all namespaces -> shop
        assert {row.namespace for row in screen.shown} == {"shop"}
        await pilot.press("n")  # back to all
        await pilot.press("f", "f")  # all -> events -> actions
        assert screen.shown == []
        await pilot.press("f", "f")  # -> transitions -> problems
        assert [row.kind.value for row in screen.shown] == ["problem"]
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, TimelineScreen))
        assert app.current_pane().PANE == "rollouts"
        assert app.current_pane().selected_record(app.cache).key == "shop/checkout"
