"""SshPool against OpenSSH's real sshd on loopback (skipped where /usr/sbin/sshd is missing)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cockpit.ssh import CommandTimeout, HostKeyChanged, HostKeyUnknown, SshAuthFailed, SshPool, SshUnreachable
from tests.support.wait import wait_until

SSHD = "/usr/sbin/sshd"
pytestmark = [pytest.mark.sshd, pytest.mark.skipif(not os.path.exists(SSHD), reason="OpenSSH sshd not installed")]


@dataclass
class Sshd:
    port: int
    ssh_config: Path
    known_hosts: Path
    host_pub: Path
    process: subprocess.Popen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def _wait_listening(port: int, process: subprocess.Popen) -> None:
    """Until sshd accepts connections on ``port``; RuntimeError (with its stderr) if it exits."""
    def accepting() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {process.stderr.read() if process.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    wait_until(accepting, what=f"sshd to listen on 127.0.0.1:{port}")


def _ensure_privsep_dir() -> None:
    """sshd refuses to start without its privilege separation directory (Debian: /run/sshd)."""
    try:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    except OSError as exc:
        pytest.skip(f"cannot create /run/sshd for sshd: {exc}")


@pytest.fixture
def sshd(tmp_path: Path):
    """A throwaway sshd on 127.0.0.1 with its own host key; only our client key is authorised."""
    _ensure_privsep_dir()
    _keygen(tmp_path / "host_key")
    _keygen(tmp_path / "client_key")
    shutil.copy(tmp_path / "client_key.pub", tmp_path / "authorized_keys")
    port = _free_port()
    user = os.environ.get("USER") or __import__("getpass").getuser()
    (tmp_path / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {tmp_path / 'host_key'}\n"
        f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        f"PasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\n"
        f"PidFile {tmp_path / 'sshd.pid'}\nLogLevel ERROR\n")
    host_pub = (tmp_path / "host_key.pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(
        f"Host node-a\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n"
        f"  IdentityFile {tmp_path / 'client_key'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known_hosts}\n  StrictHostKeyChecking yes\n")
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(tmp_path / "sshd_config")],
                               stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(port, process)
        yield Sshd(port, ssh_config, known_hosts, tmp_path / "host_key.pub", process)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_runs_command_and_streams_lines(sshd: Sshd) -> None:
    lines: list[tuple[str, str]] = []
    async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
        result = await pool.run("node-a", ["sh", "-c", "echo one; echo two >&2; echo three; exit 3"],
                                timeout=10, on_line=lambda s, l: lines.append((s, l)))
    assert result.exit_status == 3
    assert result.stdout == "one\nthree\n"
    assert ("stderr", "two") in lines and ("stdout", "one") in lines and ("stdout", "three") in lines


async def test_connection_is_reused(sshd: Sshd) -> None:
    async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
        first = await pool.connect("node-a")
        await pool.run("node-a", ["true"], timeout=10)
        assert await pool.connect("node-a") is first


async def test_hostile_argument_reaches_the_remote_verbatim(sshd: Sshd) -> None:
    hostile = "x'; touch /tmp/pwned-$$; echo '"
    async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
        result = await pool.run("node-a", ["printf", "%s", hostile], timeout=10)
    assert result.stdout == hostile


async def test_timeout_closes_the_command(sshd: Sshd) -> None:
    async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
        with pytest.raises(CommandTimeout, match="did not finish within 0.5s"):
            await pool.run("node-a", ["sleep", "30"], timeout=0.5)
        assert (await pool.run("node-a", ["echo", "after"], timeout=10)).stdout == "after\n"


async def test_unknown_host_key_is_refused_with_fingerprint_and_remedy(sshd: Sshd) -> None:
    sshd.known_hosts.write_text("")
    async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
        with pytest.raises(HostKeyUnknown) as info:
            await pool.run("node-a", ["true"], timeout=10)
    message = str(info.value)
    assert "SHA256:" in message and f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {sshd.known_hosts}" in message
    assert "\n" not in message


async def test_accept_new_appends_the_key_openssh_can_use(sshd: Sshd) -> None:
    sshd.known_hosts.write_text("")
    async with SshPool(ssh_config=str(sshd.ssh_config), accept_new_host_keys=True) as pool:
        assert (await pool.run("node-a", ["echo", "hi"], timeout=10)).ok
    assert sshd.known_hosts.read_text().startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
    # OpenSSH's own client agrees with the entry we wrote.
    ssh = subprocess.run(["ssh", "-F", str(sshd.ssh_config), "-o", "BatchMode=yes", "node-a", "echo", "ok"],
                         capture_output=True, text=True, timeout=20)
    assert ssh.stdout.strip() == "ok", ssh.stderr


async def test_changed_host_key_is_refused_even_with_accept_new(sshd: Sshd, tmp_path: Path) -> None:
    _keygen(tmp_path / "other_key")
    other = (tmp_path / "other_key.pub").read_text().split()
    sshd.known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {other[0]} {other[1]}\n")
    async with SshPool(ssh_config=str(sshd.ssh_config), accept_new_host_keys=True) as pool:
        with pytest.raises(HostKeyChanged) as info:
            await pool.run("node-a", ["true"], timeout=10)
    assert "ssh-keygen -R" in str(info.value) and info.value.old_fingerprints
    assert sshd.known_hosts.read_text().count("\n") == 1


async def test_lines_stream_as_they_are_produced(sshd: Sshd) -> None:
    seen: dict[str, float] = {}
    async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
        await pool.run("node-a", ["sh", "-c", "echo first; sleep 0.6; echo second"], timeout=10,
                       on_line=lambda s, l: seen.setdefault(l, time.monotonic()))
    assert seen["second"] - seen["first"] > 0.4


async def test_sudo_prefix_is_sent(sshd: Sshd) -> None:
    async with SshPool(ssh_config=str(sshd.ssh_config), sudo=True) as pool:
        result = await pool.run("node-a", ["true"], timeout=10)
    assert result.command == "sudo -n true"


async def test_proxyjump_from_the_ssh_config(sshd: Sshd) -> None:
    # node-b is reached through node-a (the same sshd, forwarding to itself): ProxyJump as in a bastion setup.
    text = sshd.ssh_config.read_text()
    sshd.ssh_config.write_text(text + text.replace("Host node-a", "Host node-b").replace(
        "StrictHostKeyChecking yes\n", "StrictHostKeyChecking yes\n  ProxyJump node-a\n"))
    async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
        result = await pool.run("node-b", ["echo", "via-jump"], timeout=20)
    assert result.stdout == "via-jump\n"


async def test_uses_the_ssh_agent(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("ssh-agent") is None:
        pytest.skip("ssh-agent not installed")
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        _wait_for_path(sock)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(tmp_path / "client_key")], env=env, check=True, timeout=10)
        # No IdentityFile any more: only the agent holds the key.
        config = "".join(line for line in sshd.ssh_config.read_text().splitlines(keepends=True)
                         if "IdentityFile" not in line and "IdentitiesOnly" not in line)
        sshd.ssh_config.write_text(config)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/id_* to fall back on
        async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
            assert (await pool.run("node-a", ["echo", "agent"], timeout=10)).stdout == "agent\n"
    finally:
        agent.terminate()
        agent.wait(5)


def _wait_for_path(path: Path) -> None:
    """Until the agent accepts connections on its socket (the file appears before listen())."""
    def accepting() -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(path))
        except OSError:
            return False
        return True

    wait_until(accepting, what=f"ssh-agent to listen on {path}")


async def test_rejected_key_is_a_clear_auth_error(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _keygen(tmp_path / "stranger")
    sshd.ssh_config.write_text(sshd.ssh_config.read_text().replace(str(tmp_path / "client_key"),
                                                                   str(tmp_path / "stranger")))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
        with pytest.raises(SshAuthFailed, match=r"node-a \(.*@127.0.0.1:\d+\) was refused"):
            await pool.run("node-a", ["true"], timeout=10)


async def test_unreachable_port_is_a_connection_problem(sshd: Sshd) -> None:
    sshd.ssh_config.write_text(sshd.ssh_config.read_text().replace(f"Port {sshd.port}", f"Port {_free_port()}"))
    async with SshPool(ssh_config=str(sshd.ssh_config)) as pool:
        with pytest.raises(SshUnreachable, match="cannot reach node-a"):
            await pool.run("node-a", ["true"], timeout=10)
