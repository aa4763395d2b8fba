"""The cockpit against the simulated cluster: the same code path as a production cluster.

Changes are made through the documented API (our own client, or the real kubectl when it is
installed) and must show up in the right pane.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from cockpit.cli.tui import build_app
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from tests.support.ui import row, rows, tui_args, until

pytestmark = pytest.mark.timeout(90)


async def test_live_panes_fill_and_follow_api_changes(sim, tmp_path):
    app = build_app(tui_args(sim, tmp_path))
    client = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
            await until(pilot, lambda: row(app, "rollouts", "shop/web-blue"), what="web-blue row")
            await until(pilot, lambda: row(app, "traffic", "shop/web")[1] == "● blue ACTIVE", what="blue active")
            # every informer has listed (the panes may fill before the last kind is live)
            await until(pilot, lambda: "● live" in str(app.query_one("#topbar").render()), what="live")

            await client.patch(path_for("deployments", "shop", "web-blue"), {"spec": {"replicas": 4}})
            await until(pilot, lambda: row(app, "rollouts", "shop/web-blue")[2].startswith("4/"), what="scale")

            await client.patch(path_for("nodes", None, "worker-6"), {"spec": {"unschedulable": True}})
            await until(pilot, lambda: row(app, "nodes", "worker-6")[4] == "⊘ cordoned", what="cordon")

            await client.patch(path_for("services", "shop", "web"), {"spec": {"selector": {"app": "web", "color": "green"}}})
            await until(pilot, lambda: "ACTIVE" in rows(app, "traffic")[1][1], what="green active")

            names = [r[0] for r in rows(app, "rollouts")]
            assert len(names) == len(set(names))  # no duplicate rows
    finally:
        await client.close()


async def test_live_recovers_after_api_outage_without_ghost_rows(sim, tmp_path):
    app = build_app(tui_args(sim, tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        before = sorted(r[0] for r in rows(app, "rollouts"))
        sim.faults.refuse_until = time.monotonic() + 3
        sim.faults.watch_cut_after = 0.1
        topbar = app.query_one("#topbar")
        await until(pilot, lambda: "reconnecting since" in str(topbar.render()), what="outage shown")
        await until(pilot, lambda: app.banner_text, what="banner with the connection error")
        sim.faults.watch_cut_after = None
        await until(pilot, lambda: "● live" in str(topbar.render()), timeout=30, what="recovery")
        await until(pilot, lambda: not app.banner_text, what="banner cleared")
        await until(pilot, lambda: sorted(r[0] for r in rows(app, "rollouts")) == before, what="same rows")
        assert len(rows(app, "nodes")) == 9


async def test_live_kubectl_scale_shows_in_rollouts(sim, kubectl, tmp_path):
    app = build_app(tui_args(sim, tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: row(app, "rollouts", "shop/api-stable"), what="api-stable row")
        await asyncio.to_thread(kubectl, "-n", "shop", "scale", "deployment/api-stable", "--replicas=5")
        await until(pilot, lambda: row(app, "rollouts", "shop/api-stable")[2].startswith("5/"),
                    what="kubectl scale")
