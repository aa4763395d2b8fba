"""`cockpit drain` / `cockpit uncordon` against the simulator, side by side with the real kubectl."""

from __future__ import annotations

import json

import pytest

from cockpit.cli.main import main

DS_ERROR = "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/kube-proxy-"
FAST = ["--retry-interval", "0.1"]


def cockpit(sim, tmp_path, *args):
    return main(["--kubeconfig", sim.kubeconfig, "--journal", str(tmp_path / "journal.jsonl"), *args])


def node(kubectl, name, sim=None):
    return json.loads(kubectl("get", "node", name, "-o", "json", sim=sim).stdout)


def pods_on(kubectl, name):
    doc = json.loads(kubectl("get", "pods", "-A", "-o", "json", "--field-selector", f"spec.nodeName={name}").stdout)
    return [p for p in doc["items"] if not p["metadata"].get("deletionTimestamp")]


def owner_kind(pod):
    refs = pod["metadata"].get("ownerReferences") or [{}]
    return refs[0].get("kind")


def test_daemonset_pods_refuse_the_drain_like_kubectl_and_nothing_changes(sim, kubectl, tmp_path, capsys):
    rc = cockpit(sim, tmp_path, "drain", "worker-1", "--yes")
    err = capsys.readouterr().err
    theirs = kubectl("drain", "worker-1", "--dry-run=server", check=False)
    assert rc == 1 and theirs.returncode != 0
    assert DS_ERROR in err and DS_ERROR in theirs.stderr
    assert "cockpit: refused: drain node/worker-1" in err
    assert not node(kubectl, "worker-1")["spec"].get("unschedulable")  # pre-flight before any change


def test_dry_run_shows_the_preflight_and_changes_nothing(sim, kubectl, tmp_path, capsys):
    rc = cockpit(sim, tmp_path, "drain", "worker-1", "--ignore-daemonsets", "--dry-run", "--json")
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["ok"]
    pre = doc["result"]["details"]["preflight"]
    assert doc["result"]["dry_run"] and not doc["result"]["changed"]
    managed = {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in pods_on(kubectl, "worker-1")
               if owner_kind(p) not in ("DaemonSet", None)}
    assert {p["namespace"] + "/" + p["name"] for p in pre["evict"]} == managed
    assert [p["reason"] for p in pre["skip"]] == ["daemonset"]
    assert pre["capacity"]["ok"] and pre["capacity"]["needed"] == len(managed)
    assert not node(kubectl, "worker-1")["spec"].get("unschedulable")


def test_drain_evicts_records_the_cordon_and_uncordon_lifts_it(sim, kubectl, tmp_path, capsys, wait_for):
    rc = cockpit(sim, tmp_path, "drain", "worker-1", "--ignore-daemonsets", "--yes", *FAST)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "node/worker-1 drained" in out
    cordoned = node(kubectl, "worker-1")
    assert cordoned["spec"]["unschedulable"] is True
    record = json.loads(cordoned["metadata"]["annotations"]["cockpit.dev/cordoned-by"])
    assert record["was_unschedulable"] is False and record["run"]
    assert {owner_kind(p) for p in pods_on(kubectl, "worker-1")} <= {"DaemonSet"}
    assert cockpit(sim, tmp_path, "uncordon", "worker-1", "--yes") == 0
    after = node(kubectl, "worker-1")
    assert not after["spec"].get("unschedulable")
    assert "cockpit.dev/cordoned-by" not in (after["metadata"].get("annotations") or {})


def test_uncordon_leaves_a_cordon_cockpit_did_not_place(sim, kubectl, tmp_path, capsys):
    kubectl("cordon", "worker-3")
    assert cockpit(sim, tmp_path, "uncordon", "worker-3", "--yes") == 1
    err = capsys.readouterr().err
    assert "refused: uncordon node/worker-3" in err and "was not cordoned by cockpit" in err
    assert "cockpit uncordon worker-3 --force" in err
    assert node(kubectl, "worker-3")["spec"]["unschedulable"] is True
    assert cockpit(sim, tmp_path, "uncordon", "worker-3", "--force", "--yes") == 0
    assert "node/worker-3 uncordoned (forced)" in capsys.readouterr().out
    assert not node(kubectl, "worker-3")["spec"].get("unschedulable")


