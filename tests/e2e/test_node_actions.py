"""cordon, uncordon and drain through the one driver: read-only, dry run, force rules, PDB refusals.

Every test asserts the state on the server (spec.unschedulable, cockpit's cordon record, the
pods on the node), the journal records and the Kubernetes Events, not just the exit status.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from cockpit.journal import Journal
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.paths import path_for
from tests.support.e2e import run_cli
from tests.support.operations import cockpit_events
from tests.support.wait import async_wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

CORDONED_BY = "cockpit.dev/cordoned-by"
DRAIN = ("--ignore-daemonsets", "--delete-emptydir-data", "--retry-interval", "0.1")
COMMANDS = {"cordon": ("cordon",), "uncordon": ("uncordon",), "drain": ("drain",)}


async def server_state(client, name: str) -> tuple:
    """What a node action may change: the flag, cockpit's record, the pods still on the node."""
    node = await client.get(path_for("nodes", name=name))
    listing = await client.list(path_for("pods"), {"fieldSelector": f"spec.nodeName={name}"})
    pods = sorted(p["metadata"]["name"] for p in listing["items"] if not p["metadata"].get("deletionTimestamp"))
    return (bool(node["spec"].get("unschedulable")), (node["metadata"].get("annotations") or {}).get(CORDONED_BY),
            pods)


def entries(journal_path, action: str | None = None) -> list[dict]:
    return [e for e in Journal(journal_path).entries() if action is None or e.get("action") == action]


def cli(capsys, sim, journal_path, *args) -> tuple[int, str, str]:
    return run_cli(capsys, sim, journal_path, *args)


async def cordoned_by_cockpit(capsys, sim, tmp_path, node: str) -> None:
    """Put cockpit's own cordon on ``node`` (with a journal of its own, so tests read theirs clean)."""
    code, _out, err = await asyncio.to_thread(cli, capsys, sim, tmp_path / "setup.jsonl", "cordon", node, "--yes")
    assert code == 0, err


def args_for(action: str, node: str) -> tuple[str, ...]:
    return (*COMMANDS[action], node, *(DRAIN if action == "drain" else ()))


# ----- cordon / uncordon -------------------------------------------------------------------------


async def test_cordon_and_uncordon_journal_before_after_and_record_events_on_the_node(sim, client, capsys,
                                                                                     journal_path):
    code, out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, "cordon", "worker-2", "--yes")
    assert code == 0, err
    assert "command  kubectl cordon worker-2" in out and "node/worker-2 cordoned" in out
    unschedulable, record, _pods = await server_state(client, "worker-2")
    assert unschedulable and json.loads(record)["was_unschedulable"] is False
    code, out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, "uncordon", "worker-2", "--yes")
    assert code == 0, err
    assert "node/worker-2 uncordoned" in out and "(forced)" not in out
    assert (await server_state(client, "worker-2"))[:2] == (False, None)
    cordon, uncordon = entries(journal_path, "cordon"), entries(journal_path, "uncordon")
    assert [e["event"] for e in cordon] == [e["event"] for e in uncordon] == ["preview", "start", "result"]
    assert cordon[-1]["before"] == {"unschedulable": False, "cordoned_by": None}
    assert cordon[-1]["after"]["unschedulable"] is True and cordon[-1]["after"]["cordoned_by"] == record
    assert uncordon[-1]["before"] == {"unschedulable": True, "cordoned_by": record}
    assert uncordon[-1]["after"] == {"unschedulable": False, "cordoned_by": None} and not uncordon[-1]["forced"]
    events = sorted(await cockpit_events(client, "default", "worker-2"), key=lambda e: e["eventTime"])
    assert [(e["reason"], e["regarding"]["kind"], e["type"]) for e in events] == [
        ("NodeCordoned", "Node", "Normal"), ("NodeUncordoned", "Node", "Normal")]
    assert "via cockpit" in events[0]["note"]


