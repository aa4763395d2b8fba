"""Headless twins of the node actions: `drain`, `uncordon`, `upgrade plan|run|status|...`.

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
    """Add ``drain``, ``uncordon`` and ``upgrade``."""
    _register_drain(subparsers, common)
    uncordon = subparsers.add_parser("uncordon", parents=[common, _output()],
                                     help="uncordon a node (only if cockpit cordoned it, unless --force)")
    uncordon.add_argument("node")
    uncordon.add_argument("--force", action="store_true", help="uncordon even if cockpit did not cordon it")
    uncordon.set_defaults(handler=run_uncordon)
    _register_upgrade(subparsers, common)


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


def _register_upgrade(subparsers, common) -> None:
    parser = subparsers.add_parser("upgrade", parents=[common], help="kubeadm cluster upgrade: plan, run, status")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    plan = verbs.add_parser("plan", parents=[common, _output()], help="check skew and show the ordered plan")
    _target_flags(plan)
    plan.add_argument("--probe-ssh", action="store_true", help="read /etc/os-release over SSH instead of osImage")
    plan.add_argument("--accept-new-host-keys", action="store_true")
    plan.set_defaults(handler=run_upgrade_plan)
    for verb, text in (("run", "run (or resume) the upgrade"), ("retry", "resume after a failure (same as run)")):
        sub = verbs.add_parser(verb, parents=[common, _output()], help=text)
        _target_flags(sub)
        _run_flags(sub)
        sub.set_defaults(handler=run_upgrade_run)
    status = verbs.add_parser("status", parents=[common, _output()], help="the run as recorded on the nodes")
    status.set_defaults(handler=run_upgrade_status)
    skip = verbs.add_parser("skip", parents=[common, _output()], help="skip a (failed) node and go on")
    skip.add_argument("node")
    skip.set_defaults(handler=run_upgrade_skip)
    abort = verbs.add_parser("abort", parents=[common, _output()],
                             help="give up the run: clear unfinished progress, lift cockpit's cordons, drop the lock")
    abort.add_argument("--force", action="store_true", help="even if a live cockpit holds the lock")
    abort.set_defaults(handler=run_upgrade_abort)
    for verb in ("pause", "resume"):
        sub = verbs.add_parser(verb, parents=[common, _output()], help=f"{verb} the running upgrade at a step boundary")
        sub.set_defaults(handler=run_upgrade_pause, pause=verb == "pause")


def _target_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", required=True, metavar="X.Y.Z", dest="to", help="target Kubernetes version")
    parser.add_argument("--concurrency", type=int, default=1, metavar="N", help="workers upgraded at once")
    parser.add_argument("--no-sudo", action="store_true", help="run remote commands without sudo -n")


def _run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--accept-new-host-keys", action="store_true", help="trust unknown SSH host keys (never changed ones)")
    parser.add_argument("--drain-timeout", type=duration, default=600.0, metavar="DURATION")
    parser.add_argument("--ready-timeout", type=duration, default=300.0, metavar="DURATION",
                        help="how long a restarted kubelet may take to report Ready at the target")
    parser.add_argument("--command-timeout", type=duration, default=900.0, metavar="DURATION")
    parser.add_argument("--poll-interval", type=duration, default=1.0, metavar="DURATION")
    parser.add_argument("--lease-duration", type=int, default=30, metavar="SECONDS")
    _drain_flags(parser, prefix="drain-")


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


# ----- upgrade ---------------------------------------------------------------------------


def _upgrade_options(args: argparse.Namespace):
    from cockpit.controllers.upgrade import UpgradeOptions

    if getattr(args, "drain_timeout", None) is None:
        return UpgradeOptions(target=args.to, concurrency=args.concurrency, sudo=not args.no_sudo)
    return UpgradeOptions(target=args.to, concurrency=args.concurrency,
                          drain=drain_options(args, args.drain_timeout, True),
                          command_timeout=args.command_timeout, ready_timeout=args.ready_timeout,
                          poll_interval=args.poll_interval, lease_duration=args.lease_duration,
                          sudo=not args.no_sudo)


def run_upgrade_plan(args: argparse.Namespace) -> int:
    """`cockpit upgrade plan --to X.Y.Z [--concurrency N] [--probe-ssh] [--json]`."""
    from cockpit.controllers.upgrade import UpgradeController
    from cockpit.controllers.upgrade_facts import plan_to_dict

    async def body(session: Session) -> int:
        ctl = UpgradeController(session.client, session.pool, session.guard, _upgrade_options(args))
        plan = await ctl.plan(probe_ssh=args.probe_ssh)
        for line in ctl.plan_lines():
            session.out.line(line)
        session.out.result(not plan.refused, "upgrade-plan", args.to, plan_to_dict(plan, not args.no_sudo))
        return 1 if plan.refused else 0

    return run_async(args, body, "upgrade-plan", args.to, ssh=args.probe_ssh)


def run_upgrade_run(args: argparse.Namespace) -> int:
    """`cockpit upgrade run --to X.Y.Z [--yes] [--concurrency N] ...`: run or resume."""
    from cockpit.controllers.upgrade import PlanRefused, UpgradeController

    async def body(session: Session) -> int:
        session.guard.check_mutation_allowed("upgrade", args.to)
        session.guard.journal.check_writable()
        ctl = UpgradeController(session.client, session.pool, session.guard, _upgrade_options(args),
                                session.out.progress)
        plan = await ctl.plan()
        for line in ctl.plan_lines():
            session.out.line(line)
        if plan.refused:
            raise PlanRefused("upgrade refused: " + "; ".join(v.line() for v in plan.violations), plan)
        confirm(args, f"upgrade {len(plan.nodes)} nodes to {args.to}?")
        result = await ctl.run()
        session.out.line(result.message)
        session.out.result(result.outcome == "done", "upgrade-run", args.to, result.journal_fields())
        return 0 if result.outcome == "done" else 1

    return run_async(args, body, "upgrade-run", args.to, ssh=True)


def run_upgrade_status(args: argparse.Namespace) -> int:
    """`cockpit upgrade status [--json]`: lock holder and per-node progress from the cluster."""
    from cockpit.controllers.upgrade import read_status

    async def body(session: Session) -> int:
        status = await read_status(session.client)
        lock = status["lock"]
        session.out.line(f"lock: {lock['line'] + (' (stale)' if lock['stale'] else '') if lock else 'free'}")
        for row in status["nodes"]:
            error = f"  {row['error']}" if row["error"] else ""
            session.out.line(f"{row['node']:<12} v{row['kubelet']:<8} {row['state']:<8} {row['label']:<19} "
                             f"{'cordoned' if row['unschedulable'] else 'schedulable':<11}{error}")
        session.out.result(True, "upgrade-status", "cluster", status)
        return 0

    return run_async(args, body, "upgrade-status", "cluster")


def run_upgrade_skip(args: argparse.Namespace) -> int:
    """`cockpit upgrade skip NODE`."""
    from cockpit.controllers.upgrade import skip_node

    async def body(session: Session) -> int:
        message = await skip_node(session.client, session.guard, args.node)
        session.out.line(message)
        session.out.result(True, "upgrade-skip", args.node, {"message": message})
        return 0

    return run_async(args, body, "upgrade-skip", args.node)


def run_upgrade_abort(args: argparse.Namespace) -> int:
    """`cockpit upgrade abort [--force]`."""
    from cockpit.controllers.upgrade import abort_run

    async def body(session: Session) -> int:
        lines = await abort_run(session.client, session.guard, force=args.force)
        for line in lines or ["nothing to abort"]:
            session.out.line(line)
        session.out.result(True, "upgrade-abort", "cluster", {"lines": lines})
        return 0

    return run_async(args, body, "upgrade-abort", "cluster")


def run_upgrade_pause(args: argparse.Namespace) -> int:
    """`cockpit upgrade pause|resume`: asks the running cockpit through the Lease."""
    from cockpit.controllers.upgrade_lock import RunLock

    async def body(session: Session) -> int:
        session.guard.check_mutation_allowed("upgrade-pause", "cluster")
        session.guard.record("upgrade-pause", "cluster", "step", pause=args.pause)
        holder = await RunLock(session.client).request_pause(args.pause)
        session.out.line(f"{'pause' if args.pause else 'resume'} requested from {holder.identity or 'nobody'}")
        session.out.result(True, "upgrade-pause", "cluster", holder.to_dict())
        return 0

    return run_async(args, body, "upgrade-pause", "cluster")

