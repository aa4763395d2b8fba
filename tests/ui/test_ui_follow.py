"""Follow mode in the TUI against the simulator: read-only, and another operator's drain and
upgrade show up live (panes from the cluster, their actions from the Events they record)."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timezone

import pytest

from cockpit.cli.main import main
from cockpit.cli.tui import build_app
from cockpit.ui.screens.operation import OperationScreen
from cockpit.ui.walkthrough import OBSERVE_SECONDS
from tests.support.e2e import cockpit_args, start_upgrade_process
from tests.support.ui import row, rows, tui_args, until

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]
FAST = ["--poll-interval", "0.05", "--retry-interval", "0.1", "--lease-duration", "5", "--yes"]


def cockpit_action(app, node: str, reason: str):
    """The Timeline row of another cockpit's action on ``node`` (None until it is seen)."""
    return next((r for r in app.timeline.rows(app.now()) if r.source == "cockpit"
                 and r.object == f"Node/{node}" and r.text.startswith(reason)), None)


async def seen_within_two_seconds(pilot, app, node: str, reason: str, timeout: float):
    """Wait for another cockpit's action; it must show no later than 2 s after its Event's time."""
    entry = await until(pilot, lambda: cockpit_action(app, node, reason), timeout=timeout,
                        what=f"their {reason} on {node}")
    lag = (datetime.now(timezone.utc) - entry.time).total_seconds()
    assert lag <= 2.0, f"{reason} on {node} showed {lag:.2f} s after it happened"
    return entry


async def test_follower_is_read_only_and_sees_another_cockpits_drain_and_upgrade(sim_factory, tmp_path):
    cluster = sim_factory(ssh=True, speed=100)
    assert OBSERVE_SECONDS <= 1.0  # other cockpits' Events are read at least once a second
    app = build_app(tui_args(cluster, tmp_path, read_only=True, follow=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        assert "FOLLOWING · read-only" in str(app.query_one("#topbar").render())
        mutating = [a for a in app.registry if a.mutating]
        assert mutating and not any(app.check_action("run_pane_action", (a.id,)) for a in mutating)
        app.focus_pane("nodes")
        await pilot.press("r")  # drain: hidden, so nothing opens
        await pilot.pause()
        assert not isinstance(app.screen, OperationScreen)

        other = tmp_path / "other.jsonl"
        argv = cockpit_args(cluster, other, "drain", "worker-1", "--ignore-daemonsets", "--yes")
        assert await asyncio.to_thread(main, argv) == 0
        await until(pilot, lambda: "cordoned" in row(app, "nodes", "worker-1")[4], what="worker-1 cordoned")
        drained = await seen_within_two_seconds(pilot, app, "worker-1", "NodeDrained", timeout=20)
        assert "via cockpit" in drained.text

        process = start_upgrade_process(cluster, other, "1.33.1", *FAST)
        try:
            started = await seen_within_two_seconds(pilot, app, "cp-1", "UpgradeNodeStarted", timeout=60)
            assert "upgrade to 1.33.1" in started.text
            await until(pilot, lambda: row(app, "nodes", "cp-1")[-1] not in ("", "-"), what="cp-1 upgrade cell")
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.to_thread(process.wait, 60)

        await pilot.press("W")  # the follower writes the incident record from the cluster alone
        report = await until(pilot, lambda: next(iter((tmp_path / "reports").glob("incident-*.md")), None),
                             what="the written report")
        assert "NodeDrained worker-1" in report.read_text()