async def test_uncordon_refuses_a_kubectl_cordon_naming_it_and_how_to_force(sim, client, capsys, journal_path):
    await client.patch(path_for("nodes", name="worker-3"), {"spec": {"unschedulable": True}}, "merge")
    code, _out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, "uncordon", "worker-3", "--yes")
    assert code == 1
    assert "refused: uncordon node/worker-3" in err
    assert "was not cordoned by cockpit" in err and "cockpit uncordon worker-3 --force" in err
    assert (await server_state(client, "worker-3"))[0] is True
    assert [e["event"] for e in entries(journal_path, "uncordon")] == ["preview", "refused"]
    code, out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, "uncordon", "worker-3", "--force",
                                             "--yes")
    assert code == 0, err
    assert "node/worker-3 uncordoned (forced)" in out
    assert (await server_state(client, "worker-3"))[0] is False
    assert entries(journal_path, "uncordon")[-1]["forced"] is True


async def test_uncordon_asks_for_confirmation(sim, client, capsys, journal_path, tmp_path):
    await cordoned_by_cockpit(capsys, sim, tmp_path, "worker-2")
    code, _out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, "uncordon", "worker-2")
    assert code == 1 and "pass --yes" in err  # no terminal here: asking is impossible, so it refuses
    assert (await server_state(client, "worker-2"))[0] is True


# ----- read-only and dry run ---------------------------------------------------------------------


@pytest.mark.parametrize("action", ["cordon", "uncordon", "drain"])
async def test_read_only_refuses_and_changes_nothing(action, sim, client, capsys, journal_path, tmp_path):
    if action == "uncordon":
        await cordoned_by_cockpit(capsys, sim, tmp_path, "worker-2")
    events_before = await cockpit_events(client, "default", "worker-2")
    before = await server_state(client, "worker-2")
    code, _out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, "--read-only",
                                             *args_for(action, "worker-2"), "--yes")
    assert code == 1
    assert f"read-only mode: refusing to {action} worker-2" in err
    assert await server_state(client, "worker-2") == before
    assert [e["event"] for e in entries(journal_path)] == ["refused"]
    assert await cockpit_events(client, "default", "worker-2") == events_before


@pytest.mark.parametrize("action", ["cordon", "uncordon", "drain"])
async def test_dry_run_sends_dry_run_writes_and_changes_nothing(action, sim, client, capsys, journal_path,
                                                                 tmp_path):
    if action == "uncordon":
        await cordoned_by_cockpit(capsys, sim, tmp_path, "worker-2")
    events_before = await cockpit_events(client, "default", "worker-2")
    before = await server_state(client, "worker-2")
    code, out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, *args_for(action, "worker-2"),
                                             "--dry-run", "--yes")
    assert code == 0, err
    assert "[dry run] nothing changed" in out
    assert "[dry run] the API server accepted" in out  # the writes did go to the server, as dry runs
    assert await server_state(client, "worker-2") == before
    records = entries(journal_path, action)
    assert [e["event"] for e in records] == ["preview", "start", "result"]
    assert records[-1]["dry_run"] is True and records[-1]["changed"] is False
    assert records[-1]["after"] == records[-1]["before"]
    assert await cockpit_events(client, "default", "worker-2") == events_before


# ----- drain -------------------------------------------------------------------------------------


async def test_drain_plan_shows_the_kubectl_command_with_the_options_in_effect(sim, capsys, journal_path):
    code, out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, "drain", "worker-1",
                                             "--ignore-daemonsets", "--grace-period", "7", "--timeout", "2m",
                                             "--pod-selector", "app=web", "--dry-run", "--yes")
    assert code == 0, err
    assert ("command  kubectl drain worker-1 --ignore-daemonsets --pod-selector=app=web --grace-period=7 "
            "--timeout=120s\n") in out


@pytest.mark.parametrize("option", [("--grace-period", "-2"), ("--retry-interval", "0"),
                                    ("--skip-wait-for-delete-timeout", "-1"), ("--timeout", "-1s"),
                                    ("--pod-selector", "app in (web"),
                                    ("--pod-selector", "app=web", "--via-ssh", "cp-1")])
