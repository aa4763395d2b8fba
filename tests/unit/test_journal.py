"""The audit journal: one JSON line per record, torn lines, permissions, where it lives."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from cockpit.controllers.base import Emitter, collecting_reporter
from cockpit.journal import Journal, JournalError, default_journal_path, read_journal


def test_record_appends_one_json_line_per_event(tmp_path):
    path = tmp_path / "deep" / "journal.jsonl"
    journal = Journal(path, context="kind-a", user="alice")
    journal.record("preview", action="switch", target="shop/web", before={"color": "blue"})
    journal.record("start", action="switch", target="shop/web", context="other")
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "preview" and first["user"] == "alice" and first["context"] == "kind-a"
    assert first["before"] == {"color": "blue"} and first["ts"].endswith("+00:00")
    assert second["context"] == "other"


def test_record_fsyncs_before_returning(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    Journal(tmp_path / "j.jsonl").record("start", action="x")
    assert len(synced) == 1


def test_unwritable_journal_raises_journal_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    journal = Journal(blocker / "journal.jsonl")
    with pytest.raises(JournalError, match="cannot write the audit journal"):
        journal.record("start")
    with pytest.raises(JournalError):
        journal.check_writable()


def unprivileged_ids() -> tuple[int, int]:
    """(uid, gid) a child drops to: nobody's when we are root (root ignores file modes), else ours."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def record_unprivileged(path) -> str:
    """Record one entry to ``path`` from a forked child running as :func:`unprivileged_ids`.

    A fork, not a new interpreter: the child keeps the modules already imported, so it needs no
    read access to the interpreter or the checkout, only to the journal's own folder.
    """
    uid, gid = unprivileged_ids()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            try:
                Journal(path).record("start")
                outcome = "written"
            except JournalError as exc:
                outcome = f"JournalError: {exc}"
            os.write(write_end, outcome.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


@pytest.fixture
def shared_dir():
    """A folder the unprivileged child can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="cockpit-journal-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_read_only_file_raises_journal_error(shared_dir):
    path = shared_dir / "j.jsonl"
    path.write_text("")
    path.chmod(0o666)  # the control: the same child can write when the mode allows it
    assert record_unprivileged(path) == "written"
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    outcome = record_unprivileged(path)
    assert outcome.startswith("JournalError: cannot write the audit journal"), outcome
    assert len(path.read_text().splitlines()) == 1


def test_default_path_is_in_user_state_dir():
    path = default_journal_path()
    assert path.name == "journal.jsonl" and "cockpit" in str(path)


def test_bus_publishes_entries_and_survives_bad_listener(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    seen = []
    journal.bus.subscribe(lambda entry: 1 / 0)
    unsubscribe = journal.bus.subscribe(seen.append)
    journal.record("start", action="a")
    unsubscribe()
    journal.record("result", action="a")
    assert [e["event"] for e in seen] == ["start"]


def test_a_torn_line_is_reported_and_never_corrupts_the_next_entry(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    journal.record("start", action="switch")
    with open(path, "a") as fh:  # what a crash or a full disk leaves: half a line, no newline
        fh.write('{"event": "rollback", "act')
    journal.record("result", action="switch")
    entries = list(read_journal(path))
    assert [e["event"] for e in entries] == ["start", "damaged", "result"]
    assert entries[1]["line_number"] == 2 and entries[1]["text"].startswith('{"event": "rollback"')
    assert entries[2]["action"] == "switch"
    assert path.read_bytes().endswith(b"\n")



def test_emitter_builds_progress_and_ignores_reporter_errors():
    report, events = collecting_reporter()
    emit = Emitter(report, "switch", "shop/web")
    emit("verify", "waiting for endpoints", "warn", ready=2)
    assert events[0].step == "verify" and events[0].level == "warn" and events[0].data == {"ready": 2}
    Emitter(lambda p: 1 / 0, "a", "b")("x", "y")  # must not raise
