"""Command-line entry point: the TUI, `demo`, `sim` and the headless commands.

Each command family lives in its own module and exposes ``register(subparsers, common)``,
which adds its sub-parsers (passing ``parents=[common]`` so the global options work after the
command name too) and sets ``handler`` on them: ``handler(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cockpit.cli.follow import apply_follow
from cockpit.errors import CockpitError

GLOBAL_DEFAULTS = {
    "kubeconfig": None,
    "context": None,
    "namespace": None,
    "read_only": False,
    "journal": None,
    "ssh_config": None,
    "theme": None,
    "follow": False,
}


def _common_options() -> argparse.ArgumentParser:
    """Global options, accepted before or after the sub-command name.

    Defaults are suppressed so that a value given before the sub-command is not reset by the
    sub-parser's defaults; `_apply_global_defaults` fills in what nobody gave.
    """
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--kubeconfig", help="kubeconfig file(s), as KUBECONFIG (default: $KUBECONFIG or ~/.kube/config)")
    common.add_argument("--context", help="kubeconfig context to use (default: the current context)")
    common.add_argument("-n", "--namespace", help="restrict the view to one namespace (default: all)")
    common.add_argument("--read-only", action="store_true", help="refuse every mutating action")
    common.add_argument("--journal", metavar="PATH", help="audit journal file (default: in the user state dir)")
    common.add_argument("--ssh-config", metavar="PATH", help="OpenSSH client config (default: ~/.ssh/config)")
    common.add_argument("--theme", help="theme name (see themes/ and the user theme folder)")
    common.add_argument("--follow", action="store_true",
                        help="follow another operator's session: read-only, every mutating command refused")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered command family."""
    from cockpit.cli import bench, nodes, report, rollout, serve, traffic, tui, upgrade
    from cockpit.sim import cli as sim_cli

    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="cockpit",
        description="A terminal cockpit for Kubernetes rollouts, blue/green traffic and kubeadm node upgrades.",
        parents=[common],
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for family in (tui, sim_cli, rollout, traffic, nodes, upgrade, report, serve, bench):
        family.register(subparsers, common)
    parser.set_defaults(handler=tui.run_tui)
    return parser


def _apply_global_defaults(args: argparse.Namespace) -> argparse.Namespace:
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run cockpit with ``argv`` (default: sys.argv) and return the exit status."""
    parser = build_parser()
    args = _apply_global_defaults(parser.parse_args(argv))
    try:
        apply_follow(args)
        return int(args.handler(args) or 0)
    except CockpitError as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`cockpit upgrade plan | head`): stop quietly, like other CLI tools.
        # Point stdout at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
