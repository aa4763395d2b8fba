"""The upgrade board end to end: keys in the TUI drive the same upgrade operations as the CLI
against the simulated demo cluster over real SSH, and the Nodes pane follows the cluster."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from cockpit.cli.main import main
from cockpit.cli.tui import build_app
from cockpit.domain.drain import DrainOptions
from cockpit.journal import read_journal
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from cockpit.ui.production_guard import TypedNameScreen
from cockpit.ui.screens.operation import OperationScreen
from cockpit.ui.screens.prompt import PromptScreen, TextScreen
from tests.support.e2e import cockpit_args, start_upgrade_process
from tests.support.ui import apply_plan, asked_plan, row, rows, tui_args, until
from tests.support.wait import async_wait_until

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

TARGET = "1.33.1"
NODES = ["cp-1", "cp-2", "cp-3"] + [f"worker-{i}" for i in range(1, 7)]
LOCK = "cockpit-upgrade-lock"
FAST_CLI = ["--poll-interval", "0.05", "--retry-interval", "0.1", "--lease-duration", "5", "--ready-timeout", "2s", "--yes"]


@pytest.fixture
def cluster(sim_factory):
    return sim_factory(ssh=True, speed=100)


def upgrade_app(sim, tmp_path, **extra):
    """The real `cockpit` app (build_app) with the simulator's ssh_config and fast timeouts."""
    app = build_app(tui_args(sim, tmp_path, ssh_config=sim.ssh_config, **extra))
    app.services["upgrade_options"] = {
        "poll_interval": 0.05, "lease_duration": 5, "ready_timeout": 2.0,
        "drain": DrainOptions(ignore_daemonsets=True, timeout=60, retry_interval=0.1, poll_interval=0.05)}
    return app


def cell(app, node: str) -> str:
    return row(app, "nodes", node)[7]


def pane_run(app):
    return app.pane("nodes").upgrade


async def answer_target(pilot, app, key: str) -> None:
    await pilot.press("3", key)
    await until(pilot, lambda: isinstance(app.screen, PromptScreen), what="target prompt")
    await pilot.press("ctrl+a", "ctrl+k", *TARGET, "enter")


async def start_upgrade(pilot, app) -> OperationScreen:
    """U, type the target, check the plan on the confirm screen, apply; the screen then points to
    the board and offers no Apply any more."""
    await answer_target(pilot, app, "U")
    screen = await asked_plan(pilot, app)
    plan = screen.plan
    assert not plan.blocked, plan.checks
    assert plan.title == f"upgrade 9 node(s) to {TARGET}"
    details = "\n".join(plan.details)
    assert "batch 1: cp-1" in details and f"kubeadm upgrade apply -y v{TARGET}" in details
    await pilot.press("y")
    await until(pilot, lambda: screen.has_class("-done"), timeout=30, what="run started")
    assert screen.failed is None, screen.failed
    result = str(screen.query_one("#result").render())
    assert "started" in result and "Nodes board" in result
    assert not screen.query_one("#apply").display  # a finished confirm never offers Apply
    await pilot.press("escape")
    return screen


def journal_events(path, action: str) -> list[str]:
    """The operation's own records (the run also journals each node's commands under ``upgrade``)."""
    return [e["event"] for e in read_journal(path)
            if e.get("action") == action and e["event"] in ("preview", "start", "result", "failure")]


async def lock_events(client, reason: str) -> list[dict]:
    listing = await client.list("/apis/events.k8s.io/v1/namespaces/kube-system/events")
    return [e for e in listing.get("items") or [] if e["reason"] == reason and e["regarding"]["name"] == LOCK]


