"""Traffic pane actions: blue/green switch, weighted shift and abort."""

from __future__ import annotations

from typing import Any

from cockpit.ui.actions.registry import ActionContext, ChangePreview, PaneAction
from cockpit.ui.actions.common import checks_of, require_kind, target_of


async def _preview_switch(ctx: ActionContext) -> ChangePreview:
    from cockpit.controllers.switch import SwitchController

    require_kind(ctx, "service")
    plan = await SwitchController(ctx.services["client"], ctx.services["guard"]).preview(target_of(ctx))
    return ChangePreview(f"switch {plan.target} to {plan.to_colour}", plan.target, plan.before_text,
                         plan.after_text, plan.command, checks_of(plan.checks), {"plan": plan})


async def _run_switch(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    from cockpit.controllers.switch import SwitchController

    result = await SwitchController(ctx.services["client"], ctx.services["guard"], report).switch(preview.data["plan"])
    return result.message


async def _shift_preview(ctx: ActionContext, weights_of: Any, title: str) -> ChangePreview:
    from cockpit.controllers.shift import ShiftController

    require_kind(ctx, "httproute")
    controller = ShiftController(ctx.services["client"], ctx.services["guard"])
    view = await controller.view(target_of(ctx))
    plan = await controller.preview(view.target, weights_of(view), stable=view.stable, canary=view.canary)
    return ChangePreview(f"{title} {plan.target}", plan.target, plan.before_text, plan.after_text, plan.command,
                         checks_of(plan.checks), {"plan": plan})


def _step_weights(view: Any, step: int = 10) -> dict[str, int]:
    """Move ``step`` percentage points of the total weight from stable to canary."""
    weights = view.weights()
    total = sum(weights.values()) or 100
    canary = min(total, weights.get(view.canary, 0) + max(1, total * step // 100))
    return {view.stable: total - canary, view.canary: canary}


async def _preview_shift(ctx: ActionContext) -> ChangePreview:
    return await _shift_preview(ctx, _step_weights, "shift 10% to the canary on")


async def _preview_abort(ctx: ActionContext) -> ChangePreview:
    from dataclasses import replace

    from cockpit.controllers.shift import CHECK_READY

    preview = await _shift_preview(ctx, lambda v: {b.name: 100 if b.name == v.stable else 0 for b in v.backends},
                                   "abort (all traffic to stable) on")
    # Like the controller's abort: returning traffic to stable must never be blocked.
    return replace(preview, preconditions=tuple(p for p in preview.preconditions if p.name != CHECK_READY))


async def _run_shift(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    from cockpit.controllers.shift import ShiftController

    result = await ShiftController(ctx.services["client"], ctx.services["guard"], report).set_weights(preview.data["plan"])
    return result.message


async def _run_abort(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    from cockpit.controllers.shift import ShiftController

    plan = preview.data["plan"]
    controller = ShiftController(ctx.services["client"], ctx.services["guard"], report)
    result = await controller.abort(plan.target, stable=plan.view.stable, canary=plan.view.canary)
    return result.message


TRAFFIC_ACTIONS = (
    PaneAction("traffic.switch", "traffic: switch colour", "traffic", "s", mutating=True, run=_run_switch,
               preview=_preview_switch, description="point the selected Service at its other colour (verified)"),
    PaneAction("traffic.shift", "traffic: shift 10% to canary", "traffic", "plus", mutating=True, run=_run_shift,
               preview=_preview_shift, description="move 10% of the selected route's weight to the canary"),
    PaneAction("traffic.abort", "traffic: abort (all to stable)", "traffic", "a", mutating=True, run=_run_abort,
               preview=_preview_abort, description="return all of the selected route's traffic to stable"),
)
