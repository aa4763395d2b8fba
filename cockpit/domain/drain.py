"""Drain planning, pure: kubectl drain's pod filters, PDB impact, capacity, cordon ownership.

The filters follow k8s.io/kubectl/pkg/drain/filters.go in order and wording (skip-deleted,
DaemonSet, mirror, local storage, unreplicated; the first filter that says "do not delete"
ends the chain; Succeeded/Failed pods always pass), so an SRE sees the messages they know.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from cockpit.domain.records import NodeRecord, PdbRecord, PodRecord, decode

CORDONED_BY = "cockpit.dev/cordoned-by"

# kubectl's texts (pkg/drain/filters.go), reproduced so operators recognise them.
DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "Pods declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
ORPHAN_DS_WARNING = "deleting Pods of a DaemonSet that no longer exists"
ORPHAN_DS_FATAL = "Pods of a DaemonSet that no longer exists (use --force to override)"


@dataclass(frozen=True)
class DrainOptions:
    """kubectl drain's options (same names and defaults), plus the cockpit's pacing knobs."""

    ignore_daemonsets: bool = False
    delete_emptydir_data: bool = False
    force: bool = False
    pod_selector: str = ""
    grace_period: int = -1  # negative: the pod's own terminationGracePeriodSeconds
    timeout: float = 0.0  # whole drain; 0 = no limit (as kubectl)
    skip_wait_for_delete_timeout: int = 0
    retry_interval: float = 5.0  # kubectl's EvictErrorRetryDelay
    poll_interval: float = 1.0  # kubectl's wait-for-delete poll
    max_concurrency: int = 16  # kubectl is unbounded; a cap keeps big nodes polite


@dataclass(frozen=True)
class PodDecision:
    """What the drain does with one pod, and kubectl's words for why."""

    namespace: str
    name: str
    uid: str
    action: str  # "evict" | "skip" | "error"
    reason: str  # managed, finished, terminating, daemonset, mirror, local-storage, unmanaged
    message: str = ""  # kubectl's fatal or warning text ("" for plain evictions)

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


@dataclass
class PodFilterResult:
    """The pods of a node sorted into evict / skip / error, in the list's order."""

    evict: list[PodDecision] = field(default_factory=list)
    skipped: list[PodDecision] = field(default_factory=list)
    errors: list[PodDecision] = field(default_factory=list)

    def add(self, decision: PodDecision) -> None:
        """File one decision in the right list."""
        {"evict": self.evict, "skip": self.skipped, "error": self.errors}[decision.action].append(decision)

    def error_lines(self) -> list[str]:
        """kubectl's ``cannot delete <reason>: ns/p1, ns/p2`` lines (drain refused if any)."""
        return [f"cannot delete {msg}: {', '.join(keys)}" for msg, keys in _group(self.errors)]

    def warning_lines(self) -> list[str]:
        """kubectl's ``Warning: <text>: ns/p1, ...`` lines."""
        warned = [d for d in self.evict + self.skipped if d.message]
        return [f"Warning: {msg}: {', '.join(keys)}" for msg, keys in _group(warned)]


def _group(decisions: list[PodDecision]) -> list[tuple[str, list[str]]]:
    grouped: dict[str, list[str]] = {}
    for decision in decisions:
        grouped.setdefault(decision.message, []).append(decision.key)
    return list(grouped.items())


def _decision(pod: PodRecord, action: str, reason: str, message: str = "") -> PodDecision:
    return PodDecision(pod.namespace, pod.name, pod.uid, action, reason, message)


def _deleted_long_ago(pod: PodRecord, options: DrainOptions, now: datetime) -> bool:
    if options.skip_wait_for_delete_timeout <= 0 or pod.deletion_timestamp is None:
        return False
    return (now - pod.deletion_timestamp).total_seconds() > options.skip_wait_for_delete_timeout


