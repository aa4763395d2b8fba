"""Headless twins of the rollout and traffic controllers: `rollout`, `switch`, `shift`.

They share the controllers' code path with the TUI: preview -> confirm -> guarded action ->
result. Mutating commands print the preview and ask on stdin unless ``--yes``; without a
terminal and without ``--yes`` they refuse. ``--dry-run`` sends the write with dryRun=All.
``--json`` prints exactly one JSON document on stdout (progress then goes to stderr).
Exit status: 0 done, 1 refused or failed, 2 usage or connection problem.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from cockpit.controllers.base import (
    ActionFailed, ChangedSincePreview, PreconditionFailed,
)
from cockpit.cli.session import Output, Session, confirm, open_session
from cockpit.errors import CockpitError

MAX_PREVIEW_ROUNDS = 3  # "changed since preview" -> show the new preview and ask again, a few times


# ----- parser -----------------------------------------------------------------------------


def register(subparsers, common) -> None:
    """Add ``rollout``."""
    _register_rollout(subparsers, common)


def _action_options() -> argparse.ArgumentParser:
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument("--dry-run", action="store_true", help="send the write with server-side dryRun=All")
    opts.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    opts.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    return opts


def _register_rollout(subparsers, common) -> None:
    parser = subparsers.add_parser("rollout", parents=[common], help="rollout status, undo, pause, resume, restart")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    status = verbs.add_parser("status", parents=[common], help="rollout status by kubectl's rules")
    status.add_argument("target", metavar="[NS/]DEPLOY")
    status.add_argument("--watch", "-w", action="store_true", help="wait until the rollout completes or fails")
    status.add_argument("--timeout", type=float, default=None, help="give up waiting after SECONDS")
    status.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    status.set_defaults(handler=run_rollout_status)
    for verb, text in (("undo", "roll back to the previous (or --to-revision) revision"),
                       ("pause", "pause the rollout"), ("resume", "resume a paused rollout"),
                       ("restart", "restart every pod with a new rollout")):
        sub = verbs.add_parser(verb, parents=[common, _action_options()], help=text)
        sub.add_argument("target", metavar="[NS/]DEPLOY")
        if verb == "undo":
            sub.add_argument("--to-revision", type=int, default=None, metavar="N")
        sub.set_defaults(handler=run_rollout_action)


# ----- session plumbing ---------------------------------------------------------------------


def run_async(args: argparse.Namespace, body: Callable[[Session], Awaitable[int]], action: str) -> int:
    """Run ``body`` in a fresh event loop with a session; map refusals/failures to exit codes."""

    async def main() -> int:
        async with open_session(args) as session:
            args.target = qualify(args.target, args.namespace or session.namespace)
            try:
                return await body(session)
            except (PreconditionFailed, ActionFailed) as exc:
                return _report_failure(session.out, action, args.target, exc)
            except CockpitError as exc:  # refusals (read-only, journal, no tty): JSON too, then cli.main
                session.out.result(False, action, args.target, None, str(exc))
                raise

    return asyncio.run(main())


def qualify(target: str, namespace: str) -> str:
    """``NAME`` -> ``NAMESPACE/NAME`` (from -n or the context), as kubectl resolves names."""
    return target if "/" in target else f"{namespace}/{target}"


def _report_failure(out: Output, action: str, target: str, exc: CockpitError) -> int:
    payload = getattr(exc, "result", None) or {"checks": getattr(exc, "checks", [])}
    out.line(f"cockpit: {exc}")
    for check in getattr(exc, "checks", []) or []:
        out.line(f"  {check.line()}")
    out.result(False, action, target, payload, str(exc))
    return exc.exit_status


def precheck(session: Session, args: argparse.Namespace, action: str) -> None:
    """Refuse before showing a preview: read-only mode, or a journal we cannot write."""
    session.guard.check_mutation_allowed(action, args.target, dry_run=args.dry_run)
    session.guard.journal.check_writable()


def show_plan(out: Output, plan: Any) -> None:
    """Print the preview: target, before -> after, checks and the equivalent command."""
    out.line(f"target   {plan.target}")
    out.line(f"before   {plan.before_text}")
    out.line(f"after    {plan.after_text}")
    for check in getattr(plan, "checks", []) or []:
        out.line(f"  {check.line()}")
    out.line(f"command  {plan.command}")


# ----- rollout ------------------------------------------------------------------------------


def run_rollout_status(args: argparse.Namespace) -> int:
    """`cockpit rollout status NS/DEPLOY [--watch] [--timeout S]`."""
    from cockpit.controllers.rollout import RolloutController

    async def body(session: Session) -> int:
        ctl = RolloutController(session.client, session.guard, session.out.progress)
        status = await ctl.status(args.target, wait=args.watch, timeout=args.timeout)
        _print_status(session.out, status)
        ok = not status.failed and not status.timed_out
        session.out.result(ok, "status", args.target, status)
        return 0 if ok else 1

    return run_async(args, body, "status")


def _print_status(out: Output, status: Any) -> None:
    if status.failed:
        out.line(f"FAILING: {'; '.join(status.reasons) or status.message}")
        if status.can_roll_back:
            out.line(f"roll back now: cockpit rollout undo {status.target} "
                     f"(to revision {status.previous_revision})")
    if status.timed_out:
        out.line(f"timed out waiting for {status.target}: {status.message}")


def run_rollout_action(args: argparse.Namespace) -> int:
    """`cockpit rollout undo|pause|resume|restart NS/DEPLOY`."""
    from cockpit.controllers.rollout import RolloutController

    async def body(session: Session) -> int:
        precheck(session, args, args.verb)
        ctl = RolloutController(session.client, session.guard, session.out.progress)
        if args.verb == "undo":
            result = await _undo(ctl, session.out, args)
        else:
            session.out.line(f"{args.verb} {args.target}")
            confirm(args, f"{args.verb} {args.target}?")
            result = await getattr(ctl, args.verb)(args.target, dry_run=args.dry_run)
        session.out.line(result.message)
        session.out.result(result.ok, args.verb, args.target, result)
        return 0 if result.ok else 1

    return run_async(args, body, args.verb)


async def _undo(ctl: Any, out: Output, args: argparse.Namespace) -> Any:
    plan = await ctl.plan_undo(args.target, args.to_revision)
    for _ in range(MAX_PREVIEW_ROUNDS):
        show_plan(out, plan)
        if not plan.noop_reason:
            confirm(args, f"roll {args.target} back to revision {plan.to_revision}?")
        try:
            return await ctl.undo(args.target, dry_run=args.dry_run, plan=plan)
        except ChangedSincePreview as exc:
            plan = _ask_again(out, args, exc)
    raise CockpitError(f"{args.target} keeps changing; try again later")


def _ask_again(out: Output, args: argparse.Namespace, exc: ChangedSincePreview) -> Any:
    """After a concurrent edit: with --yes stop (never blindly overwrite); else show and ask."""
    out.line(f"cockpit: {exc}")
    if args.yes or exc.plan is None:
        raise exc
    return exc.plan
