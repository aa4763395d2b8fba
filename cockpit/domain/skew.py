"""Version-skew violations of the cluster as it is now (Kubernetes version-skew policy). Pure.

Rules (kubernetes.io/releases/version-skew-policy, see reference/kubeadm-upgrade-and-drain.md §2.2):

* kube-apiserver (HA): newest and oldest instances within one minor version;
* kubelet: never newer than the (oldest) kube-apiserver; at most three minors older
  (kubelets older than 1.25: two); exactly three behind is allowed but blocks the next
  control-plane upgrade (reported as a warning);
* kube-controller-manager / kube-scheduler: never newer than the oldest kube-apiserver and
  at most one minor older than the newest.

Versions are parsed by :mod:`cockpit.domain.versions`; anything it refuses is reported as an
"unparseable" warning rather than silently ignored.
"""

from __future__ import annotations

from typing import Iterable

from msgspec import Struct

from cockpit.domain.images import image_tag
from cockpit.domain.records import NodeRecord, PodRecord
from cockpit.domain.versions import Version, try_parse

CONTROL_PLANE_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")

# Every rule name a SkewViolation can carry, here and in the upgrade planner, with its meaning.
RULES: dict[str, str] = {
    "apiserver-skew": "kube-apiserver instances more than one minor apart",
    "kubelet-newer": "a kubelet newer than the oldest kube-apiserver",
    "kubelet-too-old": "a kubelet more minors behind kube-apiserver than the policy allows",
    "kubelet-at-limit": "a kubelet exactly at the allowed distance (blocks the next control-plane upgrade)",
    "kubelet-downgrade": "the upgrade would move a kubelet to an older patch",
    "component-newer": "controller-manager/scheduler newer than the oldest kube-apiserver",
    "component-too-old": "controller-manager/scheduler more than one minor behind kube-apiserver",
    "kubeadm-newer-than-target": "a node's kubeadm is newer than the target",
    "kubeadm-minor-skip": "a node's kubeadm is more than one minor behind the target",
    "major-version": "the target changes the major version",
    "no-downgrade": "the target is older than the control plane",
    "no-minor-skip": "the target skips a minor version",
    "version-format": "the target is not a release version",
    "unknown-version": "the API server's version cannot be read",
    "unparseable": "a component reports a version that cannot be parsed",
}


class ComponentVersion(Struct, frozen=True):
    """A control-plane component instance and the version it runs."""

    component: str
    node: str
    version: str


class SkewViolation(Struct, frozen=True, kw_only=True):
    """A broken skew rule (``rule`` is a key of :data:`RULES`). ``severity`` is "error"
    (outside the policy, or forbids an upgrade) or "warning" (at the edge / unparseable);
    ``component``, ``node`` and ``version`` say where, when it is about one instance.
    ``str()`` is the message alone (Nodes pane header), ``line()`` adds the rule."""

    rule: str
    message: str
    severity: str = "error"
    component: str = ""
    node: str = ""
    version: str = ""

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown skew rule {self.rule!r}")

    def __str__(self) -> str:
        return self.message

    def line(self) -> str:
        """``[rule] message``."""
        return f"[{self.rule}] {self.message}"


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
        out.append(ComponentVersion(component, pod.node_name, image_tag(image)))
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
    parsed = try_parse(reported)
    if parsed is not None:
        versions.append(parsed)
    elif reported and reported != "?":
        out.append(_unparseable("kube-apiserver", "", reported))
    return versions


def _apiserver_rules(oldest: Version, newest: Version, components: list[ComponentVersion]) -> list[SkewViolation]:
    if oldest.minors_behind(newest) <= 1:
        return []
    return [SkewViolation(
        rule="apiserver-skew", component="kube-apiserver", version=str(oldest),
        message=f"kube-apiserver instances span {oldest}..{newest}: more than one minor apart",
    )]


def _kubelet_rules(node: NodeRecord, oldest: Version, newest: Version) -> list[SkewViolation]:
    kubelet = try_parse(node.kubelet_version)
    if kubelet is None:
        return [_unparseable("kubelet", node.name, node.kubelet_version)]
    behind = kubelet.minors_behind(oldest)
    allowed = 3 if (kubelet.major, kubelet.minor) >= (1, 25) else 2
    if behind < 0:
        return [_kubelet(node, kubelet, "kubelet-newer", f"is newer than kube-apiserver {oldest}")]
    if kubelet.minors_behind(newest) > allowed:
        return [_kubelet(node, kubelet, "kubelet-too-old",
                         f"is more than {allowed} minors older than kube-apiserver {newest}")]
    if kubelet.minors_behind(newest) == allowed:
        return [_kubelet(node, kubelet, "kubelet-at-limit",
                         f"is {allowed} minors behind: upgrade it before the control plane", "warning")]
    return []


def _kubelet(node: NodeRecord, kubelet: Version, rule: str, text: str, severity: str = "error") -> SkewViolation:
    return SkewViolation(rule=rule, message=f"{node.name}: kubelet {kubelet} {text}", severity=severity,
                         component="kubelet", node=node.name, version=str(kubelet))


def _component_rules(c: ComponentVersion, oldest: Version, newest: Version) -> list[SkewViolation]:
    version = try_parse(c.version)
    if version is None:
        return [_unparseable(c.component, c.node, c.version)]
    if version.minors_behind(oldest) < 0:
        return [_component(c, version, "component-newer", f"is newer than kube-apiserver {oldest}")]
    if version.minors_behind(newest) > 1:
        return [_component(c, version, "component-too-old",
                           f"is more than one minor older than kube-apiserver {newest}")]
    return []


def _component(c: ComponentVersion, version: Version, rule: str, text: str) -> SkewViolation:
    return SkewViolation(rule=rule, message=f"{c.component} on {c.node}: {version} {text}",
                         component=c.component, node=c.node, version=str(version))


def _unparseable(component: str, node: str, text: str) -> SkewViolation:
    where = f"{node}: " if node else ""
    return SkewViolation(rule="unparseable", message=f"{where}{component} version {text!r} cannot be parsed",
                         severity="warning", component=component, node=node, version=text)
