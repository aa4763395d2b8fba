"""Pane actions for G's upgrade orchestrator on the Nodes pane (issue 5, item 6).

Keys: ``p`` plan (asks the target, shows the plan with any refusal), ``U`` start (confirm
screen shows the plan; the run continues in an app worker and its progress fills the Nodes
pane), ``P`` pause and ``R`` resume (at step boundaries, no confirmation), ``T`` retry (run
again from the recorded state), ``K`` skip the selected node, ``A`` abort. The mutating ones
pass the app's read-only choke point and the journal guard (``services["guard"]``); the run
itself lives in :class:`cockpit.ui.upgrade_session.UpgradeSession` (``services["upgrade"]``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

from rich.text import Text

from cockpit.domain.steps import State, Step, progress_from_annotations
from cockpit.domain.upgrade import fmt, parse_version
from cockpit.errors import CockpitError
from cockpit.ui.actions.registry import ActionContext, ChangePreview, PaneAction, Precondition, Prompt
from cockpit.ui.board import status_words
from cockpit.ui.screens.prompt import TextScreen


def session(ctx: ActionContext) -> Any:
    """The app's UpgradeSession."""
    return ctx.services["upgrade"]


def clean_version(text: str) -> str:
    """Strictly ``X.Y.Z`` (an optional leading ``v`` is dropped); raises UsageError otherwise."""
    from cockpit.ssh.commands import validate_version

    return validate_version(text.strip().removeprefix("v"))


def _nodes(ctx: ActionContext) -> list[Any]:
    return list(ctx.services["cache"].store("nodes").values())


def recorded_progress(ctx: ActionContext) -> list[Any]:
    """Every node's upgrade progress as recorded in its annotations (the live NodeRecords)."""
    return [progress_from_annotations(n.name, n.annotations) for n in _nodes(ctx)]


def unfinished_target(ctx: ActionContext) -> str:
    """The target of a run the cluster records as unfinished ("" when there is none)."""
    targets = Counter(p.target for p in recorded_progress(ctx)
                      if p.target and p.state not in (State.DONE, State.SKIPPED))
    return targets.most_common(1)[0][0] if targets else ""


def suggested_targets(ctx: ActionContext) -> tuple[str, str]:
    """(default, hint): an unfinished run's target, else the API server's version when kubelets
    lag behind it, else the next minor (``.0``); the hint names the next patch."""
    server = parse_version(str(getattr(ctx.services["cache"], "server_version", "") or ""))
    if server is None:
        return "", "the API server version is not known yet"
    next_patch = fmt((server[0], server[1], server[2] + 1))
    recorded = unfinished_target(ctx)
    if recorded:
        return recorded, f"an unfinished run to {recorded} is recorded on the nodes"
    lagging = [n.name for n in _nodes(ctx) if (parse_version(n.kubelet_version) or server) < server]
    if lagging:
        return fmt(server), f"kubelets on {', '.join(lagging[:3])} lag the API server"
    return fmt((server[0], server[1] + 1, 0)), f"the next minor; for the next patch type {next_patch}"


async def _ask_target(ctx: ActionContext) -> Prompt:
    default, hint = suggested_targets(ctx)
    return Prompt("target", f"upgrade the cluster (API {ctx.services['cache'].server_version}) to version:",
                  default, clean_version, hint)


# -- plan ------------------------------------------------------------------------------------


def plan_text(controller: Any) -> list[Text]:
    """The plan's lines; a refusal's rule lines in bold reverse (readable in every theme)."""
    refused = controller.plan_.refused
    return [Text(line, style="bold reverse" if refused and line.startswith("  ") else "")
            for line in controller.plan_lines()]


async def _run_plan(ctx: ActionContext, _preview: Any, _report: Any) -> TextScreen:
    target = ctx.params["target"]
    controller = await session(ctx).plan(target)
    verdict = "refused" if controller.plan_.refused else "ordered"
    return TextScreen(f"upgrade plan to {target}: {verdict}", plan_text(controller))


# -- start / retry ---------------------------------------------------------------------------


async def _lock_check(ctx: ActionContext) -> Precondition:
    from cockpit.controllers.upgrade_lock import RunLock

    holder = await RunLock(ctx.services["client"]).holder()
    now = datetime.now(timezone.utc)
    if holder is None or holder.stale(now):
        return Precondition("upgrade lock free", True, "no other cockpit is running an upgrade")
    return Precondition("upgrade lock free", False, f"held by {holder.describe(now)}")


def _kubelets(ctx: ActionContext) -> str:
    versions = Counter(n.kubelet_version or "?" for n in _nodes(ctx))
    return ", ".join(f"{count} at {version}" for version, count in sorted(versions.items()))


async def plan_preview(ctx: ActionContext, target: str, title: str) -> ChangePreview:
    """The confirm screen of a run: the plan (every node's commands), the skew verdict, the lock."""
    controller = await session(ctx).plan(target)
    plan = controller.plan_
    checks = [Precondition("version skew", False, v.line()) for v in plan.violations]
    checks = checks or [Precondition("version skew", True, f"{plan.cluster_version} -> {target} is allowed")]
    checks.append(Precondition("no run in this cockpit", not session(ctx).running(),
                               "this cockpit is already running an upgrade" if session(ctx).running() else ""))
    checks.append(await _lock_check(ctx))
    lines = controller.plan_lines()
    return ChangePreview(title, f"cluster -> {target}",
                         f"API {ctx.services['cache'].server_version}; kubelets: {_kubelets(ctx)}",
                         lines[0] if lines else f"every node at {target}", f"cockpit upgrade run --to {target}",
                         tuple(checks), {"target": target}, details="\n".join(lines[1:]))


