"""Every mutating action behaves the same from the CLI and from the TUI: one driver, one record.

For each action the same three runs happen against two identical simulators, one through
``cockpit ...`` and one through the TUI: in read-only mode (refused, journaled, nothing changed
on the server), as a dry run (nothing changed, the output says so) and for real (the change is
made, journaled as preview/start/result with before/after, and recorded as a Kubernetes Event
on the target). The journal records and the Events of the two front ends must match.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cockpit.cli.tui import build_app
from cockpit.journal import Journal
from tests.support.e2e import run_cli
from tests.support.ui import asked_plan, rows, tui_args, until

pytestmark = [pytest.mark.slow, pytest.mark.kubectl, pytest.mark.timeout(240)]


@dataclass(frozen=True)
class Case:
    """One mutating action: how each front end asks for it and how to read its effect."""

    action: str
    cli: tuple[str, ...]
    action_id: str
    pane: str
    row: str
    namespace: str
    name: str
    reason: str
    state: Callable[[Any, Any], str]  # (kubectl, sim) -> what the action changes, as text
    kind: str = "Deployment"  # what the Event's regarding names
    exact_states: bool = True  # False where before/after carry times or generated pod names
    setup: tuple[str, ...] = ()  # a kubectl command run on both simulators first


def jsonpath(kind: str, namespace: str, name: str, path: str) -> Callable[[Any, Any], str]:
    """A state probe reading one field through the real kubectl."""
    def probe(kubectl, sim) -> str:
        args = ("-n", namespace) if namespace else ()
        return kubectl(*args, "get", kind, name, "-o", f"jsonpath={path}", sim=sim).stdout
    return probe


CASES = [
    Case("undo", ("rollout", "undo", "shop/checkout"), "rollout.undo", "rollouts", "shop/checkout", "shop",
         "checkout", "RolloutUndone",
         jsonpath("deployment", "shop", "checkout", "{.spec.template.spec.containers[0].image}")),
    Case("pause", ("rollout", "pause", "shop/web-blue"), "rollout.pause", "rollouts", "shop/web-blue", "shop",
         "web-blue", "RolloutPaused", jsonpath("deployment", "shop", "web-blue", "{.spec.paused}")),
    Case("restart", ("rollout", "restart", "shop/web-blue"), "rollout.restart", "rollouts", "shop/web-blue",
         "shop", "web-blue", "RolloutRestarted",
         jsonpath("deployment", "shop", "web-blue", "{.spec.template.metadata.annotations}"), exact_states=False),
    Case("resume", ("rollout", "resume", "shop/web-blue"), "rollout.resume", "rollouts", "shop/web-blue", "shop",
         "web-blue", "RolloutResumed", jsonpath("deployment", "shop", "web-blue", "{.spec.paused}"),
         setup=("-n", "shop", "patch", "deployment", "web-blue", "--type=merge", "-p", '{"spec":{"paused":true}}')),
    Case("shift", ("shift", "shop/api", "--weights", "api-stable=80,api-canary=20"), "traffic.shift", "traffic",
         "shop/api", "shop", "api", "TrafficShifted",
         jsonpath("httproute", "shop", "api", "{.spec.rules[0].backendRefs[*].weight}"), kind="HTTPRoute"),
    Case("switch", ("switch", "shop/web"), "traffic.switch", "traffic", "shop/web", "shop", "web",
         "ServiceSwitched", jsonpath("service", "shop", "web", "{.spec.selector.color}"), kind="Service"),
    Case("shift-abort", ("shift", "shop/api", "--abort"), "traffic.abort", "traffic", "shop/api", "shop", "api",
         "TrafficShiftAborted", jsonpath("httproute", "shop", "api", "{.spec.rules[0].backendRefs[*].weight}"),
         kind="HTTPRoute"),
    Case("cordon", ("cordon", "worker-3"), "node.cordon", "nodes", "worker-3", "default", "worker-3",
         "NodeCordoned", jsonpath("node", "", "worker-3", "{.spec.unschedulable}"), kind="Node", exact_states=False),
    Case("drain", ("drain", "worker-3", "--ignore-daemonsets", "--delete-emptydir-data"), "node.drain", "nodes",
         "worker-3", "default", "worker-3", "NodeDrained",
         jsonpath("node", "", "worker-3", "{.spec.unschedulable}"), kind="Node", exact_states=False),
]


# ----- the two front ends -----------------------------------------------------------------------


def cli_runs(case: Case, sim, journal, capsys) -> dict[str, tuple[int, str]]:
    """Read-only, dry run and real run through ``cockpit``: mode -> (exit status, output)."""
    runs = {}
    for mode, extra in (("read-only", ("--read-only", "--yes")), ("dry-run", ("--dry-run", "--yes")),
                        ("apply", ("--yes",))):
        code, out, err = run_cli(capsys, sim, journal, *case.cli, *extra)
        runs[mode] = (code, out + err)
    return runs


async def tui_runs(case: Case, sim, journal) -> dict[str, tuple[int, str]]:
    """The same three runs through the TUI: the palette in read-only mode, then d and y on the plan."""
    runs = {"read-only": await _tui_read_only(case, sim, journal)}
    app = build_app(tui_args(sim, journal.parent, journal=str(journal)))
    async with app.run_test(size=(160, 45)) as pilot:
        for mode, key in (("dry-run", "d"), ("apply", "y")):
            await _select(pilot, app, case)
            await app.run_pane_action(case.action_id)
            screen = await asked_plan(pilot, app)
            await pilot.press(key)
            await until(pilot, lambda: screen.has_class("-done"), timeout=60, what=f"{case.action} {mode}")
            result = screen.result
            runs[mode] = (0 if result is not None and result.ok else 1,
                          result.message if result is not None else str(screen.failed))
            await pilot.press("escape")
    return runs


async def _tui_read_only(case: Case, sim, journal) -> tuple[int, str]:
    app = build_app(tui_args(sim, journal.parent, journal=str(journal), read_only=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await _select(pilot, app, case)
        await app.run_pane_action(case.action_id)  # the key is hidden; the palette still offers it
        await until(pilot, lambda: "read-only" in app.banner_text, what="the read-only refusal")
        return 1, app.banner_text


async def _select(pilot, app, case: Case) -> None:
    pane = app.pane(case.pane)
    app.focus_pane(case.pane)

    def selected() -> bool:
        names = [cells[0] for cells in rows(app, case.pane)]
        if case.row not in names:
            return False
        pane.table.move_cursor(row=names.index(case.row))
        record = pane.selected_record(app.cache)
        return record is not None and record.key == case.row

    await until(pilot, selected, what=f"{case.row} selected in {case.pane}")


# ----- what both must agree on ----------------------------------------------------------------


def journal_shape(journal) -> list[tuple]:
    """The journal without times and ids: (event, action, target, ok, changed, dry_run, reason)."""
    return [(e["event"], e["action"], e["target"], e.get("ok"), e.get("changed"), e.get("dry_run"), e.get("reason"))
            for e in Journal(journal).entries()]


def result_states(journal, exact: bool) -> list[tuple[str, str]]:
    """before/after of each real (not dry-run) result, as JSON text (only their keys if not ``exact``)."""
    def shown(state: dict) -> str:
        return json.dumps(state if exact else sorted(state), sort_keys=True)

    return [(shown(e["before"]), shown(e["after"]))
            for e in Journal(journal).entries() if e["event"] == "result" and not e.get("dry_run")]


def cockpit_event_reasons(kubectl, sim, case: Case) -> list[tuple[str, str, str]]:
    doc = json.loads(kubectl("get", "events.events.k8s.io", "-n", case.namespace, "-o", "json", sim=sim).stdout)
    return [(e["reason"], e["regarding"]["kind"], e["regarding"]["name"]) for e in doc["items"]
            if e.get("reportingController") == "cockpit"]


@pytest.mark.parametrize("case", CASES, ids=[c.action for c in CASES])
async def test_cli_and_tui_run_the_same_operation(case, sim_factory, kubectl, tmp_path, capsys):
    sims = {"cli": sim_factory(), "tui": sim_factory()}
    journals = {name: tmp_path / name / "journal.jsonl" for name in sims}
    for journal in journals.values():
        journal.parent.mkdir()
    for sim in sims.values():
        if case.setup:
            kubectl(*case.setup, sim=sim)
    start = {name: case.state(kubectl, sim) for name, sim in sims.items()}
    assert start["cli"] == start["tui"]
    # The CLI runs its own event loop, so it gets a thread of its own.
    outcomes = {"cli": await asyncio.to_thread(cli_runs, case, sims["cli"], journals["cli"], capsys),
                "tui": await tui_runs(case, sims["tui"], journals["tui"])}
    for name, runs in outcomes.items():
        code, text = runs["read-only"]
        assert code == 1 and "read-only" in text, (name, text)
        code, text = runs["dry-run"]
        assert code == 0 and "[dry run] nothing changed" in text, (name, text)
        code, text = runs["apply"]
        assert code == 0, (name, text)
        assert case.state(kubectl, sims[name]) != start[name], f"{name}: {case.action} changed nothing"
    shapes = {name: journal_shape(journal) for name, journal in journals.items()}
    assert shapes["cli"] == shapes["tui"]
    main_records = [s[0] for s in shapes["cli"] if s[0] not in ("step", "blocked")]
    assert main_records == ["refused", "preview", "start", "result", "preview", "start", "result"]
    states = [result_states(journal, case.exact_states) for journal in journals.values()]
    assert states[0] == states[1] and len(states[0]) == 1
    events = {name: cockpit_event_reasons(kubectl, sim, case) for name, sim in sims.items()}
    assert events["cli"] == events["tui"] == [(case.reason, case.kind, case.name)]
