"""Headless twins of the node actions: `cordon`, `uncordon` and `drain`.

Each runs its operation through the same driver as the TUI: the plan is printed, confirmed on
stdin unless ``--yes`` (without a terminal and without ``--yes`` the command refuses), then
applied, journaled and recorded as a Kubernetes Event on the Node. ``--dry-run`` sends every
write with server-side dryRun=All. ``--json`` prints one JSON document on stdout and the
progress lines on stderr. Exit status: 0 done, 1 refused / declined / failed, 2 usage or
connection problem.
"""

from __future__ import annotations

import argparse
import re

from cockpit.cli.session import Session, action_options, run_command
from cockpit.domain.drain import DrainOptions
from cockpit.errors import UsageError

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
    """Add ``cordon``, ``uncordon`` and ``drain``."""
    cordon = subparsers.add_parser("cordon", parents=[common, action_options()],
                                   help="mark a node unschedulable (recorded as cockpit's cordon)")
    cordon.add_argument("node", help="the node to cordon")
    cordon.set_defaults(handler=run_cordon)
    uncordon = subparsers.add_parser("uncordon", parents=[common, action_options()],
                                     help="uncordon a node (only if cockpit cordoned it, unless --force)")
    uncordon.add_argument("node", help="the node to uncordon")
    uncordon.add_argument("--force", action="store_true", help="uncordon even if cockpit did not cordon it")
    uncordon.set_defaults(handler=run_uncordon)
    _register_drain(subparsers, common)


def _output() -> argparse.ArgumentParser:
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    return opts


def drain_flags(opts: argparse.ArgumentParser, prefix: str = "") -> None:
    """kubectl drain's pod and pacing flags (``prefix`` ``drain-`` for the upgrade's drains)."""
    opts.add_argument(f"--{prefix}delete-emptydir-data", dest="delete_emptydir_data", action="store_true",
                      help="evict pods with emptyDir volumes (their data is lost)")
    opts.add_argument(f"--{prefix}force", dest="force_drain", action="store_true",
                      help="evict pods without a controller (and orphaned DaemonSet pods)")
    opts.add_argument("--grace-period", type=int, default=-1, metavar="SECONDS",
                      help="grace period per pod (-1: the pod's own)")
    opts.add_argument("--retry-interval", type=duration, default=5.0, metavar="DURATION",
                      help="wait between evictions refused by a PDB (kubectl: 5s)")
    opts.add_argument("--pod-selector", default="", metavar="SELECTOR", help="only pods matching this label selector")


_drain_flags = drain_flags  # the old name, still imported by cli/upgrade.py


def _register_drain(subparsers, common) -> None:
    parser = subparsers.add_parser("drain", parents=[common, _output()],
                                   help="cordon and evict a node's pods (kubectl drain semantics, with a pre-flight)")
    parser.add_argument("node", help="the node to drain")
    parser.add_argument("--ignore-daemonsets", action="store_true", help="skip DaemonSet-managed pods")
    drain_flags(parser)
    parser.add_argument("--timeout", type=duration, default=0.0, metavar="DURATION",
                        help="give up after DURATION (0: never, like kubectl)")
    parser.add_argument("--skip-wait-for-delete-timeout", type=int, default=0, metavar="SECONDS",
                        help="skip pods deleted more than SECONDS ago (kubectl's flag; 0: never)")
    parser.add_argument("--via-ssh", metavar="CPNODE", help="run `kubectl drain` on this control-plane node over SSH")
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust unknown SSH host keys (never changed ones)")
    parser.add_argument("--dry-run", nargs="?", const="server", default="none", choices=("none", "server"),
                        help="send the cordon and every eviction with server-side dryRun=All (kubectl's "
                             "--dry-run=server); nothing changes")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(handler=run_drain)


# ----- commands --------------------------------------------------------------------------


def drain_options_from_args(args: argparse.Namespace, timeout: float, ignore_daemonsets: bool) -> DrainOptions:
    """DrainOptions from the command line (validated: out-of-range numbers are a usage error)."""
    from cockpit.controllers.drain_operation import drain_options as build

    return build(ignore_daemonsets=ignore_daemonsets, delete_emptydir_data=args.delete_emptydir_data,
                 force=args.force_drain, pod_selector=args.pod_selector, grace_period=args.grace_period,
                 timeout=timeout, retry_interval=args.retry_interval,
                 skip_wait_for_delete_timeout=getattr(args, "skip_wait_for_delete_timeout", 0))


drain_options = drain_options_from_args  # the old name, still imported by cli/upgrade.py


def run_cordon(args: argparse.Namespace) -> int:
    """`cockpit cordon NODE [--dry-run] [--yes] [--json]`."""
    from cockpit.controllers.cordon import CordonOperation

    async def body(session: Session) -> int:
        await session.drive(CordonOperation(session.services.api, args.node))
        return 0

    return run_command(args, body, "cordon", args.node)


def run_uncordon(args: argparse.Namespace) -> int:
    """`cockpit uncordon NODE [--force]`: lifts only cockpit's own cordon unless forced."""
    from cockpit.controllers.cordon import UncordonOperation

    async def body(session: Session) -> int:
        await session.drive(UncordonOperation(session.services.api, args.node, force=args.force))
        return 0

    return run_command(args, body, "uncordon", args.node)


def run_drain(args: argparse.Namespace) -> int:
    """`cockpit drain NODE [kubectl drain options] [--via-ssh CP] [--dry-run] [--yes]`."""
    from cockpit.controllers.drain_operation import DrainOperation

    options = drain_options_from_args(args, args.timeout, args.ignore_daemonsets)
    if args.via_ssh and (options.pod_selector or options.skip_wait_for_delete_timeout):
        # the remote command carries kubectl's pod flags only; a plan for other pods would lie
        raise UsageError("--pod-selector and --skip-wait-for-delete-timeout do not combine with --via-ssh")

    async def body(session: Session) -> int:
        operation = DrainOperation(session.services.api, args.node, options, via=args.via_ssh, ssh=session.pool)
        result = await session.drive(operation)
        return 0 if result.ok else 1

    return run_command(args, body, "drain", args.node, ssh=bool(args.via_ssh))