async def test_out_of_range_drain_options_are_usage_errors(option, sim, client, capsys, journal_path):
    before = await server_state(client, "worker-1")
    try:
        code, _out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, "drain", "worker-1",
                                                 "--ignore-daemonsets", *option, "--yes")
    except SystemExit as exc:  # argparse's own type check
        code, err = exc.code, capsys.readouterr().err
    assert code == 2, err
    assert option[0] in err
    assert await server_state(client, "worker-1") == before
    assert entries(journal_path) == []


async def web_pod_node(client) -> str:
    listing = await client.list(path_for("pods", "shop"), {"labelSelector": "app=web"})
    return listing["items"][0]["spec"]["nodeName"]


EXTRA_PDB = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
             "metadata": {"name": "web-extra", "namespace": "shop"},
             "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}


async def test_overlapping_pdbs_refuse_the_drain_before_any_change(sim, client, capsys, journal_path):
    await client.create(path_for("poddisruptionbudgets", "shop"), EXTRA_PDB)
    node = await web_pod_node(client)
    before = await server_state(client, node)
    code, _out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, "drain", node, *DRAIN, "--yes")
    assert code == 1
    assert f"cockpit: refused: drain node/{node}" in err
    assert "overlaps another PDB on the same pods" in err
    assert await server_state(client, node) == before
    assert [e["event"] for e in entries(journal_path)] == ["preview", "refused"]


async def test_permanent_eviction_refusal_mid_drain_stops_it_and_says_the_node_stays_cordoned(
        sim, client, capsys, journal_path):
    """A PDB blocks the drain (429, retried), then a second PDB on the same pods turns the answer
    into the eviction API's permanent 500: the drain stops instead of retrying for ever."""
    node = await web_pod_node(client)
    sim.call(lambda: sim.faults.set("blocking_pdbs", "shop/web"))
    # --timeout only bounds a broken build's drain: the 500 must end it long before
    running = asyncio.create_task(asyncio.to_thread(cli, capsys, sim, journal_path, "drain", node, *DRAIN,
                                                    "--timeout", "75s", "--json", "--yes"))
    await async_wait_until(lambda: [e for e in entries(journal_path) if e["event"] == "blocked"],
                           what="the drain to be blocked by shop/web", timeout=60)
    await client.create(path_for("poddisruptionbudgets", "shop"), EXTRA_PDB)
    code, out, err = await asyncio.wait_for(running, 70)
    doc = json.loads(out)
    assert code == 1 and not doc["ok"]
    assert "several PDBs select it" in doc["error"]
    assert f"node/{node} is left cordoned" in doc["error"] and f"cockpit uncordon {node}" in doc["error"]
    assert "cockpit: cannot evict shop/" in err
    unschedulable, record, _pods = await server_state(client, node)
    assert unschedulable and json.loads(record)["was_unschedulable"] is False
    drain = entries(journal_path, "drain")
    assert [e["event"] for e in drain][:3] == ["preview", "start", "blocked"]
    assert drain[-1]["event"] == "failure"
    blocked = next(e for e in drain if e["event"] == "blocked")
    assert blocked["pdb"] == "shop/web" and blocked["disruptionsAllowed"] == 0
    assert "shop/web" in str(drain[-1]["blocked_by"]) and drain[-1]["before"]["unschedulable"] is False
    events = await cockpit_events(client, "default", node)
    assert [(e["reason"], e["type"]) for e in events] == [("NodeDrainedFailed", "Warning")]


# ----- the PDB's unhealthy-pod eviction policy ----------------------------------------------------

FLAKY = "registry.example/flaky:1"  # runs but never turns Ready (a simulator fault below)


def flaky_pod(name: str, node: str, image: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": "flaky"}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": image}]}}


def flaky_pdb(min_available: int, policy: str | None) -> dict:
    spec = {"minAvailable": min_available, "selector": {"matchLabels": {"app": "flaky"}}}
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "flaky", "namespace": "shop"}, "spec": spec}


