"""SVG snapshot tests of the main layouts (pytest-textual-snapshot).

Fed from fixture records with a frozen clock, so the pictures only change when the UI does.
Regenerate after an intended change with ``pytest tests/ui --snapshot-update`` and review
``snapshot_report.html`` first.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.support.ui import make_app, until


def _before(*keys: str):
    async def run_before(pilot) -> None:
        await pilot.pause()
        pilot.app.flush()
        # The problem detectors (the runbook hint line) run on a 1 s timer: run them now, so the
        # picture does not depend on whether the timer fired first.
        pilot.app.observe_cluster()
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        # A pane key moves the focus a turn later: wait until that pane is the current one.
        for key in keys:
            if key.isdigit():
                pane = pilot.app.panes()[int(key) - 1]
                await until(pilot, lambda: pane.has_class("-current"), what=f"pane {key} current")
        # A key may re-lay a table out (a filter narrows the widest name): let that settle too.
        pilot.app.flush()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    return run_before


LAYOUTS = {
    "all-panes-160x45": ((160, 45), (), None),
    "narrow-100x30": ((100, 30), (), None),
    "expanded-rollout": ((160, 45), ("enter",), None),
    "maximised-traffic": ((160, 45), ("2", "m"), None),
    "help": ((160, 45), ("question_mark",), None),
    "filter": ((160, 45), ("slash", "w", "e", "b"), None),
    "light": ((160, 45), (), "cockpit-light"),
    "high-contrast": ((160, 45), (), "cockpit-high-contrast"),
}


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch):
    """A blinking Input cursor would make the filter snapshot flaky."""
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.mark.parametrize("size, keys, theme", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_layout_snapshot(snap_compare, size, keys, theme):
    app = make_app(theme=theme)
    assert snap_compare(app, terminal_size=size, run_before=_before(*keys))


def _annotate_worker_1(app, annotations: dict) -> None:
    """worker-1 failed at draining, as its Node annotations (the board's only source) say."""
    import json

    from tests.support import screenshots

    data = json.loads(screenshots.SNAPSHOT.read_text(encoding="utf-8"))
    raw = next(n for n in data["objects"]["nodes"] if n["metadata"]["name"] == "worker-1")
    raw["metadata"]["annotations"] = {**raw["metadata"].get("annotations", {}), **screenshots.UPGRADE_DONE,
                                      "cockpit.dev/upgrade-step": "draining", **annotations}
    raw["metadata"]["resourceVersion"] = str(int(raw["metadata"]["resourceVersion"]) + 200000)
    app.cache.put("nodes", raw)


def _board(*keys: str, fail: bool = False):
    """Mid-run upgrade board (as the README screenshot), optionally with worker-1 failed."""
    async def run_before(pilot) -> None:
        from cockpit.controllers.base import Progress
        from tests.support import screenshots

        await _before()(pilot)
        screenshots.PREPARE["upgrade-board"](pilot.app, screenshots.SNAPSHOT)
        if fail:
            failed = {"cockpit.dev/upgrade-state": "failed", "cockpit.dev/upgrade-step-started": "2026-01-01T11:58:00Z",
                      "cockpit.dev/upgrade-error": "drain of worker-1 timed out: PDB shop/web blocks "
                                                   "(disruptionsAllowed=0)"}
            _annotate_worker_1(pilot.app, failed)
            for line in ("evicting pod shop/web-blue-5d9-a1",
                         "Cannot evict pod as it would violate the pod's disruption budget."):
                pilot.app.pane("nodes").apply_progress(Progress(
                    "upgrade", "worker-1", "draining", line, "info",
                    {"node": "worker-1", "log": True, "stream": "drain", "line": line}))
        await _before(*keys)(pilot)

    return run_before


@pytest.mark.parametrize("size, keys, fail", [((160, 45), ("3", "j", "j", "j"), False),
                                              ((100, 30), ("3", "j", "j", "j"), True)],
                         ids=["upgrade-board-160x45", "upgrade-failed-100x30"])
def test_upgrade_board_snapshot(snap_compare, size, keys, fail):
    from tests.support import screenshots

    assert snap_compare(screenshots.snapshot_app(), terminal_size=size, run_before=_board(*keys, fail=fail))
