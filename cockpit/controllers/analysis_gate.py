"""The metric gate of a canary step or a blue/green switch: run analyses over a window, decide.

Before anything changes, :meth:`AnalysisGate.checks` renders every analysis with the operation's
arguments and asks Prometheus to parse each query: a malformed template, an unsafe argument, a
query Prometheus rejects or a Prometheus that does not answer becomes a failed check, and the
driver refuses the plan. After a change, :meth:`AnalysisGate.judge` measures every analysis on
its own interval across the window, reports and journals each measurement as it comes, and
returns as soon as any run fails (so an abort starts at once) or when every run has ended.

The verdict maps onto what the operation does: SUCCESSFUL promotes (next step, switch kept),
FAILED aborts to stable / switches back, INCONCLUSIVE holds where it is for a person to decide.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from cockpit.controllers.base import Check
from cockpit.controllers.operation import Plan, Result, Run
from cockpit.controllers.switch_txn import finish_despite_cancel
from cockpit.domain.analysis import AnalysisDef, AnalysisRun, Measurement, Phase, combine, judge
from cockpit.domain.analysis_expr import ExpressionError
from cockpit.metrics.client import PrometheusClient, PrometheusQueryError, PrometheusUnreachable
from cockpit.metrics.config import ANY_COLOUR
from cockpit.metrics.measure import instant_outcome

CHECK_QUERIES = "analysis queries are valid"
CHECK_PROMETHEUS = "Prometheus answers"
_LEVELS = {Phase.SUCCESSFUL: "ok", Phase.FAILED: "error", Phase.INCONCLUSIVE: "warn"}


@dataclass
class GateVerdict:
    """How a gate ended: the combined phase, every run, and the measurement that decided."""

    phase: Phase
    runs: list[AnalysisRun] = field(default_factory=list)

    @property
    def deciding(self) -> Measurement | None:
        """The failed (else inconclusive) measurement that set the verdict, if any."""
        for wanted in (Phase.FAILED, Phase.INCONCLUSIVE):
            for run in self.runs:
                if run.verdict == wanted:
                    return next((m for m in reversed(run.measurements) if m.phase == wanted), None)
        return None

    def reason(self) -> str:
        """One line: what decided (or that every analysis passed)."""
        decided = self.deciding
        if decided is None:
            return "every analysis passed" if self.phase == Phase.SUCCESSFUL else f"analysis {self.phase}"
        return f"analysis {decided.analysis} {decided.phase}: {decided.reason}"

    def describe(self) -> list[dict[str, Any]]:
        """Every run with its measurements (for the journal and the result)."""
        return [run.describe() for run in self.runs]


class AnalysisGate:
    """Analyses against one Prometheus (see the module docstring).

    ``clock`` and ``sleep`` are the monotonic clock and the waiting used between measurements;
    ``now`` stamps measurements (seconds since the epoch).
    """

    def __init__(self, client: PrometheusClient, analyses: list[AnalysisDef], *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 now: Callable[[], float] = time.time) -> None:
        self.client, self.analyses = client, list(analyses)
        self.clock, self.sleep, self.now = clock, sleep, now

    @property
    def names(self) -> list[str]:
        """The analysis names, in order."""
        return [a.name for a in self.analyses]

    async def checks(self, args: dict[str, str]) -> tuple[Check, ...]:
        """The named preconditions: every query renders and parses, and Prometheus answers."""
        queries, problems = {}, []
        for analysis in self.analyses:
            try:
                queries[analysis.name] = analysis.query.render(args)
            except ExpressionError as exc:
                problems.append(f"{analysis.name}: {exc}")
        unreachable = ""
        for name, promql in queries.items():
            try:
                await self.client.check_syntax(promql)
            except PrometheusQueryError as exc:
                problems.append(f"{name}: {exc}")
            except PrometheusUnreachable as exc:
                unreachable = str(exc)
                break
        detail = "; ".join(problems) or ", ".join(f"{a.name} ({a.success})" for a in self.analyses)
        return (Check(CHECK_QUERIES, not problems, detail),
                Check(CHECK_PROMETHEUS, not unreachable, unreachable or self.client.settings.url))

    def details(self, window: float) -> tuple[str, ...]:
        """Plan lines saying what each analysis will measure over ``window`` seconds."""
        return tuple(f"analysis {a.name}: {a.success}, every {a.interval:g}s, {a.measurements_in(window)} "
                     f"measurement(s), failure limit {a.failure_limit}, inconclusive limit {a.inconclusive_limit} "
                     f"[{a.source}]" for a in self.analyses)

    async def judge(self, args: dict[str, str], window: float, run: Run, label: str) -> GateVerdict:
        """Measure every analysis across ``window`` seconds; returns early on a failed run."""
        runs = [AnalysisRun(a, a.measurements_in(window)) for a in self.analyses]
        run.say("analysis", f"{label}: measuring {', '.join(self.names)} for {window:g}s", "info")
        tasks = [asyncio.create_task(self._measure(r, args, run, label)) for r in runs]
        try:
            await self._until_decided(tasks, runs)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        verdict = GateVerdict(combine([r.verdict for r in runs]), runs)
        if verdict.phase == Phase.RUNNING:  # stopped before every run ended: not a pass
            verdict.phase = Phase.INCONCLUSIVE
        return verdict

    async def _until_decided(self, tasks: list[asyncio.Task], runs: list[AnalysisRun]) -> None:
        pending = set(tasks)
        while pending:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(r.verdict == Phase.FAILED for r in runs):
                return

    async def _measure(self, analysis_run: AnalysisRun, args: dict[str, str], run: Run, label: str) -> None:
        definition = analysis_run.definition
        promql = definition.query.render(args)
        start = self.clock() + definition.initial_delay
        for index in range(1, analysis_run.planned + 1):
            await self.sleep(max(0.0, start + index * definition.interval - self.clock()))
            outcome = await instant_outcome(self.client, promql)
            measurement = judge(definition, outcome, promql, self.now())
            verdict = analysis_run.add(measurement)
            self._report(run, label, analysis_run, measurement)
            if verdict != Phase.RUNNING:
                return

    def _report(self, run: Run, label: str, analysis_run: AnalysisRun, m: Measurement) -> None:
        count = f"{len(analysis_run.measurements)}/{analysis_run.planned}"
        run.say("analysis", f"{label}: {m.analysis} {count} {m.phase}: {m.reason}", _LEVELS.get(m.phase, "info"),
                measurement=m.describe())
        run.record_quietly("analysis", step=label, **m.describe())


# ----- what the shift and switch operations call ---------------------------------------------


def canary_args(namespace: str, route: str, canary: str) -> dict[str, str]:
    """Arguments of a canary step: the canary backend, every version of it."""
    return {"namespace": namespace, "service": route, "backend": canary, "colour": ANY_COLOUR}


def colour_args(namespace: str, service: str, colour: str) -> dict[str, str]:
    """Arguments of a blue/green switch: the Service, only the new colour."""
    return {"namespace": namespace, "service": service, "backend": service, "colour": colour}


async def with_gate_checks(gate: AnalysisGate, plan: Plan[Any], args: dict[str, str], window: float) -> Plan[Any]:
    """The plan with the gate's checks and its measurement schedule added."""
    return replace(plan, checks=plan.checks + await gate.checks(args), details=plan.details + gate.details(window))


