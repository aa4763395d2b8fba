"""A gated step plan that asks a person when an inconclusive analysis holds it.

:class:`~cockpit.controllers.shift.ShiftOperation` ends a held plan with ``held`` in its result
(the CLI exits with its own status there). Interactively the person in front of the screen
decides instead: ``promote`` carries on with the plan's remaining steps (still gated), ``abort``
returns all traffic to stable, ``keep`` leaves the split where it is and ends. Each answer is
journaled with the step records of the same run, and what follows is previewed afresh, so a
split someone changed meanwhile stops the continuation as it would stop the plan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cockpit.controllers.operation import Plan, Result, Run
from cockpit.controllers.shift import ShiftOperation

PROMOTE, ABORT, KEEP = "promote", "abort", "keep"
Decide = Callable[[Result], Awaitable[str]]


class HeldShiftOperation:
    """``shift`` (a step plan) whose holds are decided by ``decide(result) -> promote|abort|keep``."""

    def __init__(self, shift: ShiftOperation, decide: Decide) -> None:
        self.shift, self.decide = shift, decide
        self.action, self.target = shift.action, shift.target

    async def preview(self) -> Plan[Any]:
        """The step plan's preview (with the gate's checks)."""
        return await self.shift.preview()

    async def apply(self, plan: Plan[Any], run: Run) -> Result:
        """Walk the plan; on each hold ask, then promote, abort or keep."""
        result = await self.shift.apply(plan, run)
        while result.details.get("held") and not run.dry_run:
            choice = await self.decide(result)
            run.record_quietly("step", step="held-decision", choice=choice, reason=result.message)
            run.say("hold", f"decided: {choice}", "warn" if choice != PROMOTE else "info")
            if choice == KEEP:
                return result
            result = await self._continue(run, abort=choice == ABORT, held=result)
        return result

    async def _continue(self, run: Run, *, abort: bool, held: Result) -> Result:
        """The remaining steps (or the abort) as a fresh preview applied in the same run."""
        s = self.shift
        if abort:
            nxt = ShiftOperation(s.api, s.target, kind=s.kind, abort=True, stable=s.stable, canary=s.canary)
        else:
            nxt = ShiftOperation(s.api, s.target, kind=s.kind, steps=s.steps, pause=s.pause, stable=s.stable,
                                 canary=s.canary, gate=s.gate)
        fresh = await nxt.preview()
        if fresh.blocked or fresh.noop:
            reason = fresh.noop or "; ".join(f"{c.name}: {c.detail}" for c in fresh.failed)
            run.say("hold", f"cannot {'abort' if abort else 'promote'}: {reason}", "error")
            return held
        result = await nxt.apply(fresh, run)
        if abort:
            result.details["aborted"] = True
        return result
