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
from cockpit.controllers.shift import validate_steps
from cockpit.errors import CockpitError, UsageError

MAX_PREVIEW_ROUNDS = 3  # "changed since preview" -> show the new preview and ask again, a few times


# ----- parser -----------------------------------------------------------------------------


def register(subparsers, common) -> None:
    """Add ``rollout``, ``switch`` and ``shift``."""
    _register_rollout(subparsers, common)
    _register_switch(subparsers, common)
    _register_shift(subparsers, common)


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


def _register_switch(subparsers, common) -> None:
    parser = subparsers.add_parser("switch", parents=[common, _action_options()],
                                   help="blue/green switch of a Service's selector, verified")
    parser.add_argument("target", metavar="[NS/]SERVICE")
    parser.add_argument("--to", metavar="COLOUR", help="target colour (default: the other one)")
    parser.add_argument("--verify-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="how long the EndpointSlices may take to list only the new colour")
    parser.add_argument("--drill-verify-failure", action="store_true",
                        help="game-day drill: treat verification as failed to exercise the automatic switch back")
    parser.set_defaults(handler=run_switch)


def _register_shift(subparsers, common) -> None:
    parser = subparsers.add_parser("shift", parents=[common, _action_options()],
                                   help="weighted traffic shift (HTTPRoute weights or NGINX canary-weight)")
    parser.add_argument("target", metavar="[NS/]ROUTE", help="the HTTPRoute, or either Ingress of a canary pair")
    parser.add_argument("--kind", choices=("httproute", "ingress"), default="httproute")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--weights", metavar="A=90,B=10", help="set these backend weights")
    mode.add_argument("--step", action="store_true", help="step the canary through --plan")
    mode.add_argument("--abort", action="store_true", help="all traffic back to the stable backend (100/0)")
    parser.add_argument("--plan", default="10,25,50,100", metavar="P1,P2,...", help="canary percentages")
    parser.add_argument("--pause", type=float, default=0.0, metavar="SECONDS", help="pause between steps")
    parser.add_argument("--stable", metavar="BACKEND", help="the stable backend (default: guessed by name)")
    parser.add_argument("--canary", metavar="BACKEND", help="the canary backend (default: guessed by name)")
    parser.set_defaults(handler=run_shift)


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


# ----- switch -------------------------------------------------------------------------------


def run_switch(args: argparse.Namespace) -> int:
    """`cockpit switch NS/SERVICE [--to COLOUR]`."""
    from cockpit.controllers.switch import SwitchController

    async def body(session: Session) -> int:
        precheck(session, args, "switch")
        ctl = SwitchController(session.client, session.guard, session.out.progress,
                               verify_timeout=args.verify_timeout)
        plan = await ctl.preview(args.target, args.to)
        for _ in range(MAX_PREVIEW_ROUNDS):
            show_plan(session.out, plan)
            if plan.ok and not plan.noop:
                confirm(args, f"switch {args.target} to {plan.to_colour}?")
            try:
                result = await ctl.switch(plan, dry_run=args.dry_run,
                                          drill_verify_failure=args.drill_verify_failure)
                break
            except ChangedSincePreview as exc:
                plan = _ask_again(session.out, args, exc)
        else:
            raise CockpitError(f"{args.target} keeps changing; try again later")
        session.out.line(result.message)
        session.out.result(result.ok, "switch", args.target, result)
        return 0 if result.ok else 1

    return run_async(args, body, "switch")


# ----- shift --------------------------------------------------------------------------------


def run_shift(args: argparse.Namespace) -> int:
    """`cockpit shift NS/ROUTE [--weights ... | --step --plan ... | --abort]` (none: show)."""
    from cockpit.controllers.shift import ShiftController

    async def body(session: Session) -> int:
        ctl = ShiftController(session.client, session.guard, session.out.progress)
        roles = {"stable": args.stable, "canary": args.canary}
        if not (args.weights or args.step or args.abort):
            view = await ctl.view(args.target, args.kind, **roles)
            session.out.line(view.text())
            session.out.result(True, "view", args.target, view)
            return 0
        precheck(session, args, "shift")
        if args.abort:
            view = await ctl.view(args.target, args.kind, **roles)
            session.out.line(view.text())
            confirm(args, f"return all traffic of {args.target} to {view.stable}?")
            result = await ctl.abort(args.target, args.kind, dry_run=args.dry_run, **roles)
        elif args.step:
            steps = parse_plan(args.plan)
            view = await ctl.view(args.target, args.kind, **roles)
            session.out.line(view.text())
            session.out.line(f"plan     {view.canary}: {', '.join(f'{s}%' for s in steps)} "
                             f"(pause {args.pause:g}s, readiness check before each step)")
            confirm(args, f"run the plan on {args.target}?")
            result = await ctl.run_plan(args.target, steps, kind=args.kind, pause=args.pause,
                                        dry_run=args.dry_run, **roles)
        else:
            result = await _set_weights(ctl, session.out, args, parse_weights(args.weights), roles)
        session.out.line(result.message)
        session.out.result(result.ok, "shift", args.target, result)
        return 0 if result.ok else 1

    return run_async(args, body, "shift")


async def _set_weights(ctl: Any, out: Output, args: argparse.Namespace, weights: dict, roles: dict) -> Any:
    plan = await ctl.preview(args.target, weights, args.kind, **roles)
    for _ in range(MAX_PREVIEW_ROUNDS):
        out.line(plan.view.text())
        show_plan(out, plan)
        if plan.ok:
            confirm(args, f"set the weights of {args.target}?")
        try:
            return await ctl.set_weights(plan, dry_run=args.dry_run)
        except ChangedSincePreview as exc:
            plan = _ask_again(out, args, exc)
    raise CockpitError(f"{args.target} keeps changing; try again later")


def parse_weights(text: str) -> dict[str, int]:
    """``"api-stable=90,api-canary=10"`` -> ``{"api-stable": 90, "api-canary": 10}``."""
    weights: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        if not sep or not name or not value.strip().isdigit():
            raise UsageError(f"weights look like name=90,other=10; got {part!r}")
        weights[name.strip()] = int(value)
    if not weights:
        raise UsageError("no weights given")
    return weights


def parse_plan(text: str) -> list[int]:
    """``"10,25,50,100"`` -> ``[10, 25, 50, 100]``."""
    try:
        steps = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise UsageError(f"a plan looks like 10,25,50,100; got {text!r}") from None
    validate_steps(steps)
    return steps
