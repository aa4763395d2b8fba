"""Upgrade planning, pure: skew rules for a kubeadm upgrade, node order and batches.

Input is a snapshot of facts (the API server's version, each node's kubelet, OS, static pod
images, pods, the PDBs' disruptionsAllowed); output is an :class:`UpgradePlan` that either
names the rule that forbids the upgrade or lists the nodes in the documented order: the first
control plane (``kubeadm upgrade apply``), the other control planes one at a time, then the
workers in batches no larger than ``--concurrency``, the PDBs and the spare capacity allow.
The exact commands per node are attached by the controller (they come from cockpit.ssh).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cockpit.domain import skew, versions
from cockpit.domain.records import NodeRecord
from cockpit.domain.skew import SkewViolation
from cockpit.domain.steps import WORK_STEPS, NodeProgress, State, Step
from cockpit.domain.versions import Version, try_parse

FIRST_CONTROL_PLANE = "first-control-plane"
CONTROL_PLANE = "control-plane"
WORKER = "worker"


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


def parse_target(target: str) -> Version | SkewViolation:
    """The target as a release version, or the ``version-format`` violation saying why not."""
    try:
        wanted = versions.parse_version(target)
    except ValueError as exc:
        return _violation("version-format", f"target: {exc}")
    if wanted.is_prerelease:
        return _violation("version-format", f"target {wanted.bare} is a pre-release; cockpit upgrades to "
                                            "release versions X.Y.Z (the package repositories' names)")
    return wanted


def check_skew(facts: ClusterFacts, target: str) -> list[SkewViolation]:
    """Every skew / kubeadm rule the upgrade to ``target`` would break (empty = allowed)."""
    wanted = parse_target(target)
    if isinstance(wanted, SkewViolation):
        return [wanted]
    cluster = cluster_version(facts)
    if cluster is None:
        return [_violation("unknown-version", f"cannot read the API server version ({facts.api_version!r})")]
    out = _control_plane_rules(facts, cluster, wanted)
    if out:  # a wrong target makes every per-node rule noise; name the one that matters
        return out
    for node in facts.nodes:
        out.extend(_kubelet_rules(node, wanted))
        out.extend(_kubeadm_rules(node, wanted))
    return out


def _violation(rule: str, message: str) -> SkewViolation:
    return SkewViolation(rule=rule, message=message)


def _control_plane_versions(facts: ClusterFacts) -> list[Version]:
    """The API /version and every static pod image tag that parses."""
    texts = [facts.api_version] + [v for n in facts.nodes for v in n.static_pod_versions]
    return [v for v in map(try_parse, texts) if v is not None]


def cluster_version(facts: ClusterFacts) -> Version | None:
    """The oldest control-plane version seen (API /version and the static pod image tags).

    After ``kubeadm upgrade apply`` on the first control plane, /version may already report
    the target while other control planes still run the old one; the oldest is what counts.
    """
    seen = _control_plane_versions(facts)
    return min(seen) if seen else None


def _control_plane_rules(facts: ClusterFacts, cluster: Version, wanted: Version) -> list[SkewViolation]:
    out = []
    newest = max(_control_plane_versions(facts))
    if wanted.major != cluster.major:
        out.append(_violation("major-version", f"cannot change the major version ({cluster.bare} -> {wanted.bare})"))
    elif wanted < newest:
        out.append(_violation("no-downgrade", f"target {wanted.bare} is older than the control plane "
                                              f"({newest.bare}); kubeadm does not downgrade"))
    elif cluster.minors_behind(wanted) > 1:
        out.append(_violation("no-minor-skip", f"{cluster.bare} -> {wanted.bare} skips minor version(s): upgrade to "
                                               f"{cluster.major}.{cluster.minor + 1}.x first (one minor at a time)"))
    if cluster.minors_behind(newest) > 1:
        out.append(_violation("apiserver-skew", f"API servers span {cluster.bare}..{newest.bare}: "
                                                "more than one minor apart"))
    return out


def _kubelet_rules(node: NodeFacts, wanted: Version) -> list[SkewViolation]:
    """The kubelet as it is now against the API server at the target (skew.py's policy rules).

    The plan upgrades every kubelet, but between the control plane and the node's own turn
    the old kubelet must be within the policy of the new API server.
    """
    record = NodeRecord(uid=node.name, name=node.name, kubelet_version=node.kubelet)
    found = skew.skew_violations(str(wanted), [record])
    out = [_violation(v.rule, _after_upgrade(v, wanted)) for v in found if v.severity == "error"]
    kubelet = try_parse(node.kubelet)
    if not out and kubelet and kubelet > wanted:
        # Same minor, newer patch: within the policy, but the plan would downgrade this kubelet.
        out.append(_violation("kubelet-downgrade", f"{node.name}: kubelet {kubelet.bare} is newer than the "
                                                   f"target {wanted.bare}; cockpit does not downgrade kubelets"))
    return out


def _after_upgrade(violation: SkewViolation, wanted: Version) -> str:
    if violation.rule == "kubelet-newer":
        return f"{violation.message}; a kubelet must never be newer than the API server"
    if violation.rule == "kubelet-too-old":
        return f"{violation.message} (after the control plane moves to {wanted.bare}); upgrade it first"
    return violation.message


def _kubeadm_rules(node: NodeFacts, wanted: Version) -> list[SkewViolation]:
    kubeadm = try_parse(node.kubeadm) if node.kubeadm else None
    if kubeadm is None:
        return []
    if kubeadm > wanted:
        return [_violation("kubeadm-newer-than-target",
                           f"node {node.name}: kubeadm {kubeadm.bare} is newer than the target {wanted.bare}")]
    if kubeadm.minors_behind(wanted) > 1:
        return [_violation("kubeadm-minor-skip",
                           f"node {node.name}: kubeadm {kubeadm.bare} -> {wanted.bare}: a node is upgraded by a "
                           "kubeadm of the same minor or one minor newer than the one that manages it")]
    return []


# --------------------------------------------------------------------------- ordering


def plan_upgrade(facts: ClusterFacts, target: str, concurrency: int = 1) -> UpgradePlan:
    """Check skew, then order the nodes and size the worker batches.

    The plan's target and versions are in the bare form (``1.33.1``) whatever the input's.
    """
    violations = check_skew(facts, target)
    cluster = cluster_version(facts)
    plan = UpgradePlan(target=target, cluster_version=cluster.bare if cluster else facts.api_version,
                       violations=violations)
    if violations:
        return plan
    wanted = versions.parse_version(target)
    plan.target = wanted.bare
    cps = _control_planes_in_order(facts, wanted)
    workers = sorted((n for n in facts.nodes if not n.control_plane), key=lambda n: n.name)
    for index, node in enumerate(cps):
        plan.nodes[node.name] = _planned(node, FIRST_CONTROL_PLANE if index == 0 else CONTROL_PLANE, wanted)
        plan.batches.append([node.name])
    for node in workers:
        plan.nodes[node.name] = _planned(node, WORKER, wanted)
    plan.concurrency, plan.concurrency_note = worker_concurrency(facts, workers, concurrency)
    todo = [n.name for n in workers]
    plan.batches += [todo[i:i + plan.concurrency] for i in range(0, len(todo), plan.concurrency)]
    plan.warnings = _warnings(facts, wanted)
    return plan


def _control_planes_in_order(facts: ClusterFacts, wanted: Version) -> list[NodeFacts]:
    """The first control plane is one already upgraded by ``apply`` if any (resume), else by name."""
    cps = [n for n in facts.nodes if n.control_plane]

    def key(node: NodeFacts) -> tuple[bool, str]:
        applied = bool(node.static_pod_versions) and _images_at(node, wanted)
        started = _resumes(node.progress, wanted) and node.progress.step is not Step.PENDING
        return (not (applied or started), node.name)

    return sorted(cps, key=key)


def _resumes(progress: NodeProgress | None, wanted: Version) -> bool:
    """Progress recorded for a run to this same target."""
    return progress is not None and try_parse(progress.target) == wanted


def _planned(node: NodeFacts, role: str, wanted: Version) -> PlannedNode:
    progress = node.progress
    current = versions.bare(node.kubelet)

    def planned(step: Step, done: bool = False, note: str = "") -> PlannedNode:
        return PlannedNode(node.name, role, node.os_family, current, wanted.bare, step, done, note)

    if _resumes(progress, wanted) and progress.state in (State.DONE, State.SKIPPED):
        return planned(Step.DONE, True, f"{progress.state.value} in run {progress.run}")
    if _resumes(progress, wanted) and progress.step not in (Step.PENDING, Step.DONE):
        return planned(progress.step, False, f"resumes at {progress.step.value} ({progress.state.value})")
    if _at_target(node, wanted):
        return planned(Step.DONE, True, "already at target")
    return planned(WORK_STEPS[0])


def _images_at(node: NodeFacts, wanted: Version) -> bool:
    return all(try_parse(v) == wanted for v in node.static_pod_versions)


def _at_target(node: NodeFacts, wanted: Version) -> bool:
    return try_parse(node.kubelet) == wanted and _images_at(node, wanted) and not node.unschedulable


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


def _warnings(facts: ClusterFacts, wanted: Version) -> list[str]:
    records = [NodeRecord(uid=n.name, name=n.name, kubelet_version=n.kubelet) for n in facts.nodes]
    out = [f"{v.message} (after the upgrade)" for v in skew.skew_violations(str(wanted), records)
           if v.severity == "warning"]
    for node in facts.nodes:
        if not node.ready:
            out.append(f"node {node.name} is NotReady (kubeadm refuses to upgrade while a control plane is NotReady)")
        if node.unschedulable and (node.progress is None or node.progress.step is Step.PENDING):
            out.append(f"node {node.name} is already cordoned by someone else; cockpit will leave it cordoned")
        if not node.os_family:
            out.append(f"node {node.name}: unknown OS family ({node.os_image or 'no osImage'})")
    return out
