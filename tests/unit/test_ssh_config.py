"""How a node is reached: alias first, InternalIP fallback, known_hosts from the config."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from cockpit.ssh import SshConfigError
from cockpit.ssh.config import SshClientConfig
from cockpit.ssh.hostkeys import HostKeyJudge, known_hosts_line, load_known_hosts


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "ssh_config"
    path.write_text(f"Host cp-1\n  HostName 10.0.0.11\n  Port 2222\n  User admin\n  ProxyJump bastion\n"
                    f"  UserKnownHostsFile {tmp_path}/kh_cp\n\n"
                    f"Host 10.0.1.*\n  User ubuntu\n  Port 2200\n\n"
                    f"Host *\n  UserKnownHostsFile {tmp_path}/kh_all\n")
    return path


def test_alias_with_hostname_wins(config: Path, tmp_path: Path) -> None:
    target = SshClientConfig(config).target("cp-1", "10.9.9.9")
    assert (target.host, target.hostname, target.port, target.username) == ("cp-1", "10.0.0.11", 2222, "admin")
    assert target.user_known_hosts == tmp_path / "kh_cp"
    assert target.known_hosts_pattern == "[10.0.0.11]:2222"


def test_internal_ip_fallback_applies_ip_patterns(config: Path, tmp_path: Path) -> None:
    target = SshClientConfig(config).target("worker-1", "10.0.1.21")
    assert (target.host, target.hostname, target.port, target.username) == ("10.0.1.21", "10.0.1.21", 2200, "ubuntu")
    assert target.user_known_hosts == tmp_path / "kh_all"


def test_bare_name_without_address(config: Path) -> None:
    target = SshClientConfig(config).target("worker-9")
    assert (target.host, target.port, target.known_hosts_pattern) == ("worker-9", 22, "worker-9")


def test_explicit_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SshConfigError, match="does not exist"):
        SshClientConfig(tmp_path / "nope")


def test_default_known_hosts_when_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    target = SshClientConfig().target("n1", "192.0.2.1")
    assert target.user_known_hosts == tmp_path / ".ssh" / "known_hosts"


def _target(tmp_path: Path, port: int = 2222):
    config = tmp_path / "c"
    config.write_text(f"Host n1\n  HostName 127.0.0.1\n  Port {port}\n  UserKnownHostsFile {tmp_path}/kh\n")
    return SshClientConfig(config).target("n1")


def test_judge_refuses_unknown_and_changed_accepts_new(tmp_path: Path) -> None:
    target = _target(tmp_path)
    key = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()
    strict = HostKeyJudge(target, load_known_hosts(target.known_hosts), accept_new=False)
    assert not strict.judge("127.0.0.1", "127.0.0.1", 2222, key)
    assert "ssh-keyscan -p 2222 127.0.0.1" in str(strict.refusal)
    lenient = HostKeyJudge(target, load_known_hosts(target.known_hosts), accept_new=True)
    assert lenient.judge("127.0.0.1", "127.0.0.1", 2222, key) and lenient.accepted.startswith("SHA256:")
    assert (tmp_path / "kh").read_text() == known_hosts_line("[127.0.0.1]:2222", key)
    other = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()
    again = HostKeyJudge(target, load_known_hosts(target.known_hosts), accept_new=True)
    assert not again.judge("127.0.0.1", "127.0.0.1", 2222, other)
    assert "HOST KEY CHANGED" in str(again.refusal) and "ssh-keygen -R '[127.0.0.1]:2222'" in str(again.refusal)
    assert (tmp_path / "kh").read_text().count("\n") == 1
