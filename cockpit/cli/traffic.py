"""Headless twins of the traffic actions: `switch` (blue/green) and `shift` (weighted canary).

Mutating commands print the preview and ask on stdin unless ``--yes``; ``--dry-run`` sends the
write with dryRun=All; ``--json`` prints one JSON document on stdout.
Exit status: 0 done, 1 refused or failed, 2 usage or connection problem.
"""

from __future__ import annotations

import argparse
from typing import Any

from cockpit.cli.rollout import MAX_PREVIEW_ROUNDS, _action_options, _ask_again, precheck, run_async, show_plan
from cockpit.cli.session import Output, Session, confirm
from cockpit.controllers.base import ChangedSincePreview
from cockpit.controllers.shift import validate_steps
from cockpit.errors import CockpitError, UsageError


def register(subparsers, common) -> None:
    """Add ``switch`` and ``shift``."""
    _register_switch(subparsers, common)
    _register_shift(subparsers, common)


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
