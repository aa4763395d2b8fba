"""The single choke point every mutating controller goes through.

``ActionGuard`` enforces read-only mode and writes the audit journal *before* anything is
sent to the cluster: if the journal cannot be written, ``JournalError`` propagates and the
action never runs. Controllers use it like::

    guard.preview("switch", "shop/web", before=..., after=..., checks=[...])
    result = await guard.run("switch", "shop/web", do_switch, before=..., after=...)

``run`` records ``start``, awaits the coroutine function, then records ``result`` (or
``failure`` with the exception, or ``cancelled``) and returns/raises what the function did.
Multi-step actions add ``guard.record(action, target, "step", ...)`` lines as they go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import is_dataclass
from typing import Any, TypeVar

from cockpit.controllers.base import to_jsonable
from cockpit.errors import ReadOnlyRefusal
from cockpit.journal import Journal, JournalError

T = TypeVar("T")


class ActionGuard:
    """Read-only enforcement plus journaling for mutating actions.

    ``context`` is the kube context stamped on every entry; ``kube_user`` (optional) the
    kubeconfig user, recorded next to the local OS user. Dry runs (server-side dryRun=All)
    change nothing, so they are allowed in read-only mode, but they are still journaled.
    """

    def __init__(self, read_only: bool, journal: Journal, context: str | None,
                 *, kube_user: str | None = None) -> None:
        self.read_only = read_only
        self.journal = journal
        self.context = context
        self.kube_user = kube_user

    def check_mutation_allowed(self, action: str, target: str = "", *, dry_run: bool = False) -> None:
        """Raise ReadOnlyRefusal if this session is read-only (dry runs are allowed)."""
        if self.read_only and not dry_run:
            self._record_quietly(action, target, "refused", reason="read-only mode")
            what = f"{action} {target}".strip()
            raise ReadOnlyRefusal(f"read-only mode: refusing to {what} (restart without --read-only to act)")

    def record(self, action: str, target: str, event: str, **fields: Any) -> dict[str, Any]:
        """Write one journal entry for ``action`` on ``target`` (raises JournalError)."""
        extra = {"kube_user": self.kube_user} if self.kube_user else {}
        return self.journal.record(event, context=self.context, action=action, target=target,
                                   **extra, **to_jsonable(fields))

    def preview(self, action: str, target: str, **fields: Any) -> dict[str, Any]:
        """Record the preview shown to the user (before/after, checks, kubectl equivalent)."""
        return self.record(action, target, "preview", **fields)

    async def run(self, action: str, target: str, fn: Callable[[], Awaitable[T]],
                  *, dry_run: bool = False, **fields: Any) -> T:
        """Check, journal ``start``, await ``fn()``, journal ``result``/``failure``/``cancelled``.

        Nothing runs if the session is read-only or the start entry cannot be written.
        """
        self.check_mutation_allowed(action, target, dry_run=dry_run)
        self.record(action, target, "start", dry_run=dry_run, **fields)
        try:
            result = await fn()
        except asyncio.CancelledError:
            self._record_quietly(action, target, "cancelled", dry_run=dry_run)
            raise
        except Exception as exc:
            self._record_quietly(action, target, "failure", dry_run=dry_run, **failure_fields(exc))
            raise
        self.record(action, target, "result", dry_run=dry_run, **result_fields(result))
        return result

    def _record_quietly(self, action: str, target: str, event: str, **fields: Any) -> None:
        # Used on paths that are already failing/refusing: the original error matters more
        # than a journal problem, which the next guarded action will surface anyway.
        try:
            self.record(action, target, event, **fields)
        except JournalError:
            pass


def result_fields(result: Any) -> dict[str, Any]:
    """Journal fields for a controller result (``journal_fields()`` if it has one)."""
    if hasattr(result, "journal_fields"):
        return dict(result.journal_fields())
    if is_dataclass(result) and not isinstance(result, type):
        return {"result": to_jsonable(result)}
    return {"result": result}


def failure_fields(exc: BaseException) -> dict[str, Any]:
    """Journal fields describing an exception (and the partial result it carries, if any)."""
    fields: dict[str, Any] = {"error": str(exc) or type(exc).__name__, "error_type": type(exc).__name__}
    partial = getattr(exc, "result", None)
    if partial is not None:
        fields.update(result_fields(partial))
    checks = getattr(exc, "checks", None)
    if checks:
        fields["checks"] = to_jsonable(checks)
    return fields
