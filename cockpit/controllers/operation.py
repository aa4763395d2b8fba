"""The one shape of every mutating action: ``preview() -> Plan`` and ``apply(plan, run) -> Result``.

An operation is built with its arguments and the services it needs (a :class:`KubeApi`, an SSH
runner...). ``preview`` reads the cluster and says exactly what would change: the target, the
state before and after, the truthful equivalent kubectl/ssh commands, named checks with their
results and what a dry run sends. It changes nothing and may be called again at any time (the
driver does, to notice a cluster that moved while the user read the preview). ``apply`` makes
the change the plan describes, reporting progress through :class:`Run`, and returns a
:class:`Result`. Nothing here knows about terminals or Textual: see :mod:`.driver`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from cockpit.controllers.base import Check, Emitter, Level, Progress, failed_checks, to_jsonable
from cockpit.kube.api import ObjectRef

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)


@dataclass(frozen=True)
class Plan(Generic[S]):
    """What an operation will do, as shown before it runs and journaled as ``preview``.

    ``action`` is the journal's action name (``undo``, ``switch``, ``cordon``...), ``reason``
    the Kubernetes Event reason (``RolloutUndone``...). ``version`` fingerprints the state the
    plan was built from (usually the target's resourceVersion): a fresh preview with another
    version means the cluster moved. ``noop`` says why nothing needs doing. ``dry_run`` says
    what a dry run sends (empty when the action has no server-side dry run). ``spec`` is the
    operation's own typed payload (the exact patch, the selector...).
    """

    action: str
    target: str
    title: str
    before: str
    after: str
    reason: str
    subject: ObjectRef | None = None
    commands: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    details: tuple[str, ...] = ()
    dry_run: str = ""
    noop: str = ""
    version: str = ""
    before_state: dict[str, Any] = field(default_factory=dict)
    after_state: dict[str, Any] = field(default_factory=dict)
    spec: S | None = None

    @property
    def blocked(self) -> bool:
        """A check failed: the operation must not run."""
        return bool(failed_checks(self.checks))

    @property
    def failed(self) -> list[Check]:
        """The checks that do not hold."""
        return failed_checks(self.checks)

    @property
    def command(self) -> str:
        """The equivalent commands on one line each (what the CLI and the TUI print)."""
        return "\n".join(self.commands)

    def journal_fields(self) -> dict[str, Any]:
        """The plan as the ``preview`` journal entry records it."""
        return {"title": self.title, "before": self.before_state, "after": self.after_state,
                "before_text": self.before, "after_text": self.after, "commands": list(self.commands),
                "checks": to_jsonable(list(self.checks)), "noop": self.noop, "version": self.version,
                "details": list(self.details)}


@dataclass(frozen=True)
class Result:
    """How an operation ended. ``changed`` is False for no-ops and dry runs.

    ``before``/``after`` are the structured states for the journal (after = what the cluster
    holds now, e.g. the old selector again after a switch back); ``details`` carries extra
    JSON-able facts (evicted pods, endpoints seen, per-node outcomes).
    """

    action: str
    target: str
    ok: bool
    message: str
    changed: bool = True
    dry_run: bool = False
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def journal_fields(self) -> dict[str, Any]:
        """The ``result`` journal entry's fields."""
        return {"ok": self.ok, "message": self.message, "changed": self.changed, "dry_run": self.dry_run,
                "before": to_jsonable(self.before), "after": to_jsonable(self.after),
                **{k: to_jsonable(v) for k, v in self.details.items()}}


JournalWriter = Callable[[str, str, str, dict[str, Any]], None]  # (action, target, event, fields)


class StepJournal:
    """Journal records of the steps an engine takes on the objects an operation touches.

    An upgrade run journals each node's commands under ``upgrade``/node, the drain engine its
    cordon and the PDBs that hold it up under its node: records about other targets than the
    operation's own, written by the driver's journal writer (so they carry the context and the
    kube user like every other record). Raises JournalError: a step that cannot be journaled must
    not happen. ``skip`` names actions left out (the driver's ``start``/``result`` already carry
    them).
    """

    def __init__(self, write: JournalWriter, *, skip: frozenset[str] = frozenset()) -> None:
        self._write = write
        self._skip = skip

    def record(self, action: str, target: str, event: str, /, **fields: Any) -> None:
        """Journal one step ``event`` of ``action`` on ``target``."""
        if action not in self._skip:
            self._write(action, target, event, fields)

    def without(self, *actions: str) -> StepJournal:
        """The same journal, leaving out the records of ``actions``."""
        return StepJournal(self._write, skip=self._skip | frozenset(actions))


class Run:
    """What ``apply`` gets besides its plan: progress, journal step records and the dry-run flag.

    ``emit`` streams a progress line to whoever drives the operation; ``record`` journals one
    step (raises JournalError: a step that cannot be journaled must not happen);
    ``record_quietly`` journals on recovery paths, where the journal failing must not stop the
    recovery: the failure is reported loudly instead and kept in ``journal_errors``. ``steps``
    journals steps on other objects than the target (see :class:`StepJournal`).
    """

    def __init__(self, plan: Plan[Any], emit: Emitter, write: JournalWriter, *, dry_run: bool) -> None:
        self.plan = plan
        self._emit = emit
        self._write = write
        self.steps = StepJournal(write)
        self.dry_run = dry_run
        self.journal_errors: list[str] = []
        self.last_message = ""

    def emit(self, step: str, message: str, level: Level = "info", **data: Any) -> Progress:
        """Report one progress line to whoever drives the operation."""
        self.last_message = message
        return self._emit(step, message, level, **data)

    say = emit

    @property
    def reporter(self) -> Any:
        """The front end's Reporter, for a controller that reports on its own."""
        return self._emit.reporter

    def record(self, event: str, **fields: Any) -> None:
        """Journal one step of this operation."""
        self._write(self.plan.action, self.plan.target, event, fields)

    def record_quietly(self, event: str, **fields: Any) -> None:
        """Journal on a recovery path: report a journal failure loudly and go on."""
        from cockpit.journal import JournalError

        try:
            self.record(event, **fields)
        except JournalError as exc:
            self.journal_errors.append(str(exc))
            self.emit("journal", f"JOURNAL NOT WRITTEN ({event}): {exc}; recovery continues", "error")


class Operation(Protocol[S_co]):
    """A mutating action: see the module docstring."""

    action: str
    target: str

    async def preview(self) -> Plan[Any]:
        """Read the cluster and describe the change (never changes anything)."""

    async def apply(self, plan: Plan[Any], run: Run) -> Result:
        """Make the change ``plan`` describes; honour ``run.dry_run``."""


def dry_run_result(plan: Plan[Any], message: str) -> Result:
    """The result of a dry run: says plainly that nothing changed."""
    return Result(plan.action, plan.target, True, f"[dry run] nothing changed: {message}", changed=False,
                  dry_run=True, before=plan.before_state, after=plan.before_state)


def noop_result(plan: Plan[Any], dry_run: bool = False) -> Result:
    """The result of a plan with nothing to do."""
    return Result(plan.action, plan.target, True, plan.noop, changed=False, dry_run=dry_run,
                  before=plan.before_state, after=plan.before_state)
