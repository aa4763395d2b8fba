"""Traffic pane actions: blue/green switch (and undoing an unverified one), weighted shift, abort.

Each builds the same operation the CLI's `cockpit switch` / `cockpit shift` runs; the app runs
it through the driver on the OperationScreen (so a cancel after a switch's write switches back).

The gated canary and the verified switch gate the change on metric analyses (the shipped
``success-rate`` and ``latency-p99``, or ``[analysis.NAME]`` tables of the config) against the
Prometheus the Traffic pane polls, with the same AnalysisGate the CLI's ``--analysis`` builds.
Their measurements come as progress lines on the OperationScreen; an inconclusive verdict holds
the canary and asks (:class:`~cockpit.ui.screens.hold.HoldScreen`) instead of ending.
"""

from __future__ import annotations

from typing import Any

from cockpit.controllers.analysis_gate import AnalysisGate
from cockpit.controllers.held_shift import KEEP, HeldShiftOperation
from cockpit.controllers.operation import Result
from cockpit.controllers.shift import ShiftOperation, validate_steps
from cockpit.controllers.switch import SwitchOperation
from cockpit.domain.analysis import AnalysisError, parse_duration
from cockpit.errors import CockpitError, UsageError
from cockpit.ui.actions.common import require_kind
from cockpit.ui.actions.registry import ActionContext, PaneAction, Prompt

NUDGE_POINTS = 10  # the `+` key: percentage points of the total weight moved to the canary
GATED_PLAN = (10, 25, 50, 100)
GATED_PAUSE = 30.0  # seconds each step is measured: three measurements of a shipped analysis
VERIFY_FOR = 60.0
GATED_ANALYSES = ("success-rate", "latency-p99")


def _switch(ctx: ActionContext) -> SwitchOperation:
    require_kind(ctx, "service")
    ops = ctx.require_ops()
    return SwitchOperation(ops.api, ctx.record.key, operator=ops.operator)


def _undo_switch(ctx: ActionContext) -> SwitchOperation:
    require_kind(ctx, "service")
    ops = ctx.require_ops()
    return SwitchOperation(ops.api, ctx.record.key, undo=True, operator=ops.operator)


def _shift(ctx: ActionContext) -> ShiftOperation:
    require_kind(ctx, "httproute")
    return ShiftOperation(ctx.require_ops().api, ctx.record.key, nudge=NUDGE_POINTS)


def _abort(ctx: ActionContext) -> ShiftOperation:
    require_kind(ctx, "httproute")
    return ShiftOperation(ctx.require_ops().api, ctx.record.key, abort=True)


# -- metric-gated changes ---------------------------------------------------------------------


def gate_for(ctx: ActionContext, names: list[str]) -> AnalysisGate:
    """An AnalysisGate over the Traffic pane's Prometheus client, for the named analyses."""
    feed = ctx.services.get("traffic_metrics")
    client = getattr(feed, "client", None)
    if client is None:
        raise CockpitError("no Prometheus configured: set [prometheus] url in the config file to gate on metrics")
    config = feed.config
    try:
        return AnalysisGate(client, [config.analysis(name) for name in names])
    except UsageError as exc:
        raise CockpitError(str(exc)) from None


def parse_gated(text: str) -> tuple[list[int], float, list[str]]:
    """``"10,25,50,100 30s success-rate,latency-p99"`` -> (plan, pause, analyses); ValueError names the fix."""
    parts = text.split()
    if len(parts) != 3:
        raise ValueError("give PLAN PAUSE ANALYSES, e.g. 10,25,50,100 30s success-rate,latency-p99")
    plan_text, pause_text, names_text = parts
    try:
        steps = [int(p) for p in plan_text.split(",") if p]
        validate_steps(steps)
        pause = parse_duration(pause_text, "pause")
    except (ValueError, UsageError, AnalysisError) as exc:
        raise ValueError(str(exc)) from None
    names = [n for n in names_text.split(",") if n]
    if pause <= 0 or not names:
        raise ValueError("the analyses need a pause to measure over and at least one analysis name")
    return steps, pause, names


