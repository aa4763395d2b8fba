"""`cockpit bench`: the simulated cluster at scale, the real cockpit headless against it, and a
summary of the figures (a table, or one JSON document with ``--json``).

The harness lives in :mod:`cockpit.cli.benchmarks`; this module parses and prints.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from cockpit.errors import UsageError


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add ``bench``."""
    p = subparsers.add_parser(
        "bench", parents=[common], help="measure the cockpit against a big simulated cluster",
        description="Start `cockpit sim` at the given size, run the cockpit headless against it (the same "
                    "informers, store and panes as the TUI), churn pods, and report load time, first paint, "
                    "memory, watch throughput, change-to-screen lag and key latency per pane; then a drain "
                    "and a blue/green switch. kubectl's figures come from the same simulator.")
    p.add_argument("--nodes", type=int, default=5000, help="simulated nodes (default 5000)")
    p.add_argument("--pods", type=int, default=150_000, help="simulated pods in all (default 150000)")
    p.add_argument("--churn", type=int, default=1000, metavar="EVENTS_PER_S",
                   help="pod changes per second during the churn phase (default 1000)")
    p.add_argument("--duration", type=float, default=60.0, metavar="SECONDS",
                   help="length of the churn phase (default 60)")
    p.add_argument("--no-kubectl", action="store_true", help="skip kubectl's side of the comparisons")
    p.add_argument("--no-drain", action="store_true", help="skip the drain bench")
    p.add_argument("--no-switch", action="store_true", help="skip the switch bench")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    """Handler of ``cockpit bench``."""
    from cockpit.cli.benchmarks.runner import BenchOptions, run_bench as run, stderr_console

    if args.nodes < 4 or args.pods < args.nodes or args.churn < 0 or args.duration <= 0:
        raise UsageError("bench needs --nodes >= 4, --pods >= --nodes, --churn >= 0 and --duration > 0")
    options = BenchOptions(args.nodes, args.pods, args.churn, args.duration, kubectl=not args.no_kubectl,
                           drain=not args.no_drain, switch=not args.no_switch)
    summary = run(options, stderr_console())
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_table(summary)
    return 0


def rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, ours, kubectl's) rows of the summary table."""
    app, kubectl = summary.get("cockpit") or {}, summary.get("kubectl") or {}
    churn = app.get("churn") or {}
    lag = churn.get("lag") or {}
    out = [
        ("seconds to full state", _s(app.get("full_state_s")), _s(kubectl.get("get_pods_s"))),
        ("seconds to first paint with full state", _s(app.get("first_paint_full_s")), ""),
        ("peak RSS (MiB), highest sampled per phase", _peak_rss(app), ""),
        ("RSS over churn (MiB)", f"{_n(churn.get('rss_start_mib'))} -> {_n(churn.get('rss_end_mib'))}", ""),
        ("watch events applied/s (asked)", f"{_n(churn.get('events_applied_per_s'))} ({churn.get('asked_per_s')})", ""),
        ("change-to-screen lag p50/p99 (ms)", f"{_n(lag.get('p50_ms'))} / {_n(lag.get('p99_ms'))}", ""),
    ]
    for phase, panes in (app.get("keys") or {}).items():
        for pane, lat in panes.items():
            out.append((f"key-to-repaint {phase} {pane} p50/p99 (ms)",
                        f"{_n(lat.get('p50_ms'))} / {_n(lat.get('p99_ms'))} (n={lat.get('count')})", ""))
    out += _op_rows(summary)
    return out


def _peak_rss(app: dict[str, Any]) -> str:
    phases = app.get("rss_peak_by_phase_mib") or {}
    by_phase = ", ".join(f"{phase} {_n(value)}" for phase, value in phases.items())
    return f"{_n(app.get('peak_rss_mib'))} ({by_phase})" if by_phase else _n(app.get("peak_rss_mib"))


def _op_rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    drain = summary.get("drain")
    if drain:
        out.append((f"drain {drain.get('pods_on_node')} pods (s)", _s(drain.get("cockpit_s")), _s(drain.get("kubectl_s"))))
    switch = summary.get("switch")
    if switch:
        out.append(("switch confirm to verified (s)", _s(switch.get("confirm_to_verified_s")), ""))
    return out


def _s(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def _n(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def print_table(summary: dict[str, Any]) -> None:
    """The summary as a table, with the machine line under it."""
    from rich.console import Console
    from rich.table import Table

    config, machine = summary["config"], summary["machine"]
    table = Table(title=f"cockpit bench: {config['nodes']} nodes, {config['pods']} pods, "
                        f"churn {config['churn_per_s']}/s for {config['churn_seconds']:g} s")
    for column in ("figure", "cockpit", "kubectl"):
        table.add_column(column)
    for row in rows(summary):
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(f"machine: {machine['cpus']} cpus, python {machine['python']}, load average "
                  f"{machine['load_before']} before, {machine.get('load_after')} after")
