"""A switch is one transaction from its write on: faults injected after the write never leave the
Service half-switched. Each test asserts the selector and the pending marker on the server and the
journal, not only the exit status.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from cockpit.controllers.base import collecting_reporter
from cockpit.controllers.switch import SwitchOperation
from cockpit.journal import Journal, read_journal
from cockpit.kube.errors import ApiError, Unreachable
from tests.support.e2e import run_cli
from tests.support.traffic import (
    cockpit_events, drive, event_summary, hold_old_endpoints, journal_steps, marker_of, read_until,
    release_old_endpoints, selector_of, start_cockpit,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
BLUE, GREEN = {"app": "web", "color": "blue"}, {"app": "web", "color": "green"}


def switch(client, **options) -> SwitchOperation:
    return SwitchOperation(client, "shop/web", poll_interval=0.05, **{"verify_timeout": 20.0, **options})


async def switchable(client, wait_for_async):
    await wait_for_async(switch(client).preview, accept=lambda plan: not plan.blocked,
                         what="a switch plan to green whose checks pass")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_after_the_write_switches_back_and_verifies(sim, kubectl, journal_path, wait_for, signum):
    """Ctrl-C (or a SIGTERM from a supervisor) once the selector is written means: switch back now."""
    hold_old_endpoints(kubectl, "blue")  # verification cannot pass: the child is still verifying
    sim.faults.set("api_latency", 0.1)
    process = start_cockpit(sim, journal_path, "switch", "shop/web", "--yes", "--verify-timeout", "60")
    seen: list[str] = []
    try:
        read_until(process, " write: ", seen)
        sent = time.monotonic()
        os.kill(process.pid, signum)
        rest, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    output = "".join(seen) + rest
    assert process.returncode == 130, output
    assert time.monotonic() - sent < 30, "switched back at once, not after the verify deadline"
    assert "cancelled after the write: switched shop/web back to blue (verified)" in output.splitlines()[-1], output
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    steps = journal_steps(journal_path)
    assert steps == ["preview", "start", "step:write", "rollback", "step:switched-back", "result"], steps
    entries = Journal(journal_path).entries()
    assert entries[3]["reason"] == "cancelled after the write"
    assert entries[-1]["cancelled"] is True and entries[-1]["after"] == {"selector": BLUE}
    assert event_summary(cockpit_events(kubectl)[-1]) == ("ServiceSwitchedFailed", "Warning", "Service", "web")


async def test_an_api_refusal_window_during_verification_is_ridden_out(sim, client, journal_path, kubectl,
                                                                       wait_for_async):
    await switchable(client, wait_for_async)
    hold_old_endpoints(kubectl, "blue")  # keeps verification open until the API is gone

    def faults(progress):
        if progress.step == "write":
            sim.faults.set("refuse_for", 3)
        if progress.step == "verify" and progress.message.startswith("API unreachable"):
            release_old_endpoints(sim)  # while refused: once the API is back, only green is left

    reporter, progress = collecting_reporter()
    result = await drive(client, journal_path, switch(client), reporter=lambda p: (faults(p), reporter(p)))
    assert result.ok and result.details["verified"], result.message
    lines = [p.message for p in progress if p.step == "verify"]
    assert any(line.startswith("API unreachable for") and "retrying" in line for line in lines), lines
    assert any(line.startswith("API reachable again") for line in lines), lines
    assert selector_of(kubectl) == GREEN and marker_of(kubectl) is None
    assert journal_steps(journal_path) == ["preview", "start", "step:write", "step:verified", "result"]


async def test_a_journal_failing_after_the_start_does_not_block_the_switch_back(client, journal_path, kubectl,
                                                                               wait_for_async):
    """Once written, the journal cannot hold the recovery hostage: it is reported loudly instead."""
    await switchable(client, wait_for_async)
    hold_old_endpoints(kubectl, "blue")  # verification fails: the switch back must run
    moved = journal_path.with_name("journal-before.jsonl")

    def break_journal(progress):
        if progress.step == "write" and not moved.exists():
            os.replace(journal_path, moved)  # works as root too: a directory is never appendable
            journal_path.mkdir()

    reporter, progress = collecting_reporter()
    result = await drive(client, journal_path, switch(client, verify_timeout=3.0),
                         reporter=lambda p: (break_journal(p), reporter(p)))
    assert not result.ok and result.details["rolled_back"] and result.details["verified_back"]
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    loud = [p.message for p in progress if p.level == "error" and "JOURNAL NOT WRITTEN" in p.message]
    assert any("(step)" in m for m in loud) and any("(rollback)" in m for m in loud), loud
    assert [e["event"] for e in read_journal(moved)] == ["preview", "start"]
    event = cockpit_events(kubectl)[-1]
    assert event_summary(event) == ("ServiceSwitchedFailed", "Warning", "Service", "web")
    assert "JOURNAL NOT WRITTEN" in event["note"]


class PatchesStopAfterTheWrite:
    """An API whose writes stop reaching the server right after the switch's own write."""

    def __init__(self, inner):
        self.inner, self.patches = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def patch(self, path, body, patch_type="strategic", dry_run=False):
        self.patches += 1
        if self.patches > 1:
            raise Unreachable("cannot reach the API server at https://127.0.0.1 (connection refused)")
        return await self.inner.patch(path, body, patch_type, dry_run)


