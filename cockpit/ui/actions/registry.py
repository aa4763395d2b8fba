"""The action registry: every key action and palette command in one table.

Operations (rollout undo, blue/green switch, weighted shift, drain, upgrade controls) are wired
into the UI by registering a :class:`PaneAction` whose ``operation(ctx)`` builds the operation
for the selected row; the UI derives from the same table the pane key bindings (each with an
id, so users can remap it), the footer, the help screen and the command palette. The families
live next to this module (``rollout``, ``traffic``, ``nodes``, ``upgrade``).

Running a mutating action (``CockpitApp.run_pane_action``): read-only mode hides it
(``check_action``) and the driver refuses it anyway; otherwise the OperationScreen runs the
operation through the same driver as the CLI: preview, confirm, re-check, journal, apply,
Kubernetes Event, result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cockpit.controllers.driver import Services
from cockpit.controllers.operation import Operation
from cockpit.errors import ReadOnlyRefusal

PANES = ("rollouts", "traffic", "nodes", "events")


@dataclass
class ActionContext:
    """Everything an action gets: the pane, the selected row and its record, the app services.

    ``services`` holds what the app was built with (``cache``, ``config``, ``pane``...);
    ``ops`` the driver's services (API, journal, identity) that operations are built with.
    """

    pane: str
    row_key: str | None
    record: Any
    services: dict[str, Any]
    read_only: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    ops: Services | None = None

    def require_ops(self) -> Services:
        """The driver's services; a cockpit without a cluster connection cannot act."""
        if self.ops is None:
            from cockpit.errors import CockpitError

            raise CockpitError("no cluster connection: this cockpit cannot act")
        return self.ops


@dataclass(frozen=True)
class Prompt:
    """A value an action asks for before its preview (e.g. the upgrade's target version).

    ``validate(text)`` returns the cleaned value or raises ValueError/CockpitError with a
    one-line reason; the answer lands in ``ctx.params[name]``.
    """

    name: str
    question: str
    default: str
    validate: Callable[[str], str]
    hint: str = ""


Reporter = Callable[[Any], None]
PromptFn = Callable[[ActionContext], Awaitable[Prompt]]
RunFn = Callable[..., Awaitable[Any]]
OperationFn = Callable[[ActionContext], Operation[Any]]


@dataclass(frozen=True)
class PaneAction:
    """A user action.

    Attributes:
        id: stable id, also the key-binding id users remap in ``[keymap]`` (e.g. ``rollout.undo``).
        title: palette title, namespaced like ``"rollout: undo"``.
        pane: one of PANES, or ``"global"``.
        key: default key(s) in Textual syntax (``"u"``, ``"ctrl+s"``); None = palette only.
        mutating: changes the cluster: hidden in read-only mode, run through the driver.
        run: ``async run(ctx, None, report) -> result`` for actions that only read.
        needs_row: only offered when a row is selected in the pane.
        description: one line for the help screen.
        prompt: ``async prompt(ctx) -> Prompt`` asked (with an Input screen) before the preview.
        operation: ``operation(ctx) -> Operation``; the driver runs it on the OperationScreen.
        hosted: the operation outlives its screen (the upgrade run): it runs in a worker of its
            pane (``pane.host_operation``); the screen asks, then says it started.
    """

    id: str
    title: str
    pane: str
    key: str | None
    mutating: bool
    run: RunFn | None = None
    needs_row: bool = True
    description: str = ""
    prompt: PromptFn | None = None
    operation: OperationFn | None = None
    hosted: bool = False

    def __post_init__(self) -> None:
        if self.mutating and self.operation is None:
            raise ValueError(f"mutating action {self.id} needs an operation")
        if self.run is None and self.operation is None:
            raise ValueError(f"action {self.id} needs run or operation")
        if self.pane not in (*PANES, "global"):
            raise ValueError(f"action {self.id}: unknown pane {self.pane!r}")


class ActionRegistry:
    """Ordered table of actions by id."""

    def __init__(self) -> None:
        self._actions: dict[str, PaneAction] = {}

    def register(self, action: PaneAction) -> PaneAction:
        """Add (or replace) an action; returns it so it can be used as a decorator result."""
        self._actions[action.id] = action
        return action

    def get(self, action_id: str) -> PaneAction | None:
        """The action with this id, if any."""
        return self._actions.get(action_id)

    def for_pane(self, pane: str) -> list[PaneAction]:
        """Actions that belong to a pane, in registration order."""
        return [a for a in self._actions.values() if a.pane == pane]

    def __iter__(self) -> Iterator[PaneAction]:
        return iter(self._actions.values())

    def __len__(self) -> int:
        return len(self._actions)


def check_allowed(action: PaneAction, read_only: bool) -> None:
    """The UI's read-only choke point.

    Raises:
        ReadOnlyRefusal: the action mutates the cluster and the cockpit is read-only.
    """
    if action.mutating and read_only:
        raise ReadOnlyRefusal(f"read-only mode: {action.title} is refused (this cockpit was started with --read-only or --follow)")


# The default registry the app uses; cockpit.ui.actions.common fills it.
REGISTRY = ActionRegistry()
