"""The upgrade board end to end: keys in the TUI drive the real orchestrator against the
simulated demo cluster over real SSH, and the Nodes pane follows it."""

from __future__ import annotations

import pytest

from cockpit.cli.tui import build_app
from cockpit.domain.drain import DrainOptions
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from cockpit.ui.screens.confirm import ConfirmScreen
from cockpit.ui.screens.prompt import PromptScreen, TextScreen
from tests.support.ui import row, rows, tui_args, until

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

TARGET = "1.33.1"
NODES = ["cp-1", "cp-2", "cp-3"] + [f"worker-{i}" for i in range(1, 7)]


@pytest.fixture
def cluster(sim_factory):
    return sim_factory(ssh=True, speed=0.01)


def upgrade_app(sim, tmp_path, **extra):
    """The real `cockpit` app (build_app) with the simulator's ssh_config and fast timeouts."""
    app = build_app(tui_args(sim, tmp_path, ssh_config=sim.ssh_config, **extra))
    app.services["upgrade_options"] = {
        "poll_interval": 0.05, "lease_duration": 5, "ready_timeout": 2.0,
        "drain": DrainOptions(ignore_daemonsets=True, timeout=60, retry_interval=0.1, poll_interval=0.05)}
    return app


def cell(app, node: str) -> str:
    return row(app, "nodes", node)[7]


async def answer_target(pilot, app, key: str) -> None:
    await pilot.press("3", key)
    await until(pilot, lambda: isinstance(app.screen, PromptScreen), what="target prompt")
    await pilot.press("ctrl+a", "ctrl+k", *TARGET, "enter")


async def start_upgrade(pilot, app) -> ConfirmScreen:
    """U, type the target, check the plan on the confirm screen, apply, close it."""
    await answer_target(pilot, app, "U")
    screen = await until(pilot, lambda: app.screen if isinstance(app.screen, ConfirmScreen) else None,
                         timeout=20, what="confirm screen")
    assert not screen.preview.blocked, screen.preview.preconditions
    assert f"-> {TARGET}: 9 nodes" in screen.preview.after
    assert "batch 1: cp-1" in screen.preview.details and f"kubeadm upgrade apply -y v{TARGET}" in screen.preview.details
    await pilot.press("y")
    await until(pilot, lambda: screen.has_class("-done"), timeout=20, what="run started")
    assert screen.failed is None, screen.failed
    await pilot.press("escape")
    return screen


async def test_upgrade_from_the_tui_with_pause_and_resume(cluster, tmp_path):
    app = upgrade_app(cluster, tmp_path)
    client = KubeClient(load_cluster_config(cluster.kubeconfig, None))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
            await start_upgrade(pilot, app)
            await pilot.press("P")  # the whole run takes seconds at this speed: pause at once
            paused = await until(pilot, lambda: [n for n in NODES if cell(app, n).startswith("‖ paused")],
                                 timeout=60, what="a node paused")
            assert "⚿ run held by" in str(app.query_one("#nodes .pane-header").render())
            node = await client.get(path_for("nodes", None, paused[0]))
            assert node["metadata"]["annotations"]["cockpit.dev/upgrade-state"] == "paused"
            await pilot.press("R")
            await until(pilot, lambda: all(cell(app, n).startswith("✔ done") for n in NODES), timeout=180,
                        what="every node done")
            result = await until(pilot, lambda: app.services["upgrade"].last_result, what="run finished")
            assert result.outcome == "done", result.message
            assert all(row(app, "nodes", n)[2] == f"v{TARGET}" for n in NODES)
            assert "✔ 9 done" in str(app.query_one("#nodes .pane-header").render())
            await pilot.press("l")  # the log view holds the selected node's SSH output
            assert any("kubeadm" in line for line in app.pane("nodes").log_lines())
        journal = (tmp_path / "journal.jsonl").read_text()
        assert '"upgrade-pause"' in journal and '"upgrade-resume"' in journal and "kubeadm upgrade apply" in journal
    finally:
        await client.close()