def decide_pod(pod: PodRecord, options: DrainOptions, missing_daemonsets: frozenset[str] = frozenset(),
               now: datetime | None = None) -> PodDecision:
    """Run kubectl's filter chain on one pod.

    ``missing_daemonsets`` holds ``ns/name`` of DaemonSets that a GET reported NotFound
    (orphans: kubectl errors unless --force, then deletes them).
    """
    now = now or datetime.now(timezone.utc)
    if _deleted_long_ago(pod, options, now):
        return _decision(pod, "skip", "terminating", "")
    if pod.daemonset_owned and not pod.finished:
        return _daemonset_decision(pod, options, missing_daemonsets)
    if pod.is_mirror:
        return _decision(pod, "skip", "mirror")
    decision = _decision(pod, "evict", "finished" if pod.finished else "managed")
    if pod.has_local_storage and not pod.finished:
        if not options.delete_emptydir_data:
            return _decision(pod, "error", "local-storage", LOCAL_STORAGE_FATAL)
        decision = _decision(pod, "evict", "local-storage", LOCAL_STORAGE_WARNING)
    if pod.controller_ref is None and not pod.finished:
        if not options.force:
            return _decision(pod, "error", "unmanaged", UNMANAGED_FATAL)
        decision = _decision(pod, "evict", "unmanaged", UNMANAGED_WARNING)
    if decision.reason == "managed" and pod.terminating:
        decision = _decision(pod, "evict", "terminating")
    return decision


def _daemonset_decision(pod: PodRecord, options: DrainOptions, missing: frozenset[str]) -> PodDecision:
    if f"{pod.namespace}/{pod.owner_name}" in missing:
        if options.force:
            return _decision(pod, "evict", "daemonset-orphan", ORPHAN_DS_WARNING)
        return _decision(pod, "error", "daemonset-orphan", ORPHAN_DS_FATAL)
    if not options.ignore_daemonsets:
        return _decision(pod, "error", "daemonset", DAEMONSET_FATAL)
    return _decision(pod, "skip", "daemonset", DAEMONSET_WARNING)


def filter_pods(pods: list[PodRecord], options: DrainOptions, missing_daemonsets: frozenset[str] = frozenset(),
                now: datetime | None = None) -> PodFilterResult:
    """Sort a node's pods as kubectl drain would (the list is already node- and selector-filtered)."""
    result = PodFilterResult()
    for pod in pods:
        result.add(decide_pod(pod, options, missing_daemonsets, now))
    return result


def daemonset_keys(pods: list[PodRecord]) -> set[str]:
    """``ns/name`` of every DaemonSet that controls one of ``pods`` (to check for orphans)."""
    return {f"{pod.namespace}/{pod.owner_name}" for pod in pods if pod.daemonset_owned}


def decided(decisions: list[PodDecision], pods: list[PodRecord]) -> list[PodRecord]:
    """The pods those decisions are about, in the pods' order."""
    wanted = {d.uid for d in decisions}
    return [p for p in pods if p.uid in wanted]


# --------------------------------------------------------------------------- PDB impact


@dataclass(frozen=True)
class PdbImpact:
    """How one PodDisruptionBudget affects this drain.

    ``effect``: "blocks" (disruptionsAllowed is 0: evictions get 429 until replacements are
    Ready elsewhere, possibly forever), "paces" (fewer disruptions allowed than pods to evict:
    waves with 5 s retries), "ok", or "multiple" (a pod is matched by several PDBs: the server
    answers 500 and the drain must stop).
    """

    pdb: str
    effect: str
    pods: tuple[str, ...]
    disruptions_allowed: int
    current_healthy: int
    desired_healthy: int
    expected_pods: int

    def line(self) -> str:
        """A human sentence naming the PDB and its numbers."""
        numbers = (f"disruptionsAllowed={self.disruptions_allowed}, "
                   f"currentHealthy={self.current_healthy}/desiredHealthy={self.desired_healthy}")
        text = {
            "blocks": "blocks the drain (no disruption allowed now)",
            "paces": f"lets {self.disruptions_allowed} of {len(self.pods)} pods go at a time",
            "ok": "allows these evictions",
            "multiple": "overlaps another PDB on the same pods (eviction answers 500)",
        }[self.effect]
        return f"PDB {self.pdb} {text}: {numbers}; pods {', '.join(self.pods)}"


