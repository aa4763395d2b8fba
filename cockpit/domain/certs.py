"""``kubeadm certs check-expiration`` output, parsed (pure).

kubeadm prints two tables (certificates, then certificate authorities)::

    CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED
    apiserver                  Aug 19, 2026 09:03 UTC   360d            ca                      no
    ...
    CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED
    ca                      Aug 17, 2035 09:03 UTC   9y              no

A certificate kubeadm cannot find is printed as ``!MISSING! <name>``. Expiry is read from the
EXPIRES column (the residual time is only a rounded rendering of it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

_DATE = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4} \d{2}:\d{2} UTC")
_DATE_FORMAT = "%b %d, %Y %H:%M UTC"


@dataclass(frozen=True)
class Certificate:
    """One row: name, expiry (None when missing), its CA ("" for a CA itself), flags."""

    name: str
    expires: datetime | None
    authority: str = ""
    is_ca: bool = False
    externally_managed: bool = False
    missing: bool = False

    def days_left(self, now: datetime) -> float | None:
        """Days until expiry (negative once expired; None when missing)."""
        if self.expires is None:
            return None
        return (self.expires - now).total_seconds() / 86400


@dataclass(frozen=True)
class CertificateReport:
    """A node's certificates as kubeadm reported them."""

    node: str
    certificates: tuple[Certificate, ...]

    def expiring(self, now: datetime, within_days: float) -> list[Certificate]:
        """Certificates (CAs included) missing, expired or expiring within ``within_days``, soonest first."""
        due = [c for c in self.certificates if c.missing or (c.days_left(now) or 0) < within_days]
        return sorted(due, key=lambda c: c.expires or datetime.min.replace(tzinfo=timezone.utc))


def parse_check_expiration(node: str, text: str) -> CertificateReport:
    """Parse the text output of ``kubeadm certs check-expiration`` (log lines are skipped)."""
    certs: list[Certificate] = []
    in_cas = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("CERTIFICATE AUTHORITY"):
            in_cas = True
            continue
        if not stripped or stripped.startswith(("CERTIFICATE", "[")):
            continue
        parsed = _row(stripped, in_cas)
        if parsed is not None:
            certs.append(parsed)
    return CertificateReport(node, tuple(certs))


def _row(line: str, is_ca: bool) -> Certificate | None:
    if line.startswith("!MISSING!"):
        return Certificate(line.removeprefix("!MISSING!").split()[0], None, is_ca=is_ca, missing=True)
    match = _DATE.search(line)
    if match is None:
        return None
    name = line[: match.start()].strip()
    rest = line[match.end():].split()
    expires = datetime.strptime(match.group(0), _DATE_FORMAT).replace(tzinfo=timezone.utc)
    # rest: RESIDUAL [AUTHORITY] MANAGED (a CA row has no authority column)
    authority = rest[1] if not is_ca and len(rest) >= 3 else ""
    managed = bool(rest) and rest[-1].lower() in ("yes", "true")
    return Certificate(name, expires, authority, is_ca, managed)


def residual_text(seconds: float) -> str:
    """kubeadm's RESIDUAL TIME rendering (Go's ShortHumanDuration): ``<invalid>``, 59s, 59m, 23h, 364d, 9y."""
    if seconds < -1:
        return "<invalid>"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    if seconds < 86400 * 365:
        return f"{seconds // 86400}d"
    return f"{seconds // (86400 * 365)}y"