def parse_verified(text: str) -> tuple[float, list[str]]:
    """``"60s success-rate"`` -> (window, analyses)."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError("give VERIFY-FOR ANALYSES, e.g. 60s success-rate,latency-p99")
    try:
        window = parse_duration(parts[0], "verify for")
    except AnalysisError as exc:
        raise ValueError(str(exc)) from None
    names = [n for n in parts[1].split(",") if n]
    if window <= 0 or not names:
        raise ValueError("verify for a positive duration with at least one analysis")
    return window, names


def _gated_default() -> str:
    return f"{','.join(map(str, GATED_PLAN))} {GATED_PAUSE:g}s {','.join(GATED_ANALYSES)}"


def _checked(parse: Any) -> Any:
    def validate(text: str) -> str:
        parse(text)
        return text
    return validate


async def _ask_gated(ctx: ActionContext) -> Prompt:
    require_kind(ctx, "httproute")
    return Prompt("gated", f"gated canary of {ctx.record.key}: plan, pause per step, analyses",
                  _gated_default(), _checked(parse_gated), "a failure aborts to stable; inconclusive holds and asks")


async def _ask_verified(ctx: ActionContext) -> Prompt:
    require_kind(ctx, "service")
    return Prompt("verified", f"switch {ctx.record.key}, then measure the new colour: how long, which analyses",
                  f"{VERIFY_FOR:g}s {','.join(GATED_ANALYSES)}", _checked(parse_verified),
                  "a failure switches back (the old colour still runs)")


def _decide_in(ctx: ActionContext) -> Any:
    """The hold question as a modal over the running operation (its worker waits for the answer)."""
    async def decide(held: Result) -> str:
        from cockpit.ui.screens.hold import HoldScreen

        app = ctx.services["pane"].app
        return await app.push_screen(HoldScreen(held.message), wait_for_dismiss=True) or KEEP
    return decide


def _gated_shift(ctx: ActionContext) -> HeldShiftOperation:
    require_kind(ctx, "httproute")
    steps, pause, names = parse_gated(ctx.params.get("gated") or _gated_default())
    shift = ShiftOperation(ctx.require_ops().api, ctx.record.key, steps=steps, pause=pause, gate=gate_for(ctx, names))
    return HeldShiftOperation(shift, _decide_in(ctx))


def _verified_switch(ctx: ActionContext) -> SwitchOperation:
    require_kind(ctx, "service")
    window, names = parse_verified(ctx.params.get("verified") or f"{VERIFY_FOR:g}s {','.join(GATED_ANALYSES)}")
    ops = ctx.require_ops()
    return SwitchOperation(ops.api, ctx.record.key, operator=ops.operator, gate=gate_for(ctx, names),
                           verify_for=window)


TRAFFIC_ACTIONS = (
    PaneAction("traffic.switch", "traffic: switch colour", "traffic", "s", mutating=True, operation=_switch,
               description="point the selected Service at its other colour (verified, else switched back); "
                           "on a Service left mid-switch: finish it"),
    PaneAction("traffic.undo_switch", "traffic: undo unverified switch", "traffic", None, mutating=True,
               operation=_undo_switch, description="switch back a switch left unverified on the selected Service"),
    PaneAction("traffic.shift", "traffic: shift 10% to canary", "traffic", "plus", mutating=True, operation=_shift,
               description="move 10% of the selected route's weight to the canary"),
    PaneAction("traffic.abort", "traffic: abort (all to stable)", "traffic", "a", mutating=True, operation=_abort,
               description="return all of the selected route's traffic to stable"),
    PaneAction("traffic.gated_shift", "traffic: gated canary (plan 10,25,50,100, analyses success-rate,latency-p99)",
               "traffic", "G", mutating=True, operation=_gated_shift, prompt=_ask_gated,
               description="step the selected route's canary through a plan, each step measured by analyses: "
                           "a failure aborts to stable, inconclusive holds and asks"),
    PaneAction("traffic.verified_switch", "traffic: switch colour, verified by analyses (60s success-rate,latency-p99)",
               "traffic", "V", mutating=True, operation=_verified_switch, prompt=_ask_verified,
               description="switch the selected Service, keep measuring the new colour and switch back when an "
                           "analysis fails"),
)
