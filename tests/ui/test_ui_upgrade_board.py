"""The upgrade board on the Nodes pane: progress comes from the Node annotations and the lock
Lease only (what every cockpit sees), the run's Progress events add log lines and the run's
message, through the message the pane's run worker posts."""

from __future__ import annotations

from cockpit.controllers.base import Progress
from cockpit.domain.steps import NodeProgress, State, Step
from cockpit.ui.board import LOG_LINES, UpgradeBoard
from cockpit.ui.panes.nodes import NodesPane
from cockpit.ui.screens.operation import OperationScreen
from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.actions.upgrade import clean_version
import tests.support.builders as b
from tests.support.ui import make_app, rows, settle, until

STARTED = "2026-01-01T11:59:18Z"  # 42 s before the frozen clock


def node_event(node: str, step: Step, state: State, level: str = "info", **extra) -> Progress:
    progress = NodeProgress(node, step, state, "1.33.1", "run-1", extra.pop("error", ""), STARTED)
    data = dict(node=node, step=step.value, state=state.value, started=STARTED, fraction=progress.fraction,
                last_lines=extra.pop("last_lines", []), run="run-1", target="1.33.1", error=progress.error, **extra)
    return Progress("upgrade", node, step.value, f"{node}: {step.value}", level, data)


def log_event(node: str, line: str, stream: str = "stdout") -> Progress:
    data = dict(node=node, step="upgrading-kubeadm", state="running", started=STARTED, run="run-1",
                target="1.33.1", log=True, stream=stream, line=line)
    return Progress("upgrade", node, "upgrading-kubeadm", line, "info", data)


def post(app, progress: Progress) -> None:
    """Deliver an event the way the pane's run worker does."""
    app.pane("nodes").post_message(NodesPane.UpgradeProgress(progress))


def annotate(app, objs, node: str, step: Step, state: State, **extra) -> None:
    """Record progress on the node as the run does (the fixture cache sees a newer Node)."""
    raw = next(n for n in objs["nodes"] if n["metadata"]["name"] == node)
    annotations = {"cockpit.dev/upgrade-step": step.value, "cockpit.dev/upgrade-state": state.value,
                   "cockpit.dev/upgrade-target": "1.33.1", "cockpit.dev/upgrade-run": "run-1",
                   "cockpit.dev/upgrade-step-started": STARTED, **extra}
    raw["metadata"]["annotations"] = {k: v for k, v in annotations.items() if v is not None}
    raw["metadata"]["resourceVersion"] = str(int(raw["metadata"].get("resourceVersion") or 0) + 1)
    app.cache.put("nodes", raw)


def row(app, name: str) -> list[str]:
    return next(r for r in rows(app, "nodes") if r[0] == name)


async def select(pilot, app, name: str) -> None:
    await pilot.press("3")
    index = [r[0] for r in rows(app, "nodes")].index(name)
    app.pane("nodes").table.move_cursor(row=index)
    await pilot.pause()


async def test_annotations_show_step_bar_and_elapsed_time():
    objs = b.demo_objects()
    app = make_app(objs)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert row(app, "worker-2")[7] == ""
        annotate(app, objs, "worker-2", Step.DRAINING, State.RUNNING)
        await settle(pilot)
        cell = row(app, "worker-2")[7]
        assert cell.startswith("◐ draining ") and "█" in cell and cell.endswith(" 42s")
        header = str(app.query_one("#nodes .pane-header").render())
        assert "upgrade → 1.33.1" in header and "1 running" in header
        annotate(app, objs, "worker-2", Step.DONE, State.DONE)
        await settle(pilot)
        assert row(app, "worker-2")[7] == "✔ done █████"


