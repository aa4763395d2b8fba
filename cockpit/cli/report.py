"""`cockpit report --since 2h [--out FILE]`: the incident record (and any upgrade's change record) as Markdown.

Written from the audit journal and the cluster alone (its Events carry other operators'
actions), so any operator can write it. Only reads: it runs in read-only and follow mode too.
Exit status: 0 written, 2 usage or connection problem.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cockpit.cli.session import Session, run_command
from cockpit.errors import UsageError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def register(subparsers, common) -> None:
    """Add ``report``."""
    parser = subparsers.add_parser("report", parents=[common],
                                   help="write the incident record (timeline, actions, problems) as Markdown")
    parser.add_argument("--since", default="2h", metavar="DURATION|TIME",
                        help="how far back: 2h, 90m, 1h30m, 1d, or an ISO time (default: 2h)")
    parser.add_argument("--out", "-o", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--all-events", action="store_true",
                        help="keep every Normal Event in the timeline (default: warnings, actions, state changes)")
    parser.add_argument("--certs", action="store_true",
                        help="also check control-plane certificates over SSH (kubeadm certs check-expiration)")
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="with --certs: trust unknown SSH host keys (never changed ones)")
    parser.add_argument("--redact", action="store_true",
                        help="mask IP addresses, tokens and the configured redact_patterns (for sharing outside)")
    parser.set_defaults(handler=run_report)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``2h`` / ``1h30m`` / ``45m`` / ``1d`` before ``now``, or an ISO 8601 time (UTC when no offset)."""
    now = now or datetime.now(timezone.utc)
    spec = text.strip().lower()
    parts = _DURATION.findall(spec)
    if parts and "".join(f"{n}{u}" for n, u in parts) == spec:
        return now - timedelta(**_sum(parts))
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r}: give a duration (2h, 90m, 1h30m, 1d) or an ISO time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _sum(parts: list[tuple[str, str]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for number, unit in parts:
        total[_UNITS[unit]] = total.get(_UNITS[unit], 0.0) + float(number)
    return total


def run_report(args: argparse.Namespace) -> int:
    """Handler of `cockpit report`."""
    since = parse_since(args.since)
    redactor = _redactor() if args.redact else None

    async def body(session: Session) -> int:
        from cockpit.controllers.evidence import gather_report_input
        from cockpit.domain.report import build_report

        services = session.services
        inp = await gather_report_input(services.api, services.journal.path, since, context=services.context,
                                        generated_by=services.operator, pool=session.pool,
                                        all_events=args.all_events)
        text = build_report(inp, redactor)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
            session.out.error(f"cockpit: wrote {args.out} ({len(inp.problems)} open problem(s))")
        else:
            session.out.line(text.rstrip("\n"))
        return 0

    return run_command(args, body, "report", ssh=bool(args.certs))


def _redactor():
    """The redactor with the configured patterns (``redact_patterns`` in the config file)."""
    from cockpit.domain.redact import Redactor
    from cockpit.ui.config import load_config

    patterns = getattr(load_config(), "redact_patterns", ())
    try:
        return Redactor(patterns)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
