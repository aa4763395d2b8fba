"""Which kube contexts are production: glob patterns from the config, matched case-insensitively.

A production context gets the production banner and a typed-name confirmation for every
mutating action. An empty pattern list means nothing is production; a context name of None
(no kubeconfig context) is never production.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def is_production(context: str | None, patterns: Iterable[str]) -> bool:
    """True when ``context`` matches one of the glob ``patterns`` (``prod-*``, ``*-production``)."""
    if not context:
        return False
    name = context.lower()
    return any(fnmatchcase(name, pattern.lower()) for pattern in patterns if pattern)


def matching_pattern(context: str | None, patterns: Iterable[str]) -> str | None:
    """The first pattern ``context`` matches (to say why the banner is up), or None."""
    if not context:
        return None
    return next((p for p in patterns if p and fnmatchcase(context.lower(), p.lower())), None)


def typed_name_matches(typed: str, expected: str) -> bool:
    """The production guard's confirmation: the object's name typed exactly (spaces trimmed).

    ``expected`` may be ``namespace/name``; typing just the name is accepted too, since the
    namespace is already on screen.
    """
    answer = typed.strip()
    if not answer or not expected:
        return False
    return answer == expected or answer == expected.rsplit("/", 1)[-1]
