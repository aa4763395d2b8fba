"""`cockpit serve`: loopback unless told otherwise, always a follow-mode command, only its own pages."""

from __future__ import annotations

import shlex

import pytest

from cockpit.cli.main import build_parser, main
from cockpit.cli.serve import check_bind, is_loopback, is_trusted, known_hosts, served_command
from cockpit.errors import UsageError


def parse(*argv: str):
    return build_parser().parse_args(["serve", *argv])


def test_defaults_to_loopback():
    args = parse()
    assert args.host == "127.0.0.1" and not args.allow_remote


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts_are_accepted(host):
    assert is_loopback(host)
    check_bind(host, 8765, allow_remote=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "cockpit.example.com"])
def test_other_hosts_are_refused_with_the_reason_unless_allowed(host):
    assert not is_loopback(host)
    with pytest.raises(UsageError, match="no login.*--allow-remote"):
        check_bind(host, 8765, allow_remote=False)
    check_bind(host, 8765, allow_remote=True)


def test_refusal_is_one_line_and_exit_status_2(capsys):
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cockpit: --host 0.0.0.0: refusing") and "\n" not in err


@pytest.mark.parametrize("port", [0, -1, 70000])
def test_bad_ports_are_refused(port):
    with pytest.raises(UsageError, match="--port"):
        check_bind("127.0.0.1", port, allow_remote=False)


def test_served_command_is_follow_mode_with_the_same_cluster_options():
    args = parse("--kubeconfig", "/tmp/my config", "--context", "prod", "-n", "shop", "--journal", "/tmp/j.jsonl")
    argv = shlex.split(served_command(args))
    assert argv[1:4] == ["-m", "cockpit", "--follow"]
    assert argv[4:] == ["--kubeconfig", "/tmp/my config", "--context", "prod", "--namespace", "shop",
                        "--journal", "/tmp/j.jsonl"]


def test_served_command_stays_follow_mode_even_when_read_only_is_not_asked():
    argv = shlex.split(served_command(parse()))
    assert "--follow" in argv and "serve" not in argv


NAMES = known_hosts("127.0.0.1", 8765)


@pytest.mark.parametrize("headers", [
    {"Host": "127.0.0.1:8765"},
    {"Host": "127.0.0.1:8765", "Origin": "http://127.0.0.1:8765"},
    {"Host": "localhost:8765", "Origin": "http://localhost:8765"},
    {"Host": "127.0.0.1:8765", "Origin": "http://localhost:8765"},  # the page's WebSocket URL names 127.0.0.1
])
def test_own_pages_are_trusted(headers):
    assert is_trusted(headers, NAMES, allow_remote=False)


@pytest.mark.parametrize("headers", [
    {"Host": "127.0.0.1:8765", "Origin": "https://evil.example"},  # another site's page opening the socket
    {"Host": "evil.example:8765", "Origin": "http://evil.example:8765"},  # a DNS name rebound to 127.0.0.1
    {"Host": "127.0.0.1:9999"},
    {},
])
def test_other_pages_are_refused(headers):
    assert not is_trusted(headers, NAMES, allow_remote=False)


def test_remote_watchers_may_use_any_name_but_only_from_the_servers_page():
    assert is_trusted({"Host": "bastion:8765", "Origin": "http://bastion:8765"}, NAMES, allow_remote=True)
    assert not is_trusted({"Host": "bastion:8765", "Origin": "https://evil.example"}, NAMES, allow_remote=True)
