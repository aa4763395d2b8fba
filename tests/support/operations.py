"""Running operations through the real driver in tests, and reading back what they recorded."""

from __future__ import annotations

from typing import Any

from cockpit.controllers.base import collecting_reporter
from cockpit.controllers.driver import Driver, Services, journal_writer
from cockpit.controllers.operation import Operation, Plan, Result, StepJournal
from cockpit.journal import Journal
from tests.support.e2e import SIM_CONTEXT


def services(client: Any, journal_path: Any, *, read_only: bool = False) -> Services:
    """The driver's services over ``client`` and a journal file, as the CLI builds them."""
    return Services(client, Journal(journal_path, context=SIM_CONTEXT), SIM_CONTEXT, read_only=read_only)


def step_journal(ops: Services) -> StepJournal:
    """The step journal an engine driven outside the driver (an UpgradeController under test) writes to."""
    return StepJournal(journal_writer(ops))


async def approve(_plan: Plan[Any]) -> bool:
    """A confirmation that says yes (what ``--yes`` does)."""
    return True


async def drive(operation: Operation[Any], client: Any, journal_path: Any, *, dry_run: bool = False,
                read_only: bool = False, interactive: bool = False) -> Result:
    """Run ``operation`` through the driver with an approving confirmation."""
    reporter, _events = collecting_reporter()
    driver = Driver(services(client, journal_path, read_only=read_only), approve, reporter)
    return await driver.run(operation, dry_run=dry_run, interactive=interactive)


def journal_events(journal_path: Any, action: str) -> list[str]:
    """The journal's event names for ``action``, in order (``preview``, ``start``, ``result``...)."""
    return [e["event"] for e in Journal(journal_path).entries() if e.get("action") == action]


async def cockpit_events(client: Any, namespace: str, name: str) -> list[dict]:
    """The events.k8s.io Events cockpit recorded about object ``name`` in ``namespace``."""
    listing = await client.list(f"/apis/events.k8s.io/v1/namespaces/{namespace}/events")
    return [e for e in listing.get("items") or []
            if e.get("reportingController") == "cockpit" and (e.get("regarding") or {}).get("name") == name]
