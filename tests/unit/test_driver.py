"""The driver's journal promises, on an operation that needs no cluster: start and result with
the session's context and kube user, failures with their partial result and checks, a cancel,
read-only refusals (dry runs allowed), and no action at all when the journal cannot be written.
An engine's steps on other objects go through the same writer (StepJournal)."""

from __future__ import annotations

import asyncio

import pytest

from cockpit.controllers.base import ActionFailed, Check, PreconditionFailed
from cockpit.controllers.driver import Driver, Services
from cockpit.controllers.operation import Plan, Result, Run
from cockpit.errors import ReadOnlyRefusal
from cockpit.journal import Journal, JournalError


class Stub:
    """An operation whose apply does what the test says; subject None, so no Event is recorded."""

    action, target = "switch", "shop/web"

    def __init__(self, apply=None) -> None:
        self.applied: list[bool] = []
        self._apply = apply

    async def preview(self) -> Plan:
        return Plan(self.action, self.target, "switch shop/web to green", "blue", "green", "ServiceSwitched",
                    before_state={"colour": "blue"}, after_state={"colour": "green"})

    async def apply(self, plan: Plan, run: Run) -> Result:
        self.applied.append(run.dry_run)
        run.steps.record("cordon", "worker-1", "step", patch={"spec": {"unschedulable": True}})
        if self._apply is not None:
            return await self._apply(plan, run)
        return Result(plan.action, plan.target, True, "switched", before=plan.before_state, after=plan.after_state)


async def approve(_plan) -> bool:
    return True


def driver(journal: Journal, *, read_only: bool = False) -> Driver:
    return Driver(Services(None, journal, "ctx", "admin", read_only), approve)


def events(journal: Journal) -> list[tuple[str, str, str]]:
    return [(e["event"], e["action"], e["target"]) for e in journal.entries()]


async def test_start_result_and_the_engines_steps_carry_context_and_kube_user(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    result = await driver(journal).run(Stub())
    assert result.ok and result.message == "switched"
    assert events(journal) == [("preview", "switch", "shop/web"), ("start", "switch", "shop/web"),
                               ("step", "cordon", "worker-1"), ("result", "switch", "shop/web")]
    start, step, done = journal.entries()[1:]
    assert start["before"] == {"colour": "blue"} and done["after"] == {"colour": "green"}
    assert all(e["context"] == "ctx" and e["kube_user"] == "admin" for e in (start, step, done))


async def test_a_failure_is_journaled_with_its_partial_result_and_checks(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")

    async def fail(plan, _run):
        partial = Result(plan.action, plan.target, False, "switched back", details={"rolled_back": True})
        raise ActionFailed("verification failed", result=partial)

    with pytest.raises(ActionFailed):
        await driver(journal).run(Stub(fail))
    failure = journal.entries()[-1]
    assert failure["event"] == "failure" and failure["error"] == "verification failed"
    assert failure["rolled_back"] is True

    async def precondition(_plan, _run):
        raise PreconditionFailed("not ready", [Check("target rolled out", False, "1/3")])

    with pytest.raises(PreconditionFailed):
        await driver(journal).run(Stub(precondition))
    assert journal.entries()[-1]["checks"][0]["name"] == "target rolled out"


async def test_a_cancelled_apply_is_journaled_as_cancelled(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    started = asyncio.Event()

    async def hang(_plan, _run):
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(driver(journal).run(Stub(hang)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert journal.entries()[-1]["event"] == "cancelled"


async def test_read_only_refuses_before_anything_runs_but_allows_a_dry_run(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    stub = Stub()
    with pytest.raises(ReadOnlyRefusal, match="read-only"):
        await driver(journal, read_only=True).run(stub)
    assert stub.applied == [] and [e for e, _, _ in events(journal)] == ["refused"]
    result = await driver(journal, read_only=True).run(stub, dry_run=True)
    assert stub.applied == [True] and result.dry_run and not result.changed


async def test_an_unwritable_journal_means_no_action_runs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    stub = Stub()
    with pytest.raises(JournalError):
        await driver(Journal(blocker / "j.jsonl")).run(stub)
    assert stub.applied == []


class StartFails(Journal):
    """A journal that takes the preview but fails on the ``start`` entry (the disk filled up between)."""

    def record(self, event: str, **fields):
        if event == "start":
            raise JournalError("cannot write the audit journal: No space left on device")
        return super().record(event, **fields)


async def test_a_start_entry_that_cannot_be_written_stops_the_action_before_it_runs(tmp_path):
    journal = StartFails(tmp_path / "j.jsonl")
    stub = Stub()
    with pytest.raises(JournalError, match="No space left"):
        await driver(journal).run(stub)
    assert stub.applied == [] and [e for e, _, _ in events(journal)] == ["preview"]
