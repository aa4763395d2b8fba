"""Metric analyses and their verdicts (pure: no I/O, no clock).

An :class:`AnalysisDef` says what to measure (a PromQL template), when a measurement succeeds
or fails (conditions), how often (``interval``), how many times (``count``) and how much bad
news a run tolerates (``failure_limit``, ``inconclusive_limit``). :func:`judge` turns one query
outcome into a :class:`Measurement`; an :class:`AnalysisRun` collects them into a verdict.

The rule that matters most: a measurement that cannot speak is INCONCLUSIVE, never a pass. An
empty result (no traffic), NaN or an infinity (0/0 ratios), an unreachable Prometheus and a
query error all count as inconclusive, and a run with no successful measurement never passes.
The failure limit is checked after every measurement so a run fails as soon as it must.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cockpit.domain.analysis_expr import Condition, ExpressionError, QueryTemplate, UnusableResult

DEFAULT_INTERVAL = 10.0
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATIONS = re.compile(rf"(?:{_DURATION.pattern})+")  # "1m30s": one or more number+unit parts
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class Phase(StrEnum):
    """The outcome of one measurement, and of a whole run (``RUNNING`` until it ends)."""

    SUCCESSFUL = "successful"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    RUNNING = "running"


class AnalysisError(ValueError):
    """An analysis definition that cannot be used (one line naming the analysis and the problem)."""


def parse_duration(value: Any, what: str = "duration") -> float:
    """Seconds from ``30``, ``"30s"``, ``"1m30s"``, ``"500ms"`` or ``"1h"``; raises AnalysisError."""
    if isinstance(value, bool):
        raise AnalysisError(f"{what}: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip()
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
        elif _DURATIONS.fullmatch(text):
            seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))
        else:
            raise AnalysisError(f"{what}: {value!r} is not a duration (e.g. 30s, 1m, 1m30s)")
    if not math.isfinite(seconds) or seconds < 0:
        raise AnalysisError(f"{what}: {value!r} is not a duration")
    return seconds


# ---------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class AnalysisDef:
    """One named, validated analysis (see the module docstring).

    ``count`` None means "as many as fit the window the caller measures over" (at least one).
    ``source`` says where it was defined (``config``, ``builtin``, ``AnalysisTemplate shop/x``).
    """

    name: str
    query: QueryTemplate
    success: Condition
    failure: Condition | None = None
    interval: float = DEFAULT_INTERVAL
    count: int | None = None
    failure_limit: int = 0
    inconclusive_limit: int = 0
    initial_delay: float = 0.0
    source: str = "config"

    def measurements_in(self, window: float) -> int:
        """How many measurements one run takes over ``window`` seconds."""
        if self.count is not None:
            return self.count
        return max(1, int((window - self.initial_delay) // self.interval) if self.interval else 1)

    def describe(self) -> dict[str, Any]:
        """The definition as JSON-able facts (for plans, journals and ``--json``)."""
        return {"name": self.name, "query": self.query.text, "success": str(self.success),
                "failure": str(self.failure) if self.failure else None, "interval": self.interval,
                "count": self.count, "failure_limit": self.failure_limit,
                "inconclusive_limit": self.inconclusive_limit, "source": self.source}


def define(name: str, fields: dict[str, Any], source: str = "config") -> AnalysisDef:
    """Validate a mapping (config table or converted template) into an AnalysisDef.

    Keys: ``query``, ``success_condition``, optional ``failure_condition``, ``interval``,
    ``count``, ``failure_limit``, ``inconclusive_limit``, ``initial_delay``. Raises AnalysisError.
    """
    unknown = set(fields) - {"query", "success_condition", "failure_condition", "interval", "count",
                             "failure_limit", "inconclusive_limit", "initial_delay"}
    if unknown:
        raise AnalysisError(f"analysis {name}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        return _define(name, fields, source)
    except ExpressionError as exc:
        raise AnalysisError(f"analysis {name}: {exc}") from None


def _define(name: str, fields: dict[str, Any], source: str) -> AnalysisDef:
    if "query" not in fields or "success_condition" not in fields:
        raise AnalysisError(f"analysis {name}: needs query and success_condition")
    failure = fields.get("failure_condition")
    interval = parse_duration(fields.get("interval", DEFAULT_INTERVAL), f"analysis {name}: interval")
    if interval <= 0:
        raise AnalysisError(f"analysis {name}: interval must be more than 0")
    return AnalysisDef(
        name, QueryTemplate.parse(fields["query"]), Condition.parse(fields["success_condition"]),
        Condition.parse(failure) if failure else None, interval,
        _count(name, "count", fields.get("count"), minimum=1),
        _count(name, "failure_limit", fields.get("failure_limit", 0)) or 0,
        _count(name, "inconclusive_limit", fields.get("inconclusive_limit", 0)) or 0,
        parse_duration(fields.get("initial_delay", 0), f"analysis {name}: initial_delay"), source)


def _count(name: str, key: str, value: Any, minimum: int = 0) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value), 10) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise AnalysisError(f"analysis {name}: {key} must be a whole number >= {minimum}, not {value!r}")
    return number


# ---------------------------------------------------------------------- measurements


@dataclass(frozen=True)
class QueryOutcome:
    """What asking Prometheus gave: the values of an instant query, or why there are none."""

    values: tuple[float, ...] = ()
    error: str = ""  # "" = the query ran; else why not (unreachable, refused, timed out)

    @classmethod
    def failed(cls, why: str) -> QueryOutcome:
        """An outcome without values."""
        return cls((), why or "query failed")


@dataclass(frozen=True)
class Measurement:
    """One judged measurement: ``phase``, the value it was judged on, and why."""

    analysis: str
    phase: Phase
    value: float | None
    reason: str
    query: str = ""
    at: float = 0.0  # seconds since the epoch, given by the caller

    def describe(self) -> dict[str, Any]:
        """JSON-able (NaN and infinities become strings)."""
        value = self.value if self.value is None or math.isfinite(self.value) else str(self.value)
        return {"analysis": self.analysis, "phase": str(self.phase), "value": value, "reason": self.reason,
                "query": self.query, "at": self.at}


def judge(definition: AnalysisDef, outcome: QueryOutcome, query: str = "", at: float = 0.0) -> Measurement:
    """Judge one query outcome against the definition's conditions (see the module docstring)."""
    def make(phase: Phase, reason: str, value: float | None = None) -> Measurement:
        """A measurement of this definition, query and time."""
        return Measurement(definition.name, phase, value, reason, query, at)
    if outcome.error:
        return make(Phase.INCONCLUSIVE, f"no measurement: {outcome.error}")
    if not outcome.values:
        return make(Phase.INCONCLUSIVE, "the query returned no data (no traffic?)")
    value = outcome.values[0]
    try:
        if definition.failure is not None and definition.failure.holds(outcome.values):
            return make(Phase.FAILED, f"{_show(value)}: failure condition {definition.failure} holds", value)
        if definition.success.holds(outcome.values):
            return make(Phase.SUCCESSFUL, f"{_show(value)}: {definition.success} holds", value)
    except UnusableResult as exc:
        return make(Phase.INCONCLUSIVE, str(exc), value)
    if definition.failure is not None:
        return make(Phase.INCONCLUSIVE, f"{_show(value)}: neither condition holds", value)
    return make(Phase.FAILED, f"{_show(value)}: {definition.success} does not hold", value)


