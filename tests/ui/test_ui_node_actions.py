"""Nodes pane keys against the simulator: u refuses a cordon cockpit did not place, ctrl+u forces it."""

from __future__ import annotations

import pytest

from cockpit.cli.tui import build_app
from cockpit.journal import Journal
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from cockpit.ui.screens.operation import OperationScreen
from tests.support.ui import apply_plan, row, rows, tui_args, until

pytestmark = pytest.mark.timeout(120)


async def test_u_refuses_a_kubectl_cordon_and_ctrl_u_forces_it(sim, tmp_path):
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        await client.patch(path_for("nodes", name="worker-6"), {"spec": {"unschedulable": True}}, "merge")
        app = build_app(tui_args(sim, tmp_path))
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
            await pilot.press("3", *["j"] * 8)  # worker-6, the last row
            await until(pilot, lambda: row(app, "nodes", "worker-6")[4] == "⊘ cordoned", what="cordoned row")
            await pilot.press("u")
            screen = await until(pilot, lambda: app.screen if isinstance(app.screen, OperationScreen)
                                 and app.screen.has_class("-done") else None, what="the refused plan")
            assert screen.result is None and screen.failed.startswith("refused: uncordon node/worker-6")
            [check] = screen.plan.failed
            assert "was not cordoned by cockpit" in check.detail and "node: uncordon (force)" in check.detail
            node = await client.get(path_for("nodes", name="worker-6"))
            assert node["spec"]["unschedulable"] is True
            await pilot.press("escape")
            await pilot.press("ctrl+u")
            screen = await apply_plan(pilot, app)
            assert screen.result is not None and screen.result.message == "node/worker-6 uncordoned (forced)"
            node = await client.get(path_for("nodes", name="worker-6"))
            assert not node["spec"].get("unschedulable")
        events = [(e["event"], e.get("forced")) for e in Journal(tmp_path / "journal.jsonl").entries()
                  if e.get("action") == "uncordon"]
        assert events == [("preview", None), ("refused", None), ("preview", None), ("start", None),
                          ("result", True)]
    finally:
        await client.close()


async def test_a_cancelled_drain_says_the_node_stays_cordoned(sim, tmp_path):
    from textual.widgets import Log

    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        listing = await client.list(path_for("pods", "shop"), {"labelSelector": "app=web"})
        node = listing["items"][0]["spec"]["nodeName"]
        sim.call(lambda: sim.faults.set("blocking_pdbs", "shop/web"))  # the drain waits on shop/web
        app = build_app(tui_args(sim, tmp_path))
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
            names = [cells[0] for cells in rows(app, "nodes")]
            await pilot.press("3", *["j"] * names.index(node))
            await pilot.press("r")
            screen = await until(pilot, lambda: app.screen if isinstance(app.screen, OperationScreen)
                                 and app.screen.has_class("-asking") else None, what="the drain plan")
            await pilot.press("y")
            log = screen.query_one(Log)
            await until(pilot, lambda: any("blocked by PDB shop/web" in line for line in log.lines),
                        what="the drain blocked by shop/web")
            await pilot.press("escape")  # "Cancel run"
            await until(pilot, lambda: screen.has_class("-done"), what="the drain to stop")
            assert any(f"node/{node} is left cordoned" in line and f"cockpit uncordon {node}" in line
                       for line in log.lines), log.lines
            # The result line says it too, wrapped: the log cuts long lines on a small terminal.
            result = str(screen.query_one("#result").render())
            assert f"node/{node} is left cordoned" in result and f"cockpit uncordon {node}" in result, result
        assert (await client.get(path_for("nodes", name=node)))["spec"]["unschedulable"] is True
        events = [e["event"] for e in Journal(tmp_path / "journal.jsonl").entries() if e.get("action") == "drain"]
        assert events[:3] == ["preview", "start", "blocked"] and events[-1] == "cancelled"
    finally:
        await client.close()
