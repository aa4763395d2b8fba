"""The Traffic pane's live request numbers: the message that carries a poll, and its cells.

A poll runs in a worker of the pane (never on the UI's hot path) and comes back as one
:class:`MetricsUpdated` message; tests post the same message with fixed measurements. The cells
are plain Rich Text so the pane's row diff sees when a number really changed.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.message import Message

from cockpit.controllers.traffic_metrics import MetricsSnapshot, Reading, sparkline

COLUMNS = (
    ("rate", "req/s", 6),
    ("success", "success", 7),
    ("p99", "p99", 7),
    ("trend", "trend 5m", 10),
)
FAIL_MARK = "✘"


class MetricsUpdated(Message):
    """One poll's snapshot for the Traffic pane."""

    def __init__(self, snapshot: MetricsSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


def metric_cells(reading: Reading | None, trend: tuple[float, ...], width: int, failed: str) -> tuple[Text, ...]:
    """req/s, success, p99 and the trend of one backend (dim dashes when it has no traffic)."""
    if reading is None:
        dash = Text("–", style="dim")
        return dash, dash, dash, Text(sparkline(trend, width), style="dim")
    bad = f"bold {failed}"
    success = Text("–", style="dim") if reading.success is None else Text(
        _mark("success-rate", reading) + f"{reading.success * 100:.1f}%",
        style=bad if "success-rate" in reading.failing else "")
    p99 = Text("–", style="dim") if reading.p99 is None else Text(
        _mark("latency-p99", reading) + _ms(reading.p99), style=bad if "latency-p99" in reading.failing else "")
    return (Text(_rate(reading.rate)), success, p99,
            Text(sparkline(trend, width), style=bad if reading.failing else ""))


def _mark(name: str, reading: Reading) -> str:
    return f"{FAIL_MARK}" if name in reading.failing else ""


def _rate(rate: float) -> str:
    return f"{rate:.1f}" if rate < 100 else f"{rate:.0f}"


def _ms(value: float) -> str:
    return f"{value:.0f}ms" if value < 10000 else f"{value / 1000:.0f}s"


def status_text(snapshot: MetricsSnapshot, failing: list[str]) -> Text:
    """The pane's header: where the numbers come from, what fails, or plainly why there are none."""
    if snapshot.status == "unconfigured":
        return Text(f"metrics: {snapshot.message}", style="dim")
    if snapshot.status != "ok":
        return Text(f"⚠ metrics: {snapshot.message.splitlines()[0]}", style="bold")
    text = Text(f"metrics {snapshot.message}", style="dim")
    if failing:
        text.append(f"  {FAIL_MARK} failing: {', '.join(failing)}", style="bold")
    return text


def failing_names(snapshot: MetricsSnapshot, keys: Any) -> list[str]:
    """``shop/cart-canary success-rate`` for every shown backend whose reading fails an analysis."""
    found = []
    for namespace, service, colour in keys:
        reading = snapshot.reading(namespace, service, colour)
        if reading is not None and reading.failing:
            found.append(f"{namespace}/{service}{'/' + colour if colour else ''} {'+'.join(reading.failing)}")
    return sorted(set(found))
