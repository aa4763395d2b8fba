"""Runbook detectors: the common incidents, diagnosed from records, with the next actions.

Each detector is a pure function of a :class:`ClusterSnapshot` (and the current time) that
returns :class:`Problem` values: a one-line diagnosis, the evidence behind it, and the next
actions as action ids the UI binds to keys (``rollout.undo``, ``node.drain``...) together with
the equivalent command. The first action is the one to take first: for a bad deploy that is
always rolling back.

Detectors: node NotReady, bad deploy (a new revision whose pods fail), crash loops and image
pull failures outside a bad deploy, unschedulable pods, a Service without ready endpoints, a
drain blocked by a PodDisruptionBudget, and control-plane certificates about to expire (from
``kubeadm certs check-expiration``, see :mod:`cockpit.domain.certs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cockpit.domain.certs import CertificateReport
from cockpit.domain.records import DeploymentRecord, NodeRecord, PdbRecord, PodRecord, ReplicaSetRecord, ServiceRecord
from cockpit.domain.rollout import diagnose, rollout_status
from cockpit.domain.snapshot import ClusterSnapshot
from cockpit.domain.timeline import EntryKind, Severity, TimelineEntry, parse_time

PULL_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"})
CRASH_REASONS = frozenset({"CrashLoopBackOff", "RunContainerError", "OOMKilled", "Error"})
PENDING_GRACE = timedelta(seconds=30)  # a pod pending for less than this is just being scheduled
CERT_WARN_DAYS = 30.0
LISTED = 5  # how many pods an evidence line names before "and N more"
COLOUR_LABELS = ("color", "slot", "version")


@dataclass(frozen=True)
class NextAction:
    """A step the operator can take: the action id (empty when cockpit has no key for it),
    a label, the target the action acts on and the equivalent command."""

    action_id: str
    label: str
    target: str
    command: str = ""


@dataclass(frozen=True)
class Problem:
    """A detected incident on one object.

    ``id`` names the runbook (``bad-deploy``, ``node-not-ready``...); ``title`` is the diagnosis
    in one line; ``evidence`` the facts behind it; ``actions`` what to do, first things first;
    ``since`` when it started, if known.
    """

    id: str
    severity: Severity
    kind: str
    namespace: str
    name: str
    title: str
    evidence: tuple[str, ...] = ()
    actions: tuple[NextAction, ...] = ()
    since: datetime | None = None

    @property
    def key(self) -> str:
        """Stable identity: the runbook and the object (``bad-deploy:Deployment/shop/checkout``)."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.id}:{self.kind}/{where}"

    @property
    def object_key(self) -> str:
        """``namespace/name`` (or ``name``), as panes key their rows."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def entry(self, at: datetime) -> TimelineEntry:
        """The problem as a timeline row at ``at`` (or when it started, when known)."""
        actions = tuple(f"next: {a.label}" + (f" ({a.command})" if a.command else "") for a in self.actions)
        return TimelineEntry(self.since or at, self.severity, EntryKind.PROBLEM, self.namespace,
                             f"{self.kind}/{self.name}", self.title, "runbook", self.evidence + actions)


def detect_all(snap: ClusterSnapshot, now: datetime,
               certificates: Iterable[CertificateReport] = ()) -> list[Problem]:
    """Every detector over ``snap``; errors first, then by object."""
    bad = bad_deploys(snap)
    covered = {d.name for d in bad}
    problems = [*nodes_not_ready(snap, now), *bad,
                *crash_loops(snap, skip_deployments=covered), *image_pull_failures(snap, skip_deployments=covered),
                *unschedulable_pods(snap, now), *services_without_endpoints(snap), *drains_blocked(snap),
                *expiring_certificates(certificates, now)]
    return sorted(problems, key=lambda p: (-p.severity.rank, p.id, p.namespace, p.name))


# ----- node NotReady ------------------------------------------------------------------------


def nodes_not_ready(snap: ClusterSnapshot, now: datetime) -> list[Problem]:
    """Nodes whose Ready condition is not True: how long, and what runs there."""
    return [_not_ready(snap, node, now) for node in snap.nodes if node.ready_status != "True"]


def _not_ready(snap: ClusterSnapshot, node: NodeRecord, now: datetime) -> Problem:
    since = _not_ready_since(snap, node)
    pods = [p for p in snap.pods_on(node.name) if p.phase not in ("Succeeded", "Failed")]
    evidence = [f"Ready={node.ready_status}" + (f" ({node.ready_reason})" if node.ready_reason else "")]
    if since is not None:
        evidence.append(f"NotReady for {duration_text(now - since)} (since {since:%H:%M:%S} UTC)")
    evidence.append(f"runs {len(pods)} pod{'s' if len(pods) != 1 else ''}" + (": " + _names(pods) if pods else ""))
    actions = [] if node.unschedulable else [NextAction("node.cordon", f"cordon {node.name}", node.name,
                                                         f"kubectl cordon {node.name}")]
    actions.append(NextAction("node.drain", f"drain {node.name}", node.name,
                              f"kubectl drain {node.name} --ignore-daemonsets"))
    title = f"node {node.name} is NotReady" + (f" for {duration_text(now - since)}" if since else "")
    if node.is_control_plane:
        title += " (control plane)"
    return Problem("node-not-ready", Severity.ERROR, "Node", "", node.name, title, tuple(evidence),
                   tuple(actions), since)


def _not_ready_since(snap: ClusterSnapshot, node: NodeRecord) -> datetime | None:
    """The last kubelet heartbeat (node Lease), else the newest NodeNotReady Event."""
    lease = snap.node_lease(node.name)
    if lease is not None and lease.renew_time is not None:
        return parse_time(lease.renew_time)
    events = [e for e in snap.events_about("Node", "", node.name) if e.reason == "NodeNotReady"]
    return parse_time(events[-1].last_seen) if events else None


# ----- bad deploy ---------------------------------------------------------------------------


def bad_deploys(snap: ClusterSnapshot) -> list[Problem]:
    """Deployments whose newest revision fails while an older revision exists to roll back to."""
    out = []
    for deployment in snap.deployments:
        problem = _bad_deploy(snap, deployment)
        if problem is not None:
            out.append(problem)
    return out


def _bad_deploy(snap: ClusterSnapshot, d: DeploymentRecord) -> Problem | None:
    sets = snap.replicasets_of(d)
    if len(sets) < 2:
        return None
    new, previous = _new_and_previous(d, sets)
    if new is None or previous is None:
        return None
    failing = [p for p in snap.pods_of(new) if _bad_reason(p) and not p.terminating]
    status, diagnosis = rollout_status(d), diagnose(d, sets, [p for rs in sets for p in snap.pods_of(rs)])
    if not failing and not status.failed:
        return None
    reason = _bad_reason(failing[0]) if failing else status.reason
    evidence = [_introduced(new, previous), *diagnosis.reasons]
    if status.failed:
        evidence.append(status.message)
    ready_old = sum(1 for p in snap.pods_of(previous) if p.ready)
    evidence.append(f"revision {previous.revision} still has {ready_old} ready pod{'s' if ready_old != 1 else ''}")
    target = f"{d.namespace}/{d.name}"
    actions = (
        NextAction("rollout.undo", f"roll back to revision {previous.revision}", target,
                   f"kubectl -n {d.namespace} rollout undo deployment/{d.name} --to-revision={previous.revision}"),
        NextAction("rollout.pause", "pause the rollout", target,
                   f"kubectl -n {d.namespace} rollout pause deployment/{d.name}"),
    )
    title = (f"bad deploy: {d.name} revision {new.revision} is failing ({reason}); "
             f"roll back to revision {previous.revision}")
    return Problem("bad-deploy", Severity.ERROR, "Deployment", d.namespace, d.name, title, tuple(evidence),
                   actions, parse_time(new.created))


def _new_and_previous(d: DeploymentRecord, sets: list[ReplicaSetRecord]) -> tuple[ReplicaSetRecord | None,
                                                                                   ReplicaSetRecord | None]:
    """The Deployment's current ReplicaSet and the one ``rollout undo`` goes back to."""
    new = next((rs for rs in sets if rs.revision == d.revision), sets[0])
    older = [rs for rs in sets if rs.revision < new.revision]
    return new, (older[0] if older else None)


