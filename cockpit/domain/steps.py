"""The per-node upgrade state machine and how it is recorded on the Node (pure, no I/O).

A node walks the steps of the kubeadm procedure in order (upgrading-kubeadm, kubeadm-upgrade,
draining, upgrading-kubelet, restarting-kubelet, waiting-ready, uncordoning) and ends ``done``.
A step can fail (``failed``), the operator can pause before the next step (``paused``) or skip
the node (``skipped``). The current step and state live in Node annotations, so a restarted
cockpit (or the TUI's Nodes pane) rebuilds the whole board from the cluster alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum

ANNOTATION_PREFIX = "cockpit.dev/"
A_STEP = "cockpit.dev/upgrade-step"
A_STATE = "cockpit.dev/upgrade-state"
A_TARGET = "cockpit.dev/upgrade-target"
A_RUN = "cockpit.dev/upgrade-run"
A_ERROR = "cockpit.dev/upgrade-error"
A_STARTED = "cockpit.dev/upgrade-step-started"
A_CORDONED_BY = "cockpit.dev/cordoned-by"

UPGRADE_ANNOTATIONS = (A_STEP, A_STATE, A_TARGET, A_RUN, A_ERROR, A_STARTED)


class Step(str, Enum):
    """Where a node is in the procedure (the order of the kubeadm documentation)."""

    PENDING = "pending"
    UPGRADING_KUBEADM = "upgrading-kubeadm"
    KUBEADM_UPGRADE = "kubeadm-upgrade"
    DRAINING = "draining"
    UPGRADING_KUBELET = "upgrading-kubelet"
    RESTARTING_KUBELET = "restarting-kubelet"
    WAITING_READY = "waiting-ready"
    UNCORDONING = "uncordoning"
    DONE = "done"


class State(str, Enum):
    """How the node's current step is doing."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    FAILED = "failed"
    SKIPPED = "skipped"
    DONE = "done"


#: The steps that do work, in order.
WORK_STEPS: tuple[Step, ...] = (
    Step.UPGRADING_KUBEADM,
    Step.KUBEADM_UPGRADE,
    Step.DRAINING,
    Step.UPGRADING_KUBELET,
    Step.RESTARTING_KUBELET,
    Step.WAITING_READY,
    Step.UNCORDONING,
)

#: Human labels for the Nodes pane.
STEP_LABELS = {
    Step.PENDING: "pending",
    Step.UPGRADING_KUBEADM: "upgrading kubeadm",
    Step.KUBEADM_UPGRADE: "kubeadm upgrade",
    Step.DRAINING: "draining",
    Step.UPGRADING_KUBELET: "upgrading kubelet",
    Step.RESTARTING_KUBELET: "restarting kubelet",
    Step.WAITING_READY: "waiting Ready",
    Step.UNCORDONING: "uncordoning",
    Step.DONE: "done",
}


def next_step(step: Step) -> Step:
    """The step after ``step`` (``DONE`` after the last work step; ``DONE`` stays ``DONE``)."""
    if step is Step.PENDING:
        return WORK_STEPS[0]
    if step is Step.DONE:
        return Step.DONE
    index = WORK_STEPS.index(step)
    return WORK_STEPS[index + 1] if index + 1 < len(WORK_STEPS) else Step.DONE


def step_fraction(step: Step, state: State) -> float:
    """Progress of a node as a fraction 0..1 (for the TUI's per-node bar)."""
    if step is Step.DONE or state is State.DONE:
        return 1.0
    if step is Step.PENDING:
        return 0.0
    return WORK_STEPS.index(step) / len(WORK_STEPS)


class InvalidTransition(ValueError):
    """An event that the node's current state does not accept (a bug or a stale view)."""


