"""Headless twins of the Traffic pane: `switch` (blue/green) and `shift` (weighted canary).

Both run their operation through the same driver as the TUI: preview -> confirm (on stdin
unless ``--yes``; refused without a terminal) -> journal -> apply -> Kubernetes Event.
``--dry-run`` sends the writes with dryRun=All and changes nothing; ``--json`` prints one JSON
document on stdout. SIGINT and SIGTERM both cancel the run; a switch cancelled after its write
switches back (and verifies that) before the command ends.
``--analysis`` gates the change on metric analyses (see :mod:`cockpit.cli.analysis`).
Exit status: 0 done, 1 refused, declined or failed, 2 usage or connection problem, 3 held by an
inconclusive analysis, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from cockpit.cli import analysis as analysis_options
from cockpit.cli import session as session_module
from cockpit.cli.session import Session, action_options, run_command
from cockpit.controllers.operation import Operation
from cockpit.errors import UsageError

INTERRUPTED = 130


def register(subparsers, common) -> None:
    """Add ``switch`` and ``shift``."""
    _register_switch(subparsers, common)
    _register_shift(subparsers, common)


def _register_switch(subparsers, common) -> None:
    parser = subparsers.add_parser("switch", parents=[common, action_options()],
                                   help="blue/green switch of a Service's selector, verified (or switched back)")
    parser.add_argument("target", metavar="[NS/]SERVICE", help="the Service whose selector picks the colour")
    parser.add_argument("--to", metavar="COLOUR", help="target colour (default: the other one)")
    parser.add_argument("--undo", action="store_true",
                        help="switch back a switch left unverified on the Service (default there: finish it)")
    parser.add_argument("--verify-timeout", type=seconds(minimum=0.1), default=30.0, metavar="SECONDS",
                        help="how long the EndpointSlices may take to list only the new colour")
    parser.add_argument("--drill-verify-failure", action="store_true",
                        help="game-day drill: treat verification as failed to exercise the automatic switch back")
    parser.add_argument("--verify-for", type=analysis_options.duration, default=0.0, metavar="DURATION",
                        help="after the switch, keep measuring the new colour with --analysis this long (60s, 2m)")
    analysis_options.add_options(parser, "--verify-for")
    parser.set_defaults(handler=run_switch)


def _register_shift(subparsers, common) -> None:
    parser = subparsers.add_parser("shift", parents=[common, action_options()],
                                   help="weighted traffic shift (HTTPRoute weights or NGINX canary-weight)")
    parser.add_argument("target", metavar="[NS/]ROUTE", help="the HTTPRoute, or either Ingress of a canary pair")
    parser.add_argument("--kind", choices=("httproute", "ingress"), default="httproute",
                        help="where the weights live (default: httproute)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--weights", metavar="A=90,B=10",
                      help="set these backend weights (stable= and canary= name the roles)")
    mode.add_argument("--step", action="store_true", help="step the canary through --plan")
    mode.add_argument("--abort", action="store_true", help="all traffic back to the stable backend (100/0)")
    parser.add_argument("--plan", default="10,25,50,100", metavar="P1,P2,...",
                        help="canary percentages for --step (steps at or below the current share are skipped)")
    parser.add_argument("--pause", type=seconds(minimum=0.0), default=0.0, metavar="SECONDS",
                        help="pause between steps")
    parser.add_argument("--stable", metavar="BACKEND", help="the stable backend (default: guessed by name)")
    parser.add_argument("--canary", metavar="BACKEND", help="the canary backend (default: guessed by name)")
    analysis_options.add_options(parser, "--pause (after each --step below 100%%)")
    parser.set_defaults(handler=run_shift)


def seconds(minimum: float) -> Any:
    """An argparse type: a finite number of seconds, at least ``minimum`` (else a usage error)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value >= minimum and value != float("inf")):
            raise argparse.ArgumentTypeError(f"expected seconds >= {minimum:g}, got {text!r}")
        return value

    return parse


