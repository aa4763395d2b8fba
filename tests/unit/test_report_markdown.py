"""The incident record's Markdown, from journal entries, Events and a snapshot (no cluster needed)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cockpit.domain.redact import Redactor
from cockpit.domain.report import ReportInput, build_report, workload_of
from cockpit.domain.runbooks import detect_all
from cockpit.kube.events import event_record
from tests.support import builders as b
from tests.support.markdown_doc import parse
from tests.unit.test_runbooks import snapshot
from tests.unit.test_timeline import v1_event

T = datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc)
OPERATOR = {"user": "alice", "context": "prod", "kube_user": "admin"}


def at(seconds: float) -> str:
    return (T + timedelta(seconds=seconds)).isoformat()


def entry(seconds: float, event: str, action: str, target: str, **fields) -> dict:
    return {"ts": at(seconds), **OPERATOR, "event": event, "action": action, "target": target, **fields}


SWITCH = [
    entry(10, "preview", "switch", "shop/web", before_text="selector app=web,color=blue (3 ready blue pods)",
          after_text="selector app=web,color=green (3 ready green pods)",
          commands=["kubectl -n shop patch service web --type=merge -p '{\"spec\":{\"selector\":{\"color\":\"green\"}}}'"]),
    entry(11, "start", "switch", "shop/web", before={"selector": {"color": "blue"}}, after={"selector": {"color": "green"}}),
    entry(12, "result", "switch", "shop/web", ok=True, changed=True, message="switched shop/web to green",
          before={"selector": {"color": "blue"}}, after={"selector": {"color": "green"}}),
]
UPGRADE = [
    entry(100, "preview", "upgrade", "cluster->1.33.1", details=["upgrade 1.32.4 -> 1.33.1: 1 node", "batch 1: cp-1"],
          checks=[{"name": "version skew", "ok": True, "detail": "1.32.4 -> 1.33.1 is allowed"}],
          before={"nodes": {"cp-1": {"kubelet": "v1.32.4"}}}, before_text="API 1.32.4", after_text="1 node at 1.33.1"),
    entry(101, "start", "upgrade", "cluster->1.33.1"),
    entry(102, "command", "upgrade", "cp-1", step="upgrading-kubeadm", command="apt-get install kubeadm"),
    entry(104, "command-result", "upgrade", "cp-1", step="upgrading-kubeadm", exit_status=0),
    entry(105, "note", "upgrade", "cp-1", step="kubeadm-upgrade", message="static pods run v1.33.1"),
    entry(106, "start", "drain", "cp-1"),
    entry(107, "blocked", "drain", "cp-1", pdb="shop/web", message="needs 3 healthy"),
    entry(109, "result", "drain", "cp-1", ok=True, message="node/cp-1 drained"),
    entry(110, "command", "upgrade", "cp-1", step="restarting-kubelet", command="systemctl restart kubelet"),
    entry(115, "step", "uncordon", "cp-1"),
    entry(116, "result", "upgrade", "cluster->1.33.1", ok=True, message="all nodes at 1.33.1"),
]


def report_input(journal, events=(), objs=None) -> ReportInput:
    snap = snapshot(objs or b.demo_objects())
    return ReportInput("prod", T - timedelta(hours=2), T + timedelta(minutes=10), tuple(journal),
                       tuple(event_record(e) for e in events), snap, tuple(detect_all(snap, T)),
                       api_version="v1.33.1", journal_path="/j.jsonl", generated_by="alice")


def test_report_sections_parse_and_each_action_has_time_before_after_and_result():
    doc = parse(build_report(report_input(SWITCH + UPGRADE)))
    assert doc.headings[0] == (1, "Incident record: prod")
    assert [h for level, h in doc.headings if level == 2] == [
        "Summary", "Timeline", "Actions", "Detected problems", "Current state", "Open problems",
        "Change record: upgrade to 1.33.1"]
    [switch] = doc.tables_under("2026-12-02 07:00:11 switch shop/web: ok")
    fields = dict(switch.rows)
    assert fields["Before"] == "selector app=web,color=blue (3 ready blue pods)"
    assert fields["After"] == "selector app=web,color=green (3 ready green pods)"
    assert fields["Result"] == "ok: switched shop/web to green"
    assert fields["Operator"] == "alice (kube user admin)" and fields["Finished"] == "2026-12-02 07:00:12"
    assert "`kubectl -n shop patch service web" in fields["Equivalent commands"]
    # the upgrade's own drain is part of the change record, not a separate action
    assert not [h for _, h in doc.headings if " drain cp-1" in h]


def test_timeline_and_open_problems():
    doc = parse(build_report(report_input(SWITCH)))
    [timeline] = doc.tables_under("Timeline")
    assert "switch: switched shop/web to green; before: selector color=blue; after: selector color=green" in \
        timeline.column("What")
    assert "problem" in timeline.column("Kind")  # the bad deploy, detected now
    assert any(h.startswith("error: bad deploy: checkout revision 2") for _, h in doc.headings)
    [detected] = doc.tables_under("Detected problems")
    assert detected.column("Status") == ["open"]


def test_change_record_plan_skew_rollback_steps_and_verification():
    text = build_report(report_input(UPGRADE))
    doc = parse(text)
    assert [h for level, h in doc.headings if level == 3][-5:] == [
        "Plan", "Version-skew check", "Rollback plan", "Node steps", "Verification"]
    assert "batch 1: cp-1" in text and "Back to 1.32.4" in text
    [checks] = doc.tables_under("Version-skew check")
    assert checks.rows == [["version skew", "ok", "1.32.4 -> 1.33.1 is allowed"]]
    [steps] = doc.tables_under("Node steps")
    assert steps.column("Step") == ["upgrading-kubeadm", "kubeadm-upgrade", "draining", "restarting-kubelet",
                                    "waiting-ready", "uncordoning"]
    assert steps.column("Started")[0] == "2026-12-02 07:01:42" and steps.column("Duration")[0] == "2.0s"
    assert "waited on PDB shop/web; node/cp-1 drained" in steps.column("Notes")
    [verify] = doc.tables_under("Verification")
    assert verify.column("Node") == ["cp-1"] and verify.column("At target") == ["no"]  # builders run v1.32.4


def test_change_record_from_events_alone_names_the_operator():
    note = " (by bob (kube user admin) via cockpit, context prod)"
    events = [v1_event("UpgradeStarted", "upgrade to 1.33.1 (run-1): 1 node(s)" + note, 60, controller="cockpit",
                       kind="Lease", name="cockpit-upgrade-lock", namespace="kube-system"),
              v1_event("UpgradeNodeStarted", "upgrade to 1.33.1 (run-1) at step upgrading-kubeadm" + note, 61,
                       controller="cockpit", kind="Node", name="cp-1", namespace=""),
              v1_event("UpgradeNodeCompleted", "node at 1.33.1 (run-1)" + note, 90, controller="cockpit",
                       kind="Node", name="cp-1", namespace="")]
    doc = parse(build_report(report_input([], events)))
    assert (2, "Change record: upgrade to 1.33.1 (run-1)") in doc.headings
    [steps] = doc.tables_under("Node steps")
    assert steps.rows == [["cp-1", "all steps", "2026-12-02 07:01:01", "2026-12-02 07:01:30", "-", "done", "-"]]
    actions = [h for _, h in doc.headings if "UpgradeNodeStarted cp-1" in h]
    assert actions  # another operator's action, known from its Event
    [fields] = doc.tables_under(actions[0])
    assert dict(fields.rows)["Operator"] == "bob (kube user admin)"


def test_redacted_report_masks_addresses_and_still_parses():
    journal = [entry(5, "refused", "drain", "worker-1", reason="cannot reach 10.0.0.21")]
    text = build_report(report_input(journal), Redactor())
    assert "10.0.0.21" not in text and "ip-1" in text
    parse(text)


def test_pod_names_map_to_their_workload():
    assert workload_of("Pod", "checkout-7d9f8-x2k4p") == "checkout"
    assert workload_of("ReplicaSet", "checkout-7d9f8") == "checkout"
    assert workload_of("Node", "worker-1") == "worker-1"
