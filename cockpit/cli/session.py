"""What every headless command shares: the connection, the guard, the output and the confirmation.

Human progress goes to stdout, or to stderr with ``--json`` so that stdout carries exactly one
JSON document. Refusals raise CockpitError (exit 1); connection problems ConnectionProblem (2).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

from cockpit.controllers.base import Progress, to_jsonable
from cockpit.controllers.guard import ActionGuard
from cockpit.errors import CockpitError
from cockpit.journal import Journal


class Output:
    """Human lines on stdout, or (``--json``) one JSON document on stdout and lines on stderr."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.stream = sys.stderr if as_json else sys.stdout

    def line(self, text: str = "") -> None:
        """Print a human line."""
        print(text, file=self.stream, flush=True)

    def progress(self, event: Progress) -> None:
        """The Reporter for controllers: one line per event, SSH output indented under its node."""
        if event.data.get("log"):
            self.line(f"    {event.target} | {event.message}")
        else:
            self.line(f"  [{event.level}] {event.target} {event.step}: {event.message}")

    def result(self, ok: bool, action: str, target: str, payload: Any, error: str | None = None) -> None:
        """The final JSON document (only in --json mode)."""
        if self.as_json:
            doc = {"ok": ok, "action": action, "target": target, "result": to_jsonable(payload)}
            if error:
                doc["error"] = error
            print(json.dumps(doc, default=str), flush=True)


@dataclass
class Session:
    """What a command needs: a client, the guard, the output, the context's namespace, an SSH pool."""

    client: Any
    guard: ActionGuard
    out: Output
    namespace: str = "default"
    pool: Any = None


@asynccontextmanager
async def open_session(args: argparse.Namespace, ssh: bool = False) -> AsyncIterator[Session]:
    """Connect with the global options; build journal, guard and (when asked) the SSH pool."""
    from cockpit.kube.client import KubeClient
    from cockpit.kube.config import load_cluster_config

    config = load_cluster_config(args.kubeconfig, args.context)
    journal = Journal(args.journal, context=config.context)
    guard = ActionGuard(bool(args.read_only), journal, config.context, kube_user=config.user or None)
    client = KubeClient(config)
    pool = _ssh_pool(args) if ssh else None
    try:
        yield Session(client, guard, Output(bool(getattr(args, "json", False))),
                      config.namespace or "default", pool)
    finally:
        if pool is not None:
            await pool.close()
        await client.close()


def _ssh_pool(args: argparse.Namespace):
    from cockpit.ssh.pool import SshPool

    return SshPool(ssh_config=args.ssh_config, accept_new_host_keys=getattr(args, "accept_new_host_keys", False),
                   sudo=not getattr(args, "no_sudo", False))


def confirm(args: argparse.Namespace, question: str) -> None:
    """Ask on stdin unless --yes (or a --dry-run flag); refuse (exit 1) without a terminal."""
    # `is True`: rollout's --dry-run is a flag, drain's is a mode string ("none" still asks).
    if getattr(args, "yes", False) or getattr(args, "dry_run", None) is True:
        return
    if not sys.stdin.isatty():
        raise CockpitError("refusing to act without confirmation: stdin is not a terminal (pass --yes)")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise CockpitError("cancelled: nothing was changed")
