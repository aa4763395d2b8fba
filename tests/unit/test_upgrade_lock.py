"""The run lock's pure parts: who holds it, when it is stale, dead local holders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from cockpit.controllers.upgrade_lock import A_PAUSE, LockHolder, holder_of, micro_time, parse_micro_time

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)


def holder(identity="bob@elsewhere:1", renewed=NOW, duration=30):
    return LockHolder(identity, renewed, duration, "1.33.1", "run-1", False)


def test_live_lease_is_not_stale_and_expired_one_is():
    assert not holder().stale(NOW + timedelta(seconds=29))
    assert holder().stale(NOW + timedelta(seconds=31))
    assert holder(identity="").stale(NOW)
    assert holder(renewed=None).stale(NOW)


def test_dead_process_on_this_host_is_stale_at_once():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = holder(identity=f"me@{socket.gethostname()}:{proc.pid}")
    assert dead.stale(NOW)
    alive = holder(identity=f"me@{socket.gethostname()}:{os.getppid()}")
    assert not alive.stale(NOW)


def test_holder_of_reads_spec_and_annotations():
    lease = {"metadata": {"resourceVersion": "7", "annotations": {"cockpit.dev/upgrade-target": "1.33.1",
                                                                  "cockpit.dev/upgrade-run": "run-9", A_PAUSE: "true"}},
             "spec": {"holderIdentity": "alice@host:12", "renewTime": micro_time(NOW), "leaseDurationSeconds": 15}}
    read = holder_of(lease)
    assert (read.identity, read.duration, read.target, read.run, read.paused) == ("alice@host:12", 15, "1.33.1",
                                                                                 "run-9", True)
    assert read.renew_time == NOW
    assert "alice@host:12" in read.describe(NOW + timedelta(seconds=3)) and "renewed 3s ago" in read.describe(
        NOW + timedelta(seconds=3))


def test_micro_time_round_trip():
    assert parse_micro_time(micro_time(NOW)) == NOW
    assert parse_micro_time("garbage") is None