async def test_controller_events_never_move_the_board():
    objs = b.demo_objects()
    app = make_app(objs)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        post(app, node_event("worker-3", Step.DRAINING, State.RUNNING))
        post(app, node_event("worker-3", Step.DONE, State.DONE, "ok"))
        await settle(pilot)
        assert row(app, "worker-3")[7] == ""  # nothing recorded on the node: nothing on the board
        assert app.pane("nodes").board.logs["worker-3"][-1] == ("ok", "worker-3: done")  # but logged
        annotate(app, objs, "worker-3", Step.KUBEADM_UPGRADE, State.RUNNING)
        await settle(pilot)
        assert row(app, "worker-3")[7].startswith("◐ kubeadm upgrade")
        post(app, node_event("worker-3", Step.DONE, State.DONE, "ok"))
        annotate(app, objs, "worker-3", Step.UPGRADING_KUBEADM, State.SKIPPED)  # a skip from the CLI
        await settle(pilot)
        assert row(app, "worker-3")[7].startswith("↷ skipped at upgrading kubeadm")


async def test_failed_node_shows_error_and_last_lines_for_the_selected_node():
    objs = b.demo_objects()
    app = make_app(objs)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        for line in ("$ sudo -n systemctl restart kubelet", "waiting for the kubelet", "kubelet not active"):
            post(app, log_event("worker-3", line))
        annotate(app, objs, "worker-3", Step.WAITING_READY, State.FAILED,
                 **{"cockpit.dev/upgrade-error": "node/worker-3 not Ready at v1.33.1 within 2s"})
        await settle(pilot)
        assert row(app, "worker-3")[7].startswith("✘ waiting Ready failed")
        await select(pilot, app, "worker-3")
        detail = str(app.query_one("#nodes .upgrade-detail").render())
        assert "not Ready at v1.33.1" in detail and "kubelet not active" in detail
        await select(pilot, app, "worker-2")
        assert not app.query_one("#nodes .upgrade-detail").display


async def test_board_is_rebuilt_from_node_annotations_after_a_restart():
    objs = b.demo_objects()
    done = {"cockpit.dev/upgrade-step": "done", "cockpit.dev/upgrade-state": "done",
            "cockpit.dev/upgrade-target": "1.33.1", "cockpit.dev/upgrade-run": "run-1"}
    failed = {"cockpit.dev/upgrade-step": "draining", "cockpit.dev/upgrade-state": "failed",
              "cockpit.dev/upgrade-target": "1.33.1", "cockpit.dev/upgrade-run": "run-1",
              "cockpit.dev/upgrade-error": "PDB shop/web blocks the eviction", "cockpit.dev/upgrade-step-started": STARTED}
    for raw in objs["nodes"]:
        name = raw["metadata"]["name"]
        raw["metadata"]["annotations"] = done if name.startswith("cp-") else failed if name == "worker-1" else {}
    app = make_app(objs)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert row(app, "cp-1")[7] == "✔ done █████"
        assert row(app, "worker-1")[7].startswith("✘ draining failed") and row(app, "worker-1")[7].endswith("42s")
        assert row(app, "worker-2")[7] == ""
        await select(pilot, app, "worker-1")
        assert "PDB shop/web blocks the eviction" in str(app.query_one("#nodes .upgrade-detail").render())


async def test_log_view_streams_the_selected_nodes_output_bounded():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        for i in range(LOG_LINES + 20):
            post(app, log_event("cp-1", f"line {i}"))
        post(app, log_event("cp-2", "other node"))
        await select(pilot, app, "cp-1")
        await pilot.press("l")
        pane = app.pane("nodes")
        assert pane.has_class("-log") and app.query_one("#upgrade-log").display
        lines = pane.log_lines()
        assert len(lines) == LOG_LINES and lines[-1] == f"line {LOG_LINES + 19}" and "other node" not in lines
        post(app, log_event("cp-1", "live line", "stderr"))
        await until(pilot, lambda: pane.log_lines()[-1] == "live line", what="the live line")
        await select(pilot, app, "cp-2")
        assert pane.log_lines() == ["other node"]
        await pilot.press("l")
        assert not pane.has_class("-log")


