"""Headless twins of the upgrade board: `upgrade plan|run|status|skip|abort|pause|resume`.

Mutating commands print the plan and ask on stdin unless ``--yes``. ``--json`` prints one JSON
document on stdout. Exit status: 0 done, 1 refused / failed / halted, 2 usage or connection problem.
"""

from __future__ import annotations

import argparse

from cockpit.cli.nodes import _drain_flags, _output, drain_options, duration, run_async
from cockpit.cli.session import Session, confirm


def register(subparsers, common) -> None:
    """Add ``upgrade``."""
    _register_upgrade(subparsers, common)


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
