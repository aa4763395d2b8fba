"""cordon, uncordon (plain and forced) and drain give the same records from the CLI and the TUI.

The same script of steps runs against two identical simulators, once through ``cockpit ...``
and once through the Nodes pane: read-only, dry run, real runs, an uncordon refused because
kubectl placed the cordon, then forced. Both must leave the same server state, the same journal
records (event, action, target, ok, changed, dry run) and the same Kubernetes Events.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from cockpit.cli.tui import build_app
from cockpit.journal import Journal
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from tests.support.e2e import run_cli
from tests.support.ui import rows, tui_args, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

OURS, THEIRS = "worker-6", "worker-5"  # cockpit's own cordon; a cordon kubectl placed
CLI = {"cordon": ("cordon",), "uncordon": ("uncordon",), "uncordon-force": ("uncordon", "--force"),
       "drain": ("drain", "--ignore-daemonsets", "--delete-emptydir-data")}
TUI = {"cordon": "node.cordon", "uncordon": "node.uncordon", "uncordon-force": "node.uncordon_force",
       "drain": "node.drain"}
MODES = {"read-only": ("--read-only", "--yes"), "dry-run": ("--dry-run", "--yes"), "apply": ("--yes",)}
STEPS = [  # (action, node, mode, expected exit status)
    ("cordon", OURS, "read-only", 1), ("drain", OURS, "read-only", 1), ("uncordon", THEIRS, "read-only", 1),
    ("cordon", OURS, "dry-run", 0), ("cordon", OURS, "apply", 0),
    ("drain", OURS, "dry-run", 0), ("drain", OURS, "apply", 0),
    ("uncordon", OURS, "dry-run", 0), ("uncordon", OURS, "apply", 0),
    ("uncordon", THEIRS, "apply", 1), ("uncordon-force", THEIRS, "apply", 0),
]


def cli_step(capsys, sim, journal, action: str, node: str, mode: str) -> tuple[int, str]:
    verb, *flags = CLI[action]
    code, out, err = run_cli(capsys, sim, journal, verb, node, *flags, *MODES[mode])
    return code, out + err


async def tui_steps(sim, journal) -> list[tuple[int, str]]:
    """Run STEPS through the Nodes pane: read-only ones on a read-only app, the rest with d / y."""
    outcomes = []
    for read_only in (True, False):
        app = build_app(tui_args(sim, journal.parent, journal=str(journal), read_only=read_only))
        async with app.run_test(size=(160, 45)) as pilot:
            for action, node, mode, _code in STEPS:
                if (mode == "read-only") == read_only:
                    outcomes.append(await _tui_step(pilot, app, action, node, mode))
    order = [s for s in STEPS if s[2] == "read-only"] + [s for s in STEPS if s[2] != "read-only"]
    return [outcomes[order.index(step)] for step in STEPS]


async def _tui_step(pilot, app, action: str, node: str, mode: str) -> tuple[int, str]:
    from cockpit.ui.screens.operation import OperationScreen

    await _select(pilot, app, node)
    await app.run_pane_action(TUI[action])
    if mode == "read-only":
        await until(pilot, lambda: "read-only" in app.banner_text, what="the read-only refusal")
        return 1, app.banner_text

    def settled():
        screen = app.screen
        if isinstance(screen, OperationScreen) and (screen.has_class("-asking") or screen.has_class("-done")):
            return screen
        return None

    screen = await until(pilot, settled, what=f"{action} {node}: a plan or a refusal")
    if screen.has_class("-asking"):
        await pilot.press("d" if mode == "dry-run" else "y")
    await until(pilot, lambda: screen.has_class("-done"), timeout=90, what=f"{action} {node} {mode} to end")
    result = screen.result
    outcome = (0, result.message) if result is not None and result.ok else (1, str(screen.failed))
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, OperationScreen), what="the operation screen to close")
    return outcome


async def _select(pilot, app, node: str) -> None:
    pane = app.pane("nodes")
    app.focus_pane("nodes")

    def selected() -> bool:
        names = [cells[0] for cells in rows(app, "nodes")]
        if node not in names:
            return False
        pane.table.move_cursor(row=names.index(node))
        record = pane.selected_record(app.cache)
        return record is not None and record.name == node

    await until(pilot, selected, what=f"{node} selected in the Nodes pane")


def journal_shape(journal) -> list[tuple]:
    """The journal without times, ids and engine findings that depend on timing (PDB retries)."""
    return [(e["event"], e["action"], e["target"], e.get("ok"), e.get("changed"), e.get("dry_run"),
             e.get("forced")) for e in Journal(journal).entries() if e["event"] != "blocked"]


def result_states(journal) -> list[tuple]:
    """before/after of each real result, without what differs between two runs (pod names, stamps)."""
    def summary(state: dict) -> tuple:
        return (state.get("unschedulable"), bool(state.get("cordoned_by")), len(state.get("pods") or ()),
                len(state.get("evicted") or ()))
    return [(e["action"], e["target"], summary(e["before"]), summary(e["after"]))
            for e in Journal(journal).entries() if e["event"] == "result" and not e.get("dry_run")]


async def node_flags(client) -> dict[str, tuple]:
    out = {}
    for name in (OURS, THEIRS):
        node = await client.get(path_for("nodes", name=name))
        out[name] = (bool(node["spec"].get("unschedulable")),
                     "cockpit.dev/cordoned-by" in (node["metadata"].get("annotations") or {}))
    return out


async def node_events(client) -> list[tuple]:
    listing = await client.list("/apis/events.k8s.io/v1/namespaces/default/events")
    events = sorted((e for e in listing["items"] if e.get("reportingController") == "cockpit"),
                    key=lambda e: e["eventTime"])
    return [(e["reason"], e["type"], e["regarding"]["kind"], e["regarding"]["name"]) for e in events]


async def test_cli_and_tui_node_actions_agree(sim_factory, tmp_path, capsys):
    sims = {"cli": sim_factory(), "tui": sim_factory()}
    clients = {name: KubeClient(load_cluster_config(sim.kubeconfig, None)) for name, sim in sims.items()}
    journals = {name: tmp_path / name / "journal.jsonl" for name in sims}
    try:
        for name, client in clients.items():
            journals[name].parent.mkdir()
            await client.patch(path_for("nodes", name=THEIRS), {"spec": {"unschedulable": True}}, "merge")
        outcomes = {
            "cli": [await asyncio.to_thread(cli_step, capsys, sims["cli"], journals["cli"], action, node, mode)
                    for action, node, mode, _code in STEPS],
            "tui": await tui_steps(sims["tui"], journals["tui"])}
        for name, runs in outcomes.items():
            for (action, node, mode, code), (got, text) in zip(STEPS, runs):
                assert got == code, (name, action, node, mode, text)
                if mode == "dry-run":
                    assert "[dry run] nothing changed" in text, (name, action, text)
                if (action, node, mode) == ("uncordon", THEIRS, "apply"):
                    assert "was not cordoned by cockpit" in text and "force" in text, (name, text)
        flags = {name: await node_flags(client) for name, client in clients.items()}
        assert flags["cli"] == flags["tui"] == {OURS: (False, False), THEIRS: (False, False)}
        shapes = {name: journal_shape(journal) for name, journal in journals.items()}
        assert shapes["cli"] == shapes["tui"], json.dumps(shapes, indent=1)
        assert [s[0] for s in shapes["cli"]][:3] == ["refused"] * 3
        states = {name: result_states(journal) for name, journal in journals.items()}
        assert states["cli"] == states["tui"]
        assert [(s[0], s[1], s[2][0], s[3][0]) for s in states["cli"]] == [
            ("cordon", OURS, False, True), ("drain", OURS, True, True), ("uncordon", OURS, True, False),
            ("uncordon", THEIRS, True, False)]
        events = {name: await node_events(client) for name, client in clients.items()}
        assert events["cli"] == events["tui"] == [
            ("NodeCordoned", "Normal", "Node", OURS), ("NodeDrained", "Normal", "Node", OURS),
            ("NodeUncordoned", "Normal", "Node", OURS), ("NodeUncordoned", "Normal", "Node", THEIRS)]
    finally:
        for client in clients.values():
            await client.close()