async def test_a_switch_back_that_cannot_be_written_says_what_is_selected_and_how_to_fix_it(
        sim, client, journal_path, kubectl, capsys, wait_for_async):
    await switchable(client, wait_for_async)
    result = await drive(client, journal_path, switch(PatchesStopAfterTheWrite(client), verify_timeout=1.0,
                                                      drill_verify_failure=True))
    assert not result.ok and result.details["stuck"]
    assert "could NOT be switched back" in result.message
    assert "shop/web selects app=web,color=green now" in result.message
    assert ("switch it back with: kubectl -n shop patch service web --type=merge -p "
            "'{\"spec\":{\"selector\":{\"color\":\"blue\"}}}'") in result.message
    assert selector_of(kubectl) == GREEN and marker_of(kubectl) is not None  # left marked for a later run

    # A later cockpit finds it: the preview offers to finish or undo; --undo switches back.
    code, out, _ = await asyncio.to_thread(run_cli, capsys, sim, journal_path, "switch", "shop/web", "--dry-run")
    assert code == 0 and "finish the unverified switch of shop/web to green" in out and "--undo" in out
    code, out, _ = await asyncio.to_thread(run_cli, capsys, sim, journal_path, "switch", "shop/web", "--undo", "--yes")
    assert code == 0 and out.splitlines()[-1].startswith("switched shop/web back to blue (verified)"), out
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None


def test_a_switch_killed_after_the_write_is_found_and_finished_by_the_next_run(sim, kubectl, capsys,
                                                                               journal_path):
    """kill -9 cannot be caught: the marker on the Service is what a restarted cockpit finds."""
    hold_old_endpoints(kubectl, "blue")
    process = start_cockpit(sim, journal_path, "switch", "shop/web", "--yes", "--verify-timeout", "60")
    try:
        read_until(process, " write: ", [])
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    assert selector_of(kubectl) == GREEN and '"to":"green"' in (marker_of(kubectl) or "")
    kubectl("-n", "shop", "delete", "endpointslice", "web-held-back")
    code, out, _ = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--yes")
    assert code == 0 and out.splitlines()[-1].startswith("switched shop/web to green"), out
    assert "finish the unverified switch" in out
    assert selector_of(kubectl) == GREEN and marker_of(kubectl) is None
    assert journal_steps(journal_path)[-3:] == ["start", "step:verified", "result"]