async def test_upgrade_from_the_tui_with_pause_and_resume(cluster, tmp_path):
    app = upgrade_app(cluster, tmp_path)
    journal = tmp_path / "journal.jsonl"
    client = KubeClient(load_cluster_config(cluster.kubeconfig, None))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
            await start_upgrade(pilot, app)
            await pilot.press("P")  # the whole run takes seconds at this speed: pause at once
            await apply_plan(pilot, app)
            await pilot.press("escape")
            paused = await until(pilot, lambda: [n for n in NODES if cell(app, n).startswith("‖ paused")],
                                 timeout=60, what="a node paused")
            assert "⚿ run held by" in str(app.query_one("#nodes .pane-header").render())
            node = await client.get(path_for("nodes", None, paused[0]))
            assert node["metadata"]["annotations"]["cockpit.dev/upgrade-state"] == "paused"
            await pilot.press("R")
            await apply_plan(pilot, app)
            await pilot.press("escape")
            await until(pilot, lambda: all(cell(app, n).startswith("✔ done") for n in NODES), timeout=180,
                        what="every node done")
            result = await until(pilot, lambda: pane_run(app).last_result, what="run finished")
            assert result.ok and result.details["outcome"] == "done", result.message
            assert all(row(app, "nodes", n)[2] == f"v{TARGET}" for n in NODES)
            assert "✔ 9 done" in str(app.query_one("#nodes .pane-header").render())
            await pilot.press("l")  # the log view holds the selected node's SSH output
            assert any("kubeadm" in line for line in app.pane("nodes").log_lines())
        for action in ("upgrade", "upgrade-pause", "upgrade-resume"):
            assert journal_events(journal, action)[:3] == ["preview", "start", "result"], action
        assert await lock_events(client, "UpgradePauseRequested") and await lock_events(client, "UpgradeRun")
    finally:
        await client.close()


async def test_failing_node_shows_failed_with_last_lines_then_skip_and_retry(cluster, tmp_path):
    cluster.call(lambda: cluster.faults.set("kubelet_never_returns", "worker-1"))
    app = upgrade_app(cluster, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        await start_upgrade(pilot, app)
        await until(pilot, lambda: cell(app, "worker-1").startswith("✘"), timeout=180, what="worker-1 failed")
        assert cell(app, "worker-1").startswith("✘ waiting Ready failed")
        assert cell(app, "worker-2") == ""  # the run halted: no other node touched
        result = await until(pilot, lambda: pane_run(app).last_result, what="run halted")
        assert result.details["outcome"] == "halted" and not result.ok
        table = app.pane("nodes").table
        table.move_cursor(row=[r[0] for r in rows(app, "nodes")].index("worker-1"))
        await pilot.pause()
        detail = str(app.query_one("#nodes .upgrade-detail").render())
        assert "not Ready at v1.33.1" in detail and "│ " in detail  # the error and the last output lines
        restarted = upgrade_app(cluster, tmp_path)  # a second cockpit rebuilds the board from the annotations
        async with restarted.run_test(size=(160, 45)) as other:
            await until(other, lambda: cell(restarted, "worker-1").startswith("✘ waiting Ready failed"),
                        what="failed node rebuilt from annotations")
            assert cell(restarted, "cp-1").startswith("✔ done") and cell(restarted, "worker-2") == ""
        await pilot.press("K")  # skip worker-1 (confirmed)
        screen = await asked_plan(pilot, app)
        assert "kubectl annotate node worker-1 cockpit.dev/upgrade-state=skipped --overwrite" in screen.plan.commands
        await pilot.press("y")
        await until(pilot, lambda: screen.has_class("-done"), timeout=30, what="skip done")
        assert screen.failed is None, screen.failed
        await pilot.press("escape")
        await until(pilot, lambda: cell(app, "worker-1").startswith("↷ skipped"), what="skipped from annotations")
        await pilot.press("T")  # retry: the run goes on past the skipped node
        screen = await asked_plan(pilot, app)
        assert f"--to {TARGET}" in screen.plan.command and not screen.plan.blocked
        assert screen.plan.title.startswith("retry: upgrade 5 node(s)")  # only the nodes that remain
        await pilot.press("y")
        await until(pilot, lambda: screen.has_class("-done"), timeout=30, what="retry started")
        await pilot.press("escape")
        others = [n for n in NODES if n != "worker-1"]
        await until(pilot, lambda: all(cell(app, n).startswith("✔ done") for n in others), timeout=180,
                    what="the other nodes done")
        assert cell(app, "worker-1").startswith("↷ skipped")


async def test_plan_shows_refusal_and_read_only_hides_start(cluster, tmp_path):
    app = upgrade_app(cluster, tmp_path, read_only=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        await pilot.press("3", "p")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), what="target prompt")
        await pilot.press("ctrl+a", "ctrl+k", *"1.34.0", "enter")
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, TextScreen) else None,
                             timeout=20, what="plan screen")
        assert "refused" in screen.title_text and "[no-minor-skip]" in screen.plain()
        await pilot.press("escape")
        await pilot.press("U")
        await pilot.pause()
        assert not isinstance(app.screen, (PromptScreen, OperationScreen))