@pytest.mark.parametrize(("policy", "min_available", "blocks"), [
    ("AlwaysAllow", 2, False),  # a not-Ready pod goes at once, whatever the budget
    (None, 1, False),  # IfHealthyBudget (the default) with the budget met: it goes at once too
    ("IfHealthyBudget", 2, True),  # budget not met: the eviction waits like any other
], ids=["always-allow", "if-healthy-budget-met", "if-healthy-budget-short"])
async def test_preflight_follows_the_pdbs_unhealthy_pod_eviction_policy(policy, min_available, blocks, sim, client,
                                                                        capsys, journal_path):
    """The pre-flight calls a PDB blocking exactly when the API server refuses the eviction."""
    sim.call(lambda: sim.faults.set("never_ready_images", FLAKY))
    await client.create(path_for("pods", "shop"), flaky_pod("flaky-ok", "worker-3", "registry.example/flaky:2"))
    await client.create(path_for("pods", "shop"), flaky_pod("flaky-sick", "worker-4", FLAKY))
    await client.create(path_for("poddisruptionbudgets", "shop"), flaky_pdb(min_available, policy))

    async def settled():
        pdb = await client.get(path_for("poddisruptionbudgets", "shop", "flaky"))
        sick = await client.get(path_for("pods", "shop", "flaky-sick"))
        status = pdb.get("status") or {}
        return (sick["status"].get("phase") == "Running" and status.get("currentHealthy") == 1
                and status.get("desiredHealthy") == min_available and status.get("disruptionsAllowed") == 0)

    await async_wait_until(settled, what="flaky-ok Ready, flaky-sick running unready, the PDB's status counted")
    drain = ("drain", "worker-4", "--pod-selector", "app=flaky", "--force", "--retry-interval", "0.1")
    code, out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, *drain, "--dry-run", "--json", "--yes")
    assert code == 0, err
    details = json.loads(out)["result"]["details"]
    effects = {p["pdb"]: p["effect"] for p in details["preflight"]["pdbs"]}
    assert (effects.get("shop/flaky") == "blocks") is blocks, details["preflight"]["pdbs"]
    assert ("shop/flaky-sick" in details["server_refusals"]) is blocks, details["server_refusals"]
    assert ("blocks the drain" in err) is blocks
    code, out, err = await asyncio.to_thread(cli, capsys, sim, journal_path, *drain, "--timeout", "3s", "--yes")
    assert code == (1 if blocks else 0), out + err
    sick_gone = await client.list(path_for("pods", "shop"), {"fieldSelector": "metadata.name=flaky-sick"})
    assert (not [p for p in sick_gone["items"] if not p["metadata"].get("deletionTimestamp")]) is not blocks


async def test_dry_run_of_a_drain_over_ssh_runs_nothing_remotely_and_changes_nothing(sim_factory, capsys, tmp_path):
    cluster = sim_factory(ssh=True)
    client = KubeClient(load_cluster_config(cluster.kubeconfig, None))
    try:
        before = await server_state(client, "worker-5")
        code, out, err = await asyncio.to_thread(
            run_cli, capsys, cluster, tmp_path / "journal.jsonl", "--ssh-config", cluster.ssh_config, "drain",
            "worker-5", "--ignore-daemonsets", "--via-ssh", "cp-1", "--dry-run", "--yes")
        assert code == 0, err
        assert re.search(r"\[dry run\] the API server accepted (\d+) of \1 eviction", out), out
        assert "[dry run] nothing changed" in out
        assert "worker-5 |" not in out  # no remote kubectl output: nothing ran over SSH
        assert await server_state(client, "worker-5") == before
    finally:
        await client.close()


async def test_the_cordon_plans_show_their_patch_as_json(client):
    """The dry-run line is what `kubectl patch -p` takes, not a Python dict (None, single quotes)."""
    from cockpit.controllers.cordon import CordonOperation

    plan = await CordonOperation(client, "worker-3").preview()
    body = plan.dry_run.split("(merge) ", 1)[1].rsplit(" with dryRun=All", 1)[0]
    assert json.loads(body)["spec"] == {"unschedulable": True}, plan.dry_run
