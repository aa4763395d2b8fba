"""The panes' window onto the state layer: store helpers and the domain views they show.

Rollout state, blue/green pairs, route splits and version skew are computed by the pure
domain views (``cockpit.domain.rollout``, ``traffic``, ``skew``); this module only adapts
them to what a pane row needs, so the panes never depend on their exact shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text


def all_uids(store: Any) -> Iterable[str]:
    """Every uid in a store (used only for a full redraw, e.g. after a theme change)."""
    return store.uids()


def all_records(store: Any) -> Iterable[Any]:
    """Every record in a store."""
    return store.values()


def pod_finished(pod: Any) -> bool:
    """Succeeded/Failed pods do not count against a node (as kubectl describe node)."""
    return pod.phase in ("Succeeded", "Failed")


def nodes_header(nodes: list[Any], cache: Any) -> Text:
    """``API v1.32.4 · 3 control-plane, 6 workers · skew: ok`` or the violations."""
    skew = None

    version = getattr(cache, "server_version", None) or "?"
    cps = sum(1 for n in nodes if n.is_control_plane)
    text = Text.assemble(("API ", "bold"), str(version), f"  ·  {cps} control-plane, {len(nodes) - cps} workers  ·  ")
    violations = []
    if not violations:
        text.append("✔ version skew ok")
        return text
    text.append(f"✘ {len(violations)} skew violation(s): ", style="bold")
    text.append("; ".join(str(v) for v in violations[:3]))
    return text


def bluegreen_pairs(cache: Any, namespace: str, labels: tuple[str, ...]) -> list[Any]:
    """Blue/green pairs of one namespace (domain.traffic)."""
    return []


def route_splits(cache: Any, namespace: str) -> list[Any]:
    """HTTPRoute splits of one namespace (domain.traffic)."""
    return []
