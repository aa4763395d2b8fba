"""Operation benches: drain a 110-pod node (cockpit's DrainOperation through the driver vs
``kubectl drain`` on an identical node of an identical simulator) and a blue/green switch
(confirm to verified).

Each side gets a fresh simulator with the same seed, so neither inherits the other's
rescheduled pods; both use the pods' own grace periods and ignore DaemonSet pods.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from cockpit.cli.benchmarks.simproc import SimProcess, start_sim, time_kubectl
from cockpit.domain.records import PodRecord
from cockpit.kube.typed import as_records, list_items

DRAIN_NODE = "worker-00001"
# Four nodes (one control plane, three workers) at 84 pods per node put 109 app pods (spread
# round-robin) and its kube-proxy on the first worker: 110 pods, the kubelet's default maximum.
DRAIN_SIM = {"nodes": 4, "pods_per_node": 84}
DRAIN_SPEED = 20.0  # simulated time runs 20x faster: grace periods of 30 s take 1.5 s, on both sides
SWITCH_SPEED = 20.0
SWITCH_TARGET = "shop/web"


def drain_bench(kubectl: bool) -> dict[str, Any]:
    """Drain DRAIN_NODE with cockpit, then (in an identical simulator) with kubectl."""
    result: dict[str, Any] = {"node": DRAIN_NODE, "sim_speed": DRAIN_SPEED}
    sim = start_sim(**DRAIN_SIM, speed=DRAIN_SPEED)
    try:
        result["pods_on_node"] = _pods_on(sim, DRAIN_NODE)
        result["cockpit_s"], result["cockpit_ok"] = asyncio.run(_cockpit_drain(sim))
    finally:
        sim.stop()
    if kubectl:
        sim = start_sim(**DRAIN_SIM, speed=DRAIN_SPEED)
        try:
            seconds, _, status = time_kubectl(sim, "drain", DRAIN_NODE, "--ignore-daemonsets", "--timeout=600s")
            result["kubectl_s"], result["kubectl_ok"] = round(seconds, 2), status == 0
        finally:
            sim.stop()
    return result


def _pods_on(sim: SimProcess, node: str) -> int:
    listing = sim.request("GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{node}")
    return len(as_records(PodRecord, list_items(listing)))


async def _cockpit_drain(sim: SimProcess) -> tuple[float, bool]:
    from cockpit.controllers.drain_operation import DrainOperation, drain_options

    async with _services(sim) as services:
        operation = DrainOperation(services.api, DRAIN_NODE, drain_options(ignore_daemonsets=True))
        seconds, result = await _drive_timed(services, operation)
        return round(seconds, 2), bool(result.ok)


def switch_bench() -> dict[str, Any]:
    """Switch the demo's blue/green Service to green: seconds from confirm to verified."""
    sim = start_sim(0, 0, speed=SWITCH_SPEED, scenario="demo")
    try:
        seconds, ok = asyncio.run(_cockpit_switch(sim))
    finally:
        sim.stop()
    return {"target": SWITCH_TARGET, "to": "green", "sim_speed": SWITCH_SPEED,
            "confirm_to_verified_s": round(seconds, 3), "ok": ok}


async def _cockpit_switch(sim: SimProcess) -> tuple[float, bool]:
    from cockpit.controllers.switch import SwitchOperation

    async with _services(sim) as services:
        operation = SwitchOperation(services.api, SWITCH_TARGET, "green", operator=services.operator)
        seconds, result = await _drive_timed(services, operation)
        return seconds, bool(result.ok)


async def _drive_timed(services: Any, operation: Any) -> tuple[float, Any]:
    """Run an operation through the driver; the clock starts when the confirmation says yes."""
    from cockpit.controllers.driver import Driver

    confirmed: list[float] = []

    async def confirm(_plan: Any) -> bool:
        confirmed.append(time.perf_counter())
        return True

    result = await Driver(services, confirm, lambda _progress: None).run(operation)
    return time.perf_counter() - confirmed[0], result


class _services:
    """Services (client, journal) against a simulator, closed afterwards."""

    def __init__(self, sim: SimProcess) -> None:
        self.sim = sim
        self.journal_dir = Path(tempfile.mkdtemp(prefix="cockpit-bench-journal-"))

    async def __aenter__(self) -> Any:
        from cockpit.controllers.driver import Services
        from cockpit.journal import Journal
        from cockpit.kube.client import KubeClient
        from cockpit.kube.config import load_cluster_config

        config = load_cluster_config(self.sim.kubeconfig, None)
        self.client = KubeClient(config)
        journal = Journal(str(self.journal_dir / "journal.jsonl"), context=config.context)
        return Services(self.client, journal, config.context, config.user or None, False,
                        config.namespace or "default")

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()
        shutil.rmtree(self.journal_dir, ignore_errors=True)