def pdbs_for_pod(pod: PodRecord, pdbs: list[PdbRecord]) -> list[PdbRecord]:
    """The PDBs in the pod's namespace whose selector matches it."""
    return [p for p in pdbs if p.namespace == pod.namespace and p.selector.matches(pod.labels)]


def ignores_budgets(pod: PodRecord) -> bool:
    """The eviction API evicts these without looking at any PDB: finished, Pending, or terminating."""
    return pod.finished or pod.phase == "Pending" or pod.terminating


def evicted_at_once(pod: PodRecord, pdb: PdbRecord) -> bool:
    """A running pod that is not Ready, under a PDB whose unhealthyPodEvictionPolicy lets it go
    without spending a disruption: AlwaysAllow, or IfHealthyBudget while the budget is met.

    The API server (pkg/registry/core/pod/storage/eviction.go) counts a budget as met only when
    it wants at least one healthy pod: with desiredHealthy 0 the eviction goes through the
    disruptionsAllowed check like any other, and is refused (429) when that is 0.
    """
    if pod.ready:
        return False
    if pdb.unhealthy_pod_eviction_policy == "AlwaysAllow":
        return True
    return pdb.desired_healthy > 0 and pdb.current_healthy >= pdb.desired_healthy


def pdb_impacts(evicting: list[PodRecord], pdbs: list[PdbRecord]) -> list[PdbImpact]:
    """The PDBs that guard the pods the drain will evict, as the eviction API applies them."""
    guarded: dict[str, list[str]] = {}
    by_key = {p.key: p for p in pdbs}
    multiple: set[str] = set()
    for pod in evicting:
        if ignores_budgets(pod):
            continue
        matched = pdbs_for_pod(pod, pdbs)
        if len(matched) > 1:  # the server refuses before it looks at the pod's health
            multiple.update(p.key for p in matched)
        for pdb in matched:
            if len(matched) > 1 or not evicted_at_once(pod, pdb):
                guarded.setdefault(pdb.key, []).append(pod.key)
    return [_impact(by_key[key], pods, key in multiple) for key, pods in sorted(guarded.items())]


def _impact(pdb: PdbRecord, pods: list[str], multiple: bool) -> PdbImpact:
    allowed = pdb.disruptions_allowed
    if multiple:
        effect = "multiple"
    elif allowed <= 0:
        effect = "blocks"
    elif allowed < len(pods):
        effect = "paces"
    else:
        effect = "ok"
    return PdbImpact(pdb.key, effect, tuple(pods), allowed, pdb.current_healthy, pdb.desired_healthy,
                     pdb.expected_pods)


# --------------------------------------------------------------------------- capacity


@dataclass(frozen=True)
class CapacityCheck:
    """Whether the other schedulable nodes have pod slots for the pods that will be recreated."""

    ok: bool
    needed: int
    free: int
    nodes: tuple[str, ...]

    def line(self) -> str:
        """One human sentence."""
        verdict = "enough" if self.ok else "NOT enough"
        return (f"capacity: {self.needed} pods to reschedule, {self.free} free pod slots on "
                f"{len(self.nodes)} schedulable nodes ({verdict})")


def rescheduled_pods(evicting: list[PodRecord]) -> list[PodRecord]:
    """Evicted pods that a controller will recreate elsewhere (not finished, not DaemonSet)."""
    return [p for p in evicting if not p.finished and p.controller_ref is not None and not p.daemonset_owned]