async def test_failing_node_shows_failed_with_last_lines_then_skip_and_retry(cluster, tmp_path):
    cluster.call(lambda: cluster.faults.set("kubelet_never_returns", "worker-1"))
    app = upgrade_app(cluster, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        await start_upgrade(pilot, app)
        await until(pilot, lambda: cell(app, "worker-1").startswith("✘"), timeout=180, what="worker-1 failed")
        assert cell(app, "worker-1").startswith("✘ waiting Ready failed")
        assert cell(app, "worker-2") == ""  # the run halted: no other node touched
        await until(pilot, lambda: app.services["upgrade"].last_result is not None, what="run halted")
        assert app.services["upgrade"].last_result.outcome == "halted"
        table = app.pane("nodes").table
        table.move_cursor(row=[r[0] for r in rows(app, "nodes")].index("worker-1"))
        await pilot.pause()
        detail = str(app.query_one("#nodes .upgrade-detail").render())
        assert "not Ready at v1.33.1" in detail and "│ " in detail  # the error and the last output lines
        restarted = upgrade_app(cluster, tmp_path)  # a second cockpit rebuilds the board from the annotations
        async with restarted.run_test(size=(160, 45)) as other:
            await until(other, lambda: cell(restarted, "worker-1").startswith("✘ waiting Ready failed"),
                        what="failed node rebuilt from annotations")
            assert cell(restarted, "cp-1").startswith("✔ done") and cell(restarted, "worker-2") == ""
        await pilot.press("K")  # skip worker-1 (confirmed)
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, ConfirmScreen) else None)
        assert "cockpit upgrade skip worker-1" in screen.preview.command
        await pilot.press("y")
        await until(pilot, lambda: screen.has_class("-done"), timeout=30, what="skip done")
        assert screen.failed is None, screen.failed
        await pilot.press("escape")
        await until(pilot, lambda: cell(app, "worker-1").startswith("↷ skipped"), what="skipped from annotations")
        await pilot.press("T")  # retry: the run goes on past the skipped node
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, ConfirmScreen) else None,
                             timeout=20, what="retry confirm")
        assert f"--to {TARGET}" in screen.preview.command and not screen.preview.blocked
        await pilot.press("y")
        await until(pilot, lambda: screen.has_class("-done"), timeout=20, what="retry started")
        await pilot.press("escape")
        others = [n for n in NODES if n != "worker-1"]
        await until(pilot, lambda: all(cell(app, n).startswith("✔ done") for n in others), timeout=180,
                    what="the other nodes done")
        assert cell(app, "worker-1").startswith("↷ skipped")


async def test_plan_shows_refusal_and_read_only_refuses_start(cluster, tmp_path):
    app = upgrade_app(cluster, tmp_path, read_only=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        await pilot.press("3", "p")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), what="target prompt")
        await pilot.press("ctrl+a", "ctrl+k", *"1.34.0", "enter")
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, TextScreen) else None,
                             timeout=20, what="plan screen")
        assert "refused" in screen.title_text and "[no-minor-skip]" in screen.plain()
        await pilot.press("escape")
        await pilot.press("U")
        await pilot.pause()
        assert not isinstance(app.screen, (PromptScreen, ConfirmScreen))
        assert "read-only" in app.banner_text


async def test_abort_stops_the_run_and_clears_unfinished_nodes(cluster, tmp_path):
    app = upgrade_app(cluster, tmp_path)
    client = KubeClient(load_cluster_config(cluster.kubeconfig, None))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
            await start_upgrade(pilot, app)
            await pilot.press("A")
            screen = await until(pilot, lambda: app.screen if isinstance(app.screen, ConfirmScreen) else None,
                                 timeout=20, what="abort confirm")
            assert screen.preview.command == "cockpit upgrade abort" and not screen.preview.blocked
            await pilot.press("y")
            await until(pilot, lambda: screen.has_class("-done"), timeout=60, what="abort finished")
            assert screen.failed is None, screen.failed
            assert app.services["upgrade"].last_result.outcome == "aborted"
            await pilot.press("escape")
            await until(pilot, lambda: all(cell(app, n) in ("", "✔ done █████") for n in NODES), timeout=20,
                        what="unfinished progress cleared")
            assert all(row(app, "nodes", n)[4] == "● yes" for n in NODES)  # no node left cordoned
            lease = await client.list(path_for("leases", "kube-system"))
            assert "cockpit-upgrade-lock" not in [i["metadata"]["name"] for i in lease.get("items", [])]
    finally:
        await client.close()