def test_target_versions_are_validated_strictly():
    assert clean_version("1.33.1") == "1.33.1" and clean_version("v1.33.1") == "1.33.1"
    for bad in ("1.33", "1.33.1; rm -rf /", "1.33.1-rc.0", "latest", "", "1.33.x"):
        try:
            clean_version(bad)
        except Exception as exc:  # noqa: BLE001
            assert "expected X.Y.Z" in str(exc)
        else:
            raise AssertionError(f"{bad!r} accepted")


async def test_start_prompts_for_a_target_and_rejects_a_bad_one():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("3", "U")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PromptScreen) and screen.query_one("Input").value == "1.33.0"
        await pilot.press("ctrl+a", "ctrl+k", *"1.33.1 && reboot", "enter")
        await pilot.pause()
        assert app.screen is screen and "expected X.Y.Z" in str(screen.query_one("#error").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, (PromptScreen, OperationScreen))


async def test_read_only_hides_start_before_asking():
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("3", "U")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        assert not app.check_action("run_pane_action", ("upgrade.start",))


async def test_upgrade_actions_are_bound_on_the_nodes_pane_and_in_the_palette():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        ids = {b.id: b.key for b in app.pane("nodes").table_bindings()}
        assert {k: ids[k] for k in ("upgrade.plan", "upgrade.start", "upgrade.pause", "upgrade.resume",
                                    "upgrade.retry", "upgrade.skip", "upgrade.abort", "upgrade.log")} == {
            "upgrade.plan": "p", "upgrade.start": "U", "upgrade.pause": "P", "upgrade.resume": "R",
            "upgrade.retry": "T", "upgrade.skip": "K", "upgrade.abort": "A", "upgrade.log": "l"}
        titles = {a.title for a in app.registry}
        assert {"upgrade: plan", "upgrade: start", "upgrade: abort"} <= titles


async def test_quit_during_an_upgrade_run_asks_for_a_second_q():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        app.pane("nodes").upgrade.running = lambda: True  # a run in progress (the live tests run real ones)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and app._quit_armed
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_palette_lists_the_upgrade_log_view():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        from cockpit.ui.commands import CockpitCommands

        provider = CockpitCommands(app.screen)
        titles = [title for title, _callback, _help in provider._commands()]
        assert "upgrade: log view" in titles and "upgrade: start" in titles
        dict((t, c) for t, c, _ in provider._commands())["upgrade: log view"]()
        await pilot.pause()
        assert app.pane("nodes").has_class("-log")


async def test_header_names_the_holder_of_the_upgrade_lock():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "cockpit-upgrade-lock", "namespace": "kube-system", "uid": "uid-lock",
                              "resourceVersion": "7", "annotations": {"cockpit.dev/upgrade-target": "1.33.1",
                                                                      "cockpit.dev/pause-requested": "true"}},
                 "spec": {"holderIdentity": "alice@laptop:4242", "leaseDurationSeconds": 30}}
        app.cache.put("leases", lease)
        await settle(pilot)
        header = str(app.query_one("#nodes .pane-header").render())
        assert "⚿ run held by alice@laptop:4242 (target 1.33.1, pause requested)" in header
        app.cache.remove("leases", "uid-lock")
        await settle(pilot)
        assert "held by" not in str(app.query_one("#nodes .pane-header").render())



def test_the_board_takes_progress_from_annotations_only():
    board = UpgradeBoard()
    assert board.from_annotations("worker-2", {}) is False  # start-up: untouched, nothing to show
    board.from_event(node_event("worker-2", Step.UPGRADING_KUBEADM, State.RUNNING))
    assert board.progress("worker-2") is None and board.logs["worker-2"]
    assert board.from_annotations("worker-2", {"cockpit.dev/upgrade-step": "draining",
                                               "cockpit.dev/upgrade-state": "running"}) is True
    assert board.progress("worker-2").step is Step.DRAINING
    assert board.from_annotations("worker-2", {}) is True  # an abort cleared it
    assert board.progress("worker-2").step is Step.PENDING
