"""The scale run: the real cockpit app, headless, against a big simulated cluster.

Phases: *load* (from start until the panes show the full state, cursor keys pressed all the
while), *rest* (a few seconds of keys with nothing changing) and *churn* (the simulator changes
pods at the asked rate; keys in every pane, node cordon stamps for the change-to-screen lag).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.cli.benchmarks.probe import EventCounter, GcPauses, KeyProbe, Latencies, ScreenWatch
from cockpit.cli.benchmarks.simproc import SimProcess, process_rss_mib

SIZE = (160, 45)  # the terminal the figures were taken at
KEY_EVERY = 0.08  # seconds between cursor keys (a held key repeats at about 12/s)
STAMP_EVERY = 0.5
LOAD_TIMEOUT = 900.0
REST_SECONDS = 3.0
WARNINGS = 30  # Warning events created so the Events pane has rows to move through
PANES = ("rollouts", "traffic", "nodes", "events")
CHURN_ANNOTATION = "sim.cockpit.dev/churn"  # the simulator's change counter on churned pods
SHOWN = ("nodes", "pods", "deployments", "replicasets")  # what "full state on screen" waits for

Step = Callable[[str, float], None]  # progress: (description, fraction done of the phase)


@dataclass
class ScaleOptions:
    """What to run: churn rate (changes/s) and its duration (s)."""

    churn: int
    duration: float


def app_args(sim: SimProcess, journal_dir: Path) -> argparse.Namespace:
    """The same arguments the TUI gets (read-only: the bench never acts through the panes)."""
    return argparse.Namespace(kubeconfig=sim.kubeconfig, context=None, namespace=None, read_only=True,
                              journal=str(journal_dir / "journal.jsonl"), ssh_config=None, theme=None,
                              follow=False)


def run_scale(sim: SimProcess, options: ScaleOptions, step: Step) -> dict[str, Any]:
    """Run the app headless against ``sim`` through the three phases; return the figures."""
    from cockpit.cli.tui import build_app

    with tempfile.TemporaryDirectory(prefix="cockpit-bench-journal-") as journal_dir:
        app = build_app(app_args(sim, Path(journal_dir)))
        return asyncio.run(ScaleRun(app, sim, options, step).run())


class RssByPhase:
    """The highest RSS sampled in each phase (where the process's peak happened)."""

    EVERY = 0.1  # seconds between samples

    def __init__(self) -> None:
        self.phase = "load"
        self.peaks: dict[str, float] = {}

    async def sample(self) -> None:
        """Sample until cancelled."""
        while True:
            rss = round(process_rss_mib(), 1)
            self.peaks[self.phase] = max(rss, self.peaks.get(self.phase, 0.0))
            await asyncio.sleep(self.EVERY)


class ScaleRun:
    """One scale run of one app against one simulator."""

    def __init__(self, app: Any, sim: SimProcess, options: ScaleOptions, step: Step) -> None:
        self.app = app
        self.sim = sim
        self.options = options
        self.step = step
        self.watch = ScreenWatch(app)
        self.keys = KeyProbe(app, self.watch)
        self.events = EventCounter(app.cache)
        self.lag = Latencies()
        self.figures: dict[str, Any] = {}

    async def run(self) -> dict[str, Any]:
        """All phases inside one ``run_test``; returns the figures."""
        started = time.perf_counter()
        gc_pauses = GcPauses()
        rss = RssByPhase()  # the peak (VmHWM) says how high, this says when
        sampler = asyncio.create_task(rss.sample())
        try:
            async with self.app.run_test(headless=True, size=SIZE):
                await self._load(started)
                rss.phase = "rest"
                await self._keys_for("rest", REST_SECONDS)
                rss.phase = "churn"
                await self._churn()
        finally:
            sampler.cancel()
        self.figures["rss_peak_by_phase_mib"] = rss.peaks
        self.figures["keys"] = self.keys.summary()
        self.figures["gc"] = gc_pauses.summary()
        self.figures["peak_rss_mib"] = round(process_rss_mib(peak=True), 1)
        return self.figures

    # -- load ------------------------------------------------------------------------------

    async def _load(self, started: float) -> None:
        painted = asyncio.Event()
        self.watch.when(self._full_state_shown, lambda now: (self._mark("first_paint_full_s", now - started),
                                                             painted.set()))
        synced = asyncio.create_task(self.app.cache.wait_synced(LOAD_TIMEOUT))
        synced.add_done_callback(lambda _t: self._mark("full_state_s", time.perf_counter() - started))
        deadline = time.monotonic() + LOAD_TIMEOUT
        panes = ("rollouts", "nodes")
        while not painted.is_set() and time.monotonic() < deadline:
            pane = panes[int(time.monotonic() / 2) % 2]
            self._focus(pane)
            self.keys.press(pane, "load")
            self.step("loading", min(1.0, self._loaded_fraction()))
            await asyncio.sleep(KEY_EVERY * random.uniform(0.5, 1.5))
        await synced
        await self._last_key()
        self.figures["objects"] = {kind: len(self.app.cache.store(kind)) for kind in ("nodes", "pods", "deployments")}
        self.figures["rss_after_load_mib"] = round(process_rss_mib(), 1)

    def _mark(self, name: str, seconds: float) -> None:
        self.figures[name] = round(seconds, 3)

    def _full_state_shown(self) -> bool:
        """Every informer listed, every change flushed, every node and Deployment a row."""
        cache = self.app.cache
        if not all(cache.informer(kind).synced.is_set() for kind in cache.kinds):
            return False
        # Leases and events keep changing (node heartbeats); the listed kinds must be flushed.
        if any(cache.store(kind).has_changes for kind in SHOWN) or getattr(self.app, "flush_pending", False):
            return False
        nodes, rollouts = self.app.pane("nodes"), self.app.pane("rollouts")
        return (len(nodes.rows) == len(cache.store("nodes"))
                and len(rollouts.rows) == len(cache.store("deployments")))

    def _loaded_fraction(self) -> float:
        cache = self.app.cache
        done = sum(cache.informer(kind).synced.is_set() for kind in cache.kinds)
        return done / max(1, len(cache.kinds))

    def _focus(self, pane_id: str) -> None:
        pane = self.app.pane(pane_id)
        if self.app.focused is not pane.table and not self.keys._pending:
            self.app.focus_pane(pane_id)

    # -- keys ------------------------------------------------------------------------------

    async def _keys_for(self, phase: str, seconds: float, label: str = "") -> None:
        """Press cursor keys in every pane in turn for ``seconds``."""
        began = time.monotonic()
        per_pane = max(0.5, min(5.0, seconds / 8))
        for pane in PANES:  # every pane is reported, even one that got no key in (too few rows)
            self.keys.results.setdefault(phase, {}).setdefault(pane, Latencies())
        while (elapsed := time.monotonic() - began) < seconds:
            pane = PANES[int(elapsed / per_pane) % len(PANES)]
            self._focus(pane)
            self.keys.press(pane, phase)
            self.step(label or phase, elapsed / seconds)
            await asyncio.sleep(KEY_EVERY * random.uniform(0.5, 1.5))
        await self._last_key()

    async def _last_key(self) -> None:
        """Wait for the last key's repaint (or its timeout), so no key outlives the app."""
        while self.keys._pending:
            await asyncio.sleep(0.02)

    # -- churn -----------------------------------------------------------------------------

    async def _churn(self) -> None:
        await asyncio.to_thread(create_warnings, self.sim, WARNINGS)
        stamps = Stamper(self, self._stamp_node())
        applied, rss_before, produced = self.events.count, process_rss_mib(), self._churn_counter()
        await asyncio.to_thread(self.sim.set_fault, "churn_per_second", self.options.churn)
        began = time.perf_counter()
        stamps.start()
        try:
            await self._keys_for("churn", self.options.duration, f"churn {self.options.churn}/s")
        finally:
            stamps.stop()
            await asyncio.to_thread(self.sim.set_fault, "churn_per_second", 0)
        seconds = time.perf_counter() - began
        self.figures["churn"] = {
            "asked_per_s": self.options.churn, "seconds": round(seconds, 1),
            "events_applied_per_s": round((self.events.count - applied) / seconds, 1),
            "sim_changes_per_s": round((self._churn_counter() - produced) / seconds, 1),
            "rss_start_mib": round(rss_before, 1), "rss_end_mib": round(process_rss_mib(), 1),
            "lag": self.lag.summary(), "stamps_lost": stamps.lost}
        await asyncio.to_thread(stamps.restore)

    def _churn_counter(self) -> int:
        """The simulator's churn counter as the cockpit last saw it (how many changes it made)."""
        values = (pod.annotations.get(CHURN_ANNOTATION, "0") for pod in self.app.cache.store("pods").values())
        return max((int(v) for v in values if v.isdigit()), default=0)

    def _stamp_node(self) -> tuple[str, str]:
        """The node on the Nodes pane's first row (always on screen): (uid, name)."""
        table = self.app.pane("nodes").table
        uid = table.ordered_keys[0]
        return uid, self.app.cache.store("nodes").get(uid).name

    def expect_cordon(self, uid: str, cordoned: bool, sent: list[float]) -> None:
        """Record the lag once the Nodes pane draws the node with the new cordon state."""
        table = self.app.pane("nodes").table

        def shown() -> bool:
            try:
                return ("cordoned" in str(table.get_cell(uid, "sched"))) == cordoned and bool(sent)
            except Exception:  # noqa: BLE001 - the row is being rebuilt
                return False

        self.watch.when(shown, lambda now: self.lag.samples.append(now - sent[0]))


class Stamper(threading.Thread):
    """Toggles the cordon of one node from outside the cockpit, every STAMP_EVERY seconds."""

    def __init__(self, run: ScaleRun, node: tuple[str, str]) -> None:
        super().__init__(name="bench-stamps", daemon=True)
        self.run_ = run
        self.uid, self.name = node
        self.cordoned = False
        self.lost = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(STAMP_EVERY):
            self.cordoned = not self.cordoned
            sent: list[float] = []
            self.run_.app.call_from_thread(self.run_.expect_cordon, self.uid, self.cordoned, sent)
            sent.append(time.perf_counter())
            try:
                self._patch(self.cordoned)
            except OSError:
                self.lost += 1

    def _patch(self, cordoned: bool) -> None:
        self.run_.sim.request("PATCH", f"/api/v1/nodes/{self.name}", {"spec": {"unschedulable": cordoned}},
                              "application/merge-patch+json")

    def stop(self) -> None:
        """Stop stamping (waits for the thread)."""
        self._stop_event.set()
        self.join(10)

    def restore(self) -> None:
        """Leave the node uncordoned."""
        if self.cordoned:
            self._patch(False)


def create_warnings(sim: SimProcess, count: int) -> None:
    """Warning events in ``default`` so the Events pane has rows to move through."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for i in range(count):
        sim.request("POST", "/api/v1/namespaces/default/events", {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"cockpit-bench.{i:04d}", "namespace": "default"},
            "involvedObject": {"kind": "Node", "name": f"bench-{i:04d}", "apiVersion": "v1"},
            "reason": "BenchWarning", "message": f"synthetic warning {i} for the bench",
            "type": "Warning", "count": 1, "firstTimestamp": now, "lastTimestamp": now,
            "source": {"component": "cockpit-bench"}})
