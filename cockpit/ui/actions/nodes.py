"""Pane actions for G's drain controller: cordon, uncordon and drain (keys as in k9s: c, u, r).

The upgrade-board actions (plan/start/pause/resume/retry/skip/abort) are in ``wiring_upgrade``.
"""

from __future__ import annotations

from typing import Any

from cockpit.ui.actions.registry import ActionContext, ChangePreview, PaneAction, Precondition
from cockpit.ui.actions.common import require_kind


def drain_options() -> Any:
    """The drain options the TUI uses: kubectl's defaults plus the flags every SRE passes."""
    from cockpit.domain.drain import DrainOptions

    return DrainOptions(ignore_daemonsets=True, delete_emptydir_data=True)


def _controller(ctx: ActionContext, report: Any = None) -> Any:
    from cockpit.controllers.drain import DrainController

    return DrainController(ctx.services["client"], ctx.services["guard"], report)


def _state(node: Any) -> str:
    return f"node/{node.name} " + ("cordoned (unschedulable)" if node.unschedulable else "schedulable")


async def _preview_cordon(ctx: ActionContext) -> ChangePreview:
    require_kind(ctx, "node")
    node = ctx.record
    return ChangePreview(f"cordon {node.name}", f"node/{node.name}", _state(node),
                         f"node/{node.name} cordoned (unschedulable)", f"kubectl cordon {node.name}",
                         (Precondition("node is schedulable", not node.unschedulable, _state(node)),))


async def _run_cordon(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    changed = await _controller(ctx, report).cordon(ctx.record.name)
    return f"node/{ctx.record.name} {'cordoned' if changed else 'was already cordoned'}"


async def _preview_uncordon(ctx: ActionContext) -> ChangePreview:
    require_kind(ctx, "node")
    node = ctx.record
    return ChangePreview(f"uncordon {node.name}", f"node/{node.name}", _state(node),
                         f"node/{node.name} schedulable", f"kubectl uncordon {node.name}",
                         (Precondition("node is cordoned", node.unschedulable, _state(node)),))


async def _run_uncordon(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    # force: the operator asked for it explicitly on this node, even if cockpit did not cordon it.
    _changed, message = await _controller(ctx, report).uncordon(ctx.record.name, force=True)
    return message


async def _preview_drain(ctx: ActionContext) -> ChangePreview:
    require_kind(ctx, "node")
    node = ctx.record
    options = drain_options()
    pre = await _controller(ctx).preflight(node.name, options)
    checks = [Precondition("drain allowed", False, line) for line in pre.refused]
    checks += [Precondition("warning", True, line) for line in pre.warnings]
    checks.append(Precondition("capacity", pre.capacity.ok, pre.capacity.line()))
    evict = [d.key for d in pre.filtered.evict]
    after = f"node/{node.name} cordoned; evict {len(evict)} pod(s): {', '.join(evict) or 'none'}"
    return ChangePreview(f"drain {node.name}", f"node/{node.name}", _state(node), after,
                         f"kubectl drain {node.name} --ignore-daemonsets --delete-emptydir-data",
                         tuple(checks), {"options": options})


async def _run_drain(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    result = await _controller(ctx, report).drain(ctx.record.name, preview.data["options"])
    return result.message or f"node/{ctx.record.name} drained"


NODE_ACTIONS = (
    PaneAction("node.cordon", "node: cordon", "nodes", "c", mutating=True, run=_run_cordon,
               preview=_preview_cordon, description="mark the selected node unschedulable"),
    PaneAction("node.uncordon", "node: uncordon", "nodes", "u", mutating=True, run=_run_uncordon,
               preview=_preview_uncordon, description="make the selected node schedulable again"),
    PaneAction("node.drain", "node: drain", "nodes", "r", mutating=True, run=_run_drain,
               preview=_preview_drain, description="cordon and evict the selected node's pods (PDB-aware)"),
)