def _introduced(new: ReplicaSetRecord, previous: ReplicaSetRecord) -> str:
    """``revision 2 introduced checkout=...:2.4.0-broken (revision 1 ran ...:2.3.1)``."""
    before = {c.name: c.image for c in previous.containers}
    changed = [c for c in new.containers if before.get(c.name) != c.image]
    parts = [f"{c.name}={c.image}" + (f" (revision {previous.revision} ran {before[c.name]})"
                                      if c.name in before else " (new container)") for c in changed]
    return f"revision {new.revision} introduced " + ("; ".join(parts) or "a new pod template")


def _bad_reason(pod: PodRecord) -> str:
    reason = pod.waiting_reason.removeprefix("Init:")
    return reason if reason in PULL_REASONS or reason in CRASH_REASONS else ""


# ----- crash loops and image pulls -----------------------------------------------------------


def crash_loops(snap: ClusterSnapshot, skip_deployments: Iterable[str] = ()) -> list[Problem]:
    """Pods in CrashLoopBackOff (and kin), one problem per owner."""
    return _pod_problems(snap, CRASH_REASONS, "crash-loop", "crash looping", set(skip_deployments))


def image_pull_failures(snap: ClusterSnapshot, skip_deployments: Iterable[str] = ()) -> list[Problem]:
    """Pods that cannot pull their image, one problem per owner."""
    return _pod_problems(snap, PULL_REASONS, "image-pull", "cannot pull its image", set(skip_deployments))


