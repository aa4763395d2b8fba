"""Follow mode (``--follow``): watch another operator's session, never act.

A follower's session is read-only, so the driver refuses every operation; on top of that a
mutating sub-command (one that takes ``--yes``) is refused before it connects, with one line
that says why. Reading commands (``rollout status``, ``upgrade status``, ``report``...) and the
TUI run as usual, read-only.
"""

from __future__ import annotations

import argparse

from cockpit.errors import ReadOnlyRefusal


def is_mutating(args: argparse.Namespace) -> bool:
    """Whether the parsed sub-command changes the cluster: every such command takes ``--yes``."""
    return hasattr(args, "yes")


def command_text(args: argparse.Namespace) -> str:
    """``upgrade run``, ``drain worker-3``, ``switch shop/web``: what was asked, for the refusal."""
    words = [getattr(args, "command", None), getattr(args, "verb", None)]
    target = getattr(args, "target", None) or getattr(args, "node", None)
    if isinstance(target, str):
        words.append(target)
    return " ".join(w for w in words if w) or "act"


def apply_follow(args: argparse.Namespace) -> None:
    """With ``--follow``: make the session read-only and refuse a mutating sub-command."""
    if not getattr(args, "follow", False):
        return
    args.read_only = True
    if is_mutating(args):
        raise ReadOnlyRefusal(f"follow mode: refusing to {command_text(args)} "
                              f"(a follower only watches; run without --follow to act)")
