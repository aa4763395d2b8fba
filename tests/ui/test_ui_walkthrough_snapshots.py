"""SVG snapshots of presenter mode (100x30 and 160x45) and of the Timeline (pytest-textual-snapshot).

Fixture records, a frozen clock shown in UTC. Regenerate after an intended change with
``pytest tests/ui/test_ui_walkthrough_snapshots.py --snapshot-update`` and review the report.
"""

from __future__ import annotations

from datetime import timezone

import pytest
from textual.widgets import Input

from tests.support.ui import make_app


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch):
    monkeypatch.setattr(Input, "cursor_blink", False)


def _before(*keys: str):
    async def run_before(pilot) -> None:
        await pilot.pause()
        pilot.app.flush()
        pilot.app.observe_cluster()
        await pilot.pause()
        # The cast's clock stands still from the first key: on a loaded machine the seconds
        # between the keys and the picture would fade the first of them out of it.
        pilot.app.keycast.clock = lambda: 0.0
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()

    return run_before


def app_in_utc():
    app = make_app()
    app.clock_tz = timezone.utc
    return app


@pytest.mark.parametrize("size", [(100, 30), (160, 45)], ids=["100x30", "160x45"])
def test_presenter_mode_snapshot(snap_compare, size):
    # keys that start no worker: a toast from a worker would race the picture
    assert snap_compare(app_in_utc(), terminal_size=size, run_before=_before("v", "2", "1", "j"))


def test_timeline_snapshot(snap_compare):
    assert snap_compare(app_in_utc(), terminal_size=(160, 45), run_before=_before("L"))
