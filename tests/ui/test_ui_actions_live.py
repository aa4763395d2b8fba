"""Pane actions end to end against the simulator: key -> operation screen -> driver -> cluster."""

from __future__ import annotations

import pytest

from cockpit.cli.tui import build_app
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from tests.support.ui import apply_plan, asked_plan, row, rows, tui_args, until

pytestmark = pytest.mark.timeout(120)


async def test_switch_web_to_green_and_back_from_the_tui(sim, tmp_path):
    app = build_app(tui_args(sim, tmp_path))
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: row(app, "traffic", "shop/web"), what="web pair")
            await pilot.press("2")  # Traffic pane, cursor on shop/web
            await pilot.press("s")
            screen = await asked_plan(pilot, app)
            assert "color=green" in screen.plan.after
            assert screen.plan.commands[0].startswith("kubectl -n shop patch service web --type=merge")
            screen = await apply_plan(pilot, app)
            assert screen.failed is None and screen.result.ok, screen.failed
            service = await client.get(path_for("services", "shop", "web"))
            assert service["spec"]["selector"]["color"] == "green"
            await pilot.press("escape")
            await until(pilot, lambda: "ACTIVE" in rows(app, "traffic")[1][1], what="green active in pane")
            await pilot.press("s")
            screen = await apply_plan(pilot, app)
            assert screen.failed is None and screen.result.ok, screen.failed
            service = await client.get(path_for("services", "shop", "web"))
            assert service["spec"]["selector"]["color"] == "blue"
        journal = (tmp_path / "journal.jsonl").read_text()
        assert '"switch"' in journal
    finally:
        await client.close()


async def test_undo_checkout_from_the_tui(sim, tmp_path):
    app = build_app(tui_args(sim, tmp_path))
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: rows(app, "rollouts")[0][0] == "shop/checkout", what="checkout first")
            await pilot.press("1", "u")
            screen = await apply_plan(pilot, app)
            assert screen.failed is None, screen.failed
            dep = await client.get(path_for("deployments", "shop", "checkout"))
            assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith("checkout:2.3.1")
    finally:
        await client.close()


async def test_read_only_tui_refuses_switch(sim, tmp_path):
    from cockpit.ui.screens.operation import OperationScreen

    app = build_app(tui_args(sim, tmp_path, read_only=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "traffic", "shop/web"), what="web pair")
        await pilot.press("2", "s")  # hidden in read-only mode: nothing happens
        await app.run_pane_action("traffic.switch")  # what the palette does: refused
        await pilot.pause()
        assert not isinstance(app.screen, OperationScreen)
        assert "read-only" in app.banner_text


async def test_shift_and_abort_api_route_from_the_tui(sim, tmp_path):
    app = build_app(tui_args(sim, tmp_path))
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))

    async def weights() -> dict[str, int]:
        route = await client.get(path_for("httproutes", "shop", "api"))
        return {b["name"]: b.get("weight", 1) for b in route["spec"]["rules"][0]["backendRefs"]}

    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: row(app, "traffic", "shop/api"), what="api route")
            await pilot.press("2", "j", "j")  # the shop/api rows come after the web pair
            await pilot.press("plus")
            screen = await apply_plan(pilot, app)
            assert screen.failed is None, screen.failed
            assert await weights() == {"api-stable": 80, "api-canary": 20}
            await pilot.press("escape", "a")
            screen = await apply_plan(pilot, app)
            assert screen.failed is None, screen.failed
            assert await weights() == {"api-stable": 100, "api-canary": 0}
    finally:
        await client.close()


async def test_cordon_drain_uncordon_from_the_nodes_pane(sim, tmp_path):
    app = build_app(tui_args(sim, tmp_path))
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
            await pilot.press("3", *["j"] * 8)  # worker-6, the last row
            assert app.pane("nodes").selected_key() == app.cache.store("nodes").get_by_key("worker-6").uid
            await pilot.press("r")
            screen = await asked_plan(pilot, app)
            assert screen.plan.commands == ("kubectl drain worker-6 --ignore-daemonsets --delete-emptydir-data",)
            screen = await apply_plan(pilot, app)
            assert screen.failed is None, screen.failed
            await pilot.press("escape")
            await until(pilot, lambda: row(app, "nodes", "worker-6")[4] == "⊘ cordoned", what="cordoned")
            node = await client.get(path_for("nodes", None, "worker-6"))
            assert node["spec"]["unschedulable"] is True
            await pilot.press("u")
            screen = await apply_plan(pilot, app)
            assert screen.failed is None, screen.failed
            await pilot.press("escape")
            await until(pilot, lambda: row(app, "nodes", "worker-6")[4] == "● yes", what="uncordoned")
    finally:
        await client.close()
