"""Render the README screenshots: ``python -m tests.support.screenshots [--record]``.

Deterministic by construction: the panes are fed from ``screenshots/demo-snapshot.json`` (the
demo scenario's objects, recorded once from the simulator with every timestamp re-based onto a
frozen clock) through the same FixtureSource path the tests use, and rendered at fixed sizes
with the clock frozen at :data:`FROZEN_NOW`.

``--record`` re-records the snapshot: it starts ``python -m cockpit sim`` in a subprocess (the
UI never imports the simulator), waits for the demo scenario to settle (the broken checkout
rollout has to pass its progress deadline, the other Deployments to be available), lists every
kind through the normal client and writes the file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cockpit.domain.records import KINDS
from cockpit.ui.actions.registry import ActionRegistry
from cockpit.ui.app import CockpitApp
from cockpit.ui.source import FixtureSource
from cockpit.ui.themes import load_themes, shipped_theme_dir
from cockpit.ui.actions.common import wire_actions
from tests.support.wait import wait_until

FROZEN_NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "screenshots"
SNAPSHOT = OUT_DIR / "demo-snapshot.json"
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_SVG_ID = re.compile(r"terminal-\d+")

Step = Callable[[Any], Awaitable[None]]


async def _press(pilot: Any, *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.pause()


# name -> (size, theme, steps before the capture)
VIEWS: dict[str, tuple[tuple[int, int], str, tuple[str, ...]]] = {
    "cockpit-160x45": ((160, 45), "cockpit-dark", ()),
    "cockpit-100x30": ((100, 30), "cockpit-dark", ()),
    "rollout-expanded": ((160, 45), "cockpit-dark", ("enter",)),
    "nodes-maximised": ((160, 45), "cockpit-dark", ("3", "m")),
    "traffic-maximised": ((120, 30), "cockpit-dark", ("2", "m")),
    "help": ((160, 45), "cockpit-dark", ("question_mark",)),
    "upgrade-board": ((160, 45), "cockpit-dark", ("3", "j", "j", "j", "m", "l")),
    "theme-light": ((160, 45), "cockpit-light", ()),
    "theme-high-contrast": ((160, 45), "cockpit-high-contrast", ()),
    "theme-colour-blind-safe": ((160, 45), "cockpit-colour-blind-safe", ()),
}


def _upgrade_mid_run(app: CockpitApp, snapshot: Path) -> None:
    """The upgrade board mid-run, fed like the live feed: the control plane recorded done on
    its Node annotations (as a restarted cockpit sees it), worker-1 draining by Progress events
    with its output in the log view."""
    from cockpit.controllers.base import Progress

    started = (FROZEN_NOW - timedelta(seconds=42)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = json.loads(snapshot.read_text(encoding="utf-8"))
    app.cache.server_version = "v1.33.1"
    for raw in data["objects"]["pods"]:  # kubeadm upgrade apply moved the static pods
        if raw["metadata"].get("namespace") == "kube-system" and raw["metadata"]["name"].startswith("kube-"):
            for container in raw["spec"]["containers"]:
                container["image"] = container["image"].replace(":v1.32.4", ":v1.33.1")
            raw["metadata"]["resourceVersion"] = str(int(raw["metadata"]["resourceVersion"]) + 100000)
            app.cache.put("pods", raw)
    for raw in data["objects"]["nodes"]:
        name = raw["metadata"]["name"]
        if name.startswith("cp-"):
            raw["status"]["nodeInfo"]["kubeletVersion"] = "v1.33.1"
            raw["metadata"]["annotations"] = {**raw["metadata"].get("annotations", {}), **UPGRADE_DONE}
            raw["metadata"]["resourceVersion"] = str(int(raw["metadata"]["resourceVersion"]) + 100000)
            app.cache.put("nodes", raw)
    # The board reads progress from the Node annotations; the run's events add only log lines.
    for raw in data["objects"]["nodes"]:
        if raw["metadata"]["name"] == "worker-1":
            raw["metadata"]["annotations"] = {**raw["metadata"].get("annotations", {}), **UPGRADE_DONE,
                                              "cockpit.dev/upgrade-step": "draining",
                                              "cockpit.dev/upgrade-state": "running",
                                              "cockpit.dev/upgrade-step-started": started}
            raw["metadata"]["resourceVersion"] = str(int(raw["metadata"]["resourceVersion"]) + 100000)
            app.cache.put("nodes", raw)
    nodes = app.pane("nodes")
    base = dict(node="worker-1", target="1.33.1", run="run-20260101-115500", started=started, error="")
    for step in ("upgrading-kubeadm", "kubeadm-upgrade", "draining"):
        nodes.apply_progress(Progress("upgrade", "worker-1", step, f"worker-1: {step.replace('-', ' ')}", "info",
                                      {**base, "step": step, "state": "running"}))
    for line in DRAIN_LINES:
        nodes.apply_progress(Progress("upgrade", "worker-1", "draining", line, "info",
                                      {**base, "step": "draining", "state": "running", "log": True,
                                       "stream": "drain", "line": line}))
    nodes.apply_progress(Progress("upgrade", "cluster", "batch", "batch: worker-1", "info", {}))


UPGRADE_DONE = {"cockpit.dev/upgrade-step": "done", "cockpit.dev/upgrade-state": "done",
                "cockpit.dev/upgrade-target": "1.33.1", "cockpit.dev/upgrade-run": "run-20260101-115500"}
DRAIN_LINES = ("node/worker-1 cordoned", "evicting pod shop/web-blue-5d9-a1", "evicting pod shop/api-stable-7c4-x2",
               "error when evicting pod shop/web-blue-5d9-a1 (will retry after 5s): Cannot evict pod as it would "
               "violate the pod's disruption budget. PDB shop/web: disruptionsAllowed=0, currentHealthy=5, "
               "desiredHealthy=5", "pod shop/api-stable-7c4-x2 evicted")

# name -> function preparing the app's data before the capture
PREPARE: dict[str, Callable[[CockpitApp, Path], None]] = {"upgrade-board": _upgrade_mid_run}


def snapshot_app(snapshot: Path = SNAPSHOT, theme: str = "cockpit-dark") -> CockpitApp:
    """An app over the recorded demo snapshot, the same on every machine: a frozen clock shown in
    UTC (not the machine's zone) and the shipped themes only (not the user's theme folder)."""
    app = CockpitApp(FixtureSource.from_file(snapshot), theme=theme, context="cockpit-sim",
                     clock=lambda: FROZEN_NOW, registry=wire_actions(ActionRegistry()),
                     themes=load_themes([shipped_theme_dir()]))
    app.clock_tz = timezone.utc
    return app


def normalise_svg(svg: str, name: str) -> str:
    """Name the SVG's element ids after the view: Rich derives them from a hash of the content,
    so any change would otherwise rewrite every id and bury the real difference in the diff."""
    return _SVG_ID.sub(f"terminal-{name}", svg)


async def render_svg(name: str, snapshot: Path = SNAPSHOT) -> str:
    """Render one view and return its SVG text."""
    size, theme, keys = VIEWS[name]
    app = snapshot_app(snapshot, theme)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.flush()
        await pilot.pause()
        if name in PREPARE:
            PREPARE[name](app, snapshot)
            app.flush()
            await pilot.pause()
        for key in keys:
            await _press(pilot, key)
        # The problem detectors (runbook hint, timeline) run on a 1 s timer: run them now, so
        # the picture never depends on whether the timer fired before the capture.
        app.observe_cluster()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        return normalise_svg(app.export_screenshot(title=f"cockpit — {name}"), name)


async def render_view(name: str, snapshot: Path = SNAPSHOT, out_dir: Path = OUT_DIR) -> Path:
    """Render one view to ``out_dir/<name>.svg``."""
    path = out_dir / f"{name}.svg"
    path.write_text(await render_svg(name, snapshot), encoding="utf-8")
    return path


async def render_all(snapshot: Path = SNAPSHOT, out_dir: Path = OUT_DIR) -> list[Path]:
    """Render every view in :data:`VIEWS`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [await render_view(name, snapshot, out_dir) for name in VIEWS]


