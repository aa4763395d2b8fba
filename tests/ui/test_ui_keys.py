"""Key bindings: expand, filter, maximise, help, theme switch, pane focus, remap, actions."""

from __future__ import annotations

from textual.widgets import DataTable

from cockpit.controllers.base import Check
from cockpit.controllers.driver import Services
from cockpit.controllers.operation import Plan, Result
from cockpit.journal import Journal
from cockpit.ui.actions.registry import ActionRegistry, PaneAction
from cockpit.ui.config import UiConfig
from cockpit.ui.panes.base import PaneTable
from cockpit.ui.screens.help import HelpScreen
from cockpit.ui.screens.operation import OperationScreen
from tests.support.ui import asked_plan, make_app, rows, settle, until


async def test_enter_expands_rollout_and_escape_collapses():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # cursor on shop/checkout (failed sorts first)
        detail = app.query_one("#rollout-detail", DataTable)
        assert app.query_one("#rollouts").has_class("-expanded")
        cells = [[getattr(c, "plain", str(c)) for c in detail.get_row_at(i)] for i in range(detail.row_count)]
        assert cells[0][:4] == ["RS", "9f8e", "2", "0/1"]
        pod = next(r for r in cells if r[1].startswith("checkout-9f8e"))
        assert pod[4] == "Pending" and pod[8] == "ImagePullBackOff" and pod[6] == "worker-2"
        assert any(r[0] == "RS" and r[2] == "1" for r in cells)
        await pilot.press("escape")
        assert not app.query_one("#rollouts").has_class("-expanded")


async def test_j_k_move_and_filter_narrows_rows():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        table = app.query_one("#rollouts-table", PaneTable)
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("slash", *"web", "enter")
        assert [r[0] for r in rows(app, "rollouts")] == ["shop/web-blue", "shop/web-green"]
        await pilot.press("escape")
        assert len(rows(app, "rollouts")) == 5


async def test_filter_applies_to_live_updates():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"api", "enter")
        import tests.support.builders as b

        app.cache.put("deployments", b.deployment("shop", "web-blue", replicas=4))
        app.cache.put("deployments", b.deployment("other", "api-x", replicas=1))
        await settle(pilot)
        assert [r[0] for r in rows(app, "rollouts")] == ["other/api-x", "shop/api-canary", "shop/api-stable"]


async def test_maximise_and_restore():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        await pilot.press("m")
        assert app.screen.maximized is app.query_one("#traffic")
        await pilot.press("escape")
        assert app.screen.maximized is None


async def test_tab_and_number_keys_move_between_panes():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("tab", "tab")
        assert app.current_pane().PANE == "nodes"
        await pilot.press("shift+tab")
        assert app.current_pane().PANE == "traffic"
        await pilot.press("4")
        assert app.current_pane().PANE == "events"


async def test_help_lists_bindings_with_ids():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        groups = dict(app.screen.groups)
        assert {"global", "rollouts", "traffic", "nodes", "events"} <= set(groups)
        assert "rollout.expand" in [b.id for b in groups["rollouts"]]
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_theme_cycles_and_redraws():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert app.theme == "cockpit-dark"
        await pilot.press("t")
        await pilot.pause()
        assert app.theme == "cockpit-high-contrast"
        assert app.theme_variables["state-failed"] == "#ff3030"
        state = app.query_one("#rollouts-table", PaneTable).get_row_at(0)[5]
        assert "#ff3030" in str(state.style).lower()


async def test_keymap_from_config_remaps_binding():
    app = make_app(config=UiConfig(keymap={"maximize": "z", "theme.cycle": "f5"}))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        assert app.screen.maximized is None
        await pilot.press("z")
        assert app.screen.maximized is app.query_one("#rollouts")
        await pilot.press("f5")
        assert app.theme == "cockpit-high-contrast"


async def test_narrow_terminal_shows_one_pane_with_tabs():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.has_class("-narrow")
        visible = [p.PANE for p in app.panes() if p.display and p.has_class("-current")]
        assert visible == ["rollouts"]
        await pilot.press("tab")
        assert app.query_one("#traffic").has_class("-current")
        assert "Traffic" in str(app.query_one("#tabs").render())


async def test_readonly_action_runs_and_notifies():
    app = make_app()
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("s")  # rollout.status on shop/checkout
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any("exceeded its progress deadline" in n.message for n in app._notifications)


