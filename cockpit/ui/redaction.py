"""Screen-wide redaction: a line filter that masks what the terminal shows, cell for cell.

Every line Textual draws (panes, the echo strip, the SSH output view, toasts) passes through
:class:`RedactFilter` while redaction is on. Each masked run keeps its width, so tables stay
aligned: ``10.0.0.13`` becomes ``ip-1     ``. A value split across two differently styled runs
is masked run by run, which is how cells, commands and log lines are drawn here.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from cockpit.domain.redact import Redactor


class RedactFilter(LineFilter):
    """Masks the text of every segment with ``redactor`` (width kept); off by default."""

    def __init__(self, redactor: Redactor, enabled: bool = False) -> None:
        super().__init__(enabled=enabled)
        self.redactor = redactor

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """The segments with masked text, each as wide as before."""
        return [_masked(segment, self.redactor) for segment in segments]


def _masked(segment: Segment, redactor: Redactor) -> Segment:
    text, style, control = segment
    if control or not text:
        return segment
    masked = redactor.redact(text, keep_width=True)
    return segment if masked == text else Segment(masked, style, control)