class AnswerLost(PatchesStopAfterTheWrite):
    """The switch's write reaches the server but its answer is lost; with ``reads_fail`` the API
    then stays away altogether (nobody can tell whether the write landed)."""

    def __init__(self, inner, *, lands: bool, reads_fail: bool = False):
        super().__init__(inner)
        self.lands, self.reads_fail = lands, reads_fail

    async def patch(self, path, body, patch_type="strategic", dry_run=False):
        self.patches += 1
        if self.patches == 1:
            if self.lands:
                await self.inner.patch(path, body, patch_type, dry_run)
            raise Unreachable("the API server at https://127.0.0.1 dropped the connection")
        return await self.inner.patch(path, body, patch_type, dry_run)

    async def get(self, path, params=None):
        if self.reads_fail and self.patches:
            raise Unreachable("cannot reach the API server at https://127.0.0.1 (connection refused)")
        return await self.inner.get(path, params)


async def test_a_write_whose_answer_is_lost_is_looked_up_and_carried_on(client, journal_path, kubectl,
                                                                       wait_for_async):
    await switchable(client, wait_for_async)
    result = await drive(client, journal_path, switch(AnswerLost(client, lands=True)))
    assert result.ok and result.details["verified"] and selector_of(kubectl) == GREEN and marker_of(kubectl) is None


async def test_a_write_nobody_can_confirm_says_how_to_check_and_fix(client, journal_path, kubectl, wait_for_async):
    await switchable(client, wait_for_async)
    result = await drive(client, journal_path, switch(AnswerLost(client, lands=False, reads_fail=True),
                                                      verify_timeout=1.0))
    assert not result.ok and result.details["stuck"] and "may or may not have been written" in result.message
    assert "kubectl -n shop get service web" in result.message and "cockpit switch shop/web" in result.message
    assert selector_of(kubectl) == BLUE  # it did not land here; the message never claimed it had
    assert journal_steps(journal_path)[-2:] == ["step:write-unknown", "result"]


def test_cli_last_line_says_what_is_selected_when_the_api_stays_away(sim, kubectl, journal_path, wait_for):
    """The API goes away after the write for longer than verification and the switch back may take."""
    hold_old_endpoints(kubectl, "blue")
    process = start_cockpit(sim, journal_path, "switch", "shop/web", "--yes", "--verify-timeout", "2")
    seen: list[str] = []
    try:
        read_until(process, " write: ", seen)
        sim.faults.set("refuse_for", 12)
        rest, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    lines = ("".join(seen) + rest).splitlines()
    assert process.returncode == 1, lines
    assert "API unreachable for" in "\n".join(lines)
    assert "could NOT be switched back" in lines[-1] and "shop/web selects app=web,color=green now" in lines[-1]
    assert lines[-1].endswith("switch it back with: kubectl -n shop patch service web --type=merge -p "
                              "'{\"spec\":{\"selector\":{\"color\":\"blue\"}}}'"), lines[-1]
    sim.faults.set("refuse_for", 0)
    wait_for(lambda: kubectl("-n", "shop", "get", "service", "web", check=False).returncode == 0, timeout=20)
    assert selector_of(kubectl) == GREEN and marker_of(kubectl) is not None  # a later run will find it
    assert journal_steps(journal_path)[-4:] == ["step:write", "rollback", "result", "event_failed"]


class BusyOnceOnTheSwitchBack(PatchesStopAfterTheWrite):
    """The API server answers the first switch-back write with 503, then recovers."""

    async def patch(self, path, body, patch_type="strategic", dry_run=False):
        self.patches += 1
        if self.patches == 2:
            raise ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        return await self.inner.patch(path, body, patch_type, dry_run)


async def test_a_5xx_on_the_switch_back_is_retried(client, journal_path, kubectl, wait_for_async):
    await switchable(client, wait_for_async)
    reporter, progress = collecting_reporter()
    api = BusyOnceOnTheSwitchBack(client)
    result = await drive(client, journal_path, switch(api, drill_verify_failure=True), reporter=reporter)
    assert not result.ok and result.details["rolled_back"] and result.details["verified_back"] and api.patches == 3
    assert any(p.step == "rollback" and "retrying" in p.message for p in progress)
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