async def _preview_start(ctx: ActionContext) -> ChangePreview:
    target = ctx.params["target"]
    return await plan_preview(ctx, target, f"upgrade the cluster to {target}")


async def _run_start(ctx: ActionContext, preview: ChangePreview, report: Any) -> str:
    return session(ctx).start(preview.data["target"])


async def _preview_retry(ctx: ActionContext) -> ChangePreview:
    target = session(ctx).target or unfinished_target(ctx)
    if not target:
        raise CockpitError("nothing to retry: no unfinished run is recorded (start one with U)")
    return await plan_preview(ctx, target, f"retry the upgrade to {target} (failed steps run again)")


# -- pause / resume --------------------------------------------------------------------------


async def _preview_steer(ctx: ActionContext) -> ChangePreview:
    return ChangePreview("steer the upgrade", "cluster", "", "", "cockpit upgrade pause|resume")


async def _run_pause(ctx: ActionContext, _preview: Any, _report: Any) -> str:
    return await session(ctx).pause()


async def _run_resume(ctx: ActionContext, _preview: Any, _report: Any) -> str:
    return await session(ctx).resume()


# -- skip / abort ----------------------------------------------------------------------------


async def _preview_skip(ctx: ActionContext) -> ChangePreview:
    from cockpit.ui.actions.common import require_kind

    require_kind(ctx, "node")
    node = ctx.record
    progress = progress_from_annotations(node.name, node.annotations)
    running = session(ctx).running()
    checks = (Precondition("node not done", progress.state is not State.DONE, status_words(progress)),
              Precondition("no run going in this cockpit", not running,
                           "pause or abort the run first" if running else ""))
    return ChangePreview(f"skip {node.name} in the upgrade", f"node/{node.name}", status_words(progress),
                         f"skipped at {progress.step.value}: the run moves past it; cockpit's own cordon lifted "
                         f"(kubelet stays {node.kubelet_version})", f"cockpit upgrade skip {node.name}", checks)


async def _run_skip(ctx: ActionContext, _preview: Any, report: Any) -> str:
    return await session(ctx).skip(ctx.record.name, report)


async def _preview_abort(ctx: ActionContext) -> ChangePreview:
    touched = [p for p in recorded_progress(ctx)
               if not (p.state in (State.PENDING, State.DONE) and p.step in (Step.PENDING, Step.DONE))]
    lock = await _lock_check(ctx)
    ours = session(ctx).running()
    checks = (Precondition("no other cockpit's live run", lock.ok or ours,
                           lock.detail + ("" if lock.ok or ours else "; pause or stop it there first")),)
    before = "; ".join(f"{p.node}: {status_words(p)}" for p in touched) or "no node is mid-upgrade"
    after = ("this cockpit's run stops at the next step boundary; " if ours else "") + \
        "unfinished nodes' progress cleared, cockpit's cordons lifted, the lock released"
    return ChangePreview("abort the upgrade", "cluster", before, after, "cockpit upgrade abort", checks)


async def _run_abort(ctx: ActionContext, _preview: Any, report: Any) -> str:
    lines = await session(ctx).abort(report)
    return "; ".join(lines) or "nothing to clear"


UPGRADE_ACTIONS = (
    PaneAction("upgrade.plan", "upgrade: plan", "nodes", "p", mutating=False, run=_run_plan, prompt=_ask_target,
               needs_row=False, description="ask a target version and show the ordered plan (or why it is refused)"),
    PaneAction("upgrade.start", "upgrade: start", "nodes", "U", mutating=True, run=_run_start,
               preview=_preview_start, prompt=_ask_target, needs_row=False,
               description="upgrade the cluster (confirm shows the plan); progress shows in this pane"),
    PaneAction("upgrade.pause", "upgrade: pause", "nodes", "P", mutating=True, run=_run_pause,
               preview=_preview_steer, needs_row=False, confirm=False,
               description="pause the upgrade at the next step boundary"),
    PaneAction("upgrade.resume", "upgrade: resume", "nodes", "R", mutating=True, run=_run_resume,
               preview=_preview_steer, needs_row=False, confirm=False, description="resume a paused upgrade"),
    PaneAction("upgrade.retry", "upgrade: retry", "nodes", "T", mutating=True, run=_run_start,
               preview=_preview_retry, needs_row=False,
               description="run the halted upgrade again from where it stopped"),
    PaneAction("upgrade.skip", "upgrade: skip node", "nodes", "K", mutating=True, run=_run_skip,
               preview=_preview_skip, description="leave the selected node as it is and let the run go on"),
    PaneAction("upgrade.abort", "upgrade: abort", "nodes", "A", mutating=True, run=_run_abort,
               preview=_preview_abort, needs_row=False,
               description="stop the upgrade, clear unfinished progress and lift cockpit's cordons"),
)
