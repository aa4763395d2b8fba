"""Append-only audit journal (JSON lines, fsync per entry) and a tiny in-process event bus.

Every mutating action writes its preview, start, steps and result here *before* the cluster
is touched or the caller is told, so a crash never leaves an action unrecorded. A journal that
cannot be written raises ``JournalError`` and the action does not run.

Entry shape (one JSON object per line; extra fields are kept flat)::

    {"ts": "2026-11-26T03:12:00.123456+00:00", "user": "alice", "context": "prod",
     "event": "start", "action": "switch", "target": "shop/web", "before": {...}, ...}
"""

from __future__ import annotations

import getpass
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import platformdirs

from cockpit.errors import CockpitError

APP_NAME = "cockpit"
JOURNAL_FILE = "journal.jsonl"


class JournalError(CockpitError):
    """The journal could not be written; mutating actions must not proceed."""

    exit_status = 1


def default_journal_path() -> Path:
    """The journal location in the user's state dir (e.g. ~/.local/state/cockpit/journal.jsonl)."""
    return platformdirs.user_state_path(APP_NAME) / JOURNAL_FILE


def current_user() -> str:
    """The local user name, or "unknown" when the platform cannot tell."""
    try:
        return getpass.getuser()
    except Exception:  # getuser raises various errors in odd containers; never block on it
        return "unknown"


Listener = Callable[[Any], None]


class EventBus:
    """Synchronous fan-out of events to subscribers (journal entries, progress).

    A failing subscriber is dropped from that delivery only; it never breaks the publisher,
    because the journal must keep recording even if a UI pane misbehaves.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Listener) -> Callable[[], None]:
        """Register ``fn``; returns a function that unsubscribes it."""
        with self._lock:
            self._listeners.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._listeners:
                    self._listeners.remove(fn)

        return unsubscribe

    def publish(self, item: Any) -> None:
        """Deliver ``item`` to every subscriber, in subscription order."""
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(item)
            except Exception:  # noqa: BLE001 - see class docstring
                pass


class Journal:
    """An append-only JSONL audit journal.

    ``path`` None means the default location. ``context`` is the default kube context stamped
    on entries that do not carry their own. Safe to share between threads of one process;
    separate processes append whole lines with O_APPEND.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, context: str | None = None,
                 user: str | None = None) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        self.context = context
        self.user = user or current_user()
        self.bus = EventBus()
        self._lock = threading.Lock()

    def check_writable(self) -> None:
        """Raise JournalError now if entries could not be appended (creates parent dirs)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise JournalError(f"cannot write the audit journal {self.path}: {exc.strerror or exc}") from exc

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one entry, flush and fsync it, publish it on the bus, and return it.

        Raises JournalError if the line cannot be written durably.
        """
        entry = self._entry(event, fields)
        line = json.dumps(entry, default=str, sort_keys=False) + "\n"
        with self._lock:
            self._append_durably(line)
        self.bus.publish(entry)
        return entry

    def _entry(self, event: str, fields: dict[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "ts": datetime.now(timezone.utc).isoformat(),
            "user": fields.pop("user", None) or self.user,
            "context": fields.pop("context", None) or self.context,
            "event": event,
        }
        entry.update(fields)
        return entry

    def _append_durably(self, line: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                # A crash or a full disk can leave a torn last line without its newline; start
                # ours on a fresh line so the torn bytes never merge with this entry.
                data = (b"\n" if _torn_tail(fd) else b"") + line.encode("utf-8")
                written = os.write(fd, data)  # one write per entry: O_APPEND keeps it whole
                if written != len(data):
                    raise OSError(f"short write ({written} of {len(data)} bytes)")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise JournalError(f"cannot write the audit journal {self.path}: {exc.strerror or exc}") from exc

    def entries(self) -> list[dict[str, Any]]:
        """All entries written so far (for tests and the journal view)."""
        return list(read_journal(self.path))


def _torn_tail(fd: int) -> bool:
    """Whether the file behind ``fd`` ends without a newline (a torn last entry)."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def read_journal(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the entries of a journal file.

    A line that is not a JSON object (torn by a crash mid-write, or edited by hand) is reported
    as an entry ``{"event": "damaged", "line_number": N, "text": ...}`` instead of vanishing.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                line = line.strip()
                if line:
                    yield _parse_line(number, line)
    except FileNotFoundError:
        return


def _parse_line(number: int, line: str) -> dict[str, Any]:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"event": "damaged", "line_number": number, "text": line[:200], "error": exc.msg}
    if not isinstance(entry, dict):
        return {"event": "damaged", "line_number": number, "text": line[:200], "error": "not an object"}
    return entry
