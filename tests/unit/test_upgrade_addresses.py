"""The upgrade reaches a node by its InternalIP when the SSH config has no Host entry for it."""

from cockpit.controllers.upgrade_facts import Snapshot, teach_addresses
from cockpit.domain.records import decode
from cockpit.ssh.pool import SshPool


def test_pool_learns_each_nodes_internal_ip(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text("Host bastion\n  HostName 127.0.0.1\n")
    node = decode("nodes", {"metadata": {"name": "worker-9", "uid": "u9"},
                            "status": {"addresses": [{"type": "Hostname", "address": "worker-9"},
                                                     {"type": "InternalIP", "address": "192.0.2.19"}]}})
    pool = SshPool(ssh_config=str(config))
    teach_addresses(pool, Snapshot("v1.32.4", [node], [], []))
    assert pool.target("worker-9").host == "192.0.2.19"