class ScaleOperation:
    """A stand-in operation that records what it was asked to do (the UI under test is generic)."""

    action = "scale"

    def __init__(self, target: str, calls: list, ok: bool, gate=None) -> None:
        self.target, self.calls, self.ok, self.gate = target, calls, ok, gate

    async def preview(self) -> Plan:
        return Plan(action="scale", target=self.target, title=f"scale {self.target}", before="replicas 3",
                    after="replicas 4", reason="Scaled", commands=("kubectl -n shop scale deployment web --replicas 4",),
                    checks=(Check("rollout complete", self.ok, "3/3 ready"),), version="1")

    async def apply(self, plan: Plan, run) -> Result:
        if self.gate is not None:
            await self.gate.wait()
        self.calls.append(self.target)
        run.say("write", "scaling")
        return Result("scale", self.target, True, "scaled")


def _mutating_registry(calls: list, ok: bool = True, gate=None) -> ActionRegistry:
    registry = ActionRegistry()
    registry.register(PaneAction("rollout.scale", "rollout: scale", "rollouts", "x", True,
                                 operation=lambda ctx: ScaleOperation(ctx.record.key, calls, ok, gate)))
    return registry


def _ops(tmp_path, read_only: bool = False) -> Services:
    """The driver's services: a real journal; no API is needed since the plan names no object."""
    return Services(None, Journal(tmp_path / "journal.jsonl"), "test", read_only=read_only)  # type: ignore[arg-type]


async def test_mutating_action_confirm_run_and_result_stays(tmp_path):
    calls: list = []
    app = make_app(registry=_mutating_registry(calls), ops=_ops(tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        screen = await asked_plan(pilot, app)
        assert "kubectl -n shop scale" in str(screen.query_one("#plan").render())
        await pilot.press("y")
        await until(pilot, lambda: screen.has_class("-done"), what="the operation to finish")
        assert calls == ["shop/checkout"]
        assert app.screen is screen and "scaled" in str(screen.query_one("#result").render())
        assert not screen.query_one("#apply").display  # a finished run never offers Apply again
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, OperationScreen), what="the screen to close")
    assert [e["event"] for e in Journal(tmp_path / "journal.jsonl").entries()] == ["preview", "start", "result"]


async def test_failed_check_blocks_apply(tmp_path):
    calls: list = []
    app = make_app(registry=_mutating_registry(calls, ok=False), ops=_ops(tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, OperationScreen)
                             and app.screen.has_class("-done") else None, what="the refusal")
        await pilot.press("y")
        await pilot.pause()
        assert calls == [] and "refused" in str(screen.query_one("#result").render())
        assert "rollout complete" in str(screen.query_one("#plan").render())


async def test_read_only_hides_mutating_keys_and_refuses_them_from_the_palette(tmp_path):
    calls: list = []
    app = make_app(registry=_mutating_registry(calls), read_only=True, ops=_ops(tmp_path, read_only=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert "x" not in {b.key for b in app.active_bindings.values() if "rollout.scale" in b.binding.action}
        await pilot.press("x")  # hidden: nothing happens
        await pilot.pause()
        assert not isinstance(app.screen, OperationScreen) and app.banner_text == ""
        await app.run_pane_action("rollout.scale")  # what the palette does
        await until(pilot, lambda: "read-only" in app.banner_text, what="the read-only refusal")
        assert calls == []
        assert "READ-ONLY" in str(app.query_one("#topbar").render())
    assert [e["event"] for e in Journal(tmp_path / "journal.jsonl").entries()] == ["refused"]


async def test_palette_offers_panes_and_actions():
    from cockpit.ui.commands import CockpitCommands

    app = make_app(registry=_mutating_registry([]))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        provider = CockpitCommands(app.screen)
        titles = [title for title, _, _ in provider._commands()]
        assert "pane: nodes" in titles and "rollout: scale" in titles and "theme: cockpit-light" in titles
        await pilot.press("colon")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "CommandPalette"


async def test_quit_is_refused_while_an_action_runs_and_esc_cancels_it(tmp_path):
    import asyncio

    gate = asyncio.Event()
    calls: list = []
    app = make_app(registry=_mutating_registry(calls, gate=gate), ops=_ops(tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        screen = await asked_plan(pilot, app)
        await pilot.press("y")
        await until(pilot, lambda: screen.has_class("-running"), what="the operation to run")
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and app.screen is screen
        await pilot.press("escape")
        await until(pilot, lambda: screen.failed == "cancelled", what="the cancel")
        assert "cancelled" in str(screen.query_one("#result").render()) and calls == []
    assert [e["event"] for e in Journal(tmp_path / "journal.jsonl").entries()] == ["preview", "start", "cancelled"]


async def test_typing_in_the_filter_does_not_trigger_pane_keys():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "q", "m", "t", "slash")
        assert app.is_running and app.screen.maximized is None and app.theme == "cockpit-dark"
        assert app.pane("rollouts").filter_text == "qmt/"
