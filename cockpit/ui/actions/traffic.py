"""Traffic pane actions: blue/green switch (and undoing an unverified one), weighted shift, abort.

Each builds the same operation the CLI's `cockpit switch` / `cockpit shift` runs; the app runs
it through the driver on the OperationScreen (so a cancel after a switch's write switches back).
"""

from __future__ import annotations

from cockpit.controllers.shift import ShiftOperation
from cockpit.controllers.switch import SwitchOperation
from cockpit.ui.actions.common import require_kind
from cockpit.ui.actions.registry import ActionContext, PaneAction

NUDGE_POINTS = 10  # the `+` key: percentage points of the total weight moved to the canary


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
)
