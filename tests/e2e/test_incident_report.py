"""A demo session through the CLI (switch, roll back, upgrade), then `cockpit report` on two machines:
the operator's (journal and cluster) and a follower's (the cluster's Events only)."""

from __future__ import annotations

from datetime import datetime

import pytest

from cockpit.cli.main import main
from cockpit.journal import read_journal
from tests.support.e2e import cockpit_args
from tests.support.markdown_doc import parse

pytestmark = pytest.mark.slow

TARGET = "1.33.1"
FAST = ["--poll-interval", "0.05", "--retry-interval", "0.1", "--lease-duration", "5", "--yes"]
NODES = ["cp-1", "cp-2", "cp-3", *(f"worker-{i}" for i in range(1, 7))]


def cli(capsys, cluster, journal, *argv) -> tuple[int, str, str]:
    code = main(cockpit_args(cluster, journal, *argv))
    out, err = capsys.readouterr()
    return code, out, err


def clock(ts: str) -> str:
    """``2026-12-02 07:19:17`` of a journal timestamp, as the report prints times."""
    return datetime.fromisoformat(ts).strftime("%Y-%m-%d %H:%M:%S")


def first(journal, action: str, event: str) -> dict:
    return next(e for e in read_journal(journal) if e.get("action") == action and e.get("event") == event)


def test_report_after_a_demo_session_has_every_action_and_the_change_record(cluster, tmp_path, capsys):
    journal = tmp_path / "journal.jsonl"
    assert cli(capsys, cluster, journal, "switch", "shop/web", "--yes")[0] == 0
    assert cli(capsys, cluster, journal, "rollout", "undo", "shop/checkout", "--yes")[0] == 0
    code, out, _ = cli(capsys, cluster, journal, "upgrade", "run", "--to", TARGET, *FAST)
    assert code == 0, out[-2000:]

    # Drains moved pods around: let every rollout settle so "current state" is the settled one.
    for deployment in ("checkout", "web-blue", "web-green", "api-stable", "api-canary"):
        code, out, _ = cli(capsys, cluster, journal, "rollout", "status", f"shop/{deployment}", "--watch",
                           "--timeout", "120")
        assert code == 0, out

    report = tmp_path / "incident.md"
    code, _, err = cli(capsys, cluster, journal, "report", "--since", "1h", "--out", str(report))
    assert code == 0 and f"wrote {report}" in err, err
    doc = parse(report.read_text())

    for action, target, before, after in (
            ("switch", "shop/web", "selector app=web,color=blue", "selector app=web,color=green"),
            ("undo", "shop/checkout", "revision 2: checkout=registry.example/checkout:2.4.0-broken",
             "revision 1: checkout=registry.example/checkout:2.3.1")):
        start, result = first(journal, action, "start"), first(journal, action, "result")
        [table] = doc.tables_under(f"{clock(start['ts'])} {action} {target}: ok")
        fields = dict(table.rows)
        assert fields["Started"] == clock(start["ts"]) and fields["Finished"] == clock(result["ts"])
        assert fields["Before"].startswith(before) and fields["After"].startswith(after), fields
        assert fields["Result"] == f"ok: {result['message']}"

    upgrade = first(journal, "upgrade", "start")
    assert doc.tables_under(f"{clock(upgrade['ts'])} upgrade cluster->{TARGET}: ok")
    change = [h for level, h in doc.headings if level == 2 and h.startswith(f"Change record: upgrade to {TARGET}")]
    assert change, doc.headings
    [steps] = doc.tables_under("Node steps")
    assert set(steps.column("Node")) == set(NODES)
    cp1 = [row for row in steps.rows if row[0] == "cp-1"]
    assert [row[1] for row in cp1] == ["upgrading-kubeadm", "kubeadm-upgrade", "draining", "upgrading-kubelet",
                                       "restarting-kubelet", "waiting-ready", "uncordoning"]
    assert all(row[5].startswith("ok") for row in steps.rows)
    [verify] = doc.tables_under("Verification")
    assert verify.column("At target") == ["yes"] * len(NODES)
    [state] = doc.tables_under("Deployments")
    assert ["shop/checkout", "3/3"] == state.rows[[r[0] for r in state.rows].index("shop/checkout")][:2]
    assert (2, "Open problems") in doc.headings and "None detected" in report.read_text()

    # Another operator's machine: no journal, read-only follower. The record comes from the Events.
    other = tmp_path / "other-journal.jsonl"
    code, out, _ = cli(capsys, cluster, other, "--follow", "report", "--since", "1h")
    assert code == 0
    theirs = parse(out)
    headings = [h for _, h in theirs.headings]
    assert any(h.endswith("ServiceSwitched shop/web: ok") for h in headings), headings
    assert any(h.endswith("RolloutUndone shop/checkout: ok") for h in headings), headings
    assert any(h.startswith(f"Change record: upgrade to {TARGET}") for h in headings)
    [their_steps] = theirs.tables_under("Node steps")
    assert set(their_steps.column("Node")) == set(NODES) and set(their_steps.column("Result")) == {"done"}
    assert not other.exists()  # a follower writes no journal
