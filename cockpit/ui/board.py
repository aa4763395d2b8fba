"""The upgrade board's state for the Nodes pane: per-node progress, output tails and logs.

The cluster is the only source of the board's progress: every node's step and state come from
its ``cockpit.dev/upgrade-*`` annotations (via ``progress_from_annotations`` on the live
NodeRecords) and the run's holder from the lock Lease, so every cockpit watching the cluster
shows the same board, and a restarted one shows it at once. The upgrade controller's Progress
events only add what the cluster does not keep: the per-node log lines (SSH output, drain
messages, step messages) and the latest run-level message.
Nothing here draws widgets: :func:`upgrade_cell` and friends return Rich Text.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text

from cockpit.domain.steps import STEP_LABELS, NodeProgress, State, Step, progress_from_annotations
from cockpit.ui.fmt import bar

LOG_LINES = 500  # SSH output lines kept per node for the log view
TAIL_LINES = 5  # output lines shown under a failed node
BAR_WIDTH = 5

# State -> (shape, semantic colour): shape + word, never colour alone.
STATE_LOOK = {
    State.PENDING: ("○", "state-muted"),
    State.RUNNING: ("◐", "state-progressing"),
    State.PAUSED: ("‖", "state-paused"),
    State.FAILED: ("✘", "state-failed"),
    State.SKIPPED: ("↷", "state-paused"),
    State.DONE: ("✔", "state-complete"),
}
LEVEL_COLOUR = {"error": "state-failed", "warn": "state-paused", "ok": "state-complete"}
OUTPUT_STREAMS = ("stdout", "stderr", "drain")

Colour = Callable[[str], str]


@dataclass
class NodeEntry:
    """What the board shows for one node: its recorded progress."""

    progress: NodeProgress


def is_idle(progress: NodeProgress) -> bool:
    """Never touched by an upgrade (no annotations, no events)."""
    return progress.step is Step.PENDING and progress.state is State.PENDING


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def status_words(progress: NodeProgress) -> str:
    """``draining``, ``draining failed``, ``paused: draining``, ``skipped at draining``, ``done``."""
    label = STEP_LABELS[progress.step]
    return {
        State.DONE: "done",
        State.SKIPPED: f"skipped at {label}",
        State.FAILED: f"{label} failed",
        State.PAUSED: f"paused: {label}",
        State.PENDING: "pending" if progress.step is Step.PENDING else f"pending: {label}",
    }.get(progress.state, label)


def shows_elapsed(progress: NodeProgress) -> bool:
    """Running, paused and failed steps show how long they have been at it."""
    return progress.state in (State.RUNNING, State.PAUSED, State.FAILED) and bool(progress.started)


def upgrade_cell(progress: NodeProgress, now: datetime, colour: Colour) -> Text:
    """``◐ draining █░░░░ 12s``: shape, step, progress bar, time in the step."""
    if is_idle(progress):
        return Text("")
    shape, look = STATE_LOOK[progress.state]
    text = Text(f"{shape} {status_words(progress)} ", style=colour(look))
    text.append_text(bar(progress.fraction, BAR_WIDTH, colour("bar-filled"), colour("bar-empty")))
    if shows_elapsed(progress):
        text.append(f" {duration(progress.elapsed(now))}")
    return text


class UpgradeBoard:
    """Per-node upgrade progress (from annotations) and bounded logs (from controller events)."""

    def __init__(self, log_lines: int = LOG_LINES) -> None:
        self.entries: dict[str, NodeEntry] = {}
        self.logs: dict[str, deque[tuple[str, str]]] = {}
        self.run_line: tuple[str, str] = ("", "info")
        self._log_lines = log_lines

    # -- feeds -------------------------------------------------------------------------------

    def from_annotations(self, name: str, annotations: dict[str, str] | None) -> bool:
        """Take a node's recorded progress; True when what the board shows changed."""
        progress = progress_from_annotations(name, annotations)
        entry = self.entries.get(name)
        if entry is not None and entry.progress == progress:
            return False
        if entry is None and is_idle(progress):
            return False
        self.entries[name] = NodeEntry(progress)
        return True

    def from_event(self, event: Any) -> str:
        """Log a controller Progress event for one node (output line or step message); returns the node."""
        data = getattr(event, "data", None) or {}
        name = str(data.get("node") or getattr(event, "target", ""))
        if data.get("log"):
            if str(data.get("line", "")).strip():
                self.log(name, str(data.get("stream", "stdout")), str(data["line"]))
            return name
        self.log(name, str(getattr(event, "level", "info")), str(getattr(event, "message", "")))
        return name

    def forget(self, name: str) -> None:
        """A node was deleted: drop what the board knew about it."""
        for table in (self.entries, self.logs):
            table.pop(name, None)

    def log(self, name: str, stream: str, line: str) -> None:
        """Append one line to the node's bounded log (stream: stdout, stderr, drain or a level)."""
        self.logs.setdefault(name, deque(maxlen=self._log_lines)).append((stream, line))

    def output_tail(self, name: str, count: int = TAIL_LINES) -> list[str]:
        """The node's last ``count`` output lines (commands' stdout/stderr, drain messages)."""
        lines = [line for stream, line in self.logs.get(name, ()) if stream in OUTPUT_STREAMS]
        return lines[-count:]

    # -- views -------------------------------------------------------------------------------

    def progress(self, name: str) -> NodeProgress | None:
        """The node's progress, or None when the board knows nothing about it."""
        entry = self.entries.get(name)
        return entry.progress if entry else None

    def active(self) -> bool:
        """True once any node has upgrade progress (the pane then makes room for the column)."""
        return any(not is_idle(e.progress) for e in self.entries.values())

    def running(self) -> list[str]:
        """Nodes whose elapsed time moves (for the once-a-second tick)."""
        return [n for n, e in self.entries.items() if e.progress.state is State.RUNNING]

    def summary(self, colour: Colour) -> Text:
        """``upgrade → 1.33.1 · ✔ 4 done  ◐ 1 running  ○ 4 pending`` plus the last run event."""
        shown = [e.progress for e in self.entries.values() if not is_idle(e.progress)]
        if not shown:
            return Text("")
        targets = Counter(p.target for p in shown if p.target)
        # Runs end with their spaces (some SVG renderers drop a run's leading spaces).
        text = Text.assemble(("upgrade ", "bold"), f"→ {targets.most_common(1)[0][0]} " if targets else "", "· ")
        counts = Counter(p.state for p in shown)
        for state in (State.DONE, State.RUNNING, State.PAUSED, State.FAILED, State.SKIPPED):
            if counts[state]:
                shape, look = STATE_LOOK[state]
                text.append(f"{shape} {counts[state]} {state.value}  ", style=colour(look))
        message, level = self.run_line
        if message:
            text.append(f"· {message}", style=colour(LEVEL_COLOUR[level]) if level in LEVEL_COLOUR else "")
        return text

    def header(self, lease: Any, colour: Colour) -> Text:
        """The board's header line: the run summary and who holds the run's lock."""
        text = self.summary(colour)
        lock = lock_text(lease, colour)
        if lock.plain:
            text.append("  " if text.plain else "")
            text.append_text(lock)
        return text

    def detail(self, name: str, now: datetime, colour: Colour) -> Text:
        """The selected node's upgrade in words; a failure adds its error and last output lines."""
        entry = self.entries.get(name)
        if entry is None or is_idle(entry.progress):
            return Text("")
        progress = entry.progress
        shape, look = STATE_LOOK[progress.state]
        text = Text.assemble((f"{name} ", "bold"), (f"{shape} {status_words(progress)} ", colour(look)))
        if shows_elapsed(progress):
            text.append(f"· {duration(progress.elapsed(now))} in this step ")
        if progress.target:
            text.append(f"· target {progress.target} ")
        if progress.run:
            text.append(f"· {progress.run}")
        text.rstrip()
        if progress.state is State.FAILED:
            text.append_text(self._failure(entry, colour))
        return text

    def _failure(self, entry: NodeEntry, colour: Colour) -> Text:
        text = Text()
        if entry.progress.error:
            text.append("\n" + entry.progress.error.splitlines()[0], style=f"bold {colour('state-failed')}")
        for line in self.output_tail(entry.progress.node):
            text.append(f"\n  │ {line}", style=colour("state-failed"))
        return text


LOCK_KEY = "kube-system/cockpit-upgrade-lock"  # the run's Lease (cockpit.controllers.upgrade_lock)


def lock_text(lease: Any, colour: Colour) -> Text:
    """``⚿ run held by alice@host:4242 (target 1.33.1, pause requested)`` from the lock Lease."""
    if lease is None or not lease.holder:
        return Text("")
    notes = [f"target {lease.annotations['cockpit.dev/upgrade-target']}"] \
        if lease.annotations.get("cockpit.dev/upgrade-target") else []
    if lease.annotations.get("cockpit.dev/pause-requested") == "true":
        notes.append("pause requested")
    text = Text.assemble(("⚿ run held by ", colour("state-progressing")), (lease.holder, "bold"))
    return text.append(f" ({', '.join(notes)})" if notes else "")


def log_line(stream: str, line: str, colour: Colour) -> Text:
    """One log view line: stderr and error events in the error style, step events in bold."""
    if stream in ("stdout", "drain"):
        return Text(line)
    if stream == "stderr":
        return Text(line, style=colour("state-failed"))
    style = colour(LEVEL_COLOUR[stream]) if stream in LEVEL_COLOUR else ""
    return Text(f"── {line}", style=f"bold {style}".strip())