# -- recording -------------------------------------------------------------------------------


def rebase_times(value: Any, shift: timedelta) -> Any:
    """Move every RFC 3339 timestamp in a JSON value by ``shift`` (to the frozen clock)."""
    if isinstance(value, dict):
        return {k: rebase_times(v, shift) for k, v in value.items() if k != "managedFields"}
    if isinstance(value, list):
        return [rebase_times(v, shift) for v in value]
    if isinstance(value, str) and _TIMESTAMP.match(value):
        moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + shift
        return moved.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


async def list_everything(kubeconfig: str) -> tuple[dict[str, list[dict]], str]:
    """Every object of every kind the cockpit watches, plus the server's gitVersion."""
    from cockpit.kube.client import KubeClient
    from cockpit.kube.config import load_cluster_config
    from cockpit.kube.paths import path_for

    client = KubeClient(load_cluster_config(kubeconfig, None))
    try:
        objects = {kind: (await client.list(path_for(kind))).get("items", []) for kind in KINDS
                   if kind != "leases"}
        return objects, str((await client.version()).get("gitVersion", ""))
    finally:
        await client.close()


async def demo_settled(kubeconfig: str) -> bool:
    """True once the demo has settled: the broken checkout rollout has passed its progress
    deadline and every other Deployment has all its replicas available."""
    from cockpit.kube.client import KubeClient
    from cockpit.kube.config import load_cluster_config
    from cockpit.kube.paths import path_for

    client = KubeClient(load_cluster_config(kubeconfig, None))
    try:
        deployments = (await client.list(path_for("deployments"))).get("items", [])
    finally:
        await client.close()
    return bool(deployments) and all(_settled(d) for d in deployments)


