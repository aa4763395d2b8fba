"""The top status line: context, namespace, read-only badge and the connection indicator."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rich.text import Text
from textual.widgets import Static

# Word + shape per state so the indicator reads the same in every theme and on a projector.
CONNECTION_LOOK = {
    "live": ("● live", "bold green"),
    "connecting": ("◌ connecting", "bold yellow"),
    "reconnecting": ("◌ reconnecting", "bold yellow"),
    "stale": ("✘ stale", "bold red reverse"),
}


SEP = Text("│ ", style="dim")


def _since(value: Any) -> datetime | None:
    """Accept a datetime, a UNIX timestamp or None for the state's start."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and value > 1e9:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return None


def connection_text(cache: Any, context: str, namespace: str | None, read_only: bool,
                    now: datetime, follow: bool = False) -> Text:
    """One line: ``cockpit │ context ctx │ namespace ns │ [READ-ONLY] │ ● live │ API v1.32.4``.

    A follower (``--follow``) reads ``FOLLOWING · read-only`` there instead: watchers on a shared
    screen see at once that this cockpit only watches another operator's session.
    """
    status = getattr(cache, "status", "connecting") or "connecting"
    label, style = CONNECTION_LOOK.get(status, (f"? {status}", "bold"))
    since = _since(getattr(cache, "since", None))
    if since is not None and status != "live":
        label += f" since {since.astimezone(timezone.utc):%H:%M:%S}Z"
    # Each field ends with its own spacing and the next starts with a glyph: some SVG renderers
    # drop leading spaces of a styled run, which made "cockpitcontext" run together.
    text = Text.assemble(("cockpit ", "bold"), SEP, "context ", (f"{context or '-'} ", "bold"), SEP,
                         "namespace ", (f"{namespace or 'all'} ", "bold"), SEP)
    if read_only:
        text.append(" FOLLOWING · read-only " if follow else " READ-ONLY ", style="bold reverse")
        text.append(" ")
        text.append_text(SEP)
    text.append(label, style=style)
    version = getattr(cache, "server_version", None)
    if version:
        text.append(" ")
        text.append_text(SEP)
        text.append(f"API {version}")
    return text


class StatusLine(Static):
    """The one-line bar at the top of the screen."""
