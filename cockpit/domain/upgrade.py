"""Upgrade planning, pure: skew rules for a kubeadm upgrade, node order and batches.

Input is a snapshot of facts (the API server's version, each node's kubelet, OS, static pod
images, pods, the PDBs' disruptionsAllowed); output is an :class:`UpgradePlan` that either
names the rule that forbids the upgrade or lists the nodes in the documented order: the first
control plane (``kubeadm upgrade apply``), the other control planes one at a time, then the
workers in batches no larger than ``--concurrency``, the PDBs and the spare capacity allow.
The exact commands per node are attached by the controller (they come from cockpit.ssh).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cockpit.domain import skew
from cockpit.domain.records import NodeRecord
from cockpit.domain.steps import WORK_STEPS, NodeProgress, State, Step

_TARGET = re.compile(r"\d{1,4}\.\d{1,4}\.\d{1,4}")

FIRST_CONTROL_PLANE = "first-control-plane"
CONTROL_PLANE = "control-plane"
WORKER = "worker"


Version = tuple[int, int, int]


def parse_version(text: str) -> Version | None:
    """``v1.32.4`` / ``1.32.4`` / ``v1.32.4-gke.1`` -> (1, 32, 4); None if it is not one.

    Parsing is :mod:`cockpit.domain.skew`'s (one strict parser for the whole cockpit).
    """
    parsed = skew.try_parse(text or "")
    return (parsed.major, parsed.minor, parsed.patch) if parsed else None


def fmt(version: Version) -> str:
    """(1, 33, 1) -> ``1.33.1``."""
    return ".".join(str(part) for part in version)


@dataclass(frozen=True)
class SkewViolation:
    """A rule that forbids the plan, named so the operator can look it up."""

    rule: str
    message: str

    def line(self) -> str:
        """``[rule] message``."""
        return f"[{self.rule}] {self.message}"


@dataclass(frozen=True)
class NodeFacts:
    """What the planner needs to know about one node."""

    name: str
    control_plane: bool
    kubelet: str
    os_family: str = ""
    os_image: str = ""
    ready: bool = True
    unschedulable: bool = False
    movable_pods: int = 0  # pods a drain would reschedule (controller-managed, not DaemonSet)
    running_pods: int = 0
    allocatable_pods: int = 110
    kubeadm: str = ""  # installed kubeadm, when probed
    static_pod_versions: tuple[str, ...] = ()  # image tags of this node's control-plane static pods
    progress: NodeProgress | None = None


@dataclass(frozen=True)
class ClusterFacts:
    """A snapshot of the cluster for planning."""

    api_version: str
    nodes: tuple[NodeFacts, ...]
    min_pdb_disruptions: int | None = None  # smallest disruptionsAllowed among PDBs with pods


@dataclass(frozen=True)
class PlannedNode:
    """One node in the plan: its role, versions, and the step it starts (or resumes) from."""

    name: str
    role: str
    os_family: str
    current: str
    target: str
    start_step: Step
    done: bool = False
    note: str = ""

    @property
    def steps(self) -> tuple[Step, ...]:
        """The work steps still to run on this node."""
        if self.done:
            return ()
        return WORK_STEPS[WORK_STEPS.index(self.start_step):]


@dataclass
class UpgradePlan:
    """The ordered plan, or the violations that forbid it."""

    target: str
    cluster_version: str
    batches: list[list[str]] = field(default_factory=list)
    nodes: dict[str, PlannedNode] = field(default_factory=dict)
    violations: list[SkewViolation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    concurrency: int = 1
    concurrency_note: str = ""

    @property
    def refused(self) -> bool:
        """True when a skew (or input) rule forbids this upgrade."""
        return bool(self.violations)

    def order(self) -> list[str]:
        """Node names in upgrade order."""
        return [name for batch in self.batches for name in batch]

    def first_control_plane(self) -> str | None:
        """The node that runs ``kubeadm upgrade apply``."""
        for node in self.nodes.values():
            if node.role == FIRST_CONTROL_PLANE:
                return node.name
        return None


# --------------------------------------------------------------------------- skew rules


def check_skew(facts: ClusterFacts, target: str) -> list[SkewViolation]:
    """Every skew / kubeadm rule the upgrade to ``target`` would break (empty = allowed)."""
    if not _TARGET.fullmatch(target or ""):
        return [SkewViolation("version-format", f"target {target!r} is not a release version X.Y.Z (e.g. 1.33.1)")]
    wanted = parse_version(target)
    assert wanted is not None
    cluster = cluster_version(facts)
    if cluster is None:
        return [SkewViolation("unknown-version", f"cannot read the API server version ({facts.api_version!r})")]
    out = _control_plane_rules(facts, cluster, wanted)
    if out:  # a wrong target makes every per-node rule noise; name the one that matters
        return out
    for node in facts.nodes:
        out.extend(_kubelet_rules(node, wanted))
        out.extend(_kubeadm_rules(node, wanted))
    return out


def cluster_version(facts: ClusterFacts) -> Version | None:
    """The oldest control-plane version seen (API /version and the static pod image tags).

    After ``kubeadm upgrade apply`` on the first control plane, /version may already report
    the target while other control planes still run the old one; the oldest is what counts.
    """
    seen = [parse_version(facts.api_version)]
    for node in facts.nodes:
        seen += [parse_version(v) for v in node.static_pod_versions]
    versions = [v for v in seen if v]
    return min(versions) if versions else None


def _control_plane_rules(facts: ClusterFacts, cluster: Version, wanted: Version) -> list[SkewViolation]:
    out = []
    newest = max([parse_version(facts.api_version) or cluster] +
                 [v for n in facts.nodes for v in map(parse_version, n.static_pod_versions) if v])
    if wanted[0] != cluster[0]:
        out.append(SkewViolation("major-version", f"cannot change the major version ({fmt(cluster)} -> {fmt(wanted)})"))
    elif wanted < newest:
        out.append(SkewViolation("no-downgrade", f"target {fmt(wanted)} is older than the control plane "
                                                 f"({fmt(newest)}); kubeadm does not downgrade"))
    elif wanted[1] > cluster[1] + 1:
        out.append(SkewViolation("no-minor-skip", f"{fmt(cluster)} -> {fmt(wanted)} skips minor version(s): "
                                                  f"upgrade to 1.{cluster[1] + 1}.x first (one minor at a time)"))
    if newest[1] - cluster[1] > 1:
        out.append(SkewViolation("apiserver-skew", f"API servers span {fmt(cluster)}..{fmt(newest)}: "
                                                   "more than one minor apart"))
    return out


def _kubelet_rules(node: NodeFacts, wanted: Version) -> list[SkewViolation]:
    """The kubelet as it is now against the API server at the target (skew.py's policy rules).

    The plan upgrades every kubelet, but between the control plane and the node's own turn
    the old kubelet must be within the policy of the new API server.
    """
    record = NodeRecord(uid=node.name, name=node.name, kubelet_version=node.kubelet)
    found = skew.skew_violations(f"v{fmt(wanted)}", [record])
    out = [SkewViolation(v.rule, _after_upgrade(v, wanted)) for v in found if v.severity == "error"]
    kubelet = parse_version(node.kubelet)
    if not out and kubelet and kubelet > wanted:
        # Same minor, newer patch: within the policy, but the plan would downgrade this kubelet.
        out.append(SkewViolation("kubelet-downgrade", f"{node.name}: kubelet {fmt(kubelet)} is newer than the "
                                                      f"target {fmt(wanted)}; cockpit does not downgrade kubelets"))
    return out


def _after_upgrade(violation, wanted: Version) -> str:
    if violation.rule == "kubelet-newer":
        return f"{violation.message}; a kubelet must never be newer than the API server"
    if violation.rule == "kubelet-too-old":
        return f"{violation.message} (after the control plane moves to {fmt(wanted)}); upgrade it first"
    return violation.message


def _kubeadm_rules(node: NodeFacts, wanted: Version) -> list[SkewViolation]:
    kubeadm = parse_version(node.kubeadm) if node.kubeadm else None
    if kubeadm is None:
        return []
    if kubeadm > wanted:
        return [SkewViolation("kubeadm-newer-than-target",
                              f"node {node.name}: kubeadm {fmt(kubeadm)} is newer than the target {fmt(wanted)}")]
    if wanted[1] - kubeadm[1] > 1:
        return [SkewViolation("kubeadm-minor-skip",
                              f"node {node.name}: kubeadm {fmt(kubeadm)} -> {fmt(wanted)}: a node is upgraded by a "
                              "kubeadm of the same minor or one minor newer than the one that manages it")]
    return []


# --------------------------------------------------------------------------- ordering


def plan_upgrade(facts: ClusterFacts, target: str, concurrency: int = 1) -> UpgradePlan:
    """Check skew, then order the nodes and size the worker batches."""
    violations = check_skew(facts, target)
    cluster = cluster_version(facts)
    plan = UpgradePlan(target=target, cluster_version=fmt(cluster) if cluster else facts.api_version,
                       violations=violations)
    if violations:
        return plan
    cps = _control_planes_in_order(facts, target)
    workers = sorted((n for n in facts.nodes if not n.control_plane), key=lambda n: n.name)
    for index, node in enumerate(cps):
        plan.nodes[node.name] = _planned(node, FIRST_CONTROL_PLANE if index == 0 else CONTROL_PLANE, target)
        plan.batches.append([node.name])
    for node in workers:
        plan.nodes[node.name] = _planned(node, WORKER, target)
    plan.concurrency, plan.concurrency_note = worker_concurrency(facts, workers, concurrency)
    todo = [n.name for n in workers]
    plan.batches += [todo[i:i + plan.concurrency] for i in range(0, len(todo), plan.concurrency)]
    plan.warnings = _warnings(facts, target)
    return plan


def _control_planes_in_order(facts: ClusterFacts, target: str) -> list[NodeFacts]:
    """The first control plane is one already upgraded by ``apply`` if any (resume), else by name."""
    cps = [n for n in facts.nodes if n.control_plane]

    def key(node: NodeFacts) -> tuple[bool, str]:
        applied = bool(node.static_pod_versions) and all(
            parse_version(v) == parse_version(target) for v in node.static_pod_versions)
        started = node.progress is not None and node.progress.target == target and node.progress.step is not Step.PENDING
        return (not (applied or started), node.name)

    return sorted(cps, key=key)


def _planned(node: NodeFacts, role: str, target: str) -> PlannedNode:
    progress = node.progress
    resumable = progress is not None and progress.target == target
    if resumable and progress.state in (State.DONE, State.SKIPPED):
        return PlannedNode(node.name, role, node.os_family, node.kubelet, target, Step.DONE, True,
                           f"{progress.state.value} in run {progress.run}")
    if resumable and progress.step not in (Step.PENDING, Step.DONE):
        return PlannedNode(node.name, role, node.os_family, node.kubelet, target, progress.step, False,
                           f"resumes at {progress.step.value} ({progress.state.value})")
    if _at_target(node, target):
        return PlannedNode(node.name, role, node.os_family, node.kubelet, target, Step.DONE, True, "already at target")
    return PlannedNode(node.name, role, node.os_family, node.kubelet, target, WORK_STEPS[0])


def _at_target(node: NodeFacts, target: str) -> bool:
    wanted = parse_version(target)
    images_ok = all(parse_version(v) == wanted for v in node.static_pod_versions)
    return parse_version(node.kubelet) == wanted and images_ok and not node.unschedulable


def worker_concurrency(facts: ClusterFacts, workers: list[NodeFacts], requested: int) -> tuple[int, str]:
    """Workers upgraded at once: ``requested``, capped by the PDBs and by spare pod capacity."""
    requested = max(1, int(requested))
    limits = [(requested, f"--concurrency {requested}")]
    if facts.min_pdb_disruptions is not None:
        limits.append((max(1, facts.min_pdb_disruptions),
                       f"a PodDisruptionBudget allows {facts.min_pdb_disruptions} disruption(s)"))
    limits.append((capacity_limit(workers), "spare pod capacity on the other workers"))
    value, reason = min(limits, key=lambda item: item[0])
    return value, ("" if value == requested else f"capped at {value}: {reason}")


def capacity_limit(workers: list[NodeFacts]) -> int:
    """How many workers can be drained at once so the rest can hold their pods (at least 1).

    Conservative: assumes the busiest workers go together.
    """
    ordered = sorted(workers, key=lambda n: n.movable_pods, reverse=True)
    best = 1
    for k in range(1, len(ordered)):
        moving = sum(n.movable_pods for n in ordered[:k])
        free = sum(max(0, n.allocatable_pods - n.running_pods) for n in ordered[k:] if n.ready and not n.unschedulable)
        if moving > free:
            break
        best = k
    return best


def _warnings(facts: ClusterFacts, target: str) -> list[str]:
    records = [NodeRecord(uid=n.name, name=n.name, kubelet_version=n.kubelet) for n in facts.nodes]
    out = [f"{v.message} (after the upgrade)" for v in skew.skew_violations(f"v{target}", records)
           if v.severity == "warning"]
    for node in facts.nodes:
        if not node.ready:
            out.append(f"node {node.name} is NotReady (kubeadm refuses to upgrade while a control plane is NotReady)")
        if node.unschedulable and (node.progress is None or node.progress.step is Step.PENDING):
            out.append(f"node {node.name} is already cordoned by someone else; cockpit will leave it cordoned")
        if not node.os_family:
            out.append(f"node {node.name}: unknown OS family ({node.os_image or 'no osImage'})")
    return out
