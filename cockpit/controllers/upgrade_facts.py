"""Reads for the upgrade planner, and the exact commands each node's steps will run.

``read_snapshot`` reads the API server version and, as records, every node (kubelet version,
osImage, Ready, cordon, recorded progress), the pods (control-plane static pod images,
capacity) and the PDBs; ``facts_from`` turns them into the pure
:class:`cockpit.domain.upgrade.ClusterFacts`.
``step_commands`` lists, per step, the remote commands built by :mod:`cockpit.ssh.commands`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cockpit.domain import drain as drain_rules
from cockpit.domain import versions
from cockpit.domain.images import image_tag
from cockpit.domain.records import NodeRecord, PdbRecord, PodRecord
from cockpit.domain.steps import Step, progress_from_annotations
from cockpit.domain.upgrade import FIRST_CONTROL_PLANE, ClusterFacts, NodeFacts, PlannedNode, UpgradePlan
from cockpit.domain.versions import try_parse
from cockpit.kube.paths import path_for
from cockpit.kube.typed import list_records
from cockpit.ssh import commands

STATIC_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


@dataclass
class Snapshot:
    """Objects read once for planning (kept for the pre-flight views)."""

    version: str
    nodes: list[NodeRecord]
    pods: list[PodRecord]
    pdbs: list[PdbRecord]
    os_families: dict[str, str] = field(default_factory=dict)
    kubeadm_versions: dict[str, str] = field(default_factory=dict)


async def read_snapshot(client) -> Snapshot:
    """Read everything the planner needs (a handful of list calls)."""
    version = (await client.version()).get("gitVersion", "")
    nodes = await list_records(client, NodeRecord, path_for("nodes"))
    pods = await list_records(client, PodRecord, path_for("pods"))
    pdbs = await list_records(client, PdbRecord, path_for("poddisruptionbudgets"))
    return Snapshot(version, nodes, pods, pdbs)


def teach_addresses(pool, snapshot: Snapshot) -> None:
    """Let the SSH pool fall back to each node's InternalIP when its name is no Host alias."""
    for node in snapshot.nodes:
        pool.set_address(node.name, node.internal_ip or None)


def os_family_from_image(os_image: str) -> str:
    """``debian`` / ``rhel`` from a node's ``status.nodeInfo.osImage`` ("" if unknown)."""
    text = (os_image or "").lower()
    if any(word in text for word in ("debian", "ubuntu")):
        return "debian"
    if any(word in text for word in ("red hat", "rhel", "rocky", "centos", "alma", "fedora", "oracle")):
        return "rhel"
    return ""


def kubelet_version(node: NodeRecord) -> str:
    """The node's kubelet version in the bare form (``1.32.4``), as the plan prints versions."""
    return versions.bare(node.kubelet_version)


def _static_component(pod: PodRecord) -> bool:
    """A kube-apiserver/controller-manager/scheduler mirror pod in kube-system."""
    return (pod.namespace == "kube-system" and pod.is_mirror
            and any(pod.name.startswith(f"{c}-") for c in STATIC_COMPONENTS))


def static_pod_images(pods: list[PodRecord]) -> dict[str, list[tuple[str, str]]]:
    """Per node, ``(pod name, image)`` for each container of its apiserver/controller-manager/scheduler mirror pods."""
    out: dict[str, list[tuple[str, str]]] = {}
    for pod in filter(_static_component, pods):
        out.setdefault(pod.node_name, []).extend((pod.name, c.image) for c in pod.containers)
    return out


def static_pod_versions(pods: list[PodRecord]) -> dict[str, tuple[str, ...]]:
    """Per node, the image tags of its kube-apiserver/controller-manager/scheduler mirror pods."""
    return {node: tuple(image_tag(image) for _, image in images)
            for node, images in static_pod_images(pods).items()}


def static_pods_behind(pods: list[PodRecord], node: str, target: str) -> list[str]:
    """Why ``node``'s control plane is not yet at ``target``: one line per lagging or missing
    mirror pod, naming it and the image it still runs ([] when all three run ``target``).

    A missing mirror pod counts as behind: after ``kubeadm upgrade`` the kubelet recreates it,
    and until then nothing proves the new version is running.
    """
    wanted = try_parse(target)
    images = static_pod_images(pods).get(node, [])
    lines = [f"kube-system/{name} still runs {image or 'no image'}"
             for name, image in images if try_parse(image_tag(image)) != wanted]
    present = {c for c in STATIC_COMPONENTS for name, _ in images if name.startswith(f"{c}-")}
    lines += [f"no {c} mirror pod on node/{node} yet" for c in STATIC_COMPONENTS if c not in present]
    return lines


def _pod_counts(pods: list[PodRecord]) -> tuple[dict[str, int], dict[str, int]]:
    running = drain_rules.running_pods(pods)
    movable: dict[str, int] = {}
    for pod in drain_rules.rescheduled_pods([p for p in pods if p.node_name and not p.is_mirror]):
        movable[pod.node_name] = movable.get(pod.node_name, 0) + 1
    return running, movable


def facts_from(snapshot: Snapshot) -> ClusterFacts:
    """The pure planner's input from a snapshot."""
    images = static_pod_versions(snapshot.pods)
    running, movable = _pod_counts(snapshot.pods)
    nodes = tuple(NodeFacts(
        name=node.name,
        control_plane=node.is_control_plane,
        kubelet=kubelet_version(node),
        os_family=snapshot.os_families.get(node.name) or os_family_from_image(node.os_image),
        kubeadm=snapshot.kubeadm_versions.get(node.name, ""),
        os_image=node.os_image,
        ready=node.ready,
        unschedulable=node.unschedulable,
        movable_pods=movable.get(node.name, 0),
        running_pods=running.get(node.name, 0),
        allocatable_pods=node.allocatable_pods,
        static_pod_versions=images.get(node.name, ()),
        progress=progress_from_annotations(node.name, node.annotations),
    ) for node in snapshot.nodes)
    return ClusterFacts(api_version=snapshot.version, nodes=nodes,
                        min_pdb_disruptions=_min_pdb_disruptions(snapshot.pdbs))