async def test_in_production_the_upgrade_starts_only_after_the_typed_name(cluster, tmp_path, monkeypatch):
    """The upgrade runs in the Nodes pane's worker, not through the app's own driver: the typed-name
    guard must reach it too. Esc at the typed name leaves the cluster untouched."""
    config = tmp_path / "config.toml"
    config.write_text('production_contexts = ["*"]\n', encoding="utf-8")  # every context is production
    monkeypatch.setenv("COCKPIT_CONFIG", str(config))
    app = upgrade_app(cluster, tmp_path)
    client = KubeClient(load_cluster_config(cluster.kubeconfig, None))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
            assert app.production
            await answer_target(pilot, app, "U")
            screen = await asked_plan(pilot, app)
            await pilot.press("y")
            await until(pilot, lambda: isinstance(app.screen, TypedNameScreen), what="the typed-name question")
            await pilot.press("escape")
            await until(pilot, lambda: screen not in app.screen_stack, what="the declined operation's screen to close")
            assert not pane_run(app).running()
        leases = await client.list(path_for("leases", "kube-system"))
        assert LOCK not in [i["metadata"]["name"] for i in leases.get("items", [])]
        records = [e["event"] for e in read_journal(tmp_path / "journal.jsonl") if e.get("action") == "upgrade"]
        assert records == ["preview", "declined"], records
    finally:
        await client.close()


async def test_abort_stops_the_run_and_clears_unfinished_nodes(cluster, tmp_path):
    app = upgrade_app(cluster, tmp_path)
    client = KubeClient(load_cluster_config(cluster.kubeconfig, None))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
            await start_upgrade(pilot, app)
            await pilot.press("A")
            screen = await asked_plan(pilot, app)
            assert screen.plan.title == "abort the upgrade" and not screen.plan.blocked
            assert f"kubectl delete lease -n kube-system {LOCK}" in screen.plan.commands
            await pilot.press("y")
            await until(pilot, lambda: screen.has_class("-done"), timeout=60, what="abort finished")
            assert screen.failed is None, screen.failed
            assert pane_run(app).last_result.details["outcome"] == "aborted"
            await pilot.press("escape")
            await until(pilot, lambda: all(cell(app, n) in ("", "✔ done █████") for n in NODES), timeout=20,
                        what="unfinished progress cleared")
            assert all(row(app, "nodes", n)[4] == "● yes" for n in NODES)  # no node left cordoned
            lease = await client.list(path_for("leases", "kube-system"))
            assert LOCK not in [i["metadata"]["name"] for i in lease.get("items", [])]
        entries = [e for e in read_journal(tmp_path / "journal.jsonl") if e.get("action") == "upgrade-abort"]
        assert [e["event"] for e in entries][:3] == ["preview", "start", "result"]
        assert entries[2]["after"]["lock"] is None and entries[2]["before"]["lock"]["holder"]
        assert await lock_events(client, "UpgradeAborted")
    finally:
        await client.close()


# ---------------------------------------------------------------------- CLI and TUI alike


