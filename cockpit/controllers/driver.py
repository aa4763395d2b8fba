"""The one driver every mutating action goes through, from the CLI and from the TUI alike.

refuse if read-only -> preview -> journal ``preview`` -> confirm (a callback: a terminal prompt
or the confirm screen) -> re-check (a fresh preview; if the cluster moved, show the new plan and
ask again) -> journal ``start`` -> apply, streaming progress -> journal ``result`` (or
``failure``/``cancelled``) with before/after -> a Kubernetes Event on the target -> report.

A journal that cannot be written refuses the action before anything is sent. A failure to
record the Event never undoes a change that happened: it is reported and journaled instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cockpit.controllers.base import ChangedSincePreview, Emitter, PreconditionFailed, Reporter, to_jsonable
from cockpit.controllers.operation import JournalWriter, Operation, Plan, Result, Run, dry_run_result, noop_result
from cockpit.errors import CockpitError, ReadOnlyRefusal
from cockpit.journal import Journal, JournalError
from cockpit.kube.api import KubeApi
from cockpit.kube.events import EventRecorder

DRY_RUN = "dry-run"  # a confirmation may answer this instead of True: apply as a dry run
ConfirmFn = Callable[[Plan[Any]], Awaitable[bool | str]]
MAX_ROUNDS = 3  # "changed since the preview" -> show the new plan and ask again, a few times


class Declined(CockpitError):
    """The user answered no: nothing was changed."""

    exit_status = 1


@dataclass(frozen=True)
class Services:
    """What operations and the driver are built with: one connection, one journal, one identity.

    ``context`` is the kube context stamped on journal entries and Event notes; ``kube_user``
    the kubeconfig user, recorded next to the local OS user.
    """

    api: KubeApi
    journal: Journal
    context: str | None = None
    kube_user: str | None = None
    read_only: bool = False
    namespace: str = "default"

    @property
    def operator(self) -> str:
        """Who acts, as the Event note names them: ``alice (kube user admin)``."""
        user = self.journal.user
        return f"{user} (kube user {self.kube_user})" if self.kube_user else user


class Driver:
    """Runs operations: see the module docstring. One driver per session (CLI run or TUI app)."""

    def __init__(self, services: Services, confirm: ConfirmFn, reporter: Reporter | None = None, *,
                 recorder: EventRecorder | None = None) -> None:
        self.services = services
        self.confirm = confirm
        self.reporter = reporter
        self.recorder = recorder or EventRecorder(services.api)

    async def run(self, operation: Operation[Any], *, dry_run: bool = False, interactive: bool = True) -> Result:
        """Run one operation to its end; raises a CockpitError subclass when refused or failed.

        ``interactive`` False (``--yes``) never re-asks: a cluster that moved since the preview
        stops the action with ChangedSincePreview instead of acting on a plan nobody saw.
        """
        emit = Emitter(self.reporter, operation.action, operation.target)
        self.refuse_if_read_only(operation.action, operation.target, dry_run)
        self.services.journal.check_writable()
        plan = await operation.preview()
        for _ in range(MAX_ROUNDS):
            self._journal(plan, "preview", **plan.journal_fields())
            settled, answer = await self._settle(operation, plan, emit, dry_run, interactive)
            if settled is None:
                return noop_result(plan, dry_run)
            if settled is not plan:
                plan = settled
                continue
            dry_run = dry_run or answer == DRY_RUN
            try:
                return await self._apply(operation, plan, emit, dry_run)
            except ChangedSincePreview as exc:
                if not interactive or exc.plan is None:
                    raise
                emit("check", str(exc), "warn")
                plan = exc.plan
        raise CockpitError(f"{operation.target} keeps changing; nothing was changed, try again later")

    def refuse_if_read_only(self, action: str, target: str, dry_run: bool = False) -> None:
        """Raise ReadOnlyRefusal (journaled) in read-only mode; dry runs change nothing and pass."""
        if self.services.read_only and not dry_run:
            self._journal_quietly(action, target, "refused", reason="read-only mode")
            what = f"{action} {target}".strip()
            raise ReadOnlyRefusal(f"read-only mode: refusing to {what} (this cockpit was started with --read-only or --follow)")

    async def _settle(self, operation: Operation[Any], plan: Plan[Any], emit: Emitter, dry_run: bool,
                      interactive: bool) -> tuple[Plan[Any] | None, bool | str]:
        """Confirm and re-check: (the plan to apply, the answer), a newer plan, or None for a no-op."""
        if plan.blocked:
            self._journal_quietly(plan.action, plan.target, "refused", reason="failed checks",
                                  checks=to_jsonable(plan.failed))
            refused = PreconditionFailed(refusal_message(plan), list(plan.checks))
            refused.plan = plan  # so a screen can show what was refused, checks and all
            raise refused
        if plan.noop:
            emit("skip", plan.noop, "ok")
            self._journal(plan, "result", **noop_result(plan, dry_run).journal_fields())
            return None, False
        answer = await self.confirm(plan)
        if not answer:
            self._journal_quietly(plan.action, plan.target, "declined")
            raise Declined("cancelled: nothing was changed")
        fresh = await operation.preview()
        if fresh.version == plan.version and not fresh.blocked:
            return plan, answer
        emit("check", f"{plan.target} changed since the preview ({plan.version or '?'} -> "
                      f"{fresh.version or '?'}); review the new preview", "warn")
        if not interactive:
            raise ChangedSincePreview(f"{plan.target} changed since the preview; nothing was changed "
                                      f"(run again to see the new preview)", plan=fresh)
        return fresh, answer

    async def _apply(self, operation: Operation[Any], plan: Plan[Any], emit: Emitter, dry_run: bool) -> Result:
        """Journal ``start``, apply, journal the outcome, record the Event."""
        self._journal(plan, "start", dry_run=dry_run, before=plan.before_state, after=plan.after_state)
        run = Run(plan, emit, self._write, dry_run=dry_run)
        try:
            result = await operation.apply(plan, run)
        except asyncio.CancelledError:
            self._journal_quietly(plan.action, plan.target, "cancelled", dry_run=dry_run)
            raise
        except Exception as exc:
            # a partial Result's fields carry their own dry_run flag: one key, the driver's
            self._journal_quietly(plan.action, plan.target, "failure", **{**failure_fields(exc), "dry_run": dry_run})
            await self._record_event(plan, run, str(exc) or type(exc).__name__, ok=False, dry_run=dry_run)
            raise
        if dry_run and result.changed:  # an operation that forgot: a dry run never changes anything
            result = dry_run_result(plan, result.message)
        self._journal_quietly(plan.action, plan.target, "result", **result.journal_fields())
        await self._record_event(plan, run, result.message, ok=result.ok, dry_run=dry_run)
        if result.message != run.last_message:  # no echo of a line the operation just said
            emit("done", result.message, "ok" if result.ok else "error")
        return result

    async def _record_event(self, plan: Plan[Any], run: Run, message: str, *, ok: bool, dry_run: bool) -> None:
        """The Kubernetes Event on the target; a failure here is reported, never raised."""
        if dry_run or plan.subject is None:
            return
        note = f"{message} (by {self.services.operator} via cockpit, context {self.services.context or '?'})"
        if run.journal_errors:
            note += f"; JOURNAL NOT WRITTEN: {run.journal_errors[0]}"
        reason = plan.reason if ok else f"{plan.reason}Failed"
        try:
            await self.recorder.record(plan.subject, reason, plan.action, note, "Normal" if ok else "Warning")
        except Exception as exc:  # noqa: BLE001 - the change is done; losing its Event must not hide that
            run.emit("event", f"could not record the Kubernetes Event: {exc}", "warn")
            self._journal_quietly(plan.action, plan.target, "event_failed", error=str(exc))

    def _journal(self, plan: Plan[Any], event: str, **fields: Any) -> None:
        self._write(plan.action, plan.target, event, fields)

    def _write(self, action: str, target: str, event: str, fields: dict[str, Any]) -> None:
        journal_writer(self.services)(action, target, event, fields)

    def _journal_quietly(self, action: str, target: str, event: str, **fields: Any) -> None:
        # On paths that already refuse or fail, the original error matters more; the journal
        # problem is reported with it rather than replacing it.
        try:
            self._write(action, target, event, fields)
        except JournalError as exc:
            Emitter(self.reporter, action, target)("journal", f"JOURNAL NOT WRITTEN ({event}): {exc}", "error")


def journal_writer(services: Services) -> JournalWriter:
    """Writes one journal record stamped with the session's context and kube user (raises JournalError)."""
    extra = {"kube_user": services.kube_user} if services.kube_user else {}

    def write(action: str, target: str, event: str, fields: dict[str, Any]) -> None:
        services.journal.record(event, context=services.context, action=action, target=target,
                                **extra, **to_jsonable(fields))
    return write


def refusal_message(plan: Plan[Any]) -> str:
    """``"refused: switch shop/web: target has ready endpoints (0 ready green pods)"``."""
    failed = "; ".join(f"{c.name}" + (f" ({c.detail})" if c.detail else "") for c in plan.failed)
    return f"refused: {plan.title}: {failed}"


def failure_fields(exc: BaseException) -> dict[str, Any]:
    """Journal fields describing an exception (and the partial result it carries, if any)."""
    fields: dict[str, Any] = {"error": str(exc) or type(exc).__name__, "error_type": type(exc).__name__}
    partial = getattr(exc, "result", None)
    if isinstance(partial, Result):
        fields.update(partial.journal_fields())
    checks = getattr(exc, "checks", None)
    if checks:
        fields["checks"] = to_jsonable(checks)
    return fields