def _settled(deployment: dict) -> bool:
    status = deployment.get("status", {})
    if deployment["metadata"]["name"] == "checkout":
        return any(c.get("reason") == "ProgressDeadlineExceeded" for c in status.get("conditions", []))
    return status.get("availableReplicas", 0) == deployment["spec"].get("replicas", 1)


def record_snapshot(path: Path = SNAPSHOT) -> Path:
    """Start the simulator (subprocess), wait for the demo to settle, and write the frozen snapshot."""
    from cockpit.cli.tui import drain_output, ready_field, start_simulator, stop_simulator, wait_until_ready

    with tempfile.TemporaryDirectory(prefix="cockpit-shots-") as state_dir:
        process = start_simulator(Path(state_dir), speed=20)
        try:
            ready = wait_until_ready(process)
            drain_output(process)
            kubeconfig = str(ready_field(ready, "kubeconfig"))
            wait_until(lambda: asyncio.run(demo_settled(kubeconfig)), timeout=120, what="the demo scenario to settle",
                       interval=0.5)
            objects, version = asyncio.run(list_everything(kubeconfig))
            recorded_at = datetime.now(timezone.utc)
        finally:
            stop_simulator(process)
    frozen = rebase_times(objects, FROZEN_NOW - recorded_at)
    path.write_text(json.dumps({"server_version": version, "objects": frozen}, indent=1, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: optionally re-record, then render every view."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.screenshots", description=__doc__.split("\n")[0])
    parser.add_argument("--record", action="store_true", help="re-record the demo snapshot from the simulator")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: screenshots/)")
    args = parser.parse_args(argv)
    if args.record or not SNAPSHOT.exists():
        print(f"recording {record_snapshot()}", file=sys.stderr)
    for path in asyncio.run(render_all(SNAPSHOT, args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
