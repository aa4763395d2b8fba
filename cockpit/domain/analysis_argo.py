"""Argo Rollouts ``AnalysisTemplate`` objects (argoproj.io/v1alpha1) as cockpit analyses.

Only metrics whose provider is Prometheus are taken; ``{{args.NAME}}`` placeholders map onto
cockpit's arguments by name (``service-name`` -> ``{{service}}``, ``canary-service`` ->
``{{backend}}``, ``color`` -> ``{{colour}}``...); an argument cockpit does not know is replaced
by the template's own ``value`` when it has one, and the metric is refused otherwise. Dry-run
metrics never decide in Argo, so they are skipped here too. The provider's ``address`` is an
in-cluster URL as a rule: the configured Prometheus is used instead, and the address is kept
only as a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cockpit.domain.analysis import AnalysisDef, AnalysisError, define

ALIASES = {
    "namespace": "namespace", "service": "service", "service-name": "service", "stable-service": "service",
    "backend": "backend", "canary-service": "backend", "canary-service-name": "backend",
    "colour": "colour", "color": "colour",
}
_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")
_VALUE_SAFE = re.compile(r"[A-Za-z0-9._:/=~!*+|()\[\] -]*")


@dataclass(frozen=True)
class Imported:
    """The analyses taken from one template, and the metrics left out (name, why)."""

    analyses: tuple[AnalysisDef, ...]
    skipped: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ArgoTemplate:
    """What cockpit reads of an AnalysisTemplate: where it is, its arguments and its metrics."""

    kind: str
    name: str
    namespace: str
    args: tuple[dict[str, Any], ...]
    metrics: tuple[dict[str, Any], ...]


def from_analysis_template(template: ArgoTemplate) -> Imported:
    """Convert one AnalysisTemplate (or ClusterAnalysisTemplate)."""
    where = "/".join(p for p in (template.namespace, template.name or "?") if p)
    defaults = {a.get("name"): a.get("value") for a in template.args if isinstance(a, dict)}
    metrics = template.metrics
    analyses, skipped = [], []
    for metric in metrics:
        name = metric.get("name") or "metric"
        base = template.name or "template"
        full = base if len(metrics) == 1 else f"{base}/{name}"
        try:
            analyses.append(_convert(full, metric, defaults, f"{template.kind or 'AnalysisTemplate'} {where}"))
        except AnalysisError as exc:
            skipped.append((full, str(exc)))
    return Imported(tuple(analyses), tuple(skipped))


def _convert(name: str, metric: dict[str, Any], defaults: dict[str, Any], source: str) -> AnalysisDef:
    prometheus = (metric.get("provider") or {}).get("prometheus")
    if not isinstance(prometheus, dict) or not prometheus.get("query"):
        raise AnalysisError(f"analysis {name}: provider is not prometheus")
    if metric.get("dryRun"):
        raise AnalysisError(f"analysis {name}: dry-run metric (measured, never decides)")
    if "successCondition" not in metric:
        raise AnalysisError(f"analysis {name}: no successCondition")
    fields = {"query": _map_args(name, prometheus["query"], defaults),
              "success_condition": metric["successCondition"], "interval": metric.get("interval", "10s")}
    optional = {"failureCondition": "failure_condition", "count": "count", "failureLimit": "failure_limit",
                "inconclusiveLimit": "inconclusive_limit", "initialDelay": "initial_delay"}
    fields.update({ours: metric[theirs] for theirs, ours in optional.items() if metric.get(theirs) is not None})
    return define(name, fields, source)


def _map_args(name: str, query: str, defaults: dict[str, Any]) -> str:
    def replace(match: re.Match) -> str:
        """Our placeholder for a known argument, else the template's default value."""
        arg = match.group(1)
        if arg in ALIASES:
            return "{{" + ALIASES[arg] + "}}"
        value = defaults.get(arg)
        if value is None:
            raise AnalysisError(f"analysis {name}: argument {arg!r} has no value and is not one of "
                                f"{', '.join(sorted(ALIASES))}")
        if not _VALUE_SAFE.fullmatch(str(value)):
            raise AnalysisError(f"analysis {name}: unsafe default for argument {arg!r}")
        return str(value)
    return _ARG.sub(replace, query)
