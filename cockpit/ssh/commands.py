"""Remote commands as argv lists, validated and quoted before they can reach a shell.

Every builder returns ``list[str]``; :func:`to_shell` turns one into the single command
line SSH sends (``shlex.join``: every argument quoted). Steps that are a chain of commands
(the apt hold/unhold dance) become ``["sh", "-c", SCRIPT]`` where SCRIPT itself is built
from quoted argvs, so ``sudo`` (prepended by the pool) covers the whole chain.

Validators raise :class:`cockpit.ssh.errors.UnsafeArgument` on anything outside a strict
pattern: ``validate_version`` (``1.33.1``), ``validate_package_revision`` (``1.1``, ``*``),
``validate_package_version`` (``1.33.1-1.1``, ``1.33.1-*``), ``validate_node_name``
(DNS-1123 subdomain). The builders validate their inputs themselves.

Builders (``os_family`` is ``"debian"`` or ``"rhel"``, see :func:`os_family_from_os_release`):
``kubeadm_version``, ``os_release``, ``kernel_release``, ``install_kubeadm``,
``kubeadm_upgrade_plan``, ``kubeadm_upgrade_apply``, ``kubeadm_upgrade_node``,
``install_kubelet_kubectl``, ``daemon_reload``, ``restart_kubelet``, ``kubelet_is_active``,
``kubectl_drain``, ``kubectl_cordon``, ``kubectl_uncordon``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from cockpit.domain import versions
from cockpit.ssh.errors import UnsafeArgument

ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf"
OS_FAMILIES = ("debian", "rhel")

# [0-9], not \d: \d also matches non-ASCII digits such as "１".
_VERSION = re.compile(r"[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}")
_REVISION = re.compile(r"\*|[0-9]{1,6}(\.[0-9]{1,6}){0,3}")
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_DURATION = re.compile(r"[0-9]{1,6}(ms|s|m|h)")


def validate_version(version: str) -> str:
    """A release version exactly as packages and kubeadm take it: ``1.33.1`` (no ``v``, no
    pre-release or build suffix, at most four digits a number); returns it.

    The version itself is parsed by :mod:`cockpit.domain.versions`, so its message says why
    (leading zeros, non-ASCII digits...); the syntax check on top keeps argv shell-safe.
    """
    try:
        parsed = versions.parse_version(version)
    except ValueError as exc:
        raise UnsafeArgument(str(exc)) from None
    if parsed.bare != version or parsed.is_prerelease or not _VERSION.fullmatch(version):
        raise UnsafeArgument(f"invalid Kubernetes version {version!r}: expected X.Y.Z (a release, no v), e.g. 1.33.1")
    return version


def validate_package_revision(revision: str) -> str:
    """A package revision (``1.1``, ``00``) or the glob ``*``; returns it."""
    if not isinstance(revision, str) or not _REVISION.fullmatch(revision):
        raise UnsafeArgument(f"invalid package revision {revision!r}: expected digits and dots, e.g. 1.1, or *")
    return revision


def validate_package_version(package_version: str) -> str:
    """``1.33.1-1.1`` or ``1.33.1-*`` (what apt/dnf are given); returns it."""
    version, sep, revision = str(package_version).partition("-")
    try:
        validate_version(version)
        validate_package_revision(revision)
    except UnsafeArgument:
        raise UnsafeArgument(f"invalid package version {package_version!r}: expected e.g. 1.33.1-1.1") from None
    if not sep:
        raise UnsafeArgument(f"invalid package version {package_version!r}: expected e.g. 1.33.1-1.1")
    return package_version


def validate_node_name(name: str) -> str:
    """A Kubernetes node name: a DNS-1123 subdomain (lowercase, at most 253 characters)."""
    if not isinstance(name, str) or len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise UnsafeArgument(f"invalid node name {name!r}: expected a DNS-1123 subdomain such as worker-1")
    return name


def validate_os_family(os_family: str) -> str:
    """``debian`` or ``rhel``."""
    if os_family not in OS_FAMILIES:
        raise UnsafeArgument(f"unsupported OS family {os_family!r}: expected one of {', '.join(OS_FAMILIES)}")
    return os_family


def to_shell(argv: Sequence[str]) -> str:
    """The one command line SSH sends: every argument shell-quoted."""
    if not argv:
        raise UnsafeArgument("empty remote command")
    for arg in argv:
        if not isinstance(arg, str) or "\0" in arg:
            raise UnsafeArgument(f"invalid remote command argument {arg!r}")
    return shlex.join(argv)


def with_sudo(argv: Sequence[str]) -> list[str]:
    """``sudo -n`` (never prompt: a password prompt over SSH would hang) in front of argv."""
    return ["sudo", "-n", *argv]


def chain(*argvs: Sequence[str]) -> list[str]:
    """``sh -c 'a && b && c'`` from argvs, each quoted; stops at the first failure."""
    return ["sh", "-c", " && ".join(to_shell(a) for a in argvs)]


def package_version(version: str, revision: str = "*") -> str:
    """``1.33.1-1.1`` / ``1.33.1-*`` from a validated version and revision."""
    return f"{validate_version(version)}-{validate_package_revision(revision)}"


def os_family_from_os_release(text: str) -> str:
    """``debian`` or ``rhel`` from ``/etc/os-release`` (ID and ID_LIKE); UnsafeArgument if neither."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip('"').lower()
    ids = [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()]
    if any(i in ("debian", "ubuntu") for i in ids):
        return "debian"
    if any(i in ("rhel", "fedora", "centos", "rocky", "almalinux") for i in ids):
        return "rhel"
    raise UnsafeArgument(f"unsupported OS in /etc/os-release (ID={fields.get('ID', '?')}): expected Debian or RHEL family")


