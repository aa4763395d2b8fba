"""Kubernetes versions: the one strict parser and version type of the cockpit.

Accepted: ``v1.33.1`` and ``1.33.1``; a pre-release after ``-`` (``v1.32.0-beta.0``,
``-rc.1``, ``-alpha.2``, vendor suffixes such as ``-eks-1234``); build metadata after ``+``
as real servers report it (``v1.32.4+k3s1``), which is dropped: it does not order versions.
Numbers are ASCII digits without leading zeros (``01.33.1``, ``1.033.1`` and a full-width
``１.33.1`` are refused), as in semantic versioning.

Ordering follows semantic versioning: a pre-release sorts before its release, and
pre-release identifiers compare numerically when both are numbers (``rc.2 < rc.10``).
``str(version)`` is the canonical ``v1.32.0-beta.0``; ``version.bare`` is ``1.32.0-beta.0``
(the form of the ``--to`` argument, package versions and plan targets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"(0|[1-9][0-9]*)"
_IDENT = r"[0-9A-Za-z-]+"
_VERSION = re.compile(
    rf"v?{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?(?:\+{_IDENT}(?:\.{_IDENT})*)?"
)
_MAX_LENGTH = 64
_MAX_DIGITS = 9
_EXAMPLE = "expected X.Y.Z such as v1.33.1 or 1.33.1"


@dataclass(frozen=True)
class Version:
    """A parsed Kubernetes version; ``pre`` holds the pre-release identifiers (``("beta", "0")``)."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"v{self.bare}"

    @property
    def bare(self) -> str:
        """Without the leading ``v``: ``1.32.0-beta.0``."""
        pre = f"-{'.'.join(self.pre)}" if self.pre else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}"

    @property
    def release(self) -> Version:
        """The release this version leads to (the pre-release dropped)."""
        return Version(self.major, self.minor, self.patch)

    @property
    def is_prerelease(self) -> bool:
        """True for ``-alpha``, ``-beta``, ``-rc`` and other pre-release versions."""
        return bool(self.pre)

    def minors_behind(self, other: Version) -> int:
        """How many minor versions ``self`` is older than ``other`` (negative when newer).

        Different majors count as far apart (1000 minors), so every skew rule trips.
        """
        return (other.major - self.major) * 1000 + other.minor - self.minor

    def same_minor(self, other: Version) -> bool:
        """True when both are the same ``major.minor``."""
        return (self.major, self.minor) == (other.major, other.minor)

    def next_minor(self) -> Version:
        """``1.33.0`` for any 1.32 version."""
        return Version(self.major, self.minor + 1, 0)

    def next_patch(self) -> Version:
        """``1.32.5`` for 1.32.4 (and for ``1.32.5-rc.0``'s release, ``1.32.5``)."""
        return Version(self.major, self.minor, self.patch + 1) if not self.pre else self.release

    def _key(self) -> tuple:
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, not self.pre, pre)

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Version) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Version) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Version) -> bool:
        return self._key() >= other._key()


def parse_version(text: str) -> Version:
    """Parse strictly; raises ValueError with a one-line reason for anything else."""
    if not isinstance(text, str):
        raise ValueError(f"invalid Kubernetes version {text!r}: {_EXAMPLE}")
    match = _VERSION.fullmatch(text) if len(text) <= _MAX_LENGTH else None
    if match is None:
        raise ValueError(f"invalid Kubernetes version {_shown(text)}: {_why(text)}")
    major, minor, patch = (int(n) for n in match.group(1, 2, 3))
    pre = tuple(match["pre"].split(".")) if match["pre"] else ()
    if any(len(n) > _MAX_DIGITS for n in match.group(1, 2, 3)) or any(_leading_zero(p) for p in pre):
        raise ValueError(f"invalid Kubernetes version {_shown(text)}: {_why(text)}")
    return Version(major, minor, patch, pre)


def try_parse(text: str | None) -> Version | None:
    """Like :func:`parse_version`, but None for anything that is not a version."""
    try:
        return parse_version(text or "")
    except ValueError:
        return None


def bare(text: str) -> str:
    """The bare form of a version text (``v1.32.0-beta.0+k3s1`` -> ``1.32.0-beta.0``), or the
    text unchanged when it is not a version (so a display never loses what the server said)."""
    parsed = try_parse(text)
    return parsed.bare if parsed else text


def canonical(text: str) -> str:
    """The canonical form (``1.32.4+k3s1`` -> ``v1.32.4``), or the text unchanged if unparseable."""
    parsed = try_parse(text)
    return str(parsed) if parsed else text


# ----- error messages


def _shown(text: str) -> str:
    return repr(text if len(text) <= _MAX_LENGTH else text[:_MAX_LENGTH] + "...")


def _why(text: str) -> str:
    """The most specific reason ``text`` is refused (messages stay on one line)."""
    if len(text) > _MAX_LENGTH:
        return f"longer than {_MAX_LENGTH} characters"
    if any(ch.isdigit() and not "0" <= ch <= "9" for ch in text):
        return "only ASCII digits 0-9 are allowed"
    if text != text.strip():
        return "leading or trailing whitespace"
    core = re.split(r"[-+]", text.removeprefix("v"), maxsplit=1)[0]
    parts = core.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return _EXAMPLE
    if any(_leading_zero(p) for p in parts):
        return "numbers must not have leading zeros"
    if any(len(p) > _MAX_DIGITS for p in parts):
        return f"numbers have at most {_MAX_DIGITS} digits"
    return "malformed pre-release or build suffix (dot-separated letters, digits and '-', no leading zeros)"


def _leading_zero(part: str) -> bool:
    return len(part) > 1 and part.isdigit() and part.startswith("0")