@dataclass(frozen=True)
class NodeProgress:
    """The recorded progress of one node (what the annotations say)."""

    node: str
    step: Step = Step.PENDING
    state: State = State.PENDING
    target: str = ""
    run: str = ""
    error: str = ""
    started: str = ""

    @property
    def finished(self) -> bool:
        """Done or skipped: the run will not touch this node again."""
        return self.state in (State.DONE, State.SKIPPED)

    @property
    def fraction(self) -> float:
        """Progress 0..1."""
        return step_fraction(self.step, self.state)

    def elapsed(self, now: datetime | None = None) -> float:
        """Seconds since the current step started (0 when unknown); for the Nodes pane."""
        if not self.started:
            return 0.0
        try:
            began = datetime.fromisoformat(self.started.replace("Z", "+00:00"))
        except ValueError:
            return 0.0
        return max(0.0, ((now or datetime.now(timezone.utc)) - began).total_seconds())

    def start(self, step: Step, now: str) -> NodeProgress:
        """Begin (or re-begin, on resume) ``step``."""
        if self.finished:
            raise InvalidTransition(f"{self.node} is {self.state.value}; it cannot start {step.value}")
        return replace(self, step=step, state=State.RUNNING, error="", started=now)

    def succeed(self, now: str) -> NodeProgress:
        """The current step worked: move to the next one (still running) or to done."""
        if self.state is not State.RUNNING:
            raise InvalidTransition(f"{self.node}: cannot complete {self.step.value} while {self.state.value}")
        following = next_step(self.step)
        if following is Step.DONE:
            return replace(self, step=Step.DONE, state=State.DONE, error="", started=now)
        return replace(self, step=following, state=State.RUNNING, error="", started=now)

    def fail(self, error: str) -> NodeProgress:
        """The current step failed; the node stays at that step so a retry re-runs it."""
        return replace(self, state=State.FAILED, error=error)

    def pause(self) -> NodeProgress:
        """Operator pause at a step boundary."""
        if self.finished:
            raise InvalidTransition(f"{self.node} is {self.state.value}; nothing to pause")
        return replace(self, state=State.PAUSED)

    def skip(self) -> NodeProgress:
        """The operator chose to leave this node as it is."""
        if self.state is State.DONE:
            raise InvalidTransition(f"{self.node} is already done")
        return replace(self, state=State.SKIPPED)

    def resume_step(self) -> Step:
        """The step to (re)run next: the recorded one, since every step is idempotent."""
        if self.step is Step.PENDING:
            return WORK_STEPS[0]
        return self.step

    def annotations(self) -> dict[str, str | None]:
        """The Node annotations recording this progress (None = remove)."""
        return {
            A_STEP: self.step.value,
            A_STATE: self.state.value,
            A_TARGET: self.target or None,
            A_RUN: self.run or None,
            A_ERROR: self.error[-2000:] if self.error else None,
            A_STARTED: self.started or None,
        }


def progress_from_annotations(node: str, annotations: dict[str, str] | None) -> NodeProgress:
    """Rebuild a node's progress from its annotations (unknown values read as pending)."""
    ann = annotations or {}
    try:
        step = Step(ann.get(A_STEP, Step.PENDING.value))
    except ValueError:
        step = Step.PENDING
    try:
        state = State(ann.get(A_STATE, State.PENDING.value))
    except ValueError:
        state = State.PENDING
    return NodeProgress(
        node=node,
        step=step,
        state=state,
        target=ann.get(A_TARGET, ""),
        run=ann.get(A_RUN, ""),
        error=ann.get(A_ERROR, ""),
        started=ann.get(A_STARTED, ""),
    )


def clear_annotations() -> dict[str, None]:
    """A merge-patch body fragment removing every upgrade annotation."""
    return {key: None for key in UPGRADE_ANNOTATIONS}


@dataclass
class RunBoard:
    """The run as a whole: every node's progress in plan order, and the run-level rules.

    The rule that matters: the run halts at the first failing node and touches no other node
    until the operator retries, skips or aborts.
    """

    order: list[list[str]]
    nodes: dict[str, NodeProgress] = field(default_factory=dict)

    def halted_on(self) -> list[str]:
        """Nodes whose failure halts the run (empty when the run may proceed)."""
        return [n for n, p in self.nodes.items() if p.state is State.FAILED]

    def next_batch(self) -> list[str]:
        """The next batch with unfinished nodes, or [] when everything is done or skipped."""
        for batch in self.order:
            todo = [n for n in batch if not self.nodes[n].finished]
            if todo:
                return todo
        return []

    def complete(self) -> bool:
        """Every node done or skipped."""
        return all(p.finished for p in self.nodes.values())

    def summary(self) -> dict[str, int]:
        """Counts per state, for status lines."""
        counts: dict[str, int] = {}
        for progress in self.nodes.values():
            counts[progress.state.value] = counts.get(progress.state.value, 0) + 1
        return counts
