"""Simulated nodes over SSH, driven through SshPool, against a small stand-in cluster.

The stand-in implements the SimCluster surface the node shell uses (store, clock, faults,
version, node_runtime, set_control_plane_version, upgrade_node_config, restart_kubelet,
stop_kubelet) so these tests pin the shell's behaviour independently of the full simulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from cockpit.sim.clock import SimClock
from cockpit.sim.faults import Faults
from cockpit.sim.nodes.ssh import start_ssh_nodes
from cockpit.sim.store import ObjectStore
from cockpit.ssh import CommandTimeout, HostKeyChanged, HostKeyUnknown, SshDropped, SshPool, commands
from tests.support.wait import async_wait_until

CP = "node-role.kubernetes.io/control-plane"


class StandInCluster:
    """Just enough of SimCluster for the node shell."""

    def __init__(self, nodes: dict[str, str], version: str = "1.32.4") -> None:
        self.store = ObjectStore()
        self.clock = SimClock(100)
        self.faults = Faults()
        self.version = version
        self.runtimes = {}
        self.calls: list[tuple] = []
        for name, os_id in nodes.items():
            self.runtimes[name] = SimpleNamespace(
                kubelet_version=version, kubeadm_version=version, kubectl_version=version, os_id=os_id,
                kernel="6.1.0-28-amd64", kubelet_running=True, held_packages={"kubeadm", "kubelet", "kubectl"},
                installed={"kubeadm": version, "kubelet": version, "kubectl": version})
            labels = {CP: ""} if name.startswith("cp") else {}
            self.store.create("nodes", {"apiVersion": "v1", "kind": "Node",
                                        "metadata": {"name": name, "labels": labels},
                                        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                                                   "nodeInfo": {"kubeletVersion": f"v{version}"}}})

    def node_runtime(self, name: str):
        return self.runtimes[name]

    def set_control_plane_version(self, version: str, node: str | None = None) -> None:
        self.calls.append(("set_control_plane_version", version, node))
        self.version = version

    def upgrade_node_config(self, node: str) -> None:
        self.calls.append(("upgrade_node_config", node))

    def restart_kubelet(self, node: str) -> None:
        self.calls.append(("restart_kubelet", node))
        rt = self.runtimes[node]
        rt.kubelet_version = rt.installed["kubelet"]

    def stop_kubelet(self, node: str) -> None:
        self.runtimes[node].kubelet_running = False


@pytest.fixture
async def nodes(tmp_path: Path):
    cluster = StandInCluster({"cp-1": "debian", "cp-2": "debian", "worker-1": "debian", "worker-2": "rhel"})
    ssh = await start_ssh_nodes(cluster, tmp_path)
    pool = SshPool(ssh_config=str(ssh.ssh_config), sudo=True)
    try:
        yield SimpleNamespace(cluster=cluster, ssh=ssh, pool=pool, dir=tmp_path)
    finally:
        await pool.close()
        await ssh.stop()


async def test_state_dir_files(nodes) -> None:
    config = nodes.ssh.ssh_config.read_text()
    assert "Host worker-2\n  HostName 127.0.0.1\n" in config and "StrictHostKeyChecking yes" in config
    lines = nodes.ssh.known_hosts.read_text().splitlines()
    assert len(lines) == 4 and all(l.startswith("[127.0.0.1]:") for l in lines)
    assert oct(nodes.ssh.client_key.stat().st_mode & 0o777) == "0o600"


async def test_kubeadm_version_and_os_release(nodes) -> None:
    result = await nodes.pool.run("cp-1", commands.kubeadm_version(), timeout=10)
    assert result.ok and result.stdout == "v1.32.4\n"
    rhel = await nodes.pool.run("worker-2", commands.os_release(), timeout=10)
    assert commands.os_family_from_os_release(rhel.stdout) == "rhel"
    assert (await nodes.pool.run("worker-1", commands.kernel_release(), timeout=10)).stdout == "6.1.0-28-amd64\n"


async def test_unknown_command_exits_127(nodes) -> None:
    result = await nodes.pool.run("worker-1", ["frobnicate", "--now"], timeout=10)
    assert result.exit_status == 127 and "bash: frobnicate: command not found" in result.stderr
    wrong_os = await nodes.pool.run("worker-2", ["apt-get", "update"], timeout=10)
    assert wrong_os.exit_status == 127


async def test_install_kubeadm_debian_streams_and_upgrades(nodes) -> None:
    lines: list[tuple[str, str]] = []
    result = await nodes.pool.run("cp-1", commands.install_kubeadm("debian", "1.33.1"), timeout=30,
                                  on_line=lambda s, l: lines.append((s, l)))
    assert result.ok, result.stderr
    rt = nodes.cluster.runtimes["cp-1"]
    assert rt.installed["kubeadm"] == "1.33.1" and "kubeadm" in rt.held_packages
    assert ("stdout", "Canceled hold on kubeadm.") in lines and ("stdout", "kubeadm set on hold.") in lines
    assert ("stdout", "Setting up kubeadm (1.33.1-1.1) ...") in lines


async def test_held_package_is_refused_like_apt(nodes) -> None:
    result = await nodes.pool.run("worker-1", ["apt-get", "install", "-y", "kubelet=1.33.1-*"], timeout=10)
    assert result.exit_status == 100 and "--allow-change-held-packages" in result.stderr
    assert nodes.cluster.runtimes["worker-1"].installed["kubelet"] == "1.32.4"


async def test_dnf_needs_disableexcludes(nodes) -> None:
    bare = await nodes.pool.run("worker-2", ["dnf", "install", "-y", "kubeadm-1.33.1-*"], timeout=10)
    assert bare.exit_status == 1 and "No match for argument" in bare.stderr
    result = await nodes.pool.run("worker-2", commands.install_kubelet_kubectl("rhel", "1.33.1"), timeout=30)
    assert result.ok and "Complete!" in result.stdout
    assert nodes.cluster.runtimes["worker-2"].installed["kubelet"] == "1.33.1"


async def test_upgrade_apply_refuses_minor_skip_and_worker(nodes) -> None:
    await nodes.pool.run("cp-1", commands.install_kubeadm("debian", "1.33.1"), timeout=30, check=True)
    skip = await nodes.pool.run("cp-1", ["kubeadm", "upgrade", "apply", "-y", "v1.34.0"], timeout=30)
    assert skip.exit_status == 1 and "too high" in skip.stderr
    worker = await nodes.pool.run("worker-1", commands.kubeadm_upgrade_apply("1.33.1"), timeout=30)
    assert worker.exit_status == 1 and "admin.conf" in worker.stderr
    assert nodes.cluster.version == "1.32.4" and not nodes.cluster.calls


async def test_upgrade_apply_needs_new_kubeadm(nodes) -> None:
    result = await nodes.pool.run("cp-1", commands.kubeadm_upgrade_apply("1.33.1"), timeout=30)
    assert result.exit_status == 1 and "higher than the kubeadm minor release (33 > 32)" in result.stderr
    assert nodes.cluster.version == "1.32.4"


async def test_full_node_sequence_moves_versions(nodes) -> None:
    pool, cluster = nodes.pool, nodes.cluster
    await pool.run("cp-1", commands.install_kubeadm("debian", "1.33.1"), timeout=30, check=True)
    plan = await pool.run("cp-1", commands.kubeadm_upgrade_plan("1.33.1"), timeout=30, check=True)
    parsed = json.loads(plan.stdout)
    assert parsed["kind"] == "UpgradePlan"
    assert {"name": "kubelet", "currentVersion": "v1.32.4", "newVersion": "v1.33.1", "nodeName": "worker-1"} \
        in parsed["availableUpgrades"][0]["components"]
    apply = await pool.run("cp-1", commands.kubeadm_upgrade_apply("1.33.1"), timeout=60, check=True)
    assert 'upgraded to "v1.33.1"' in apply.stdout and cluster.version == "1.33.1"
    await pool.run("cp-1", commands.install_kubelet_kubectl("debian", "1.33.1"), timeout=30, check=True)
    assert cluster.runtimes["cp-1"].kubelet_version == "1.32.4"  # not until the restart
    await pool.run("cp-1", commands.daemon_reload(), timeout=10, check=True)
    await pool.run("cp-1", commands.restart_kubelet(), timeout=10, check=True)
    assert cluster.runtimes["cp-1"].kubelet_version == "1.33.1"
    active = await pool.run("cp-1", commands.kubelet_is_active(), timeout=10)
    assert active.ok and active.stdout == "active\n"
    await pool.run("worker-1", commands.install_kubeadm("debian", "1.33.1"), timeout=30, check=True)
    node = await pool.run("worker-1", commands.kubeadm_upgrade_node(), timeout=30, check=True)
    assert "Not a control plane node" in node.stdout and ("upgrade_node_config", "worker-1") in cluster.calls


async def test_kubelet_never_returns_is_visible(nodes) -> None:
    nodes.cluster.faults.kubelet_never_returns.add("worker-1")
    result = await nodes.pool.run("worker-1", commands.kubelet_is_active(), timeout=10)
    assert result.exit_status == 3 and result.stdout == "activating\n"


async def test_ssh_fail_fault(nodes) -> None:
    nodes.cluster.faults.ssh_fail["worker-1"] = "kubeadm upgrade node"
    result = await nodes.pool.run("worker-1", commands.kubeadm_upgrade_node(), timeout=10)
    assert result.exit_status == 1 and "ssh_fail" in result.stderr
    assert ("upgrade_node_config", "worker-1") not in nodes.cluster.calls
    assert (await nodes.pool.run("worker-1", ["true"], timeout=10)).ok


async def test_ssh_hang_fault_times_out(nodes) -> None:
    nodes.cluster.faults.ssh_hang["worker-1"] = "kubeadm"
    with pytest.raises(CommandTimeout):
        await nodes.pool.run("worker-1", commands.kubeadm_upgrade_node(), timeout=0.5)
    assert ("upgrade_node_config", "worker-1") not in nodes.cluster.calls


async def test_ssh_drop_fault_raises_clear_error_then_reconnects(nodes) -> None:
    nodes.cluster.faults.ssh_drop["worker-1"] = "kubeadm upgrade node"
    with pytest.raises(SshDropped, match="dropped while running .*kubeadm upgrade node.*outcome on the node is unknown"):
        await nodes.pool.run("worker-1", commands.kubeadm_upgrade_node(), timeout=10)
    assert ("upgrade_node_config", "worker-1") not in nodes.cluster.calls
    del nodes.cluster.faults.ssh_drop["worker-1"]
    assert (await nodes.pool.run("worker-1", ["echo", "back"], timeout=10)).stdout == "back\n"


async def test_chains_and_sh_c(nodes) -> None:
    result = await nodes.pool.run("worker-1", ["sh", "-c", "false && echo no; echo yes || echo never"], timeout=10)
    assert result.stdout == "yes\n"


async def test_unknown_host_key_refused_and_accept_new(nodes) -> None:
    nodes.ssh.known_hosts.write_text("")
    async with SshPool(ssh_config=str(nodes.ssh.ssh_config)) as strict:
        with pytest.raises(HostKeyUnknown, match=r"SHA256:.*ssh-keyscan -p \d+ 127.0.0.1 >> "):
            await strict.run("cp-1", ["true"], timeout=10)
    async with SshPool(ssh_config=str(nodes.ssh.ssh_config), accept_new_host_keys=True) as lenient:
        assert (await lenient.run("cp-1", ["true"], timeout=10)).ok
    assert nodes.ssh.known_hosts.read_text().startswith(f"[127.0.0.1]:{nodes.ssh.ports['cp-1']} ssh-ed25519 ")


async def test_changed_host_key_never_accepted(nodes) -> None:
    # Point cp-1's known_hosts entry at cp-2's key: what a re-imaged (or spoofed) node looks like.
    ports = nodes.ssh.ports
    lines = nodes.ssh.known_hosts.read_text().splitlines()
    cp2_key = next(l for l in lines if l.startswith(f"[127.0.0.1]:{ports['cp-2']} ")).split(" ", 1)[1]
    forged = [f"[127.0.0.1]:{ports['cp-1']} {cp2_key}" if l.startswith(f"[127.0.0.1]:{ports['cp-1']} ") else l
              for l in lines]
    nodes.ssh.known_hosts.write_text("\n".join(forged) + "\n")
    async with SshPool(ssh_config=str(nodes.ssh.ssh_config), accept_new_host_keys=True) as pool:
        with pytest.raises(HostKeyChanged, match="HOST KEY CHANGED for cp-1.*ssh-keygen -R"):
            await pool.run("cp-1", ["true"], timeout=10)
    assert nodes.ssh.known_hosts.read_text() == "\n".join(forged) + "\n"


async def test_keys_and_ports_reused_across_restarts(nodes, tmp_path: Path) -> None:
    before_known = nodes.ssh.known_hosts.read_text()
    ports = dict(nodes.ssh.ports)
    await nodes.pool.close()
    await nodes.ssh.stop()
    again = await start_ssh_nodes(nodes.cluster, tmp_path)
    try:
        assert again.ports == ports and again.known_hosts.read_text() == before_known
    finally:
        await again.stop()


async def test_reconnects_after_the_server_dropped_an_idle_connection(nodes) -> None:
    first = await nodes.pool.connect("worker-1")
    for conn in list(nodes.ssh._connections):
        conn.abort()
    result = await nodes.pool.run("worker-1", ["echo", "again"], timeout=10)
    assert result.stdout == "again\n" and await nodes.pool.connect("worker-1") is not first


async def test_package_versions_probe(nodes) -> None:
    deb = await nodes.pool.run("worker-1", commands.package_versions("debian"), timeout=10)
    assert deb.stdout.splitlines() == ["kubeadm 1.32.4-1.1", "kubelet 1.32.4-1.1", "kubectl 1.32.4-1.1"]
    rpm = await nodes.pool.run("worker-2", commands.package_versions("rhel"), timeout=10)
    assert rpm.stdout.splitlines()[0] == "kubeadm 1.32.4-150500.1.1"
    held = await nodes.pool.run("worker-1", commands.held_packages(), timeout=10)
    assert held.stdout.split() == ["kubeadm", "kubectl", "kubelet"]


async def test_repository_lacks_a_skipped_minor(nodes) -> None:
    result = await nodes.pool.run("worker-1", commands.install_kubeadm("debian", "1.34.0"), timeout=30)
    assert result.exit_status == 100 and "E: Version '1.34.0-*' for 'kubeadm' was not found" in result.stderr
    assert nodes.cluster.runtimes["worker-1"].installed["kubeadm"] == "1.32.4"


async def test_plan_text_and_up_to_date(nodes) -> None:
    current = await nodes.pool.run("cp-1", ["kubeadm", "upgrade", "plan"], timeout=30)
    assert current.ok and "Awesome, you're up-to-date! Enjoy!" in current.stdout
    await nodes.pool.run("cp-1", commands.install_kubeadm("debian", "1.33.1"), timeout=30, check=True)
    plan = await nodes.pool.run("cp-1", commands.kubeadm_upgrade_plan("1.33.1", output_json=False), timeout=30)
    assert "kubeadm upgrade apply v1.33.1" in plan.stdout
    assert any(line.split()[:4] == ["kubelet", "worker-2", "v1.32.4", "v1.33.1"] for line in plan.stdout.splitlines())
    worker = await nodes.pool.run("worker-1", commands.kubeadm_upgrade_plan("1.33.1"), timeout=30)
    assert worker.exit_status == 1 and "admin.conf" in worker.stderr


async def test_apply_without_yes_does_not_hang(nodes) -> None:
    await nodes.pool.run("cp-1", commands.install_kubeadm("debian", "1.33.1"), timeout=30, check=True)
    result = await nodes.pool.run("cp-1", ["kubeadm", "upgrade", "apply", "v1.33.1"], timeout=30)
    assert result.exit_status == 1 and "Are you sure you want to proceed" in result.stdout
    assert nodes.cluster.version == "1.32.4"


async def test_wildcard_fault_fails_every_command(nodes) -> None:
    nodes.cluster.faults.ssh_fail["worker-1"] = "*"
    assert (await nodes.pool.run("worker-1", commands.kernel_release(), timeout=10)).exit_status == 1
    assert (await nodes.pool.run("worker-2", commands.kernel_release(), timeout=10)).ok


async def test_apply_refused_while_a_control_plane_is_not_ready(nodes) -> None:
    await nodes.pool.run("cp-1", commands.install_kubeadm("debian", "1.33.1"), timeout=30, check=True)

    def not_ready(node: dict) -> None:
        node["status"]["conditions"][0]["status"] = "False"

    nodes.cluster.store.mutate("nodes", None, "cp-2", not_ready)
    result = await nodes.pool.run("cp-1", commands.kubeadm_upgrade_apply("1.33.1"), timeout=30)
    assert result.exit_status == 1 and "[ERROR ControlPlaneNodesReady]" in result.stderr and "[cp-2]" in result.stderr
    assert nodes.cluster.version == "1.32.4"


async def test_concurrent_commands_share_one_connection_per_node(nodes) -> None:
    import asyncio

    results = await asyncio.gather(*(nodes.pool.run(node, ["hostname"], timeout=10)
                                     for node in ("cp-1", "cp-1", "cp-1", "worker-1", "worker-2")))
    assert [r.stdout.strip() for r in results] == ["cp-1", "cp-1", "cp-1", "worker-1", "worker-2"]
    assert len(nodes.ssh._connections) == 3


async def test_cancelled_command_closes_its_channel(nodes) -> None:
    import asyncio

    nodes.cluster.faults.ssh_hang["worker-1"] = "kubeadm"
    task = asyncio.ensure_future(nodes.pool.run("worker-1", commands.kubeadm_upgrade_node(), timeout=None))
    await async_wait_until(lambda: nodes.ssh._connections, what="worker-1 to accept the SSH connection")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await nodes.pool.run("worker-1", ["echo", "still usable"], timeout=10)).ok


async def test_last_status_expansion(nodes) -> None:
    result = await nodes.pool.run("worker-1", ["sh", "-c", "nosuch; echo rc=$?"], timeout=10)
    assert result.stdout == "rc=127\n" and result.ok