def _pod_problems(snap: ClusterSnapshot, reasons: frozenset[str], runbook: str, what: str,
                  skip: set[str]) -> list[Problem]:
    groups: dict[tuple[str, str, str], list[PodRecord]] = {}
    for pod in snap.pods:
        if pod.waiting_reason.removeprefix("Init:") in reasons and not pod.terminating:
            deployment = snap.deployment_of(pod)
            if deployment is not None and deployment.name in skip:
                continue
            owner = (("Deployment", deployment.name) if deployment
                     else (pod.owner_kind or "Pod", pod.owner_name or pod.name))
            groups.setdefault((pod.namespace, *owner), []).append(pod)
    return [_owner_problem(snap, runbook, what, key, pods) for key, pods in sorted(groups.items())]


def _owner_problem(snap: ClusterSnapshot, runbook: str, what: str, key: tuple[str, str, str],
                   pods: list[PodRecord]) -> Problem:
    namespace, kind, name = key
    reasons = sorted({p.waiting_reason for p in pods})
    evidence = [f"{len(pods)} pod{'s' if len(pods) != 1 else ''} {', '.join(reasons)}: {_names(pods)}"]
    images = sorted({image for p in pods for image in p.images})
    if images:
        evidence.append("image " + ", ".join(images))
    restarts = max(p.restarts for p in pods)
    if restarts:
        evidence.append(f"up to {restarts} restarts")
    evidence += [f"{e.reason}: {e.message}" for p in pods[:1] for e in snap.events_about("Pod", namespace, p.name)[-2:]
                 if e.type == "Warning"]
    actions = _workload_actions(snap, namespace, kind, name)
    title = f"{kind.lower()} {name} {what} ({', '.join(reasons)})"
    return Problem(runbook, Severity.ERROR, kind, namespace, name, title, tuple(evidence), actions,
                   min((parse_time(p.start_time or p.created) for p in pods if p.start_time or p.created),
                       default=None))


def _workload_actions(snap: ClusterSnapshot, namespace: str, kind: str, name: str) -> tuple[NextAction, ...]:
    if kind != "Deployment":
        return ()
    target = f"{namespace}/{name}"
    deployment = next((d for d in snap.deployments if d.namespace == namespace and d.name == name), None)
    actions = []
    if deployment is not None and len(snap.replicasets_of(deployment)) > 1:
        actions.append(NextAction("rollout.undo", "roll back to the previous revision", target,
                                  f"kubectl -n {namespace} rollout undo deployment/{name}"))
    actions.append(NextAction("rollout.restart", "restart the pods", target,
                              f"kubectl -n {namespace} rollout restart deployment/{name}"))
    return tuple(actions)


# ----- unschedulable pods --------------------------------------------------------------------


def unschedulable_pods(snap: ClusterSnapshot, now: datetime) -> list[Problem]:
    """Pods pending without a node for longer than :data:`PENDING_GRACE`, one problem per namespace."""
    stuck: dict[str, list[PodRecord]] = {}
    for pod in snap.pods:
        created = parse_time(pod.created)
        if pod.phase == "Pending" and not pod.node_name and not pod.terminating and created \
                and now - created >= PENDING_GRACE:
            stuck.setdefault(pod.namespace, []).append(pod)
    return [_unschedulable(snap, ns, pods, now) for ns, pods in sorted(stuck.items())]


