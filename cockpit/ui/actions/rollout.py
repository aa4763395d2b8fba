"""Rollouts pane actions: undo, pause, resume and restart the selected Deployment.

Each builds the same operation the CLI's `cockpit rollout VERB` runs; the app runs it through
the driver on the OperationScreen.
"""

from __future__ import annotations

from cockpit.controllers.rollout import RestartOperation, SetPausedOperation, UndoOperation
from cockpit.ui.actions.common import require_kind
from cockpit.ui.actions.registry import ActionContext, PaneAction


def _undo(ctx: ActionContext) -> UndoOperation:
    require_kind(ctx, "deployment")
    return UndoOperation(ctx.require_ops().api, ctx.record.key)


def _pause(ctx: ActionContext) -> SetPausedOperation:
    require_kind(ctx, "deployment")
    return SetPausedOperation(ctx.require_ops().api, ctx.record.key, paused=True)


def _resume(ctx: ActionContext) -> SetPausedOperation:
    require_kind(ctx, "deployment")
    return SetPausedOperation(ctx.require_ops().api, ctx.record.key, paused=False)


def _restart(ctx: ActionContext) -> RestartOperation:
    require_kind(ctx, "deployment")
    return RestartOperation(ctx.require_ops().api, ctx.record.key)


ROLLOUT_ACTIONS = (
    PaneAction("rollout.undo", "rollout: undo", "rollouts", "u", mutating=True, operation=_undo,
               description="roll the selected Deployment back to its previous revision"),
    PaneAction("rollout.pause", "rollout: pause", "rollouts", "p", mutating=True, operation=_pause,
               description="pause the selected Deployment's rollout"),
    PaneAction("rollout.resume", "rollout: resume", "rollouts", "r", mutating=True, operation=_resume,
               description="resume the selected Deployment's paused rollout"),
    PaneAction("rollout.restart", "rollout: restart", "rollouts", "R", mutating=True, operation=_restart,
               description="restart every pod of the selected Deployment with a new rollout"),
)
