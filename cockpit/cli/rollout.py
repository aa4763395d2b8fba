"""Headless twins of the Rollouts pane: `rollout status|undo|pause|resume|restart`.

The mutating verbs run their operation through the same driver as the TUI: preview -> confirm
(on stdin unless ``--yes``; refused without a terminal) -> journal -> apply -> Event.
``--dry-run`` sends the write with dryRun=All and changes nothing. ``--json`` prints exactly one
JSON document on stdout (progress then goes to stderr).
Exit status: 0 done, 1 refused, declined or failed, 2 usage or connection problem.
"""

from __future__ import annotations

import argparse
from typing import Any

from cockpit.cli.session import Output, Session, action_options, run_command

def register(subparsers, common) -> None:
    """Add ``rollout``."""
    _register_rollout(subparsers, common)


def _register_rollout(subparsers, common) -> None:
    parser = subparsers.add_parser("rollout", parents=[common], help="rollout status, undo, pause, resume, restart")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    status = verbs.add_parser("status", parents=[common], help="rollout status by kubectl's rules")
    status.add_argument("target", metavar="[NS/]DEPLOY", help="the Deployment (NAME resolves in -n or the context's namespace)")
    status.add_argument("--watch", "-w", action="store_true", help="wait until the rollout completes or fails")
    status.add_argument("--timeout", type=float, default=None, help="give up waiting after SECONDS")
    status.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    status.set_defaults(handler=run_rollout_status)
    for verb, text in (("undo", "roll back to the previous (or --to-revision) revision"),
                       ("pause", "pause the rollout"), ("resume", "resume a paused rollout"),
                       ("restart", "restart every pod with a new rollout")):
        sub = verbs.add_parser(verb, parents=[common, action_options()], help=text)
        sub.add_argument("target", metavar="[NS/]DEPLOY", help="the Deployment (NAME resolves in -n or the context's namespace)")
        if verb == "undo":
            sub.add_argument("--to-revision", type=int, default=None, metavar="N",
                             help="the revision to go back to (default: the previous one)")
        sub.set_defaults(handler=run_rollout_action)


def run_rollout_status(args: argparse.Namespace) -> int:
    """`cockpit rollout status NS/DEPLOY [--watch] [--timeout S]`."""
    from cockpit.controllers.rollout import rollout_status

    async def body(session: Session) -> int:
        status = await rollout_status(session.services.api, args.target, session.out.progress,
                                      wait=args.watch, timeout=args.timeout)
        _print_status(session.out, status)
        ok = not status.failed and not status.timed_out
        session.out.result(ok, "status", args.target, status)
        return 0 if ok else 1

    return run_command(args, body, "status")


def _print_status(out: Output, status: Any) -> None:
    if status.failed:
        out.line(f"FAILING: {'; '.join(status.reasons) or status.message}")
        if status.can_roll_back:
            out.line(f"roll back now: cockpit rollout undo {status.target} "
                     f"(to revision {status.previous_revision})")
    if status.timed_out:
        out.line(f"timed out waiting for {status.target}: {status.message}")


def run_rollout_action(args: argparse.Namespace) -> int:
    """`cockpit rollout undo|pause|resume|restart NS/DEPLOY [--dry-run] [--yes] [--json]`."""

    async def body(session: Session) -> int:
        result = await session.drive(rollout_operation(session.services.api, args))
        return 0 if result.ok else 1

    return run_command(args, body, args.verb)


def rollout_operation(api: Any, args: argparse.Namespace) -> Any:
    """The operation for ``args.verb`` on ``args.target``."""
    from cockpit.controllers.rollout import RestartOperation, SetPausedOperation, UndoOperation

    if args.verb == "undo":
        return UndoOperation(api, args.target, args.to_revision)
    if args.verb == "restart":
        return RestartOperation(api, args.target)
    return SetPausedOperation(api, args.target, paused=args.verb == "pause")
