"""Version-skew violations of the cluster as it is now (Kubernetes version-skew policy). Pure.

Rules (kubernetes.io/releases/version-skew-policy, see reference/kubeadm-upgrade-and-drain.md §2.2):

* kube-apiserver (HA): newest and oldest instances within one minor version;
* kubelet: never newer than the (oldest) kube-apiserver; at most three minors older
  (kubelets older than 1.25: two); exactly three behind is allowed but blocks the next
  control-plane upgrade (reported as a warning);
* kube-controller-manager / kube-scheduler: never newer than the oldest kube-apiserver and
  at most one minor older than the newest.

Versions are parsed strictly (``v1.32.4``, ``1.32.4``, with optional ``-pre``/``+build``
suffixes as in ``v1.32.4-eks-1234`` or ``v1.32.4+k3s1``); anything else is reported as an
"unparseable" warning rather than silently ignored.
"""

from __future__ import annotations

import re
from typing import Iterable

from msgspec import Struct

from cockpit.domain.records import NodeRecord, PodRecord

_VERSION = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$")

CONTROL_PLANE_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


class Version(Struct, frozen=True, order=True):
    """A parsed Kubernetes version; ``str()`` gives ``v1.32.4``."""

    major: int
    minor: int
    patch: int
    pre: str = ""

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")

    def minors_behind(self, other: "Version") -> int:
        """How many minor versions ``self`` is older than ``other`` (negative when newer)."""
        return (other.major - self.major) * 1000 + other.minor - self.minor


class ComponentVersion(Struct, frozen=True):
    """A control-plane component instance and the version it runs."""

    component: str
    node: str
    version: str


class SkewViolation(Struct, frozen=True):
    """``severity`` "error" (outside the policy) or "warning" (at the edge / unparseable).
    ``str()`` is a short line for the Nodes pane header."""

    component: str
    node: str
    version: str
    rule: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return self.message


def parse_version(text: str) -> Version:
    """Parse ``v1.32.4`` strictly; raises ValueError for anything else (``1.32``, ``latest``)."""
    match = _VERSION.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not a Kubernetes version: {text!r}")
    major, minor, patch, pre, _build = match.groups()
    return Version(int(major), int(minor), int(patch), pre or "")


def try_parse(text: str) -> Version | None:
    """Like :func:`parse_version` but None instead of an error."""
    try:
        return parse_version(text)
    except ValueError:
        return None


def control_plane_versions(pods: Iterable[PodRecord]) -> list[ComponentVersion]:
    """Control-plane component versions from kubeadm's static (mirror) pods in kube-system,
    read from the image tag (``registry.k8s.io/kube-apiserver:v1.32.4``)."""
    out = []
    for pod in pods:
        if pod.namespace != "kube-system":
            continue
        component = pod.labels.get("component") or _component_from_name(pod.name)
        if component not in CONTROL_PLANE_COMPONENTS:
            continue
        image = next((i for i in pod.images if component in i), pod.images[0] if pod.images else "")
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        out.append(ComponentVersion(component, pod.node_name, tag))
    return sorted(out, key=lambda c: (c.component, c.node))


def _component_from_name(name: str) -> str:
    return next((c for c in CONTROL_PLANE_COMPONENTS if name.startswith(c + "-")), "")


def skew_violations(
    apiserver_version: str,
    nodes: Iterable[NodeRecord],
    components: Iterable[ComponentVersion] = (),
) -> list[SkewViolation]:
    """All current skew violations, errors first.

    ``apiserver_version`` is what ``/version`` reports through this connection; kube-apiserver
    instances found in ``components`` (see :func:`control_plane_versions`) refine it for HA.
    """
    components = list(components)
    out: list[SkewViolation] = []
    apiservers = _apiserver_versions(apiserver_version, components, out)
    if apiservers:
        oldest, newest = min(apiservers), max(apiservers)
        out += _apiserver_rules(oldest, newest, components)
        out += [v for n in nodes for v in _kubelet_rules(n, oldest, newest)]
        out += [v for c in components if c.component != "kube-apiserver" for v in _component_rules(c, oldest, newest)]
    return sorted(out, key=lambda v: (v.severity != "error", v.component, v.node))


def _apiserver_versions(reported: str, components: list[ComponentVersion], out: list) -> list[Version]:
    versions = []
    for c in components:
        if c.component == "kube-apiserver":
            parsed = try_parse(c.version)
            if parsed is None:
                out.append(_unparseable(c.component, c.node, c.version))
            else:
                versions.append(parsed)
    parsed = try_parse(reported or "")
    if parsed is not None:
        versions.append(parsed)
    elif reported and reported != "?":
        out.append(_unparseable("kube-apiserver", "", reported))
    return versions


def _apiserver_rules(oldest: Version, newest: Version, components: list[ComponentVersion]) -> list[SkewViolation]:
    if oldest.minors_behind(newest) <= 1:
        return []
    return [SkewViolation(
        "kube-apiserver", "", str(oldest), "apiserver-ha",
        f"kube-apiserver instances span {oldest}..{newest}: more than one minor apart",
    )]


def _kubelet_rules(node: NodeRecord, oldest: Version, newest: Version) -> list[SkewViolation]:
    kubelet = try_parse(node.kubelet_version)
    if kubelet is None:
        return [_unparseable("kubelet", node.name, node.kubelet_version)]
    behind = kubelet.minors_behind(oldest)
    allowed = 3 if (kubelet.major, kubelet.minor) >= (1, 25) else 2
    if behind < 0:
        return [SkewViolation(
            "kubelet", node.name, str(kubelet), "kubelet-newer",
            f"{node.name}: kubelet {kubelet} is newer than kube-apiserver {oldest}",
        )]
    if kubelet.minors_behind(newest) > allowed:
        return [SkewViolation(
            "kubelet", node.name, str(kubelet), "kubelet-too-old",
            f"{node.name}: kubelet {kubelet} is more than {allowed} minors older than kube-apiserver {newest}",
        )]
    if kubelet.minors_behind(newest) == allowed:
        return [SkewViolation(
            "kubelet", node.name, str(kubelet), "kubelet-at-limit",
            f"{node.name}: kubelet {kubelet} is {allowed} minors behind: upgrade it before the control plane",
            "warning",
        )]
    return []


def _component_rules(c: ComponentVersion, oldest: Version, newest: Version) -> list[SkewViolation]:
    version = try_parse(c.version)
    if version is None:
        return [_unparseable(c.component, c.node, c.version)]
    if version.minors_behind(oldest) < 0:
        return [SkewViolation(
            c.component, c.node, str(version), "component-newer",
            f"{c.component} on {c.node}: {version} is newer than kube-apiserver {oldest}",
        )]
    if version.minors_behind(newest) > 1:
        return [SkewViolation(
            c.component, c.node, str(version), "component-too-old",
            f"{c.component} on {c.node}: {version} is more than one minor older than kube-apiserver {newest}",
        )]
    return []


def _unparseable(component: str, node: str, text: str) -> SkewViolation:
    where = f"{node}: " if node else ""
    return SkewViolation(
        component, node, text, "unparseable", f"{where}{component} version {text!r} cannot be parsed", "warning"
    )
