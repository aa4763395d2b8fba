"""Validators and command builders: nothing hostile reaches a remote shell unquoted."""

from __future__ import annotations

import re
import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.ssh import UnsafeArgument, commands

SHELL_META = set(";&|$`'\"\\<>(){}*?[]~!#\n\t ")
versions = st.tuples(*[st.integers(0, 9999)] * 3).map(lambda t: ".".join(map(str, t)))
hostile = st.text(min_size=1, max_size=40).filter(lambda s: not re.fullmatch(r"[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}", s))


@given(versions)
def test_valid_versions_pass(version: str) -> None:
    assert commands.validate_version(version) == version


@given(hostile)
def test_anything_else_is_not_a_version(text: str) -> None:
    with pytest.raises(UnsafeArgument):
        commands.validate_version(text)


@pytest.mark.parametrize("bad", ["v1.33.1", "1.33", "1.33.1-1", "1.33.1 ", " 1.33.1", "1.33.1\n", "1.33.1;id",
                                 "1.33.1$(id)", "１.33.1", "12345.1.1", "01.33.1", "1.033.1", "1.33.0-rc.1"])
def test_near_miss_versions_rejected(bad: str) -> None:
    with pytest.raises(UnsafeArgument) as info:
        commands.validate_version(bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("good", ["1.33.1-1.1", "1.33.1-*", "1.29.4-2.1", "1.33.1-150500.1.1", "1.28.0-00"])
def test_package_versions(good: str) -> None:
    assert commands.validate_package_version(good) == good


@pytest.mark.parametrize("bad", ["1.33.1", "1.33.1-", "1.33.1-1.1;id", "1.33.1-x", "1.33.1-1*", "1.33.1-1.1 -o",
                                 "1.33.1--1"])
def test_bad_package_versions(bad: str) -> None:
    with pytest.raises(UnsafeArgument):
        commands.validate_package_version(bad)


@given(st.text(max_size=80))
def test_node_names_accepted_only_when_dns1123(name: str) -> None:
    try:
        commands.validate_node_name(name)
    except UnsafeArgument:
        return
    # Anything accepted contains no shell metacharacter and no uppercase at all.
    assert not SHELL_META & set(name) and name == name.lower() and name and not name.startswith("-")


@pytest.mark.parametrize("good", ["worker-1", "cp-1.example.com", "a", "ip-10-0-0-1.ec2.internal"])
def test_good_node_names(good: str) -> None:
    assert commands.validate_node_name(good) == good


@pytest.mark.parametrize("bad", ["-rf", "Worker-1", "a;b", "a b", "$(id)", "a..b", "a-", "", "x" * 254, "node_1"])
def test_bad_node_names(bad: str) -> None:
    with pytest.raises(UnsafeArgument):
        commands.validate_node_name(bad)


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0"), max_size=30), min_size=1, max_size=6))
def test_to_shell_round_trips_through_a_posix_shell_parser(argv: list[str]) -> None:
    assert shlex.split(commands.to_shell(argv)) == argv


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0"), max_size=20), min_size=1, max_size=4),
       st.lists(st.text(alphabet=st.characters(blacklist_characters="\0"), max_size=20), min_size=1, max_size=4))
def test_chain_keeps_every_argument_quoted(a: list[str], b: list[str]) -> None:
    argv = commands.chain(a, b)
    assert argv[:2] == ["sh", "-c"]
    script = shlex.split(commands.to_shell(argv))[2]
    assert script == f"{shlex.join(a)} && {shlex.join(b)}"


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=60), st.sampled_from(["debian", "rhel"]))
def test_hostile_versions_never_reach_a_builder(text: str, os_family: str) -> None:
    builders = [lambda: commands.install_kubeadm(os_family, text),
                lambda: commands.install_kubelet_kubectl(os_family, text),
                lambda: commands.kubeadm_upgrade_apply(text),
                lambda: commands.kubeadm_upgrade_plan(text),
                lambda: commands.install_kubeadm(os_family, "1.33.1", text)]
    for build in builders:
        try:
            argv = build()
        except UnsafeArgument:
            continue
        line = commands.to_shell(argv)
        assert shlex.split(line) == argv
        assert not (set(text) & (SHELL_META - {"*"})), f"{text!r} accepted into {line!r}"


@given(st.text(min_size=1, max_size=60))
def test_hostile_node_names_never_reach_kubectl(text: str) -> None:
    for build in (commands.kubectl_drain, commands.kubectl_cordon, commands.kubectl_uncordon):
        try:
            argv = build(text)
        except UnsafeArgument:
            continue
        assert argv[4] == text and not SHELL_META & set(text)


def test_exact_debian_commands() -> None:
    assert commands.to_shell(commands.install_kubeadm("debian", "1.33.1", "1.1")) == (
        "sh -c 'apt-mark unhold kubeadm && apt-get update && apt-get install -y kubeadm=1.33.1-1.1 "
        "&& apt-mark hold kubeadm'")
    assert commands.to_shell(commands.install_kubelet_kubectl("debian", "1.33.1")) == (
        "sh -c 'apt-mark unhold kubelet kubectl && apt-get update && apt-get install -y "
        "'\"'\"'kubelet=1.33.1-*'\"'\"' '\"'\"'kubectl=1.33.1-*'\"'\"' && apt-mark hold kubelet kubectl'")


def test_exact_rhel_and_kubeadm_commands() -> None:
    assert commands.install_kubeadm("rhel", "1.33.1") == [
        "dnf", "install", "-y", "kubeadm-1.33.1-*", "--disableexcludes=kubernetes"]
    assert commands.kubeadm_upgrade_apply("1.33.1") == ["kubeadm", "upgrade", "apply", "-y", "v1.33.1"]
    assert commands.kubeadm_upgrade_plan("1.33.1") == ["kubeadm", "upgrade", "plan", "v1.33.1", "-o", "json"]
    assert commands.kubectl_drain("worker-1", delete_emptydir_data=True, timeout="300s") == [
        "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "drain", "worker-1", "--ignore-daemonsets",
        "--delete-emptydir-data", "--timeout=300s"]
    assert commands.to_shell(commands.with_sudo(commands.restart_kubelet())) == "sudo -n systemctl restart kubelet"


def test_os_family_from_os_release() -> None:
    assert commands.os_family_from_os_release('ID=ubuntu\nID_LIKE=debian\n') == "debian"
    assert commands.os_family_from_os_release('ID="rocky"\nID_LIKE="rhel centos fedora"\n') == "rhel"
    with pytest.raises(UnsafeArgument):
        commands.os_family_from_os_release("ID=alpine\n")


def test_to_shell_rejects_nul_and_empty() -> None:
    with pytest.raises(UnsafeArgument):
        commands.to_shell(["echo", "a\0b"])
    with pytest.raises(UnsafeArgument):
        commands.to_shell([])
