"""Helpers for UI tests: an app fed from fixture records, a frozen clock, row readers.

Tests push raw objects into a FixtureCache (decoded by the same records.decode the informers
use); the app's flush timer takes the changes exactly as it does from the live ClusterCache.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cockpit.ui.app import CockpitApp
from cockpit.ui.source import FixtureSource
from ui_builders import demo_objects

FROZEN_NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def make_app(objects=None, **kwargs) -> CockpitApp:
    """A CockpitApp over a FixtureSource holding ``objects`` (default: the demo-like set)."""
    source = kwargs.pop("source", None) or FixtureSource(demo_objects() if objects is None else objects)
    kwargs.setdefault("context", "test")
    kwargs.setdefault("clock", lambda: FROZEN_NOW)
    kwargs.setdefault("registry", None)
    if kwargs["registry"] is None:
        from cockpit.ui.actions.registry import ActionRegistry
        from cockpit.ui.actions.common import wire_actions

        kwargs["registry"] = wire_actions(ActionRegistry())
    return CockpitApp(source, **kwargs)


async def settle(pilot) -> None:
    """Let the app flush pending cache changes into the panes (no sleeps: flush directly)."""
    await pilot.pause()
    pilot.app.flush()
    await pilot.pause()


def rows(app, pane: str) -> list[list[str]]:
    """The visible rows of a pane's table as plain strings, in display order."""
    table = app.query_one(f"#{pane}-table")
    out = []
    for index in range(table.row_count):
        out.append([getattr(c, "plain", str(c)) for c in table.get_row_at(index)])
    return out
