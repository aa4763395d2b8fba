"""Shared vocabulary of the controllers: progress events, precondition checks, results.

Controllers never import Textual. They talk to whoever drives them (the TUI, the CLI, a test)
only through a ``Reporter`` callback receiving ``Progress`` events, and return a result
dataclass. The UI marshals progress onto its own loop; the CLI prints it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Literal

from cockpit.errors import CockpitError

Level = Literal["info", "warn", "error", "ok"]


@dataclass(frozen=True)
class Progress:
    """One progress event of a running action.

    ``step`` is a short machine-friendly phase name ("preview", "write", "verify", "rollback",
    "step 2/4" ...); ``message`` is the human line; ``data`` carries structured details.
    """

    action: str
    target: str
    step: str
    message: str
    level: Level = "info"
    data: dict[str, Any] = field(default_factory=dict)


Reporter = Callable[[Progress], None]


def null_reporter(progress: Progress) -> None:
    """A Reporter that drops everything (the default when nobody listens)."""


def collecting_reporter() -> tuple[Reporter, list[Progress]]:
    """A Reporter that appends to a list, and that list (handy in tests)."""
    events: list[Progress] = []
    return events.append, events


class Emitter:
    """Binds a Reporter to one action and target so controllers can say ``emit(step, msg)``."""

    def __init__(self, reporter: Reporter | None, action: str, target: str) -> None:
        self.reporter = reporter or null_reporter
        self.action = action
        self.target = target

    def __call__(self, step: str, message: str, level: Level = "info", **data: Any) -> Progress:
        """Build and deliver one Progress event; a failing reporter never breaks the action."""
        event = Progress(self.action, self.target, step, message, level, dict(data))
        try:
            self.reporter(event)
        except Exception:  # noqa: BLE001 - a UI bug must not abort a half-done switch
            pass
        return event


@dataclass(frozen=True)
class Check:
    """One named precondition and whether it holds (shown by name when it fails)."""

    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        """A one-line human rendering, e.g. ``"[ok] target rolled out: 3/3 ready"``."""
        mark = "ok" if self.ok else "FAIL"
        return f"[{mark}] {self.name}: {self.detail}" if self.detail else f"[{mark}] {self.name}"


def failed_checks(checks: Iterable[Check]) -> list[Check]:
    """The checks that do not hold."""
    return [c for c in checks if not c.ok]


class PreconditionFailed(CockpitError):
    """An action was refused because named preconditions do not hold."""

    exit_status = 1

    def __init__(self, message: str, checks: list[Check] | None = None) -> None:
        super().__init__(message)
        self.checks = list(checks or [])


class ActionFailed(CockpitError):
    """An action started but did not reach its goal (it may have been rolled back)."""

    exit_status = 1

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


def to_jsonable(value: Any) -> Any:
    """Turn result dataclasses (nested) into plain JSON-compatible data."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    return value


def split_target(target: str, what: str = "target") -> tuple[str, str]:
    """Split ``"NS/NAME"`` into (namespace, name); raises UsageError on anything else."""
    from cockpit.errors import UsageError

    namespace, sep, name = target.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise UsageError(f"{what} must be NAMESPACE/NAME, got {target!r}")
    return namespace, name


class ChangedSincePreview(PreconditionFailed):
    """The object changed between the preview and the confirmed write (optimistic concurrency).

    ``plan`` is a fresh preview built from the current state, so the caller can show it and
    ask again instead of overwriting someone else's change.
    """

    def __init__(self, message: str, plan: Any = None, checks: list[Check] | None = None) -> None:
        super().__init__(message, checks)
        self.plan = plan
