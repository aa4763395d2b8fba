"""The only tests a CI run may skip, each with the reason it is accepted.

In CI (``CI`` set) every other skip fails the run: a test that needs a real part (kubectl,
sshd, prometheus, chromium) must find it, because ``.ci/run`` installs them all. Keys are
``fnmatch`` patterns over pytest node ids; values say why skipping there loses nothing.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

# Empty: nothing the suite needs is optional in CI. An entry looks like
#   "tests/unit/test_x.py::test_y[*]": "why a CI run loses nothing when this skips",
ALLOWED_SKIPS: dict[str, str] = {}


def allowed(nodeid: str) -> bool:
    """True when the allow-list accepts a skip of ``nodeid``."""
    return any(fnmatchcase(nodeid, pattern) for pattern in ALLOWED_SKIPS)


def unexpected_skips(skips: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (node id, reason) pairs the allow-list does not accept."""
    return [(nodeid, reason) for nodeid, reason in skips if not allowed(nodeid)]