def test_blocking_pdb_is_named_with_its_numbers(sim, kubectl, tmp_path, capsys):
    web_node = next(p["spec"]["nodeName"] for p in json.loads(kubectl("get", "pods", "-n", "shop", "-l", "app=web",
                                                                      "-o", "json").stdout)["items"])
    sim.call(lambda: sim.faults.set("blocking_pdbs", "shop/web"))
    rc = cockpit(sim, tmp_path, "drain", web_node, "--ignore-daemonsets", "--yes", "--timeout", "1s", "--json", *FAST)
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert rc == 1 and not doc["ok"]
    assert "did not complete within 1s" in doc["error"]
    assert "PDB shop/web" in doc["error"] and "disruptionsAllowed=0" in doc["error"]
    assert f"node/{web_node} is left cordoned" in doc["error"] and f"cockpit uncordon {web_node}" in doc["error"]
    assert doc["result"]["details"]["blocked_by"]
    assert "will retry after 0.1s" in captured.err
    assert node(kubectl, web_node)["spec"]["unschedulable"] is True  # like kubectl: a failed drain stays cordoned


BARE_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "scratch", "namespace": "default"},
            "spec": {"nodeName": "worker-4", "containers": [{"name": "c", "image": "registry.example/tool:1"}],
                     "volumes": [{"name": "tmp", "emptyDir": {}}]}}


def test_emptydir_and_unmanaged_pods_need_the_kubectl_flags(sim, kubectl, tmp_path, capsys):
    kubectl("create", "-f", "-", input=json.dumps(BARE_POD))
    rc = cockpit(sim, tmp_path, "drain", "worker-4", "--ignore-daemonsets", "--yes")
    err = capsys.readouterr().err
    theirs = kubectl("drain", "worker-4", "--ignore-daemonsets", "--dry-run=server", check=False)
    local = "cannot delete Pods with local storage (use --delete-emptydir-data to override): default/scratch"
    assert rc == 1 and local in err and local in theirs.stderr
    rc = cockpit(sim, tmp_path, "drain", "worker-4", "--ignore-daemonsets", "--delete-emptydir-data", "--yes")
    err = capsys.readouterr().err
    unmanaged = "cannot delete Pods declare no controller (use --force to override): default/scratch"
    assert rc == 1 and unmanaged in err
    assert not node(kubectl, "worker-4")["spec"].get("unschedulable")
    rc = cockpit(sim, tmp_path, "drain", "worker-4", "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                 "--yes", *FAST)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Warning: deleting Pods that declare no controller: default/scratch" in out


def test_read_only_refuses_drain(sim, kubectl, tmp_path, capsys):
    rc = cockpit(sim, tmp_path, "--read-only", "drain", "worker-2", "--ignore-daemonsets", "--yes")
    assert rc == 1
    assert "read-only mode: refusing to drain worker-2" in capsys.readouterr().err
    assert not node(kubectl, "worker-2")["spec"].get("unschedulable")


@pytest.mark.slow
def test_drain_via_ssh_streams_kubectl_output(sim_factory, kubectl, tmp_path, capsys):
    cluster = sim_factory(ssh=True)
    rc = main(["--kubeconfig", cluster.kubeconfig, "--ssh-config", cluster.ssh_config, "--journal",
               str(tmp_path / "j"), "drain", "worker-5", "--ignore-daemonsets", "--via-ssh", "cp-1", "--yes"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "worker-5 | node/worker-5 cordoned" in out
    assert "drained" in out
    assert node(kubectl, "worker-5", sim=cluster)["spec"]["unschedulable"] is True


def test_server_dry_run_asks_the_api_server_about_each_eviction(sim, kubectl, tmp_path, capsys):
    web = json.loads(kubectl("get", "pods", "-n", "shop", "-l", "app=web", "-o", "json").stdout)["items"][0]
    sim.call(lambda: sim.faults.set("blocking_pdbs", "shop/web"))
    rc = cockpit(sim, tmp_path, "drain", web["spec"]["nodeName"], "--ignore-daemonsets", "--dry-run=server", "--json")
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert rc == 0, doc
    key = f"shop/{web['metadata']['name']}"
    assert doc["result"]["details"]["server_refusals"][key].startswith("retry: ")
    assert f"the API server would retry the eviction of {key}" in captured.err
    assert kubectl("get", "pod", "-n", "shop", web["metadata"]["name"]).returncode == 0  # nothing evicted
    assert not node(kubectl, web["spec"]["nodeName"])["spec"].get("unschedulable")
