"""Headless twins of the upgrade board: `upgrade plan|run|retry|status|pause|resume|skip|abort`.

Every control runs its operation through the same driver as the Nodes pane's keys: the plan is
printed, confirmed on stdin unless ``--yes`` (refused without a terminal), journaled, applied
and recorded as a Kubernetes Event. ``--dry-run`` sends the Lease and annotation writes with
dryRun=All (``upgrade run --dry-run`` shows the plan and sends nothing). ``--json`` prints one
JSON document on stdout. Exit status: 0 done, 1 refused / declined / failed / halted, 2 usage
or connection problem.
"""

from __future__ import annotations

import argparse

from cockpit.cli.nodes import _drain_flags, _output, drain_options, duration
from cockpit.cli.session import Session, action_options, run_command


def register(subparsers, common) -> None:
    """Add ``upgrade``."""
    parser = subparsers.add_parser("upgrade", parents=[common], help="kubeadm cluster upgrade: plan, run, status")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    plan = verbs.add_parser("plan", parents=[common, _output()], help="check skew and show the ordered plan")
    _target_flags(plan)
    plan.add_argument("--probe-ssh", action="store_true", help="read /etc/os-release over SSH instead of osImage")
    plan.add_argument("--accept-new-host-keys", action="store_true", help="trust unknown SSH host keys")
    plan.set_defaults(handler=run_upgrade_plan)
    for verb, text in (("run", "run (or resume) the upgrade"),
                       ("retry", "run a halted upgrade again from the step that failed")):
        sub = verbs.add_parser(verb, parents=[common, action_options()], help=text)
        _target_flags(sub)
        _run_flags(sub)
        sub.set_defaults(handler=run_upgrade_run)
    status = verbs.add_parser("status", parents=[common, _output()], help="the run as recorded on the nodes")
    status.set_defaults(handler=run_upgrade_status)
    skip = verbs.add_parser("skip", parents=[common, action_options()], help="skip a (failed) node and go on")
    skip.add_argument("node", help="the node to leave as it is")
    skip.set_defaults(handler=run_upgrade_control)
    abort = verbs.add_parser("abort", parents=[common, action_options()],
                             help="give up the run: clear unfinished progress, lift cockpit's cordons, drop the lock")
    abort.add_argument("--force", action="store_true",
                       help="also stop a live run that is not paused (it is asked to stop, then its lock is broken)")
    abort.add_argument("--wait", type=duration, default=60.0, metavar="DURATION",
                       help="how long to wait for the live run to stop before giving up (default 60s)")
    abort.set_defaults(handler=run_upgrade_control)
    for verb in ("pause", "resume"):
        sub = verbs.add_parser(verb, parents=[common, action_options()],
                               help=f"{verb} the running upgrade at a step boundary (through its Lease)")
        sub.set_defaults(handler=run_upgrade_control)