def _unschedulable(snap: ClusterSnapshot, namespace: str, pods: list[PodRecord], now: datetime) -> Problem:
    evidence = [f"{len(pods)} pod{'s' if len(pods) != 1 else ''} pending without a node: {_names(pods)}"]
    scheduling = [e for p in pods for e in snap.events_about("Pod", namespace, p.name)
                  if e.reason == "FailedScheduling"]
    if scheduling:
        evidence.append(f"scheduler: {scheduling[-1].message}")
    cordoned = sorted(n.name for n in snap.nodes if n.unschedulable)
    actions = []
    if cordoned:
        evidence.append("cordoned nodes: " + ", ".join(cordoned))
        actions.append(NextAction("node.uncordon", f"uncordon {cordoned[0]}", cordoned[0],
                                  f"kubectl uncordon {cordoned[0]}"))
    oldest = min(parse_time(p.created) or now for p in pods)
    title = f"{len(pods)} pod{'s' if len(pods) != 1 else ''} in {namespace} cannot be scheduled"
    return Problem("unschedulable", Severity.WARNING, "Namespace", "", namespace, title, tuple(evidence),
                   tuple(actions), oldest)


# ----- Services without endpoints ------------------------------------------------------------


def services_without_endpoints(snap: ClusterSnapshot, colour_labels: Iterable[str] = COLOUR_LABELS) -> list[Problem]:
    """Services with a selector and no ready endpoint in any of their EndpointSlices."""
    out = []
    for service in snap.services:
        if not service.selector or service.type == "ExternalName":
            continue
        slices = snap.slices_of(service)
        if sum(s.ready_count for s in slices) == 0:
            out.append(_no_endpoints(snap, service, tuple(colour_labels)))
    return out


def _no_endpoints(snap: ClusterSnapshot, service: ServiceRecord, colour_labels: tuple[str, ...]) -> Problem:
    selected = [p for p in snap.pods_in(service.namespace) if service.label_selector.matches(p.labels)]
    ready = sum(1 for p in selected if p.ready)
    selector = ",".join(f"{k}={v}" for k, v in service.selector.items())
    evidence = [f"selector {selector} matches {len(selected)} pod{'s' if len(selected) != 1 else ''}, {ready} ready"]
    actions = []
    other = _ready_colour(snap, service, colour_labels)
    if other is not None:
        label, value, count = other
        evidence.append(f"{count} ready pods carry {label}={value}")
        target = f"{service.namespace}/{service.name}"
        actions.append(NextAction("traffic.switch", f"switch {service.name} to {value}", target,
                                  f"kubectl -n {service.namespace} patch service {service.name} --type=merge "
                                  f"-p '{{\"spec\":{{\"selector\":{{\"{label}\":\"{value}\"}}}}}}'"))
    title = f"service {service.name} has no ready endpoints"
    return Problem("no-endpoints", Severity.ERROR, "Service", service.namespace, service.name, title,
                   tuple(evidence), tuple(actions))


def _ready_colour(snap: ClusterSnapshot, service: ServiceRecord,
                  colour_labels: tuple[str, ...]) -> tuple[str, str, int] | None:
    """Another value of the Service's colour label under which ready pods exist (switch back there)."""
    for label in colour_labels:
        current = service.selector.get(label)
        if current is None:
            continue
        rest = {k: v for k, v in service.selector.items() if k != label}
        counts: dict[str, int] = {}
        for pod in snap.pods_in(service.namespace):
            value = pod.labels.get(label)
            if (pod.ready and value and value != current
                    and all(pod.labels.get(k) == v for k, v in rest.items())):
                counts[value] = counts.get(value, 0) + 1
        if counts:
            value = max(counts, key=lambda v: counts[v])
            return label, value, counts[value]
    return None


# ----- drain blocked by a PDB ---------------------------------------------------------------


def drains_blocked(snap: ClusterSnapshot) -> list[Problem]:
    """Cordoned nodes still running pods that a PodDisruptionBudget allows no eviction of."""
    out = []
    for node in snap.nodes:
        if not node.unschedulable:
            continue
        blockers = blocking_pdbs(snap, node.name)
        if blockers:
            out.append(_drain_blocked(node, blockers))
    return out