# -- read-only probes --------------------------------------------------------------------

def kubeadm_version() -> list[str]:
    """``kubeadm version -o short`` (prints e.g. ``v1.33.1``)."""
    return ["kubeadm", "version", "-o", "short"]


def os_release() -> list[str]:
    """``cat /etc/os-release``."""
    return ["cat", "/etc/os-release"]


def kernel_release() -> list[str]:
    """``uname -r``."""
    return ["uname", "-r"]


def package_versions(os_family: str) -> list[str]:
    """Installed kubeadm/kubelet/kubectl package versions, one ``NAME VERSION`` per line
    (``dpkg-query`` / ``rpm -q``), to tell which package steps already happened."""
    if validate_os_family(os_family) == "rhel":
        return ["rpm", "-q", "--queryformat", "%{NAME} %{VERSION}-%{RELEASE}\\n", "kubeadm", "kubelet", "kubectl"]
    return ["dpkg-query", "-W", "-f=${Package} ${Version}\\n", "kubeadm", "kubelet", "kubectl"]


def held_packages() -> list[str]:
    """``apt-mark showhold`` (Debian family)."""
    return ["apt-mark", "showhold"]


def kubelet_is_active() -> list[str]:
    """``systemctl is-active kubelet`` (prints ``active``; exit 0 only when running)."""
    return ["systemctl", "is-active", "kubelet"]


# -- package upgrades -------------------------------------------------------------------

def install_kubeadm(os_family: str, version: str, revision: str = "*") -> list[str]:
    """Upgrade the kubeadm package exactly as the kubeadm-upgrade page shows."""
    return _install_packages(os_family, ["kubeadm"], version, revision)


def install_kubelet_kubectl(os_family: str, version: str, revision: str = "*") -> list[str]:
    """Upgrade the kubelet and kubectl packages exactly as the kubeadm-upgrade page shows."""
    return _install_packages(os_family, ["kubelet", "kubectl"], version, revision)


def _install_packages(os_family: str, packages: list[str], version: str, revision: str) -> list[str]:
    pkg_version = package_version(version, revision)
    if validate_os_family(os_family) == "rhel":
        return ["dnf", "install", "-y", *(f"{p}-{pkg_version}" for p in packages), "--disableexcludes=kubernetes"]
    return chain(["apt-mark", "unhold", *packages],
                 ["apt-get", "update"],
                 ["apt-get", "install", "-y", *(f"{p}={pkg_version}" for p in packages)],
                 ["apt-mark", "hold", *packages])


# -- kubeadm ----------------------------------------------------------------------------

def kubeadm_upgrade_plan(version: str, output_json: bool = True) -> list[str]:
    """``kubeadm upgrade plan vX.Y.Z [-o json]`` (the version skips the internet lookup)."""
    argv = ["kubeadm", "upgrade", "plan", f"v{validate_version(version)}"]
    return argv + ["-o", "json"] if output_json else argv


def kubeadm_upgrade_apply(version: str) -> list[str]:
    """``kubeadm upgrade apply -y vX.Y.Z`` (``-y``: apply prompts otherwise, which hangs over SSH)."""
    return ["kubeadm", "upgrade", "apply", "-y", f"v{validate_version(version)}"]


def kubeadm_upgrade_node() -> list[str]:
    """``kubeadm upgrade node`` (other control planes and workers)."""
    return ["kubeadm", "upgrade", "node"]


# -- kubelet ----------------------------------------------------------------------------

def daemon_reload() -> list[str]:
    """``systemctl daemon-reload``."""
    return ["systemctl", "daemon-reload"]


def restart_kubelet() -> list[str]:
    """``systemctl restart kubelet``."""
    return ["systemctl", "restart", "kubelet"]


# -- kubectl on a control-plane node ----------------------------------------------------

def kubectl_drain(node: str, *, ignore_daemonsets: bool = True, delete_emptydir_data: bool = False,
                  force: bool = False, timeout: str | None = None, grace_period: int | None = None) -> list[str]:
    """``kubectl drain NODE`` with admin.conf, for running on a control-plane node."""
    argv = _kubectl("drain", validate_node_name(node))
    if ignore_daemonsets:
        argv.append("--ignore-daemonsets")
    if delete_emptydir_data:
        argv.append("--delete-emptydir-data")
    if force:
        argv.append("--force")
    if timeout is not None:
        argv.append(f"--timeout={_validate_duration(timeout)}")
    if grace_period is not None:
        argv.append(f"--grace-period={int(grace_period)}")
    return argv


def kubectl_cordon(node: str) -> list[str]:
    """``kubectl cordon NODE`` with admin.conf."""
    return _kubectl("cordon", validate_node_name(node))


def kubectl_uncordon(node: str) -> list[str]:
    """``kubectl uncordon NODE`` with admin.conf."""
    return _kubectl("uncordon", validate_node_name(node))


def _kubectl(verb: str, node: str) -> list[str]:
    return ["kubectl", "--kubeconfig", ADMIN_KUBECONFIG, verb, node]


def _validate_duration(value: str) -> str:
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        raise UnsafeArgument(f"invalid duration {value!r}: expected e.g. 300s or 5m")
    return value