def _show(value: float) -> str:
    return f"{value:.4g}"


# ---------------------------------------------------------------------- runs and verdicts


@dataclass
class AnalysisRun:
    """The measurements of one analysis over one window, and the verdict so far."""

    definition: AnalysisDef
    planned: int
    measurements: list[Measurement] = field(default_factory=list)

    def add(self, measurement: Measurement) -> Phase:
        """Record a measurement; returns the verdict after it."""
        self.measurements.append(measurement)
        return self.verdict

    def _count(self, phase: Phase) -> int:
        return sum(1 for m in self.measurements if m.phase == phase)

    @property
    def verdict(self) -> Phase:
        """FAILED past the failure limit, INCONCLUSIVE past the inconclusive limit, SUCCESSFUL once
        every planned measurement is in with at least one success, else RUNNING."""
        if self._count(Phase.FAILED) > self.definition.failure_limit:
            return Phase.FAILED
        if self._count(Phase.INCONCLUSIVE) > self.definition.inconclusive_limit:
            return Phase.INCONCLUSIVE
        if len(self.measurements) < self.planned:
            return Phase.RUNNING
        return Phase.SUCCESSFUL if self._count(Phase.SUCCESSFUL) else Phase.INCONCLUSIVE

    @property
    def done(self) -> bool:
        """The verdict is final."""
        return self.verdict != Phase.RUNNING

    def describe(self) -> dict[str, Any]:
        """JSON-able summary with every measurement."""
        return {"analysis": self.definition.name, "verdict": str(self.verdict), "planned": self.planned,
                "measurements": [m.describe() for m in self.measurements]}


def combine(phases: list[Phase]) -> Phase:
    """The verdict of several runs: any failure fails, then any inconclusive, then any running."""
    for phase in (Phase.FAILED, Phase.INCONCLUSIVE, Phase.RUNNING):
        if phase in phases:
            return phase
    return Phase.SUCCESSFUL if phases else Phase.INCONCLUSIVE
