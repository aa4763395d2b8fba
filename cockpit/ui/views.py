"""The panes' window onto the state layer: store helpers and the domain views they show.

Rollout state, blue/green pairs, route splits and version skew are computed by the pure
domain views (``cockpit.domain.rollout``, ``traffic``, ``skew``); this module only adapts
them to what a pane row needs, so the panes never depend on their exact shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text

from cockpit.domain import skew, traffic


def all_uids(store: Any) -> Iterable[str]:
    """Every uid in a store (used only for a full redraw, e.g. after a theme change)."""
    return store.uids()


def all_records(store: Any) -> Iterable[Any]:
    """Every record in a store."""
    return store.values()


def pod_finished(pod: Any) -> bool:
    """Succeeded/Failed pods do not count against a node (as kubectl describe node)."""
    return pod.phase in ("Succeeded", "Failed")


# What a node-by-node kubeadm upgrade passes through on its way (a kubelet or a component
# upgraded before every kube-apiserver is): expected while it runs, a violation otherwise.
TRANSIENT_RULES = frozenset({"kubelet-newer", "component-newer", "kubelet-at-limit"})


def nodes_header(nodes: list[Any], cache: Any, *, upgrading: bool = False) -> Text:
    """``API v1.32.4 · 3 control-plane, 6 workers · skew: ok``, the violations, or (while an
    upgrade runs) the transient skew it is expected to cause."""
    version = getattr(cache, "server_version", None) or "?"
    if "nodes" in (getattr(cache, "forbidden", None) or ()):
        return Text.assemble(("API ", "bold"), str(version), "  ·  ", ("nodes: forbidden", "bold"),
                             " (your RBAC role may not list nodes; skew cannot be checked)")
    cps = sum(1 for n in nodes if n.is_control_plane)
    text = Text.assemble(("API ", "bold"), str(version), f"  ·  {cps} control-plane, {len(nodes) - cps} workers  ·  ")
    components = skew.control_plane_versions(_control_plane_pods(cache, nodes))
    violations = skew.skew_violations(str(version), nodes, components) if version != "?" else []
    expected = [v for v in violations if upgrading and v.rule in TRANSIENT_RULES]
    real = [v for v in violations if v not in expected]
    if real:
        text.append(f"✘ {len(real)} skew violation(s): ", style="bold")
        text.append("; ".join(str(v) for v in real[:3]))
    elif expected:
        text.append(f"⟳ upgrade in progress: transient skew ({len(expected)}), expected until it finishes: ")
        text.append("; ".join(str(v) for v in expected[:2]))
    else:
        text.append("✔ version skew ok")
    return text


def _slices_for(cache: Any, services: Iterable[Any]) -> list[Any]:
    """EndpointSlices of these Services through the store's service index."""
    slices = cache.store("endpointslices")
    return [e for svc in services for e in slices.by_index("service", svc.key)]


def _pods_of(cache: Any, deployments: Iterable[Any]) -> list[Any]:
    """Pods of these Deployments via the owner indexes (Deployment -> ReplicaSet -> Pod)."""
    rs_store, pods = cache.store("replicasets"), cache.store("pods")
    return [p for d in deployments for rs in rs_store.by_index("owner", d.uid) for p in pods.by_index("owner", rs.uid)]


def bluegreen_pairs(cache: Any, services: list[Any], deployments: list[Any], labels: tuple[str, ...]) -> list[Any]:
    """Blue/green pairs among one namespace's Services and Deployments (domain.traffic)."""
    if not services or len(deployments) < 2:
        return []
    return traffic.blue_green_pairs(services, deployments, _pods_of(cache, deployments),
                                    _slices_for(cache, services), labels)


def route_splits(cache: Any, routes: list[Any], services: list[Any]) -> list[Any]:
    """Weighted splits of one namespace's HTTPRoutes with ready endpoints per backend."""
    if not routes:
        return []
    return traffic.route_splits(routes, services, _slices_for(cache, services))


def _control_plane_pods(cache: Any, nodes: list[Any]) -> list[Any]:
    """kube-system pods on control-plane nodes (the static pods carry component versions)."""
    pods = cache.store("pods")
    return [p for n in nodes if n.is_control_plane for p in pods.by_index("node", n.name)
            if p.namespace == "kube-system"]
