"""The run lock: who holds it, when it is stale (renewal time only), and the races around it
(create and replace conflicts, a renewal that finds the lease taken over)."""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from cockpit.controllers.upgrade_lock import (A_ABORT, A_PAUSE, LockHeld, LockHolder, LockLost, RunLock, boot_id,
                                              holder_of, make_identity, micro_time, parse_micro_time)
from cockpit.kube.errors import Conflict, NotFound

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)


def holder(identity="bob@elsewhere/aaaaaaaaaaaa:1", renewed=NOW, duration=30):
    return LockHolder(identity, renewed, duration, "1.33.1", "run-1", False)


def lease_doc(identity: str, renewed: datetime, duration: int = 30, rv: str = "1", **annotations) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "cockpit-upgrade-lock", "namespace": "kube-system", "uid": "u1",
                         "resourceVersion": rv,
                         "annotations": {"cockpit.dev/upgrade-target": "1.33.1", "cockpit.dev/upgrade-run": "run-0",
                                         **annotations}},
            "spec": {"holderIdentity": identity, "renewTime": micro_time(renewed), "leaseDurationSeconds": duration}}


class FakeApi:
    """One Lease in memory; ``conflicts`` scripts 409s (verb -> how many), ``before`` runs a
    callback just before a verb answers (another cockpit acting in between)."""

    def __init__(self, lease: dict | None = None) -> None:
        self.lease = copy.deepcopy(lease)
        self.conflicts: dict[str, int] = {}
        self.before: dict[str, object] = {}
        self.calls: list[str] = []

    def _maybe(self, verb: str) -> None:
        self.calls.append(verb)
        hook = self.before.pop(verb, None)
        if hook:
            hook(self)
        if self.conflicts.get(verb):
            self.conflicts[verb] -= 1
            raise Conflict(409, "Conflict", f"{verb} conflict")

    async def get(self, path, params=None):
        self.calls.append("get")
        if self.lease is None:
            raise NotFound(404, "NotFound", "not found")
        return copy.deepcopy(self.lease)

    async def create(self, path, body, dry_run=False):
        self._maybe("create")
        self.lease = copy.deepcopy(body)
        return copy.deepcopy(body)

    async def replace(self, path, body, dry_run=False):
        self._maybe("replace")
        self.lease = copy.deepcopy(body)
        return copy.deepcopy(body)

    async def patch(self, path, body, patch_type="merge", dry_run=False):
        self._maybe("patch")
        if self.lease is None:
            raise NotFound(404, "NotFound", "not found")
        if not dry_run:
            ann = self.lease["metadata"].setdefault("annotations", {})
            for key, value in body["metadata"]["annotations"].items():
                ann.pop(key, None) if value is None else ann.__setitem__(key, value)
        return copy.deepcopy(self.lease)

    async def delete(self, path, body=None, dry_run=False):
        self._maybe("delete")
        if not dry_run:
            self.lease = None
        return {}


# ---------------------------------------------------------------------- identity and liveness


def test_identity_names_user_host_boot_id_and_pid():
    identity = make_identity()
    assert identity.endswith(f":{os.getpid()}")
    assert f"@{socket.gethostname()}/{boot_id()}:" in identity
    assert boot_id() != "unknown" or not os.path.exists("/proc/sys/kernel/random/boot_id")


def test_boot_id_falls_back_to_the_machine_id(tmp_path):
    machine = tmp_path / "machine-id"
    machine.write_text("0123456789abcdef0123456789abcdef\n")
    assert boot_id((str(tmp_path / "missing"), str(machine))) == "0123456789ab"
    assert boot_id((str(tmp_path / "missing"),)) == "unknown"


def test_live_lease_is_not_stale_and_expired_one_is():
    assert not holder().stale(NOW + timedelta(seconds=29))
    assert holder().stale(NOW + timedelta(seconds=31))
    assert holder(identity="").stale(NOW)
    assert holder(renewed=None).stale(NOW)


def test_liveness_is_the_renewal_time_only_even_for_a_dead_pid_on_this_host():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    # Another machine with this very hostname (or this one before a reboot): its PID means
    # nothing here, so a freshly renewed lease stays live whatever runs locally.
    same_host = holder(identity=f"me@{socket.gethostname()}/ffffffffffff:{proc.pid}")
    assert not same_host.stale(NOW + timedelta(seconds=1))
    assert same_host.stale(NOW + timedelta(seconds=31))


def test_holder_of_reads_spec_and_annotations():
    doc = lease_doc("alice@host/abc:12", NOW, 15, rv="7", **{A_PAUSE: "true", A_ABORT: "true"})
    read = holder_of(doc)
    assert (read.identity, read.duration, read.target, read.paused, read.abort_requested, read.resource_version) == \
        ("alice@host/abc:12", 15, "1.33.1", True, True, "7")
    assert read.renew_time == NOW
    line = read.describe(NOW + timedelta(seconds=3))
    assert "alice@host/abc:12" in line and "renewed 3s ago" in line and "abort requested" in line