def capacity_check(draining: set[str], nodes: list[NodeRecord], pods: list[PodRecord],
                   evicting: list[PodRecord]) -> CapacityCheck:
    """Pod-count capacity: free ``allocatable.pods`` on the nodes that will stay schedulable."""
    moving = rescheduled_pods(evicting)
    running = running_pods(pods)
    free, names = 0, []
    for node in nodes:
        if node.name in draining or not _takes(node, moving):
            continue
        free += max(0, node.allocatable_pods - running.get(node.name, 0))
        names.append(node.name)
    return CapacityCheck(free >= len(moving), len(moving), free, tuple(names))


def _takes(node: NodeRecord, pods: list[PodRecord]) -> bool:
    """Schedulable, Ready, and every pod tolerates its hard taints."""
    return not node.unschedulable and node.ready and all(node.accepts(pod) for pod in pods)


def running_pods(pods: list[PodRecord]) -> dict[str, int]:
    """Per node name, the pods bound to it that are not finished."""
    running: dict[str, int] = {}
    for pod in pods:
        if pod.node_name and not pod.finished:
            running[pod.node_name] = running.get(pod.node_name, 0) + 1
    return running


# --------------------------------------------------------------------------- pre-flight


@dataclass
class DrainPreflight:
    """Everything the operator should see before a drain changes anything."""

    node: str
    already_cordoned: bool
    filtered: PodFilterResult
    pdbs: list[PdbImpact]
    capacity: CapacityCheck
    server_refusals: dict[str, str] = field(default_factory=dict)  # pod -> answer to a dryRun eviction

    @property
    def refused(self) -> list[str]:
        """Reasons the drain cannot start (kubectl's filter errors, overlapping PDBs, hard refusals
        of server-side dry-run evictions such as RBAC)."""
        lines = self.filtered.error_lines()
        lines += [impact.line() for impact in self.pdbs if impact.effect == "multiple"]
        lines += [f"server dry-run eviction of {pod} refused: {why}" for pod, why in self.server_refusals.items()
                  if not why.startswith("retry:")]
        return lines

    @property
    def warnings(self) -> list[str]:
        """Things that will slow or stall the drain but do not refuse it."""
        lines = self.filtered.warning_lines()
        lines += [impact.line() for impact in self.pdbs if impact.effect in ("blocks", "paces")]
        lines += [f"server dry-run eviction of {pod} would be retried: {why[6:].strip()}"
                  for pod, why in self.server_refusals.items() if why.startswith("retry:")]
        if not self.capacity.ok:
            lines.append(self.capacity.line())
        return lines

    def lines(self) -> list[str]:
        """The whole pre-flight as human lines (the CLI prints them; the TUI shows them)."""
        out = [f"node/{self.node} {'is already cordoned' if self.already_cordoned else 'will be cordoned'}"]
        out += [f"evict pod {d.key}" + (f" ({d.reason})" if d.reason != "managed" else "") for d in self.filtered.evict]
        out += [f"skip pod {d.key} ({d.reason})" for d in self.filtered.skipped]
        out += self.refused + self.warnings
        out.append(self.capacity.line())
        return out

    def to_dict(self) -> dict:
        """JSON-friendly form for ``--json``."""
        return {
            "node": self.node,
            "already_cordoned": self.already_cordoned,
            "evict": [asdict(d) for d in self.filtered.evict],
            "skip": [asdict(d) for d in self.filtered.skipped],
            "errors": [asdict(d) for d in self.filtered.errors],
            "refused": self.refused,
            "warnings": self.warnings,
            "pdbs": [asdict(p) for p in self.pdbs],
            "capacity": asdict(self.capacity),
            "server_refusals": self.server_refusals,
        }


# --------------------------------------------------------------------------- eviction answers

_BUDGET_NUMBERS = re.compile(r"The disruption budget (\S+) needs (\d+) healthy pods? and has (\d+) currently")
_BUDGET_NAME = re.compile(r"The disruption budget (?!is\b)([a-z0-9][-a-z0-9.]*)")


