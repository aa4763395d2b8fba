"""Rollouts pane actions: status, undo, pause, resume, restart."""

from __future__ import annotations

from typing import Any

from cockpit.ui.actions.registry import ActionContext, ChangePreview, PaneAction
from cockpit.ui.actions.common import target_of


async def _preview_undo(ctx: ActionContext) -> ChangePreview:
    from cockpit.controllers.rollout import RolloutController

    plan = await RolloutController(ctx.services["client"], ctx.services["guard"]).plan_undo(target_of(ctx))
    return ChangePreview(f"undo rollout of {plan.target} to revision {plan.to_revision}", plan.target,
                         plan.before_text, plan.after_text, plan.command, (), {"plan": plan})


async def _run_undo(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    from cockpit.controllers.rollout import RolloutController

    plan = preview.data["plan"]
    result = await RolloutController(ctx.services["client"], ctx.services["guard"], report).undo(plan.target, plan=plan)
    return result.message



ROLLOUT_ACTIONS = (
    PaneAction("rollout.undo", "rollout: undo", "rollouts", "u", mutating=True, run=_run_undo,
               preview=_preview_undo, description="roll the selected Deployment back to its previous revision"),
)
