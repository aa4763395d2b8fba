"""Upgrade actions on the Nodes pane: the same operations as `cockpit upgrade ...`.

Keys: ``p`` plan (asks the target, shows the plan or the rule it breaks; reads only), ``U``
start and ``T`` retry (the confirm screen shows the plan; once the run has taken the lock the
screen points to the board and the run goes on in the Nodes pane's worker), ``P`` pause and
``R`` resume (requests to the live run through its Lease; this cockpit's own run also reacts at
once), ``K`` skip the selected node, ``A`` abort. Every control is confirmed, journaled and
recorded as a Kubernetes Event by the driver, exactly as from the CLI.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.text import Text

from cockpit.controllers.upgrade import UpgradeController, UpgradeOptions
from cockpit.controllers.upgrade_ops import UpgradeAbort, UpgradeRun, UpgradeSkip, UpgradeSteer, ssh_pool
from cockpit.domain.steps import progress_from_annotations
from cockpit.domain.versions import Version, parse_version, try_parse
from cockpit.errors import CockpitError, UsageError
from cockpit.ui.actions.registry import ActionContext, PaneAction, Prompt
from cockpit.ui.screens.prompt import TextScreen


def clean_version(text: str) -> str:
    """Strictly ``X.Y.Z`` (an optional leading ``v`` is dropped); raises UsageError otherwise."""
    wanted = text.strip().removeprefix("v")
    try:
        parsed = parse_version(wanted)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if parsed.is_prerelease or parsed.bare != wanted:  # packages and kubeadm take releases only
        raise UsageError(f"invalid Kubernetes version {text.strip()!r}: expected X.Y.Z (a release), e.g. 1.33.1")
    return wanted


def _nodes(ctx: ActionContext) -> list[Any]:
    return list(ctx.services["cache"].store("nodes").values())


def unfinished_target(ctx: ActionContext) -> str:
    """The target of a run the cluster records as unfinished: some node records progress to it
    and not every node has finished (done or skipped) for it; "" when there is none."""
    progress = [progress_from_annotations(n.name, n.annotations) for n in _nodes(ctx)]
    targets = Counter(p.target for p in progress if p.target)
    for target, _count in targets.most_common():
        if not all(p.finished and p.target == target for p in progress):
            return target
    return ""


def suggested_targets(ctx: ActionContext) -> tuple[str, str]:
    """(default, hint): an unfinished run's target, else the API server's version when kubelets
    lag behind it, else the next minor (``.0``); the hint names the next patch."""
    server = try_parse(str(getattr(ctx.services["cache"], "server_version", "") or ""))
    if server is None:
        return "", "the API server version is not known yet"
    server = server.release
    next_patch = Version(server.major, server.minor, server.patch + 1).bare
    recorded = unfinished_target(ctx)
    if recorded:
        return recorded, f"an unfinished run to {recorded} is recorded on the nodes"
    lagging = [n.name for n in _nodes(ctx) if (try_parse(n.kubelet_version) or server) < server]
    if lagging:
        return server.bare, f"kubelets on {', '.join(lagging[:3])} lag the API server"
    return Version(server.major, server.minor + 1, 0).bare, f"the next minor; for the next patch type {next_patch}"


async def _ask_target(ctx: ActionContext) -> Prompt:
    default, hint = suggested_targets(ctx)
    return Prompt("target", f"upgrade the cluster (API {ctx.services['cache'].server_version}) to version:",
                  default, clean_version, hint)


def options(ctx: ActionContext, target: str) -> UpgradeOptions:
    """UpgradeOptions for ``target`` with the app's overrides (``services["upgrade_options"]``)."""
    return UpgradeOptions(target=target, **dict(ctx.services.get("upgrade_options") or {}))


def pane_run(ctx: ActionContext) -> Any:
    """The Nodes pane's own run (``PaneUpgrade``)."""
    return ctx.services["pane"].upgrade


# -- plan (reads only) ----------------------------------------------------------------------


async def _run_plan(ctx: ActionContext, _preview: Any, _report: Any) -> TextScreen:
    target = ctx.params["target"]
    ops = ctx.require_ops()
    controller = UpgradeController(ops.api, None, None, options(ctx, target))  # a plan only reads
    plan = await controller.plan()
    verdict = "refused" if plan.refused else "ordered"
    lines = [Text(line, style="bold reverse" if plan.refused and line.startswith("  ") else "")
             for line in controller.plan_lines()]
    return TextScreen(f"upgrade plan to {target}: {verdict}", lines)


# -- the operations --------------------------------------------------------------------------


def _run_operation(ctx: ActionContext, target: str, retry: bool) -> UpgradeRun:
    ops = ctx.require_ops()
    pool = ssh_pool(ctx.services.get("ssh_config"),
                    accept_new_host_keys=bool(ctx.services.get("ssh_accept_new_host_keys")))
    return UpgradeRun(ops, pool, options(ctx, target), retry=retry, own_pool=True)


def _start(ctx: ActionContext) -> UpgradeRun:
    return _run_operation(ctx, ctx.params["target"], retry=False)


def _retry(ctx: ActionContext) -> UpgradeRun:
    target = unfinished_target(ctx)
    if not target:
        raise CockpitError("nothing to retry: no unfinished run is recorded on the nodes (start one with U)")
    return _run_operation(ctx, target, retry=True)


def _pause(ctx: ActionContext) -> UpgradeSteer:
    return UpgradeSteer(ctx.require_ops(), pause=True, local=pane_run(ctx).local())


def _resume(ctx: ActionContext) -> UpgradeSteer:
    return UpgradeSteer(ctx.require_ops(), pause=False, local=pane_run(ctx).local())


def _skip(ctx: ActionContext) -> UpgradeSkip:
    from cockpit.ui.actions.common import require_kind

    require_kind(ctx, "node")
    return UpgradeSkip(ctx.require_ops(), ctx.record.name)


def _abort(ctx: ActionContext) -> UpgradeAbort:
    return UpgradeAbort(ctx.require_ops(), local=pane_run(ctx).local())


UPGRADE_ACTIONS = (
    PaneAction("upgrade.plan", "upgrade: plan", "nodes", "p", mutating=False, run=_run_plan, prompt=_ask_target,
               needs_row=False, description="ask a target version and show the ordered plan (or why it is refused)"),
    PaneAction("upgrade.start", "upgrade: start", "nodes", "U", mutating=True, operation=_start,
               prompt=_ask_target, needs_row=False, hosted=True,
               description="upgrade the cluster (confirm shows the plan); the run goes on in this pane's board"),
    PaneAction("upgrade.pause", "upgrade: pause", "nodes", "P", mutating=True, operation=_pause, needs_row=False,
               description="pause the running upgrade at the next step boundary"),
    PaneAction("upgrade.resume", "upgrade: resume", "nodes", "R", mutating=True, operation=_resume,
               needs_row=False, description="resume a paused upgrade"),
    PaneAction("upgrade.retry", "upgrade: retry", "nodes", "T", mutating=True, operation=_retry, needs_row=False,
               hosted=True, description="run the halted upgrade again from the step that failed"),
    PaneAction("upgrade.skip", "upgrade: skip node", "nodes", "K", mutating=True, operation=_skip,
               description="leave the selected node as it is and let the run go on"),
    PaneAction("upgrade.abort", "upgrade: abort", "nodes", "A", mutating=True, operation=_abort, needs_row=False,
               description="stop the upgrade, clear unfinished progress and lift cockpit's cordons"),
)
