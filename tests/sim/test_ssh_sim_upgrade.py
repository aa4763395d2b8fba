"""The demo simulator's nodes over real SSH: the kubeadm procedure changes the cluster as it would.

Runs SshPool (the code path cockpit uses) against ``cockpit sim``'s SSH nodes and checks the
effects through the simulated API (and the real kubectl when it is installed).
"""

from __future__ import annotations

import json

import pytest

from cockpit.ssh import SshDropped, SshPool, commands
from tests.support.wait import async_wait_until

pytestmark = pytest.mark.slow


def _pod_image(sim, name: str) -> str:
    pod = sim.call(sim.store.get, "pods", "kube-system", name)
    return pod["spec"]["containers"][0]["image"]


def _node(sim, name: str) -> dict:
    return sim.call(sim.store.get, "nodes", None, name)


def _ready(node: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])


@pytest.fixture
def ssh_sim(sim_factory):
    return sim_factory(ssh=True)


@pytest.fixture
async def pool(ssh_sim):
    async with SshPool(ssh_config=ssh_sim.ssh_config, sudo=True) as pool:
        yield pool


async def test_first_control_plane_upgrade_moves_the_control_plane(ssh_sim, pool) -> None:
    await pool.run("cp-1", commands.install_kubeadm("debian", "1.33.1"), timeout=60, check=True)
    plan = json.loads((await pool.run("cp-1", commands.kubeadm_upgrade_plan("1.33.1"), timeout=60, check=True)).stdout)
    assert any(c["name"] == "kube-apiserver" and c["nodeName"] == "cp-1" and c["newVersion"] == "v1.33.1"
               for c in plan["availableUpgrades"][0]["components"])
    lines: list[str] = []
    await pool.run("cp-1", commands.kubeadm_upgrade_apply("1.33.1"), timeout=120, check=True,
                   on_line=lambda stream, line: lines.append(line))
    assert '[upgrade/staticpods] Component "kube-apiserver" upgraded successfully!' in lines
    assert ssh_sim.call(lambda: ssh_sim.cluster.version) == "1.33.1"
    assert _pod_image(ssh_sim, "kube-apiserver-cp-1").endswith(":v1.33.1")
    assert _pod_image(ssh_sim, "kube-apiserver-cp-2").endswith(":v1.32.4")  # until `kubeadm upgrade node` there
    await pool.run("cp-2", commands.install_kubeadm("debian", "1.33.1"), timeout=60, check=True)
    await pool.run("cp-2", commands.kubeadm_upgrade_node(), timeout=120, check=True)
    assert _pod_image(ssh_sim, "kube-scheduler-cp-2").endswith(":v1.33.1")


async def test_kubelet_upgrade_and_restart_reports_new_version(ssh_sim, pool) -> None:
    await pool.run("cp-1", commands.install_kubeadm("debian", "1.33.1"), timeout=60, check=True)
    await pool.run("cp-1", commands.kubeadm_upgrade_apply("1.33.1"), timeout=120, check=True)
    await pool.run("worker-1", commands.install_kubelet_kubectl("debian", "1.33.1"), timeout=60, check=True)
    assert _node(ssh_sim, "worker-1")["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.4"  # not restarted yet
    await pool.run("worker-1", commands.daemon_reload(), timeout=30, check=True)
    await pool.run("worker-1", commands.restart_kubelet(), timeout=30, check=True)
    await async_wait_until(lambda: _node(ssh_sim, "worker-1")["status"]["nodeInfo"]["kubeletVersion"] == "v1.33.1"
                           and _ready(_node(ssh_sim, "worker-1")), what="worker-1 Ready at v1.33.1")


async def test_kubectl_drain_and_uncordon_over_ssh(ssh_sim, pool) -> None:
    lines: list[tuple[str, str]] = []
    result = await pool.run("cp-1", commands.kubectl_drain("worker-2", delete_emptydir_data=True, timeout="120s"),
                            timeout=120, on_line=lambda s, l: lines.append((s, l)))
    assert result.ok, result.stderr
    assert ("stdout", "node/worker-2 cordoned") in lines and ("stdout", "node/worker-2 drained") in lines
    assert _node(ssh_sim, "worker-2")["spec"].get("unschedulable") is True
    left = [p for p in ssh_sim.call(ssh_sim.store.list, "pods")
            if p["spec"].get("nodeName") == "worker-2" and not p["metadata"].get("deletionTimestamp")]
    assert all(o["kind"] == "DaemonSet" for p in left for o in p["metadata"].get("ownerReferences", []))
    await pool.run("cp-1", commands.kubectl_uncordon("worker-2"), timeout=30, check=True)
    assert not _node(ssh_sim, "worker-2")["spec"].get("unschedulable")


async def test_kubectl_is_refused_on_a_worker(pool) -> None:
    result = await pool.run("worker-3", commands.kubectl_cordon("worker-3"), timeout=30)
    assert result.exit_status == 1 and "refused" in result.stderr


async def test_drop_during_kubeadm_upgrade_node_leaves_config_untouched(ssh_sim, pool) -> None:
    ssh_sim.call(ssh_sim.faults.set, "ssh_drop", "worker-4=kubeadm upgrade node")
    before = ssh_sim.call(lambda: ssh_sim.cluster.node_runtime("worker-4").config_version)
    with pytest.raises(SshDropped, match="worker-4"):
        await pool.run("worker-4", commands.kubeadm_upgrade_node(), timeout=60)
    assert ssh_sim.call(lambda: ssh_sim.cluster.node_runtime("worker-4").config_version) == before


async def test_kubelet_that_never_returns(ssh_sim, pool) -> None:
    ssh_sim.call(ssh_sim.faults.set, "kubelet_never_returns", "worker-5")
    await pool.run("worker-5", commands.restart_kubelet(), timeout=30, check=True)
    probe = await pool.run("worker-5", commands.kubelet_is_active(), timeout=30)
    assert probe.exit_status == 3 and probe.stdout.strip() == "activating"


async def test_real_openssh_client_reaches_simulated_nodes(ssh_sim) -> None:
    import shutil
    import subprocess

    if shutil.which("ssh") is None:
        pytest.skip("OpenSSH client not installed")
    out = subprocess.run(["ssh", "-F", ssh_sim.ssh_config, "-o", "BatchMode=yes", "cp-2", "kubeadm", "version",
                          "-o", "short"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == "v1.32.4\n", out.stderr


def test_kubectl_sees_the_upgraded_version(ssh_sim, kubectl) -> None:
    import asyncio

    async def upgrade() -> None:
        async with SshPool(ssh_config=ssh_sim.ssh_config) as pool:
            await pool.run("cp-1", commands.install_kubeadm("debian", "1.33.1"), timeout=60, check=True)
            await pool.run("cp-1", commands.kubeadm_upgrade_apply("1.33.1"), timeout=120, check=True)

    asyncio.run(upgrade())
    version = json.loads(kubectl("version", "-o", "json", sim=ssh_sim).stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.33.1"
