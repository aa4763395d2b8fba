"""Faults that can be switched on while the simulator runs (admin endpoint ``/_sim/faults``).

The API server applies ``api_latency``, ``watch_cut_after``, ``force_410`` and ``refuse_until``;
the cluster behaviour (kubelets, PDBs, images, churn, slow controllers) and the SSH nodes read
the others.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Switchable faults. Mutated in place; readers look at the current values each time."""

    api_latency: float = 0
    watch_cut_after: float | None = None
    force_410: bool = False
    refuse_until: float = 0
    stopped_kubelets: set[str] = field(default_factory=set)
    blocking_pdbs: set[str] = field(default_factory=set)
    never_ready_images: set[str] = field(default_factory=set)
    churn_per_second: int = 0
    ssh_fail: dict[str, str] = field(default_factory=dict)
    ssh_hang: dict[str, str] = field(default_factory=dict)
    ssh_drop: dict[str, str] = field(default_factory=dict)
    kubelet_never_returns: set[str] = field(default_factory=set)
    # Simulated seconds every controller waits before working off a change (an overloaded
    # kube-controller-manager): EndpointSlices, ReplicaSets, the scheduler all lag by this much.
    controller_delay: float = 0

    def set(self, name: str, value) -> None:
        """Set one fault from a JSON-ish value, coercing to the field's type.

        ``refuse_for`` is an alias taking seconds from now (``refuse_until`` is a monotonic
        deadline, which only the local process can compute). For set fields a string value is
        added to the set, a list replaces it and ``null`` clears it; dict fields take a dict,
        or ``"node=prefix"``.
        """
        if name == "refuse_for":
            self.refuse_until = time.monotonic() + float(value or 0)
            return
        kinds = {f.name: f for f in dataclasses.fields(self)}
        if name not in kinds:
            raise KeyError(f"unknown fault {name!r}; known: {', '.join(sorted(kinds) + ['refuse_for'])}")
        current = getattr(self, name)
        setattr(self, name, _coerce(name, current, value))

    def as_dict(self) -> dict:
        """The faults as JSON-friendly data (sets become sorted lists)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = sorted(value) if isinstance(value, set) else value
        if self.refuse_until:
            out["refuse_for"] = max(0.0, self.refuse_until - time.monotonic())
        return out


def _coerce(name: str, current, value):
    if isinstance(current, set):
        if value is None:
            return set()
        if isinstance(value, (list, tuple, set)):
            return {str(v) for v in value}
        return current | {str(value)}
    if isinstance(current, dict):
        if value is None:
            return {}
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        node, _, prefix = str(value).partition("=")
        return {**current, node: prefix}
    if isinstance(current, bool):
        return _as_bool(value)
    if name == "watch_cut_after":
        return None if value in (None, "", "none", "null", 0, "0") else float(value)
    if isinstance(current, int) and not isinstance(current, bool) and name == "churn_per_second":
        return int(value or 0)
    return float(value or 0)


def _as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
