"""Small formatting helpers shared by the panes (text only, no widgets)."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text

# Shape + word per slot colour: hue is never the only signal (colour-blind users, projectors).
SLOT_SHAPES = {"blue": "●", "green": "■"}
OTHER_SHAPES = ("◆", "▲", "◇", "▼")


def parse_time(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp (or pass a datetime through); None if absent or bad."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(now: datetime, then: object) -> str:
    """kubectl-style age: 45s, 12m, 3h, 5d ("-" when unknown)."""
    stamp = parse_time(then)
    if stamp is None:
        return "-"
    seconds = max(0, int((now - stamp).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def bar(fraction: float, width: int, filled: str, empty: str) -> Text:
    """A proportional bar of ``width`` cells; filled cells use a different glyph too."""
    fraction = min(1.0, max(0.0, fraction))
    full = round(fraction * width)
    text = Text()
    text.append("█" * full, style=filled)
    text.append("░" * (width - full), style=empty)
    return text


def slot_label(slot: str, colour: str | None = None, active: bool = False) -> Text:
    """``● blue ACTIVE`` / ``■ green``: shape, word and optional marker, then the hue."""
    shape = SLOT_SHAPES.get(slot, OTHER_SHAPES[sum(map(ord, slot)) % len(OTHER_SHAPES)])
    text = Text(f"{shape} {slot}", style=colour or "")
    if active:
        text.append(" ACTIVE", style="bold reverse")
    return text


def shorten(value: str, width: int) -> str:
    """Cut a string to ``width`` cells with an ellipsis."""
    return value if len(value) <= width else value[: max(0, width - 1)] + "…"
