"""Nodes pane actions: cordon, uncordon, forced uncordon and drain (keys as in k9s: c, u, r).

Each builds the same operation as its CLI twin (``cockpit cordon|uncordon|drain``); the
OperationScreen runs it through the one driver, so the plan, its checks, the equivalent
command, the force rules, the journal records and the Kubernetes Event are the CLI's.
The upgrade-board actions are in :mod:`cockpit.ui.actions.upgrade`.
"""

from __future__ import annotations

from typing import Any

from cockpit.ui.actions.common import require_kind
from cockpit.ui.actions.registry import ActionContext, PaneAction


def _node(ctx: ActionContext) -> str:
    require_kind(ctx, "node")
    return ctx.record.name


def _cordon(ctx: ActionContext) -> Any:
    from cockpit.controllers.cordon import CordonOperation

    return CordonOperation(ctx.require_ops().api, _node(ctx))


def _uncordon(force: bool):
    def build(ctx: ActionContext) -> Any:
        from cockpit.controllers.cordon import UncordonOperation

        return UncordonOperation(ctx.require_ops().api, _node(ctx), force=force)

    return build


def _drain(ctx: ActionContext) -> Any:
    from cockpit.controllers.drain_operation import DrainOperation, drain_options

    # The TUI drains with the two flags every SRE passes; the plan shows the exact command.
    options = drain_options(ignore_daemonsets=True, delete_emptydir_data=True)
    return DrainOperation(ctx.require_ops().api, _node(ctx), options)


NODE_ACTIONS = (
    PaneAction("node.cordon", "node: cordon", "nodes", "c", mutating=True, operation=_cordon,
               description="mark the selected node unschedulable"),
    PaneAction("node.uncordon", "node: uncordon", "nodes", "u", mutating=True, operation=_uncordon(False),
               description="make the selected node schedulable again (only a cordon cockpit placed)"),
    PaneAction("node.uncordon_force", "node: uncordon (force)", "nodes", "ctrl+u", mutating=True,
               operation=_uncordon(True), description="uncordon the selected node even if cockpit did not cordon it"),
    PaneAction("node.drain", "node: drain", "nodes", "r", mutating=True, operation=_drain,
               description="cordon and evict the selected node's pods (PDB-aware, kubectl drain semantics)"),
)