def run_switch(args: argparse.Namespace) -> int:
    """`cockpit switch NS/SERVICE [--to COLOUR | --undo]`."""
    from cockpit.controllers.switch import SwitchOperation

    async def body(session: Session) -> int:
        namespace = args.target.partition("/")[0]
        async with analysis_options.analysis_gate(args, session.services.api, namespace, args.verify_for) as gate:
            operation = SwitchOperation(session.services.api, args.target, args.to, undo=args.undo,
                                        operator=session.services.operator, verify_timeout=args.verify_timeout,
                                        drill_verify_failure=args.drill_verify_failure, gate=gate,
                                        verify_for=args.verify_for)
            return await drive_interruptibly(session, operation)

    return run_command(args, body, "switch")


def run_shift(args: argparse.Namespace) -> int:
    """`cockpit shift NS/ROUTE [--weights ... | --step --plan ... | --abort]` (none: show the split)."""
    from cockpit.controllers.shift import ShiftOperation, traffic_view

    async def body(session: Session) -> int:
        roles = {"stable": args.stable, "canary": args.canary}
        if not (args.weights or args.step or args.abort):
            view = await traffic_view(session.services.api, args.target, args.kind, **roles)
            session.out.line(view.text())
            session.out.result(True, "view", args.target, view)
            return 0
        if args.analysis and not args.step:
            raise UsageError("--analysis gates the steps of --step")
        namespace = args.target.partition("/")[0]
        async with analysis_options.analysis_gate(args, session.services.api, namespace, args.pause) as gate:
            operation = ShiftOperation(session.services.api, args.target, kind=args.kind, abort=args.abort,
                                       weights=parse_weights(args.weights) if args.weights else None,
                                       steps=parse_plan(args.plan) if args.step else None, pause=args.pause,
                                       gate=gate, **roles)
            return await drive_interruptibly(session, operation)

    return run_command(args, body, "shift")


async def drive_interruptibly(session: Session, operation: Operation[Any]) -> int:
    """Drive ``operation``; SIGINT/SIGTERM cancel it (the operation decides what a cancel means)."""
    try:
        with signals_cancel_this_task():
            result = await session.drive(operation)
    except asyncio.CancelledError:
        session.out.error("cockpit: interrupted")
        return INTERRUPTED
    if result.details.get("cancelled"):
        return INTERRUPTED
    if result.details.get("held"):
        return analysis_options.HELD
    return 0 if result.ok else 1


@contextmanager
def signals_cancel_this_task() -> Iterator[None]:
    """While inside: SIGINT and SIGTERM cancel the current task instead of killing the process.

    A cancel is delivered as ``CancelledError`` at the next await, so an operation can finish
    (or undo) what it started. At a confirmation prompt (nothing sent yet) the signal interrupts
    at once, as it always did.
    """
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    if task is None or threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; elsewhere they keep their handlers
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if _prompting(frame):
            raise KeyboardInterrupt
        loop.call_soon_threadsafe(task.cancel)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _prompting(frame: FrameType | None) -> bool:
    """Whether the interrupted code is the blocking terminal prompt (readline does not see a cancel)."""
    while frame is not None:
        if frame.f_code is session_module.ask.__code__:
            return True
        frame = frame.f_back
    return False


def parse_weights(text: str) -> dict[str, int]:
    """``"api-stable=90,api-canary=10"`` -> ``{"api-stable": 90, "api-canary": 10}``."""
    weights: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        value = value.strip()
        if not sep or not name.strip() or not (value.isascii() and value.isdigit()) or len(value) > 9:
            raise UsageError(f"weights look like name=90,other=10; got {part!r}")
        weights[name.strip()] = int(value)
    if not weights:
        raise UsageError("no weights given")
    return weights


def parse_plan(text: str) -> list[int]:
    """``"10,25,50,100"`` -> ``[10, 25, 50, 100]``."""
    from cockpit.controllers.shift import validate_steps

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isascii() and p.isdigit() and len(p) <= 9 for p in parts):
        raise UsageError(f"a plan looks like 10,25,50,100; got {text!r}")
    steps = [int(p) for p in parts]
    validate_steps(steps)
    return steps
