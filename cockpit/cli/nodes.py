"""Headless twins of the node actions: `drain` and `uncordon`.

Mutating commands print the pre-flight (or plan) and ask on stdin unless ``--yes``; without a
terminal and without ``--yes`` they refuse. ``--json`` prints one JSON document on stdout and
the progress lines on stderr. Exit status: 0 done, 1 refused / failed / halted, 2 usage or
connection problem.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from typing import Any

from cockpit.cli.session import Output, Session, confirm, open_session
from cockpit.controllers.base import ActionFailed, PreconditionFailed, Progress
from cockpit.domain.drain import DrainOptions
from cockpit.errors import CockpitError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")


def duration(text: str) -> float:
    """``300``, ``300s``, ``5m``, ``1h``, ``0`` -> seconds (kubectl-style --timeout)."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: expected e.g. 300s, 5m or 0")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
    return float(match.group(1)) * scale


# ----- parser ---------------------------------------------------------------------------


def register(subparsers, common) -> None:
    """Add ``drain`` and ``uncordon``."""
    _register_drain(subparsers, common)
    uncordon = subparsers.add_parser("uncordon", parents=[common, _output()],
                                     help="uncordon a node (only if cockpit cordoned it, unless --force)")
    uncordon.add_argument("node")
    uncordon.add_argument("--force", action="store_true", help="uncordon even if cockpit did not cordon it")
    uncordon.set_defaults(handler=run_uncordon)


def _output() -> argparse.ArgumentParser:
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    return opts


def _drain_flags(opts: argparse.ArgumentParser, prefix: str = "") -> None:
    opts.add_argument(f"--{prefix}delete-emptydir-data", dest="delete_emptydir_data", action="store_true",
                      help="evict pods with emptyDir volumes (their data is lost)")
    opts.add_argument(f"--{prefix}force", dest="force_drain", action="store_true",
                      help="evict pods without a controller (and orphaned DaemonSet pods)")
    opts.add_argument("--grace-period", type=int, default=-1, metavar="SECONDS",
                      help="grace period per pod (-1: the pod's own)")
    opts.add_argument("--retry-interval", type=duration, default=5.0, metavar="DURATION",
                      help="wait between evictions refused by a PDB (kubectl: 5s)")
    opts.add_argument("--pod-selector", default="", metavar="SELECTOR", help="only pods matching this label selector")


def _register_drain(subparsers, common) -> None:
    parser = subparsers.add_parser("drain", parents=[common, _output()],
                                   help="cordon and evict a node's pods (kubectl drain semantics, with a pre-flight)")
    parser.add_argument("node")
    parser.add_argument("--ignore-daemonsets", action="store_true", help="skip DaemonSet-managed pods")
    _drain_flags(parser)
    parser.add_argument("--timeout", type=duration, default=0.0, metavar="DURATION",
                        help="give up after DURATION (0: never, like kubectl)")
    parser.add_argument("--skip-wait-for-delete-timeout", type=int, default=0, metavar="SECONDS")
    parser.add_argument("--via-ssh", metavar="CPNODE", help="run `kubectl drain` on this control-plane node over SSH")
    parser.add_argument("--accept-new-host-keys", action="store_true", help="trust unknown SSH host keys (never changed ones)")
    parser.add_argument("--dry-run", nargs="?", const="client", default="none", choices=("none", "client", "server"),
                        help="show the pre-flight only and change nothing; =server also dry-runs each eviction")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(handler=run_drain)


# ----- session plumbing ------------------------------------------------------------------


def run_async(args: argparse.Namespace, body, action: str, target: str, ssh: bool = False) -> int:
    """Run ``body(session)`` in a fresh loop; refusals and failures become exit status 1."""

    async def main() -> int:
        async with open_session(args, ssh) as session:
            try:
                return await body(session)
            except (PreconditionFailed, ActionFailed) as exc:
                return _failure(session.out, action, target, exc, getattr(exc, "result", None))
            except CockpitError as exc:
                if exc.exit_status == 2:
                    raise
                return _failure(session.out, action, target, exc, getattr(exc, "plan", None))

    return asyncio.run(main())


def _failure(out: Output, action: str, target: str, exc: CockpitError, payload: Any) -> int:
    out.line(f"cockpit: {exc}")
    if hasattr(payload, "journal_fields"):
        payload = payload.journal_fields()
    out.result(False, action, target, payload, str(exc))
    return exc.exit_status


# ----- drain / uncordon ------------------------------------------------------------------


def drain_options(args: argparse.Namespace, timeout: float, ignore_daemonsets: bool) -> DrainOptions:
    """DrainOptions from the command line."""
    return DrainOptions(ignore_daemonsets=ignore_daemonsets, delete_emptydir_data=args.delete_emptydir_data,
                        force=args.force_drain, pod_selector=args.pod_selector, grace_period=args.grace_period,
                        timeout=timeout, retry_interval=args.retry_interval,
                        skip_wait_for_delete_timeout=getattr(args, "skip_wait_for_delete_timeout", 0),
                        poll_interval=min(1.0, max(0.05, args.retry_interval / 5)))


def run_drain(args: argparse.Namespace) -> int:
    """`cockpit drain NODE [kubectl drain options] [--via-ssh CP] [--dry-run] [--yes]`."""
    from cockpit.controllers.drain import DrainController

    options = drain_options(args, args.timeout, args.ignore_daemonsets)

    async def body(session: Session) -> int:
        def report(event: Progress) -> None:
            if event.step != "preflight":  # already printed before the confirmation
                session.out.progress(event)

        ctl = DrainController(session.client, session.guard, report)
        dry_run = args.dry_run != "none"
        if not dry_run:
            session.guard.check_mutation_allowed("drain", args.node)
            session.guard.journal.check_writable()
        if args.via_ssh:
            confirm(args, f"run kubectl drain {args.node} on {args.via_ssh} over SSH?")
            result = await ctl.drain_via_ssh(args.node, args.via_ssh, session.pool, options)
        else:
            pre = await ctl.preflight(args.node, options, server_dry_run=args.dry_run == "server")
            for line in pre.lines():
                session.out.line(line)
            if dry_run or pre.refused:
                session.out.result(not pre.refused, "drain", args.node, pre.to_dict(),
                                   "; ".join(pre.refused) or None)
                return 1 if pre.refused else 0
            confirm(args, f"drain node/{args.node}?")
            result = await ctl.drain(args.node, options)
        session.out.line(result.message)
        session.out.result(True, "drain", args.node, result.journal_fields())
        return 0

    return run_async(args, body, "drain", args.node, ssh=bool(args.via_ssh))


def run_uncordon(args: argparse.Namespace) -> int:
    """`cockpit uncordon NODE [--force]`: lifts only cockpit's own cordon unless forced."""
    from cockpit.controllers.drain import DrainController

    async def body(session: Session) -> int:
        changed, message = await DrainController(session.client, session.guard).uncordon(args.node, args.force)
        session.out.line(message)
        refused = not changed and "leaving it cordoned" in message
        session.out.result(not refused, "uncordon", args.node, {"changed": changed, "message": message})
        return 1 if refused else 0

    return run_async(args, body, "uncordon", args.node)
