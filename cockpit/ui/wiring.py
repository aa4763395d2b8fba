"""Which actions the cockpit offers: the one place controllers are plugged into the UI.

To add an action (e.g. F's blue/green switch or G's drain), register a PaneAction::

    async def preview_switch(ctx: ActionContext) -> ChangePreview:
        plan = await switch.plan(ctx.services["client"], ctx.record.namespace, ctx.record.name, "green")
        return ChangePreview(title="switch shop/web to green", target=ctx.record.key,
                             before="selector color=blue", after="selector color=green",
                             command="kubectl -n shop patch service web -p '...'",
                             preconditions=tuple(Precondition(c.name, c.ok, c.detail) for c in plan.checks),
                             data={"plan": plan})

    async def run_switch(ctx: ActionContext, preview: ChangePreview, report) -> object:
        return await switch.execute(ctx.services["client"], ctx.services["guard"], preview.data["plan"], report)

    registry.register(PaneAction("traffic.switch", "traffic: switch colour", "traffic", "s",
                                 mutating=True, preview=preview_switch, run=run_switch))

The key becomes a binding with id ``traffic.switch`` on the Traffic pane (remappable in
``[keymap]``), the palette lists "traffic: switch colour", and the app runs it through the
read-only choke point and the ConfirmScreen. ``report`` takes F's ``Progress`` events.
"""

from __future__ import annotations

from typing import Any

from cockpit.errors import CockpitError
from cockpit.ui.actions import REGISTRY, ActionContext, ActionRegistry, ChangePreview, PaneAction, Precondition


async def _rollout_status(ctx: ActionContext, _preview: Any, _report: Any) -> str:
    """kubectl-rollout-status verdict of the selected Deployment (read-only)."""
    from cockpit.domain.rollout import rollout_status

    return rollout_status(ctx.record).message


async def _node_summary(ctx: ActionContext, _preview: Any, _report: Any) -> str:
    """One line about the selected node (read-only)."""
    node = ctx.record
    return (f"{node.name}: kubelet {node.kubelet_version}, {node.os_image or 'os ?'}, "
            f"kernel {node.kernel_version or '?'}, runtime {node.container_runtime or '?'}")


def _checks(checks: Any) -> tuple[Precondition, ...]:
    """Controller Checks (name, ok, detail) as the confirm screen's Preconditions."""
    return tuple(Precondition(c.name, c.ok, c.detail) for c in checks or ())


def _target(ctx: ActionContext) -> str:
    return f"{ctx.record.namespace}/{ctx.record.name}"


def _require(ctx: ActionContext, kind: str) -> None:
    """Refuse early when the selected row is not what the action works on."""
    record_kind = type(ctx.record).__name__.removesuffix("Record").lower()
    if record_kind != kind:
        raise CockpitError(f"select a {kind} row first")


# ----- F's controllers: blue/green switch, rollout undo, weighted shift ----------------------


async def _preview_switch(ctx: ActionContext) -> ChangePreview:
    from cockpit.controllers.switch import SwitchController

    _require(ctx, "service")
    plan = await SwitchController(ctx.services["client"], ctx.services["guard"]).preview(_target(ctx))
    return ChangePreview(f"switch {plan.target} to {plan.to_colour}", plan.target, plan.before_text,
                         plan.after_text, plan.command, _checks(plan.checks), {"plan": plan})


async def _run_switch(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    from cockpit.controllers.switch import SwitchController

    result = await SwitchController(ctx.services["client"], ctx.services["guard"], report).switch(preview.data["plan"])
    return result.message


async def _preview_undo(ctx: ActionContext) -> ChangePreview:
    from cockpit.controllers.rollout import RolloutController

    plan = await RolloutController(ctx.services["client"], ctx.services["guard"]).plan_undo(_target(ctx))
    return ChangePreview(f"undo rollout of {plan.target} to revision {plan.to_revision}", plan.target,
                         plan.before_text, plan.after_text, plan.command, (), {"plan": plan})


async def _run_undo(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    from cockpit.controllers.rollout import RolloutController

    plan = preview.data["plan"]
    result = await RolloutController(ctx.services["client"], ctx.services["guard"], report).undo(plan.target, plan=plan)
    return result.message


async def _shift_preview(ctx: ActionContext, weights_of: Any, title: str) -> ChangePreview:
    from cockpit.controllers.shift import ShiftController

    _require(ctx, "httproute")
    controller = ShiftController(ctx.services["client"], ctx.services["guard"])
    view = await controller.view(_target(ctx))
    plan = await controller.preview(view.target, weights_of(view), stable=view.stable, canary=view.canary)
    return ChangePreview(f"{title} {plan.target}", plan.target, plan.before_text, plan.after_text, plan.command,
                         _checks(plan.checks), {"plan": plan})


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


BUILTIN = (
    PaneAction("rollout.status", "rollout: status", "rollouts", "s", mutating=False, run=_rollout_status,
               description="kubectl rollout status of the selected Deployment"),
    PaneAction("node.info", "node: info", "nodes", "i", mutating=False, run=_node_summary,
               description="versions of the selected node"),
    PaneAction("rollout.undo", "rollout: undo", "rollouts", "u", mutating=True, run=_run_undo,
               preview=_preview_undo, description="roll the selected Deployment back to its previous revision"),
    PaneAction("traffic.switch", "traffic: switch colour", "traffic", "s", mutating=True, run=_run_switch,
               preview=_preview_switch, description="point the selected Service at its other colour (verified)"),
    PaneAction("traffic.shift", "traffic: shift 10% to canary", "traffic", "plus", mutating=True, run=_run_shift,
               preview=_preview_shift, description="move 10% of the selected route's weight to the canary"),
    PaneAction("traffic.abort", "traffic: abort (all to stable)", "traffic", "a", mutating=True, run=_run_abort,
               preview=_preview_abort, description="return all of the selected route's traffic to stable"),
)


def wire_actions(registry: ActionRegistry | None = None) -> ActionRegistry:
    """Register the built-in actions (and, as they land, the controllers') and return the registry."""
    registry = registry if registry is not None else REGISTRY
    for action in BUILTIN:
        if registry.get(action.id) is None:
            registry.register(action)
    return registry
