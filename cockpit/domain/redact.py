"""Masking for screen sharing: IP addresses, tokens and configured patterns, consistently.

A :class:`Redactor` replaces every IPv4/IPv6 address, bearer token, JWT-like string and match
of a configured pattern (host names, customer namespaces...) with a stable mask such as
``ip-1``, ``token-2`` or ``name-3``: the same input always gets the same mask within one
redactor, so watchers can still tell "the same node as before" from "another node". Masks are
numbered per kind in the order they are first masked; nothing of the original can be recovered
from them.

Only what is shown is masked. The audit journal is never passed through here: it must keep
the truth.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

# Dotted quads; ipaddress validates the octets afterwards (so 999.1.1.1 and versions pass through).
_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w.])"
# Any run of hex groups with at least two colons; ipaddress decides whether it really is IPv6.
_IPV6 = r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|(?:\d{1,3}\.){3}\d{1,3})(?:/\d{1,3})?(?![\w:])"
_JWT = r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b"
# Where a prefix says what follows is secret, only the group named ``v`` is masked.
_BEARER = r"(?i)\bbearer\s+(?P<v>[A-Za-z0-9._~+/=-]{8,})"
# key=value / key: value forms that carry secrets in logs and kubeconfigs.
_SECRET_FIELD = r"(?i)\b(?:token|password|passwd|secret|api[-_]?key)\s*[=:]\s*[\"']?(?P<v>[A-Za-z0-9._~+/=-]{8,})"


@dataclass(frozen=True)
class Rule:
    """One masking rule: a compiled pattern and the mask prefix it uses."""

    prefix: str
    pattern: re.Pattern[str]
    validate: bool = False  # IP rules: only mask what ipaddress accepts


def builtin_rules() -> list[Rule]:
    """The rules every redactor applies: JWTs, bearer tokens, secret fields, IPv6, IPv4."""
    return [
        Rule("token", re.compile(_JWT)),
        Rule("token", re.compile(_BEARER)),
        Rule("token", re.compile(_SECRET_FIELD)),
        Rule("ip", re.compile(_IPV6), validate=True),
        Rule("ip", re.compile(_IPV4), validate=True),
    ]


def pattern_rules(patterns: Iterable[str]) -> list[Rule]:
    """Configured patterns (regular expressions) as rules masked ``name-N``.

    Raises ValueError naming the pattern that does not compile.
    """
    rules = []
    for text in patterns:
        try:
            rules.append(Rule("name", re.compile(text)))
        except re.error as exc:
            raise ValueError(f"redaction pattern {text!r} is not a valid regular expression: {exc}") from None
    return rules


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False) if "/" in text else ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class Redactor:
    """Masks text consistently; safe to share between threads (one mask table per redactor).

    ``enabled`` False makes :meth:`redact` return its input unchanged, so callers can hold one
    redactor and toggle it.
    """

    def __init__(self, patterns: Iterable[str] = (), *, enabled: bool = True) -> None:
        self.rules = [*builtin_rules(), *pattern_rules(patterns)]
        self.enabled = enabled
        self._masks: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def redact(self, text: str, *, keep_width: bool = False) -> str:
        """``text`` with every sensitive part replaced by its mask (unchanged when disabled).

        ``keep_width`` pads or cuts each mask to the width of what it replaces, so a column
        drawn on screen never shifts.
        """
        if not self.enabled or not text:
            return text
        out, last = [], 0
        for start, end, prefix in self._spans(text):
            mask = self.mask_for(prefix, text[start:end])
            if keep_width:
                mask = mask[: end - start].ljust(end - start)
            out += [text[last:start], mask]
            last = end
        out.append(text[last:])
        return "".join(out)

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, prefix) spans to mask, all found in the original text
        (one pass, so a configured pattern never re-masks a mask); earlier rules win ties."""
        found = []
        for rank, rule in enumerate(self.rules):
            for match in rule.pattern.finditer(text):
                group = "v" if "v" in rule.pattern.groupindex else 0
                start, end = match.span(group)
                if end > start and not (rule.validate and not _is_ip(text[start:end])):
                    found.append((start, rank, end, rule.prefix))
        spans, reached = [], 0
        for start, _rank, end, prefix in sorted(found):
            if start >= reached:
                spans.append((start, end, prefix))
                reached = end
        return spans

    def mask_for(self, prefix: str, original: str) -> str:
        """The stable mask of ``original`` (allocating ``prefix-N`` on first sight)."""
        with self._lock:
            known = self._masks.get(original)
            if known is None:
                self._counts[prefix] = self._counts.get(prefix, 0) + 1
                known = self._masks[original] = f"{prefix}-{self._counts[prefix]}"
            return known

    def redact_lines(self, lines: Iterable[str]) -> list[str]:
        """Each line redacted (same masks across lines)."""
        return [self.redact(line) for line in lines]