def _min_pdb_disruptions(pdbs: list[PdbRecord]) -> int | None:
    guarding = [p.disruptions_allowed for p in pdbs if p.expected_pods > 0]
    return min(guarding) if guarding else None


async def probe_nodes(pool, snapshot: Snapshot, timeout: float = 30) -> None:
    """Fill ``snapshot`` from the nodes over SSH: OS family (/etc/os-release) and kubeadm version.

    A node that cannot be probed keeps the osImage guess; the run probes again before acting.
    """
    for node in snapshot.nodes:
        name = node.name
        try:
            release = await pool.run(name, commands.os_release(), timeout=timeout, sudo=False)
            snapshot.os_families[name] = commands.os_family_from_os_release(release.stdout)
            kubeadm = await pool.run(name, commands.kubeadm_version(), timeout=timeout, sudo=False)
            if kubeadm.ok:
                snapshot.kubeadm_versions[name] = kubeadm.stdout.strip()
        except Exception:  # noqa: BLE001 - a probe is advisory; the plan says which node is unknown
            continue


def drain_warnings(snapshot: Snapshot, options: drain_rules.DrainOptions) -> list[str]:
    """Per node, what would refuse or stall its drain (kubectl's filters, blocking PDBs), up front."""
    by_node: dict[str, list[PodRecord]] = {}
    for pod in snapshot.pods:
        by_node.setdefault(pod.node_name, []).append(pod)
    out = []
    for node in snapshot.nodes:
        pods = by_node.get(node.name, [])
        filtered = drain_rules.filter_pods(pods, options)
        out += [f"node {node.name}: drain would be refused: {line}" for line in filtered.error_lines()]
        evicting = drain_rules.decided(filtered.evict, pods)
        out += [f"node {node.name}: {impact.line()}" for impact in drain_rules.pdb_impacts(evicting, snapshot.pdbs)
                if impact.effect in ("blocks", "multiple")]
    return out


# --------------------------------------------------------------------------- commands


def step_commands(node: PlannedNode, target: str, sudo: bool = True) -> list[tuple[str, str]]:
    """(step, command line) for every step of ``node``: what the operator will see run."""
    family = node.os_family or "debian"

    def shell(argv: list[str]) -> str:
        return commands.to_shell(commands.with_sudo(argv) if sudo else argv)

    upgrade = (commands.kubeadm_upgrade_apply(target) if node.role == FIRST_CONTROL_PLANE
               else commands.kubeadm_upgrade_node())
    table = {
        Step.UPGRADING_KUBEADM: [shell(commands.install_kubeadm(family, target)),
                                 shell(commands.kubeadm_version())],
        Step.KUBEADM_UPGRADE: [shell(upgrade)],
        Step.DRAINING: [f"API: cordon + evict (as kubectl drain {node.name} --ignore-daemonsets)"],
        Step.UPGRADING_KUBELET: [shell(commands.install_kubelet_kubectl(family, target))],
        Step.RESTARTING_KUBELET: [shell(commands.daemon_reload()), shell(commands.restart_kubelet())],
        Step.WAITING_READY: [f"API: wait for node/{node.name} Ready with kubelet v{target}"],
        Step.UNCORDONING: [f"API: uncordon node/{node.name} (only if cockpit cordoned it)"],
    }
    return [(step.value, line) for step in node.steps for line in table[step]]


def plan_to_dict(plan: UpgradePlan, sudo: bool = True) -> dict:
    """The plan as JSON (for ``--json`` and the journal)."""
    return {
        "target": plan.target,
        "cluster_version": plan.cluster_version,
        "refused": plan.refused,
        "violations": [{"rule": v.rule, "message": v.message} for v in plan.violations],
        "warnings": plan.warnings,
        "concurrency": plan.concurrency,
        "concurrency_note": plan.concurrency_note,
        "batches": plan.batches,
        "nodes": [{"name": n.name, "role": n.role, "os_family": n.os_family, "current": n.current,
                   "target": n.target, "done": n.done, "start_step": n.start_step.value, "note": n.note,
                   "commands": [{"step": s, "command": c} for s, c in step_commands(n, plan.target, sudo)]}
                  for n in (plan.nodes[name] for name in plan.order())],
    }


def plan_lines(plan: UpgradePlan, sudo: bool = True) -> list[str]:
    """The plan as human lines (CLI and confirmation screen)."""
    if plan.refused:
        return [f"upgrade to {plan.target} refused:"] + [f"  {v.line()}" for v in plan.violations]
    out = [f"upgrade {plan.cluster_version} -> {plan.target}: {len(plan.nodes)} nodes, "
           f"{len(plan.batches)} batches, worker concurrency {plan.concurrency}"
           + (f" ({plan.concurrency_note})" if plan.concurrency_note else "")]
    out += [f"warning: {w}" for w in plan.warnings]
    for number, batch in enumerate(plan.batches, 1):
        out.append(f"batch {number}: {', '.join(batch)}")
        for name in batch:
            node = plan.nodes[name]
            status = "done" if node.done else f"{node.current} -> {node.target}"
            note = f" [{node.note}]" if node.note else ""
            out.append(f"  {name} ({node.role}, {node.os_family or 'unknown OS'}): {status}{note}")
            out += [f"    {step:<19} {line}" for step, line in step_commands(node, plan.target, sudo)]
    return out