def blocking_pdbs(snap: ClusterSnapshot, node: str) -> dict[str, tuple[PdbRecord, list[PodRecord]]]:
    """PDB key -> (PDB, its pods on ``node``) for every PDB at 0 allowed disruptions covering them."""
    found: dict[str, tuple[PdbRecord, list[PodRecord]]] = {}
    for pod in snap.pods_on(node):
        if not _evictable(pod):
            continue
        for pdb in snap.pdbs:
            if pdb.namespace == pod.namespace and pdb.disruptions_allowed <= 0 and pdb.selector.matches(pod.labels):
                found.setdefault(pdb.key, (pdb, []))[1].append(pod)
    return found


def _evictable(pod: PodRecord) -> bool:
    """What a drain evicts: running pods that are not DaemonSet-managed or static mirrors."""
    return (pod.phase not in ("Succeeded", "Failed") and not pod.terminating and pod.owner_kind != "DaemonSet"
            and "kubernetes.io/config.mirror" not in pod.annotations)


def _drain_blocked(node: NodeRecord, blockers: Mapping[str, tuple[PdbRecord, list[PodRecord]]]) -> Problem:
    evidence = []
    for key, (pdb, pods) in sorted(blockers.items()):
        evidence.append(f"PDB {key}: disruptionsAllowed {pdb.disruptions_allowed}, healthy "
                        f"{pdb.current_healthy}/{pdb.desired_healthy} desired, {pdb.expected_pods} expected; "
                        f"blocks {_names(pods)}")
    names = ", ".join(sorted(blockers))
    actions = (NextAction("node.drain", f"retry the drain of {node.name} once the budget allows", node.name,
                          f"kubectl drain {node.name} --ignore-daemonsets"),
               NextAction("node.uncordon", f"give up: uncordon {node.name}", node.name,
                          f"kubectl uncordon {node.name}"))
    title = f"drain of {node.name} blocked by PDB {names}"
    return Problem("drain-blocked", Severity.WARNING, "Node", "", node.name, title, tuple(evidence), actions)


# ----- control-plane certificates -------------------------------------------------------------


def expiring_certificates(reports: Iterable[CertificateReport], now: datetime,
                          within_days: float = CERT_WARN_DAYS) -> list[Problem]:
    """Nodes whose kubeadm certificates are missing, expired or expire within ``within_days``."""
    out = []
    for report in reports:
        due = report.expiring(now, within_days)
        if due:
            out.append(_certs_problem(report.node, due, now, within_days))
    return out


def _certs_problem(node: str, due: list, now: datetime, within_days: float) -> Problem:
    expired = [c for c in due if c.missing or (c.days_left(now) or 0) <= 0]
    evidence = tuple(f"{c.name}{' (CA)' if c.is_ca else ''}: " + (
        "missing" if c.missing else f"expires {c.expires:%Y-%m-%d %H:%M} UTC ({_days(c.days_left(now))})")
        for c in due)
    soonest = due[0]
    what = "missing" if soonest.missing else f"{_days(soonest.days_left(now))}"
    title = (f"{node}: {len(due)} control-plane certificate{'s' if len(due) != 1 else ''} "
             f"{'expired or missing' if expired else f'expire within {within_days:g} days'} ({soonest.name}: {what})")
    action = NextAction("", f"renew the certificates on {node}", node, f"ssh {node} sudo kubeadm certs renew all")
    return Problem("certs-expiring", Severity.ERROR if expired else Severity.WARNING, "Node", "", node, title,
                   evidence, (action,))


def _days(days: float | None) -> str:
    if days is None:
        return "missing"
    return "expired" if days <= 0 else f"{days:.0f} days left"


# ----- helpers --------------------------------------------------------------------------------


def _names(pods: list[PodRecord]) -> str:
    names = sorted(f"{p.namespace}/{p.name}" for p in pods)
    more = len(names) - LISTED
    return ", ".join(names[:LISTED]) + (f" and {more} more" if more > 0 else "")


def duration_text(delta: timedelta) -> str:
    """``45s``, ``12m``, ``3h05m``, ``2d04h``: how long, for people."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