def test_micro_time_round_trip():
    assert parse_micro_time(micro_time(NOW)) == NOW
    assert parse_micro_time("garbage") is None


# ---------------------------------------------------------------------- races


def now() -> datetime:
    return datetime.now(timezone.utc)


async def test_create_conflict_with_a_live_winner_names_it():
    api = FakeApi()
    api.before["create"] = lambda a: setattr(a, "lease", lease_doc("carol@ops/bbbbbbbbbbbb:7", now()))
    api.conflicts["create"] = 1
    with pytest.raises(LockHeld) as refused:
        await RunLock(api, identity="me@here/cccccccccccc:1").acquire("1.33.1", "run-1")
    # Says it was a race lost at the create, not an old lock found held: the operator knows
    # another cockpit started at the same moment.
    assert "lost the race" in str(refused.value) and "carol@ops/bbbbbbbbbbbb:7" in str(refused.value)
    assert api.lease["spec"]["holderIdentity"] == "carol@ops/bbbbbbbbbbbb:7"  # the winner keeps it


async def test_create_conflict_with_a_stale_winner_takes_it_over():
    api = FakeApi()
    api.before["create"] = lambda a: setattr(a, "lease", lease_doc("dead@ops/dddddddddddd:9",
                                                                    now() - timedelta(minutes=5)))
    api.conflicts["create"] = 1
    lock = RunLock(api, identity="me@here/cccccccccccc:1")
    previous = await lock.acquire("1.33.1", "run-1")
    assert previous is not None and previous.identity == "dead@ops/dddddddddddd:9"
    assert api.lease["spec"]["holderIdentity"] == "me@here/cccccccccccc:1"
    assert api.lease["spec"]["leaseTransitions"] == 1


async def test_replace_conflict_while_taking_over_a_stale_lock_is_lost_to_the_other_taker():
    api = FakeApi(lease_doc("dead@ops/dddddddddddd:9", now() - timedelta(minutes=5)))
    api.before["replace"] = lambda a: setattr(a, "lease", lease_doc("erin@ops/eeeeeeeeeeee:3", now(), rv="2"))
    api.conflicts["replace"] = 1
    with pytest.raises(LockHeld) as refused:
        await RunLock(api, identity="me@here/cccccccccccc:1").acquire("1.33.1", "run-1")
    assert "erin@ops/eeeeeeeeeeee:3" in str(refused.value)


async def test_a_live_lock_of_the_same_hostname_is_never_taken_over():
    api = FakeApi(lease_doc(f"me@{socket.gethostname()}/ffffffffffff:1", now()))
    with pytest.raises(LockHeld):
        await RunLock(api).acquire("1.33.1", "run-1")
    assert api.calls == ["get"]


async def test_renewal_that_finds_the_lease_taken_over_is_lost():
    api = FakeApi(lease_doc("me@here/cccccccccccc:1", now()))
    lock = RunLock(api, identity="me@here/cccccccccccc:1")
    assert (await lock.renew()).identity == lock.identity
    api.lease = lease_doc("frank@ops/ffffffffffff:2", now())
    with pytest.raises(LockLost) as lost:
        await lock.renew()
    assert "frank@ops/ffffffffffff:2" in str(lost.value)
    api.lease = None
    with pytest.raises(LockLost, match="deleted"):
        await lock.renew()


async def test_renewal_conflicting_with_a_pause_request_reads_again_and_sees_the_request():
    api = FakeApi(lease_doc("me@here/cccccccccccc:1", now()))
    api.before["replace"] = lambda a: a.lease["metadata"]["annotations"].__setitem__(A_PAUSE, "true")
    api.conflicts["replace"] = 1
    renewed = await RunLock(api, identity="me@here/cccccccccccc:1").renew()
    assert renewed.paused and api.calls.count("replace") == 2


async def test_renewal_gives_up_when_the_lease_keeps_changing():
    api = FakeApi(lease_doc("me@here/cccccccccccc:1", now()))
    api.conflicts["replace"] = 99
    with pytest.raises(LockLost, match="kept changing"):
        await RunLock(api, identity="me@here/cccccccccccc:1").renew()


async def test_release_leaves_another_holders_lease_alone():
    api = FakeApi(lease_doc("frank@ops/ffffffffffff:2", now()))
    await RunLock(api, identity="me@here/cccccccccccc:1").release()
    assert api.lease is not None and "delete" not in api.calls


async def test_requests_and_break_honour_dry_run():
    api = FakeApi(lease_doc("frank@ops/ffffffffffff:2", now()))
    lock = RunLock(api, identity="me@here/cccccccccccc:1")
    await lock.request_pause(True, dry_run=True)
    assert A_PAUSE not in api.lease["metadata"]["annotations"]
    assert (await lock.break_lock(dry_run=True)).identity == "frank@ops/ffffffffffff:2"
    assert api.lease is not None
    await lock.request(A_ABORT, True)
    assert api.lease["metadata"]["annotations"][A_ABORT] == "true"
    assert (await lock.break_lock()).abort_requested and api.lease is None
