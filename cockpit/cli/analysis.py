"""``--analysis NAMES`` for ``shift --step`` and ``switch``: the gate, from config and the cluster.

Names are looked up in cockpit's config (``[analysis.NAME]``, plus the shipped ``success-rate``
and ``latency-p99``), then among the Argo Rollouts AnalysisTemplates of the target's namespace
and the ClusterAnalysisTemplates. The Prometheus is ``--prometheus-url`` or ``[prometheus]``.
"""

from __future__ import annotations

import argparse
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from cockpit.controllers.analysis_gate import AnalysisGate
from cockpit.domain.analysis import AnalysisDef, AnalysisError, parse_duration
from cockpit.errors import UsageError
from cockpit.kube.analysis_templates import read_analysis_templates
from cockpit.metrics.client import PrometheusClient
from cockpit.metrics.config import MetricsConfig, load_metrics_config

HELD = 3  # exit status: an analysis was inconclusive and the change holds where it is


def add_options(parser: argparse.ArgumentParser, window_flag: str) -> None:
    """``--analysis`` and ``--prometheus-url`` (the window is ``window_flag``)."""
    parser.add_argument("--analysis", metavar="NAME[,NAME]",
                        help=f"metric analyses that gate the change over {window_flag} (config [analysis.NAME], "
                             "the shipped success-rate and latency-p99, or an Argo Rollouts AnalysisTemplate); "
                             f"a failure undoes the change, an inconclusive result holds it (exit {HELD})")
    parser.add_argument("--prometheus-url", metavar="URL",
                        help="the Prometheus the analyses query (default: [prometheus] url in the config file)")


def duration(text: str) -> float:
    """An argparse type: ``60``, ``60s``, ``1m``... as seconds."""
    try:
        return parse_duration(text)
    except AnalysisError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def names_of(text: str | None) -> list[str]:
    """``"success-rate, latency-p99"`` -> the names, in order."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]


@asynccontextmanager
async def analysis_gate(args: Any, api: Any, namespace: str, window: float) -> AsyncIterator[AnalysisGate | None]:
    """The gate the command line asks for (None without ``--analysis``); its client is closed after."""
    names = names_of(args.analysis)
    if not names:
        yield None
        return
    if window <= 0:
        raise UsageError("--analysis needs a window to measure over (--pause for shift, --verify-for for switch)")
    config = _config(args)
    if config.prometheus is None:
        raise UsageError("--analysis needs a Prometheus: set [prometheus] url in the config file "
                         "or pass --prometheus-url")
    analyses = await _resolve(names, config, api, namespace)
    client = PrometheusClient(config.prometheus)
    try:
        yield AnalysisGate(client, analyses)
    finally:
        await client.close()


def _config(args: Any) -> MetricsConfig:
    from cockpit.ui.config import config_path

    return load_metrics_config(config_path(), getattr(args, "prometheus_url", None))


async def _resolve(names: list[str], config: MetricsConfig, api: Any, namespace: str) -> list[AnalysisDef]:
    missing = [n for n in names if n not in config.analyses]
    found = dict(config.analyses)
    if missing:
        imported = await read_analysis_templates(api, namespace)
        found.update({a.name: a for a in imported.analyses})
        refused = {name: why for name, why in imported.skipped}
        for name in missing:
            if name in refused:
                raise UsageError(f"analysis {name} cannot be used: {refused[name]}")
    unknown = [n for n in names if n not in found]
    if unknown:
        raise UsageError(f"no analysis named {', '.join(unknown)} (known: {', '.join(sorted(found))})")
    return [found[n] for n in names]