def _mark_failed(kubectl, cluster, node: str) -> None:
    kubectl("annotate", "node", node, "--overwrite", "cockpit.dev/upgrade-step=draining",
            "cockpit.dev/upgrade-state=failed", f"cockpit.dev/upgrade-target={TARGET}",
            "cockpit.dev/upgrade-run=run-x", sim=cluster)


def _records(path, action: str) -> list[tuple[str, tuple[str, ...]]]:
    """(event, sorted field names) per journal record of ``action``: what must match across front ends."""
    skip = {"ts", "user", "host", "pid", "target", "elapsed", "seq", "message"}
    return [(e["event"], tuple(sorted(set(e) - skip))) for e in read_journal(path) if e.get("action") == action]


async def test_skip_from_the_tui_and_the_cli_leave_the_same_records_and_events(cluster, kubectl, tmp_path, capsys):
    _mark_failed(kubectl, cluster, "worker-1")
    _mark_failed(kubectl, cluster, "worker-2")
    cli_journal = tmp_path / "cli.jsonl"
    argv = cockpit_args(cluster, cli_journal, "upgrade", "skip", "worker-2", "--yes")
    assert await asyncio.to_thread(main, argv) == 0  # the CLI runs its own event loop
    capsys.readouterr()
    app = upgrade_app(cluster, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        await pilot.press("3")
        app.pane("nodes").table.move_cursor(row=[r[0] for r in rows(app, "nodes")].index("worker-1"))
        await pilot.pause()
        await pilot.press("K")
        screen = await apply_plan(pilot, app)
        assert screen.failed is None, screen.failed
        await until(pilot, lambda: cell(app, "worker-1").startswith("↷ skipped"), what="skip on the board")
    tui_journal = tmp_path / "journal.jsonl"
    assert _records(tui_journal, "upgrade-skip") == _records(cli_journal, "upgrade-skip")
    assert [e for e, _ in _records(tui_journal, "upgrade-skip")] == ["preview", "start", "result"]
    tui = [e for e in read_journal(tui_journal) if e.get("action") == "upgrade-skip"][-1]
    cli = [e for e in read_journal(cli_journal) if e.get("action") == "upgrade-skip"][-1]
    assert tui["after"]["progress"]["state"] == cli["after"]["progress"]["state"] == "skipped"
    raw = kubectl("get", "--raw", "/apis/events.k8s.io/v1/namespaces/default/events", sim=cluster).stdout
    skips = {e["regarding"]["name"]: e for e in json.loads(raw)["items"] if e["reason"] == "UpgradeNodeSkipped"}
    assert set(skips) == {"worker-1", "worker-2"}
    assert {e["reportingController"] for e in skips.values()} == {"cockpit"}


def _control_records(path) -> dict[str, list]:
    """The records of the run and of each control, without the run's per-node command lines."""
    own = ("preview", "start", "result", "failure", "declined", "refused")
    return {action: [r for r in _records(path, action) if r[0] in own]
            for action in ("upgrade", "upgrade-pause", "upgrade-resume", "upgrade-abort")}


async def _cli_controls(cluster, kubectl, tmp_path) -> None:
    """From the CLI: run, pause, resume, pause, abort (a paused run stops without --force)."""
    run = start_upgrade_process(cluster, tmp_path / "cli.jsonl", TARGET, *FAST_CLI)
    try:
        await _wait_for_step(kubectl, cluster)
        for verb in ("pause", "resume", "pause"):
            assert await asyncio.to_thread(main, cockpit_args(cluster, tmp_path / "cli.jsonl", "upgrade", verb,
                                                              "--yes")) == 0, verb
        await _wait_for_paused(kubectl, cluster)
        argv = cockpit_args(cluster, tmp_path / "cli.jsonl", "upgrade", "abort", "--yes")
        assert await asyncio.to_thread(main, argv) == 0
        assert await asyncio.to_thread(run.wait, 60) == 1  # the run stopped: aborted
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


async def _wait_for_step(kubectl, cluster) -> None:
    def started():
        return "cockpit.dev/upgrade-step" in kubectl("get", "node", "cp-1", "-o", "json", sim=cluster).stdout
    await async_wait_until(lambda: asyncio.to_thread(started), timeout=60, what="the run's first step")


async def _wait_for_paused(kubectl, cluster) -> None:
    def paused():
        return '"cockpit.dev/upgrade-state": "paused"' in kubectl("get", "nodes", "-o", "json", sim=cluster).stdout
    await async_wait_until(lambda: asyncio.to_thread(paused), timeout=60, what="a node paused")


async def _close(pilot, app) -> None:
    """Esc, and the next key only once the operation screen is gone (else the key goes to it)."""
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, OperationScreen), what="the operation screen closed")


