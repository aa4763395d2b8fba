"""Runs every bench in turn under a progress bar and assembles the summary document."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cockpit.cli.benchmarks.ops import drain_bench, switch_bench
from cockpit.cli.benchmarks.scale import ScaleOptions, run_scale
from cockpit.cli.benchmarks.simproc import load_average, process_rss_mib, start_sim, time_kubectl


@dataclass
class BenchOptions:
    """The command line of ``cockpit bench``."""

    nodes: int = 5000
    pods: int = 150_000
    churn: int = 1000
    duration: float = 60.0
    kubectl: bool = True
    drain: bool = True
    switch: bool = True


def run_bench(options: BenchOptions, console: Console) -> dict[str, Any]:
    """Every bench, in order: scale (with kubectl's list on the same simulator), drain, switch."""
    kubectl = options.kubectl and shutil.which("kubectl") is not None
    summary: dict[str, Any] = {"config": _config(options), "machine": _machine()}
    with _progress(console) as progress:
        task = progress.add_task("starting", total=None)

        def step(description: str, fraction: float | None = None) -> None:
            progress.update(task, description=description, total=None if fraction is None else 1.0,
                            completed=fraction or 0.0)

        summary.update(_scale(options, kubectl, step))
        if options.drain:
            step("drain: cockpit, then kubectl drain on an identical node")
            summary["drain"] = drain_bench(kubectl)
        if options.switch:
            step("switch: blue/green, confirm to verified")
            summary["switch"] = switch_bench()
    summary["machine"]["load_after"] = load_average()
    return summary


def _scale(options: BenchOptions, kubectl: bool, step: Any) -> dict[str, Any]:
    per_node = max(1, options.pods // max(1, options.nodes))
    step(f"starting the simulator: {options.nodes} nodes, {per_node * options.nodes} pods")
    sim = start_sim(options.nodes, per_node)
    out: dict[str, Any] = {"sim": {"startup_s": round(sim.startup_s, 1)}}
    try:
        out["sim"]["rss_mib"] = round(sim.rss_mib(), 1)
        out["cockpit"] = run_scale(sim, ScaleOptions(options.churn, options.duration), step)
        out["sim"]["rss_end_mib"] = round(sim.rss_mib(), 1)
        if kubectl:
            step("kubectl get pods -A -o name (fresh cache)")
            seconds, lines, status = time_kubectl(sim, "get", "pods", "-A", "-o", "name")
            out["kubectl"] = {"get_pods_s": round(seconds, 2), "lines": lines, "ok": status == 0}
        else:
            out["kubectl"] = None
    finally:
        sim.stop()
    return out


def _config(options: BenchOptions) -> dict[str, Any]:
    per_node = max(1, options.pods // max(1, options.nodes))
    return {"nodes": options.nodes, "pods_per_node": per_node, "pods": per_node * options.nodes,
            "churn_per_s": options.churn, "churn_seconds": options.duration}


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": load_average(),
            "bench_rss_start_mib": round(process_rss_mib(), 1)}


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console,
                    transient=True, disable=not console.is_terminal and "COCKPIT_BENCH_PROGRESS" not in os.environ)


def stderr_console() -> Console:
    """Progress goes to stderr so ``--json`` output stays one clean document."""
    return Console(file=sys.stderr)