def positive_int(text: str) -> int:
    """An integer of at least 1 (argparse type: anything else is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _target_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", required=True, metavar="X.Y.Z", dest="to", help="target Kubernetes version")
    parser.add_argument("--concurrency", type=positive_int, default=1, metavar="N",
                        help="workers upgraded at once (at least 1; capped by PodDisruptionBudgets)")
    parser.add_argument("--no-sudo", action="store_true", help="run remote commands without sudo -n")


def _run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust unknown SSH host keys (never changed ones)")
    parser.add_argument("--drain-timeout", type=duration, default=600.0, metavar="DURATION",
                        help="how long each node's drain may take")
    parser.add_argument("--ready-timeout", type=duration, default=300.0, metavar="DURATION",
                        help="how long a restarted kubelet may take to report Ready at the target")
    parser.add_argument("--command-timeout", type=duration, default=900.0, metavar="DURATION",
                        help="how long one remote command may run")
    parser.add_argument("--poll-interval", type=duration, default=1.0, metavar="DURATION",
                        help="how often readiness is polled")
    parser.add_argument("--lease-duration", type=positive_int, default=30, metavar="SECONDS",
                        help="the lock Lease's duration: a run not renewing it for this long may be taken over")
    parser.add_argument("--api-outage", type=duration, default=60.0, metavar="DURATION",
                        help="how long reads and annotation writes retry an unreachable API server "
                             "before the run stops (it resumes where it stopped)")
    _drain_flags(parser, prefix="drain-")


def upgrade_options(args: argparse.Namespace):
    """UpgradeOptions from the command line (plan takes only the target flags)."""
    from cockpit.controllers.upgrade import UpgradeOptions

    if getattr(args, "drain_timeout", None) is None:
        return UpgradeOptions(target=args.to, concurrency=args.concurrency, sudo=not args.no_sudo)
    return UpgradeOptions(target=args.to, concurrency=args.concurrency,
                          drain=drain_options(args, args.drain_timeout, True),
                          command_timeout=args.command_timeout, ready_timeout=args.ready_timeout,
                          poll_interval=args.poll_interval, lease_duration=args.lease_duration,
                          sudo=not args.no_sudo, api_outage_budget=args.api_outage)


def run_upgrade_plan(args: argparse.Namespace) -> int:
    """`cockpit upgrade plan --to X.Y.Z [--concurrency N] [--probe-ssh] [--json]` (reads only)."""
    from cockpit.controllers.upgrade import UpgradeController
    from cockpit.controllers.upgrade_facts import plan_to_dict

    async def body(session: Session) -> int:
        ctl = UpgradeController(session.services.api, session.pool, None, upgrade_options(args))  # reads only
        plan = await ctl.plan(probe_ssh=args.probe_ssh)
        for line in ctl.plan_lines():
            session.out.line(line)
        session.out.result(not plan.refused, "upgrade-plan", args.to, plan_to_dict(plan, not args.no_sudo))
        if plan.refused:  # the plan went to stdout; the refusal is also said where failures go
            session.out.error(f"cockpit: refused: upgrade to {args.to}: "
                              + "; ".join(v.line() for v in plan.violations))
        return 1 if plan.refused else 0

    return run_command(args, body, "upgrade-plan", args.to, ssh=args.probe_ssh)


def run_upgrade_run(args: argparse.Namespace) -> int:
    """`cockpit upgrade run|retry --to X.Y.Z [--yes] [--dry-run] [--json] ...`: run or resume."""
    from cockpit.controllers.upgrade_ops import UpgradeRun

    async def body(session: Session) -> int:
        operation = UpgradeRun(session.services, session.pool, upgrade_options(args), retry=args.verb == "retry")
        result = await session.drive(operation)
        return 0 if result.ok else 1

    return run_command(args, body, "upgrade", f"cluster->{args.to}", ssh=True)


def run_upgrade_control(args: argparse.Namespace) -> int:
    """`cockpit upgrade pause|resume|abort|skip NODE [--yes] [--dry-run] [--json]`."""
    from cockpit.controllers.upgrade_ops import UpgradeAbort, UpgradeSkip, UpgradeSteer

    async def body(session: Session) -> int:
        if args.verb == "skip":
            operation = UpgradeSkip(session.services, args.node)
        elif args.verb == "abort":
            operation = UpgradeAbort(session.services, force=args.force, wait=args.wait)
        else:
            operation = UpgradeSteer(session.services, pause=args.verb == "pause")
        result = await session.drive(operation)
        return 0 if result.ok else 1

    target = getattr(args, "node", None) or "cluster"
    return run_command(args, body, f"upgrade-{args.verb}", target)


def run_upgrade_status(args: argparse.Namespace) -> int:
    """`cockpit upgrade status [--json]`: lock holder and per-node progress from the cluster."""
    from cockpit.controllers.upgrade_ops import read_status

    async def body(session: Session) -> int:
        status = await read_status(session.services.api)
        lock = status["lock"]
        session.out.line(f"lock: {lock['line'] + (' (stale)' if lock['stale'] else '') if lock else 'free'}")
        for row in status["nodes"]:
            session.out.line(status_line(row))
        session.out.result(True, "upgrade-status", "cluster", status)
        return 0

    return run_command(args, body, "upgrade-status", "cluster")


def status_line(row: dict) -> str:
    """One node of ``upgrade status``: a finished node names the target it finished for."""
    label = row["label"]
    if row["state"] in ("done", "skipped") and row["target"]:
        label = f"{'done' if row['state'] == 'done' else 'skipped at ' + label} (to {row['target']})"
    error = f"  {row['error']}" if row["error"] else ""
    return (f"{row['node']:<12} {row['kubelet']:<9} {row['state']:<8} {label:<24} "
            f"{'cordoned' if row['unschedulable'] else 'schedulable':<11}{error}")