async def _tui_controls(pilot, app) -> None:
    """From the TUI: U, P, R, P, A, each confirmed on its screen (the CLI's run upgraded some
    nodes already, so this run counts only the rest)."""
    await answer_target(pilot, app, "U")
    screen = await apply_plan(pilot, app)
    assert screen.failed is None and "started" in str(screen.query_one("#result").render()), screen.failed
    await _close(pilot, app)
    for key in ("P", "R", "P"):
        await pilot.press(key)
        screen = await apply_plan(pilot, app)
        assert screen.failed is None, (key, screen.failed)
        await _close(pilot, app)
    await until(pilot, lambda: [n for n in NODES if cell(app, n).startswith("‖ paused")], timeout=60,
                what="a node paused")
    await pilot.press("A")
    screen = await apply_plan(pilot, app)
    assert screen.failed is None, screen.failed
    await until(pilot, lambda: pane_run(app).last_result, what="the run to end")
    assert pane_run(app).last_result.details["outcome"] == "aborted"


async def test_upgrade_controls_from_the_tui_and_the_cli_leave_the_same_records_and_events(sim_factory, kubectl,
                                                                                          tmp_path, capsys):
    """Start, pause, resume and abort: the same journal records (preview, start, result) and the same
    Events on the lock, whichever front end sends them. A slower cluster than the other tests': each
    run must still be going when its last pause arrives, on an idle machine too."""
    cluster = sim_factory(ssh=True, speed=25)
    await _cli_controls(cluster, kubectl, tmp_path)
    capsys.readouterr()
    assert LOCK not in kubectl("get", "lease", "-n", "kube-system", sim=cluster).stdout  # the abort freed it
    app = upgrade_app(cluster, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        await _tui_controls(pilot, app)
    cli, tui = _control_records(tmp_path / "cli.jsonl"), _control_records(tmp_path / "journal.jsonl")
    for action in ("upgrade-pause", "upgrade-resume", "upgrade-abort"):
        assert tui[action] == cli[action], action
        assert [event for event, _ in tui[action]][:3] == ["preview", "start", "result"], action
    assert [event for event, _ in tui["upgrade"]] == [event for event, _ in cli["upgrade"]]
    raw = kubectl("get", "--raw", "/apis/events.k8s.io/v1/namespaces/kube-system/events", sim=cluster).stdout
    on_lock = [e for e in json.loads(raw)["items"] if e["regarding"]["name"] == LOCK]
    # Once per front end: each run started and ended aborted (a run that did not finish is recorded
    # as UpgradeRunFailed), each paused twice, resumed once and was aborted once.
    assert Counter(e["reason"] for e in on_lock) == {"UpgradeStarted": 2, "UpgradeRunFailed": 2,
                                                     "UpgradePauseRequested": 4, "UpgradeResumeRequested": 2,
                                                     "UpgradeAborted": 2}
    assert {e["reportingController"] for e in on_lock} == {"cockpit"}


def _lock_reasons(kubectl, cluster) -> Counter:
    raw = kubectl("get", "--raw", "/apis/events.k8s.io/v1/namespaces/kube-system/events", sim=cluster).stdout
    return Counter(e["reason"] for e in json.loads(raw)["items"] if e["regarding"]["name"] == LOCK)


async def test_a_halted_run_retried_from_the_tui_and_the_cli_leaves_the_same_records_and_events(sim_factory,
                                                                                               kubectl, tmp_path):
    """cp-1's kubelet never comes back: the run halts; the fault cleared, retry finishes it. The
    same journal records and lock Events from `cockpit upgrade run` + `retry` as from U + T."""
    cli_cluster, tui_cluster = sim_factory(ssh=True, speed=100), sim_factory(ssh=True, speed=100)
    for cluster in (cli_cluster, tui_cluster):
        cluster.call(lambda c=cluster: c.faults.set("kubelet_never_returns", "cp-1"))
    cli_journal = tmp_path / "cli.jsonl"
    run = cockpit_args(cli_cluster, cli_journal, "upgrade", "run", "--to", TARGET, *FAST_CLI)
    assert await asyncio.to_thread(main, run) == 1  # halted at cp-1
    cli_cluster.call(lambda: cli_cluster.faults.set("kubelet_never_returns", None))
    retry = cockpit_args(cli_cluster, cli_journal, "upgrade", "retry", "--to", TARGET, *FAST_CLI)
    assert await asyncio.to_thread(main, retry) == 0

    app = upgrade_app(tui_cluster, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        await answer_target(pilot, app, "U")
        await apply_plan(pilot, app)
        await _close(pilot, app)
        halted = await until(pilot, lambda: pane_run(app).last_result, timeout=120, what="the run to halt")
        assert halted.details["outcome"] == "halted", halted.message
        tui_cluster.call(lambda: tui_cluster.faults.set("kubelet_never_returns", None))
        await pilot.press("T")
        screen = await apply_plan(pilot, app)
        assert screen.failed is None and screen.plan.title.startswith("retry: "), screen.failed
        await _close(pilot, app)
        done = await until(pilot, lambda: pane_run(app).last_result, timeout=180, what="the retried run to end")
        assert done.details["outcome"] == "done", done.message
    cli, tui = _control_records(cli_journal), _control_records(tmp_path / "journal.jsonl")
    assert [event for event, _ in tui["upgrade"]] == [event for event, _ in cli["upgrade"]]
    assert [event for event, _ in tui["upgrade"]][:3] == ["preview", "start", "result"]
    assert _lock_reasons(kubectl, tui_cluster) == _lock_reasons(kubectl, cli_cluster)
    assert _lock_reasons(kubectl, tui_cluster)["UpgradeRunFailed"] == 1


@pytest.mark.parametrize("action_id", ["upgrade.start", "upgrade.retry", "upgrade.pause", "upgrade.resume",
                                       "upgrade.skip", "upgrade.abort"])
async def test_read_only_refuses_every_upgrade_control_in_the_tui(cluster, kubectl, tmp_path, action_id):
    _mark_failed(kubectl, cluster, "worker-1")
    before = kubectl("get", "nodes", "-o", "json", sim=cluster).stdout
    app = upgrade_app(cluster, tmp_path, read_only=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(rows(app, "nodes")) == 9, what="nine nodes")
        await pilot.press("3")
        app.pane("nodes").table.move_cursor(row=[r[0] for r in rows(app, "nodes")].index("worker-1"))
        await pilot.pause()
        assert not app.check_action("run_pane_action", (action_id,))  # hidden: the key does nothing
        await app.run_pane_action(action_id)  # the palette's way in: refused (start: before it asks)
        await until(pilot, lambda: "read-only" in app.banner_text, what="the read-only refusal")
        assert not isinstance(app.screen, (PromptScreen, OperationScreen))
    refused = [e for e in read_journal(tmp_path / "journal.jsonl") if e["event"] == "refused"]
    assert refused and refused[0]["reason"] == "read-only mode"
    after = kubectl("get", "nodes", "-o", "json", sim=cluster).stdout
    assert [n["metadata"].get("annotations") for n in json.loads(after)["items"]] == \
        [n["metadata"].get("annotations") for n in json.loads(before)["items"]]
    assert kubectl("get", "lease", "-n", "kube-system", LOCK, check=False, sim=cluster).returncode != 0
