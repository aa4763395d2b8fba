"""What every headless command shares: the connection, the driver, the output and the prompt.

Human progress goes to stdout, or to stderr with ``--json`` so that stdout carries exactly one
JSON document. Every mutating command runs its operation through :func:`drive`: the same
driver as the TUI, with a terminal prompt as its confirmation. Exit status: 0 done, 1 refused,
declined or failed, 2 usage or connection problem.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

from cockpit.controllers.base import Progress, to_jsonable
from cockpit.controllers.driver import Driver, Services
from cockpit.controllers.operation import Operation, Plan, Result
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

    def error(self, text: str) -> None:
        """Print an error line on stderr (always: stdout may carry the JSON document)."""
        print(text, file=sys.stderr, flush=True)

    def progress(self, event: Progress) -> None:
        """The Reporter for operations: one line per event, SSH output indented under its node."""
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

    def plan(self, plan: Plan[Any]) -> None:
        """Print a preview: target, before -> after, checks, the equivalent commands, details."""
        self.line(plan.title)
        self.line(f"target   {plan.target}")
        self.line(f"before   {plan.before}")
        self.line(f"after    {plan.after}")
        for check in plan.checks:
            self.line(f"  {check.line()}")
        for index, command in enumerate(plan.commands):
            self.line(("command  " if index == 0 else "         ") + command)
        for detail in plan.details:
            self.line(detail)


@dataclass
class Session:
    """What a command needs: the services, the output, the parsed arguments and an SSH pool."""

    services: Services
    out: Output
    args: argparse.Namespace
    pool: Any = None

    @property
    def namespace(self) -> str:
        """The namespace names resolve in (``-n`` or the context's)."""
        return getattr(self.args, "namespace", None) or self.services.namespace

    async def drive(self, operation: Operation[Any]) -> Result:
        """Run ``operation`` through the driver: print the plan, ask (unless --yes), apply, print."""
        driver = Driver(self.services, self.confirm, self.out.progress)
        result = await driver.run(operation, dry_run=self.dry_run, interactive=not self.yes)
        self.out.line(result.message)
        self.out.result(result.ok, result.action, result.target, result)
        return result

    @property
    def dry_run(self) -> bool:
        """``--dry-run`` given (a flag, or drain's mode string other than ``none``)."""
        value = getattr(self.args, "dry_run", False)
        return value not in (False, None, "none")

    @property
    def yes(self) -> bool:
        """``--yes`` given: never prompt."""
        return bool(getattr(self.args, "yes", False))

    async def confirm(self, plan: Plan[Any]) -> bool:
        """The driver's confirmation: show the plan, then ask on the terminal unless --yes/--dry-run."""
        self.out.plan(plan)
        if self.yes or self.dry_run:
            return True
        return ask(f"{plan.title}?")


def ask(question: str) -> bool:
    """Ask a yes/no question on the terminal; refuse (exit 1) without one."""
    if not sys.stdin.isatty():
        raise CockpitError("refusing to act without confirmation: stdin is not a terminal (pass --yes)")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


@asynccontextmanager
async def open_session(args: argparse.Namespace, ssh: bool = False) -> AsyncIterator[Session]:
    """Connect with the global options; build the journal, the services and (when asked) an SSH pool."""
    from cockpit.kube.client import KubeClient
    from cockpit.kube.config import load_cluster_config

    config = load_cluster_config(args.kubeconfig, args.context)
    journal = Journal(args.journal, context=config.context)
    client = KubeClient(config)
    services = Services(client, journal, config.context, config.user or None, bool(args.read_only),
                        config.namespace or "default")
    pool = ssh_pool(args) if ssh else None
    try:
        yield Session(services, Output(bool(getattr(args, "json", False))), args, pool)
    finally:
        if pool is not None:
            await pool.close()
        await client.close()


def ssh_pool(args: argparse.Namespace) -> Any:
    """The SSH connection pool the upgrade and remote-drain commands use."""
    from cockpit.ssh.pool import SshPool

    return SshPool(ssh_config=args.ssh_config, accept_new_host_keys=getattr(args, "accept_new_host_keys", False),
                   sudo=not getattr(args, "no_sudo", False))


def action_options() -> argparse.ArgumentParser:
    """The flags every mutating command takes: ``--dry-run``, ``--yes``, ``--json``."""
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument("--dry-run", action="store_true",
                      help="send the writes with server-side dryRun=All: nothing changes")
    opts.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    opts.add_argument("--json", action="store_true", help="print one JSON result on stdout")
    return opts


Body = Callable[[Session], Awaitable[int]]


def run_command(args: argparse.Namespace, body: Body, action: str, target: str = "", *, ssh: bool = False) -> int:
    """Run ``body(session)`` in a fresh event loop; refusals and failures print one line, exit 1.

    Usage and connection problems (exit status 2) propagate to ``main``, which prints them.
    """

    async def main() -> int:
        async with open_session(args, ssh) as session:
            if isinstance(getattr(args, "target", None), str):
                args.target = qualify(args.target, session.namespace)
            try:
                return await body(session)
            except CockpitError as exc:
                if exc.exit_status == 2:
                    raise
                return report_failure(session.out, action, target or getattr(args, "target", ""), exc)

    return asyncio.run(main())


def report_failure(out: Output, action: str, target: str, exc: CockpitError) -> int:
    """Print a refusal or failure (with its checks) and the JSON document; return the exit status."""
    out.error(f"cockpit: {exc}")
    for check in getattr(exc, "checks", None) or []:
        if not check.ok:
            out.error(f"  {check.line()}")
    payload = getattr(exc, "result", None) or {"checks": getattr(exc, "checks", None) or []}
    out.result(False, action, target, payload, str(exc))
    return exc.exit_status


def qualify(target: str, namespace: str) -> str:
    """``NAME`` -> ``NAMESPACE/NAME`` (from -n or the context), as kubectl resolves names."""
    return target if "/" in target else f"{namespace}/{target}"
