"""Which actions the cockpit offers: the one place operations are plugged into the UI.

To add a mutating action, register a PaneAction that builds the operation the CLI runs too::

    PaneAction("traffic.switch", "traffic: switch colour", "traffic", "s", mutating=True,
               operation=lambda ctx: SwitchOperation(ctx.require_ops().api, ctx.record.key))

The key becomes a binding with id ``traffic.switch`` on the Traffic pane (remappable in
``[keymap]``), the palette lists "traffic: switch colour", and the app runs the operation
through the driver on the OperationScreen: preview, confirm, journal, apply, Event, result.
"""

from __future__ import annotations

from typing import Any

from cockpit.errors import CockpitError
from cockpit.ui.actions.registry import REGISTRY, ActionContext, ActionRegistry, PaneAction


async def _rollout_status(ctx: ActionContext, _preview: Any, _report: Any) -> str:
    """kubectl-rollout-status verdict of the selected Deployment (read-only)."""
    from cockpit.domain.rollout import rollout_status

    return rollout_status(ctx.record).message


async def _node_summary(ctx: ActionContext, _preview: Any, _report: Any) -> str:
    """One line about the selected node (read-only)."""
    node = ctx.record
    return (f"{node.name}: kubelet {node.kubelet_version}, {node.os_image or 'os ?'}, "
            f"kernel {node.kernel_version or '?'}, runtime {node.container_runtime or '?'}")


def require_kind(ctx: ActionContext, kind: str) -> None:
    """Refuse early when the selected row is not what the action works on."""
    record_kind = type(ctx.record).__name__.removesuffix("Record").lower()
    if record_kind != kind:
        raise CockpitError(f"select a {kind} row first")


BUILTIN = (
    PaneAction("rollout.status", "rollout: status", "rollouts", "s", mutating=False, run=_rollout_status,
               description="kubectl rollout status of the selected Deployment"),
    PaneAction("node.info", "node: info", "nodes", "i", mutating=False, run=_node_summary,
               description="versions of the selected node"),
)


def wire_actions(registry: ActionRegistry | None = None) -> ActionRegistry:
    """Register the built-in and the controllers' actions and return the registry."""
    from cockpit.ui.actions.nodes import NODE_ACTIONS
    from cockpit.ui.actions.rollout import ROLLOUT_ACTIONS
    from cockpit.ui.actions.traffic import TRAFFIC_ACTIONS
    from cockpit.ui.actions.upgrade import UPGRADE_ACTIONS

    registry = registry if registry is not None else REGISTRY
    for action in (*BUILTIN, *ROLLOUT_ACTIONS, *TRAFFIC_ACTIONS, *NODE_ACTIONS, *UPGRADE_ACTIONS):
        if registry.get(action.id) is None:
            registry.register(action)
    return registry