@dataclass(frozen=True)
class EvictionRefusal:
    """A refused eviction, classified: "blocked" (429, retry), "multiple-pdbs" (500, stop),
    "terminating-namespace" (403, retry), "error" (anything else, stop)."""

    kind: str
    message: str
    pdb: str = ""
    desired_healthy: int | None = None
    current_healthy: int | None = None

    @property
    def retryable(self) -> bool:
        """kubectl retries 429 and namespace-terminating 403s every 5 s."""
        return self.kind in ("blocked", "terminating-namespace")


def classify_eviction_error(status: int, body: dict | None, message: str = "") -> EvictionRefusal:
    """Classify an eviction error answer (the server's v1 Status) the way kubectl treats it."""
    body = body or {}
    message = body.get("message") or message
    causes = (body.get("details") or {}).get("causes") or []
    if status == 429:
        for cause in causes:
            text = cause.get("message", "")
            match = _BUDGET_NUMBERS.search(text)
            if match:
                return EvictionRefusal("blocked", text or message, match.group(1), int(match.group(2)),
                                       int(match.group(3)))
            named = _BUDGET_NAME.search(text)
            if named:
                return EvictionRefusal("blocked", text or message, named.group(1))
        return EvictionRefusal("blocked", message)
    if status == 500:
        return EvictionRefusal("multiple-pdbs" if "more than one" in message else "error", message)
    if status == 403 and any(c.get("reason") == "NamespaceTerminating" for c in causes):
        return EvictionRefusal("terminating-namespace", message)
    return EvictionRefusal("error", message)


# --------------------------------------------------------------------------- cordon ownership


def cordon_record(run: str, user: str, now: datetime, was_unschedulable: bool) -> str:
    """The value of ``cockpit.dev/cordoned-by``: who cordoned, when, and the state before."""
    return json.dumps({"run": run, "user": user, "at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "was_unschedulable": was_unschedulable}, sort_keys=True)


def cordon_patch(record: str | None) -> dict:
    """The merge patch that cordons a node and writes ``record`` (a :func:`cordon_record` value)
    unless it is None: an existing record is kept, so a resumed run still knows the node was
    schedulable before."""
    body: dict = {"spec": {"unschedulable": True}}
    if record is not None:
        body["metadata"] = {"annotations": {CORDONED_BY: record}}
    return body


def _node(node: NodeRecord | dict) -> NodeRecord:
    # Raw Nodes are still passed by controllers that have not moved to records yet.
    return node if isinstance(node, NodeRecord) else decode("nodes", node)  # type: ignore[return-value]


def read_cordon_record(node: NodeRecord | dict) -> dict | None:
    """The parsed cordon record on a node, or None if cockpit did not cordon it."""
    raw = _node(node).annotations.get(CORDONED_BY)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return {"run": "", "user": "", "at": "", "was_unschedulable": False}
    return value if isinstance(value, dict) else None


def uncordon_decision(node: NodeRecord | dict, force: bool) -> tuple[bool, str]:
    """Whether cockpit may uncordon ``node`` and why (only its own cordons, unless forced).

    Avoids the two classic bugs: leaving our own cordon behind, and lifting somebody else's.
    """
    node = _node(node)
    if not node.unschedulable:
        return False, f"node/{node.name} already uncordoned"
    record = read_cordon_record(node)
    if force:
        return True, f"node/{node.name} uncordoned (forced)"
    if record is None:
        return False, (f"node/{node.name} was not cordoned by cockpit; leaving it cordoned "
                       "(use --force to uncordon anyway)")
    if record.get("was_unschedulable"):
        return False, (f"node/{node.name} was already cordoned before cockpit's run {record.get('run')}; "
                       "leaving it cordoned (use --force)")
    return True, f"node/{node.name} uncordoned"
