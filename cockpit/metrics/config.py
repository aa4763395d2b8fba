"""The metrics part of cockpit's config file: ``[prometheus]`` and ``[analysis.NAME]`` tables.

Example (``~/.config/cockpit/config.toml``)::

    [prometheus]
    url = "https://prometheus.example:9090"
    token_file = "/var/run/secrets/prometheus-token"   # or bearer_token = "..."
    ca_file = "/etc/ssl/prometheus-ca.pem"
    timeout = 5

    [analysis.error-budget]
    query = 'sum(rate(http_errors_total{service="{{backend}}"}[1m]))'
    success_condition = "result < 1"
    interval = "15s"
    count = 4
    failure_limit = 1

Two analyses ship built in and work against Istio's standard metrics (and the simulator) out of
the box: ``success-rate`` (non-5xx share, ``result >= 0.99``) and ``latency-p99`` (P99 in ms,
``result < 500``). A config table with the same name replaces a built-in one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.domain.analysis import AnalysisDef, AnalysisError, define
from cockpit.errors import UsageError
from cockpit.metrics.client import DEFAULT_TIMEOUT, PrometheusSettings

_SELECTOR = ('reporter="destination",destination_service_namespace="{{namespace}}",'
             'destination_service_name="{{backend}}",destination_version=~"{{colour}}"')
BUILTIN: dict[str, dict[str, Any]] = {
    "success-rate": {
        # "or vector(0)": a backend answering only 5xx has no non-5xx series at all, and an empty
        # numerator would read as "no data" (inconclusive) instead of a success rate of 0.
        "query": (f'(sum(rate(istio_requests_total{{{_SELECTOR},response_code!~"5.."}}[30s])) or vector(0))'
                  f" / sum(rate(istio_requests_total{{{_SELECTOR}}}[30s]))"),
        "success_condition": "result >= 0.99", "interval": "10s"},
    "latency-p99": {
        "query": (f"histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket"
                  f"{{{_SELECTOR}}}[30s])) by (le))"),
        "success_condition": "result < 500", "interval": "10s"},
}
ANY_COLOUR = ".*"  # the {{colour}} value that matches every version (a canary's whole backend)


@dataclass(frozen=True)
class MetricsConfig:
    """The Prometheus to ask (None: not configured) and every analysis by name."""

    prometheus: PrometheusSettings | None
    analyses: dict[str, AnalysisDef] = field(default_factory=dict)

    def analysis(self, name: str) -> AnalysisDef:
        """The analysis called ``name``; UsageError naming the known ones otherwise."""
        if name not in self.analyses:
            raise UsageError(f"no analysis named {name!r} (known: {', '.join(sorted(self.analyses))})")
        return self.analyses[name]


def builtin_analyses() -> dict[str, AnalysisDef]:
    """The shipped analyses."""
    return {name: define(name, fields, "builtin") for name, fields in BUILTIN.items()}


def load_metrics_config(path: Path | None, prometheus_url: str | None = None) -> MetricsConfig:
    """Read ``path`` (a missing file: built-ins only); ``prometheus_url`` overrides ``[prometheus] url``.

    Raises UsageError with one line naming the file and the problem.
    """
    data: dict[str, Any] = {}
    if path is not None and path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"cannot read config {path}: {exc}") from None
    return metrics_config_from(data, path, prometheus_url)


def metrics_config_from(data: dict[str, Any], path: Path | None = None,
                        prometheus_url: str | None = None) -> MetricsConfig:
    """Validate the ``prometheus`` and ``analysis`` tables of an already parsed config."""
    where = f"config {path}" if path else "config"
    settings = _prometheus(data.get("prometheus"), where, path)
    if prometheus_url:
        base = settings or PrometheusSettings(prometheus_url)
        settings = PrometheusSettings(prometheus_url, base.bearer_token, base.token_file, base.ca_file, base.timeout)
    analyses = builtin_analyses()
    tables = data.get("analysis", {})
    if not isinstance(tables, dict):
        raise UsageError(f"{where}: analysis must be tables like [analysis.NAME]")
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise UsageError(f"{where}: analysis.{name} must be a table")
        try:
            analyses[name] = define(name, table, where)
        except AnalysisError as exc:
            raise UsageError(f"{where}: {exc}") from None
    return MetricsConfig(settings, analyses)


def _prometheus(table: Any, where: str, path: Path | None) -> PrometheusSettings | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise UsageError(f"{where}: prometheus must be a table")
    unknown = set(table) - {"url", "bearer_token", "token_file", "ca_file", "timeout"}
    if unknown:
        raise UsageError(f"{where}: prometheus has unknown key(s) {', '.join(sorted(unknown))}")
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UsageError(f"{where}: prometheus.url must be an http:// or https:// URL")
    if table.get("bearer_token") and table.get("token_file"):
        raise UsageError(f"{where}: prometheus takes bearer_token or token_file, not both")
    timeout = table.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 120:
        raise UsageError(f"{where}: prometheus.timeout must be a number of seconds between 0 and 120")
    return PrometheusSettings(url, _text(table, "bearer_token", where), _file(table, "token_file", where, path),
                              _file(table, "ca_file", where, path), float(timeout))


def _text(table: dict, key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{where}: prometheus.{key} must be a string")
    return value or None


def _file(table: dict, key: str, where: str, path: Path | None) -> str | None:
    value = _text(table, key, where)
    if value is None:
        return None
    file = Path(value).expanduser()
    if not file.is_absolute() and path is not None:
        file = path.parent / file  # relative to the config file, not to wherever cockpit runs
    return str(file)