async def verify_switch(gate: AnalysisGate, txn: Any, verified: Result, args: dict[str, str], window: float,
                        run: Run) -> Result:
    """After a verified switch: measure the new colour for ``window``; switch back when it fails.

    A cancel while measuring switches back too (as a cancel after the write always does); an
    inconclusive verdict keeps the switch and says so (the old colour still runs).
    """
    colour = args["colour"]
    try:
        verdict = await gate.judge(args, window, run, f"verify {colour}")
    except asyncio.CancelledError:
        _uncancel()
        back, _ = await finish_despite_cancel(txn.switch_back("cancelled while the analyses ran", cancelled=True))
        return back
    details = {**verified.details, "analysis": verdict.describe(), "analysis_verdict": str(verdict.phase)}
    if verdict.phase == Phase.FAILED:
        back, _ = await finish_despite_cancel(txn.switch_back(verdict.reason()))
        return replace(back, details={**back.details, "analysis": verdict.describe(),
                                      "analysis_verdict": str(verdict.phase)})
    if verdict.phase == Phase.SUCCESSFUL:
        return replace(verified, message=f"{verified.message}; analyses passed over {window:g}s", details=details)
    message = (f"{verified.message}; analyses INCONCLUSIVE ({verdict.reason()}): the switch is kept, decide by hand "
               f"(back: cockpit switch {verified.target} --to {txn.spec.from_colour})")
    run.say("analysis", message, "warn")
    return replace(verified, ok=False, message=message, details={**details, "held": True})


def _uncancel() -> None:
    # The cancel was handled (by switching back): later awaits of this task must not see it again.
    current = asyncio.current_task()
    if current is not None:
        current.uncancel()
