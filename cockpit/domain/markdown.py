"""Small Markdown writers for the records cockpit produces (CommonMark plus GFM tables)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone


def cell(value: object) -> str:
    """Text safe inside a table cell: one line, pipes escaped, never empty."""
    text = " ".join(str(value if value is not None else "").split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or "-"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GFM table; an empty ``rows`` gives a one-line note instead (a table needs a body)."""
    body = [f"| {' | '.join(cell(v) for v in row)} |" for row in rows]
    if not body:
        return "_(none)_\n"
    head = f"| {' | '.join(cell(h) for h in header)} |\n|{'|'.join('---' for _ in header)}|\n"
    return head + "\n".join(body) + "\n"


def code(text: str) -> str:
    """An inline code span that survives backticks in ``text``."""
    text = " ".join(text.split())
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def block(lines: Iterable[str], info: str = "text") -> str:
    """A fenced code block (the fence grows past any backtick run inside)."""
    content = "\n".join(lines)
    fence = "```"
    while fence in content:
        fence += "`"
    return f"{fence}{info}\n{content}\n{fence}\n"


def bullets(items: Iterable[str]) -> str:
    """A bullet list (one line per item)."""
    return "".join(f"- {' '.join(str(i).split())}\n" for i in items)


def heading(level: int, text: str) -> str:
    """An ATX heading followed by a blank line."""
    return f"{'#' * level} {' '.join(text.split())}\n\n"


def stamp(moment: datetime | None) -> str:
    """``2026-12-02 07:19:17`` in UTC (``-`` when unknown)."""
    if moment is None:
        return "-"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
