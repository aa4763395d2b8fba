"""Helpers for UI tests: an app fed from fixture records, a frozen clock, row readers.

Tests push raw objects into a FixtureCache (decoded by the same records.decode the informers
use); the app's flush timer takes the changes exactly as it does from the live ClusterCache.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from cockpit.ui.app import CockpitApp
from cockpit.ui.source import FixtureSource
from tests.support.builders import demo_objects
from tests.support.wait import CONVERGING, DEFAULT_TIMEOUT, async_wait_until

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
    """The visible rows of a pane's table as plain strings (a name shortened on screen in
    full), in display order."""
    from cockpit.ui.panes.base import cell_text

    table = app.query_one(f"#{pane}-table")
    return [[cell_text(c) for c in table.get_row_at(index)] for index in range(table.row_count)]


def row(app, pane: str, name: str) -> list[str]:
    """The row of ``pane`` whose first cell is ``name`` (StopIteration while it is not drawn)."""
    return next(r for r in rows(app, pane) if r[0] == name)


async def until(pilot, predicate, timeout: float = DEFAULT_TIMEOUT, what: str = ""):
    """Wait (letting the app process its messages) until ``predicate()`` is truthy; return it."""
    return await async_wait_until(predicate, timeout, what, ignore=CONVERGING, pause=lambda: pilot.pause(0.05))


def tui_args(sim, tmp_path, **extra) -> argparse.Namespace:
    """The parsed command line ``cockpit`` would build for a TUI against ``sim``."""
    values = dict(kubeconfig=sim.kubeconfig, context=None, namespace=None, read_only=False, theme=None,
                  journal=str(tmp_path / "journal.jsonl"), ssh_config=None)
    values.update(extra)
    return argparse.Namespace(**values)


async def asked_plan(pilot, app):
    """The OperationScreen once it shows a plan awaiting Apply/Cancel."""
    from cockpit.ui.screens.operation import OperationScreen

    def asking():
        screen = app.screen
        return screen if isinstance(screen, OperationScreen) and screen.has_class("-asking") else None

    return await until(pilot, asking, what="an operation plan awaiting confirmation")


async def apply_plan(pilot, app, timeout: float = 60):
    """Apply the plan shown and wait until the operation ends; returns the OperationScreen."""
    screen = await asked_plan(pilot, app)
    await pilot.press("y")
    await until(pilot, lambda: screen.has_class("-done"), timeout=timeout, what="the operation to finish")
    return screen
