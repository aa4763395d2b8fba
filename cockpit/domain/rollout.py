"""Rollout state of a Deployment, by the same rules as ``kubectl rollout status``. Pure, no I/O.

kubectl's order (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go), first match wins:

1. ``metadata.generation > status.observedGeneration`` -> waiting for the spec update to be observed
2. Progressing condition with reason ``ProgressDeadlineExceeded`` -> failed
3. ``status.updatedReplicas < spec.replicas`` -> N out of M new replicas updated
4. ``status.replicas > status.updatedReplicas`` -> N old replicas pending termination
5. ``status.availableReplicas < status.updatedReplicas`` -> N of M updated replicas available
6. otherwise -> successfully rolled out

The cockpit adds a "Paused" state (spec.paused and not yet complete) and a *failing* signal
(:func:`diagnose`) that shows trouble before the progress deadline fires: pods waiting in
CrashLoopBackOff / ImagePullBackOff & co, a ReplicaFailure condition, Progressing=False.

Every function accepts records or raw API dicts (controllers hold raw objects).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Iterable

from msgspec import Struct

from cockpit.domain.records import DeploymentRecord, PodRecord, ReplicaSetRecord, decode

# Waiting reasons that mean "this will not get better on its own".
BAD_WAITING_REASONS = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "OOMKilled", "Error",
})


class RolloutState(StrEnum):
    """What the Rollouts pane shows in its state column."""

    PROGRESSING = "Progressing"
    COMPLETE = "Complete"
    PAUSED = "Paused"
    FAILED = "Failed"


class RolloutStatus(Struct, frozen=True):
    """``state`` + ``reason`` (e.g. ProgressDeadlineExceeded), kubectl's ``message``,
    ``step`` (observing, updating, terminating-old, waiting-available, complete, failed),
    ``progress`` 0.0..1.0, and ``done`` / ``failed`` as kubectl's exit would say."""

    state: RolloutState
    reason: str
    message: str
    step: str
    progress: float
    done: bool
    failed: bool


class Diagnosis(Struct, frozen=True):
    """``failing`` when something is wrong now; ``reasons`` are short lines for humans."""

    failing: bool
    reasons: tuple[str, ...] = ()


class RolloutView(Struct, frozen=True):
    """A Deployment with its status, diagnosis, current ReplicaSet, older ones and pods."""

    deployment: DeploymentRecord
    status: RolloutStatus
    diagnosis: Diagnosis
    new_replicaset: ReplicaSetRecord | None
    old_replicasets: tuple[ReplicaSetRecord, ...]
    pods: tuple[PodRecord, ...]


def rollout_status(dep: DeploymentRecord | dict) -> RolloutStatus:
    """The kubectl rollout-status verdict for one Deployment (plus Paused and a progress fraction)."""
    d = _as(dep, "deployments")
    name = d.name
    if d.generation > d.observed_generation:
        return _progressing(d, "observing", "Waiting for deployment spec update to be observed...")
    progressing = d.condition("Progressing")
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        return RolloutStatus(
            RolloutState.FAILED, "ProgressDeadlineExceeded",
            f'deployment "{name}" exceeded its progress deadline', "failed", progress(d), False, True,
        )
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if d.updated_replicas < d.replicas:
        text = f"{d.updated_replicas} out of {d.replicas} new replicas have been updated..."
        return _progressing(d, "updating", waiting + text)
    if d.status_replicas > d.updated_replicas:
        text = f"{d.status_replicas - d.updated_replicas} old replicas are pending termination..."
        return _progressing(d, "terminating-old", waiting + text)
    if d.available_replicas < d.updated_replicas:
        text = f"{d.available_replicas} of {d.updated_replicas} updated replicas are available..."
        return _progressing(d, "waiting-available", waiting + text)
    return RolloutStatus(
        RolloutState.COMPLETE, "", f'deployment "{name}" successfully rolled out', "complete", 1.0, True, False
    )


def _progressing(d: DeploymentRecord, step: str, message: str) -> RolloutStatus:
    if d.paused:
        message = f'deployment "{d.name}" is paused: {message}'
        return RolloutStatus(RolloutState.PAUSED, "DeploymentPaused", message, step, progress(d), False, False)
    return RolloutStatus(RolloutState.PROGRESSING, "", message, step, progress(d), False, False)


def progress(dep: DeploymentRecord | dict) -> float:
    """0..1: half for replicas updated, half for updated replicas available; capped below 1
    while old replicas remain or the spec update is not observed yet."""
    d = _as(dep, "deployments")
    desired = d.replicas
    if desired <= 0:
        return 1.0 if d.status_replicas == 0 else 0.5
    updated = min(d.updated_replicas, desired)
    available = min(d.available_replicas, d.updated_replicas, desired)
    value = (updated + available) / (2 * desired)
    unfinished = d.status_replicas > d.updated_replicas or d.generation > d.observed_generation
    return min(value, 0.99) if unfinished else value


def diagnose(
    dep: DeploymentRecord | dict,
    replicasets: Iterable[ReplicaSetRecord | dict] = (),
    pods: Iterable[PodRecord | dict] = (),
) -> Diagnosis:
    """Why a rollout is failing right now (even before its progress deadline).

    Looks at the pods of the newest ReplicaSet (all given pods when it is unknown), the
    ReplicaFailure and Progressing conditions.
    """
    d = _as(dep, "deployments")
    sets = [_as(rs, "replicasets") for rs in replicasets]
    pod_list = [_as(p, "pods") for p in pods]
    new_rs = new_replicaset(d, sets)
    if new_rs is not None:
        pod_list = [p for p in pod_list if p.owner_uid == new_rs.uid]
    reasons = list(_pod_reasons(pod_list)) + list(_condition_reasons(d))
    return Diagnosis(bool(reasons), tuple(reasons))


def _pod_reasons(pods: list[PodRecord]) -> Iterable[str]:
    counts: dict[str, int] = {}
    for pod in pods:
        reason = pod.waiting_reason.removeprefix("Init:")
        if reason in BAD_WAITING_REASONS and not pod.terminating:
            counts[pod.waiting_reason] = counts.get(pod.waiting_reason, 0) + 1
    for reason, count in sorted(counts.items()):
        yield f"{count} pod{'s' if count > 1 else ''} {reason}"


def _condition_reasons(d: DeploymentRecord) -> Iterable[str]:
    failure = d.condition("ReplicaFailure")
    if failure is not None and failure.status == "True":
        yield f"ReplicaFailure: {failure.reason or failure.message}"
    progressing = d.condition("Progressing")
    if progressing is not None and progressing.status == "False":
        yield f"{progressing.reason}: {progressing.message}".strip(": ")


def new_replicaset(
    dep: DeploymentRecord | dict, replicasets: Iterable[ReplicaSetRecord | dict]
) -> ReplicaSetRecord | None:
    """The Deployment's current ReplicaSet: owned by it, with the Deployment's revision
    (the deployment controller copies the revision annotation to the newest RS)."""
    d = _as(dep, "deployments")
    owned = [rs for rs in (_as(r, "replicasets") for r in replicasets) if rs.owner_uid == d.uid]
    if not owned:
        return None
    if d.revision:
        match = next((rs for rs in owned if rs.revision == d.revision), None)
        if match is not None:
            return match
    return max(owned, key=lambda rs: (rs.revision, rs.created or 0))


def rollout_view(
    dep: DeploymentRecord | dict,
    replicasets: Iterable[ReplicaSetRecord | dict] = (),
    pods: Iterable[PodRecord | dict] = (),
) -> RolloutView:
    """Everything an expanded Rollouts row shows. ``replicasets``/``pods`` may include
    unrelated objects: only those owned by the Deployment (and its ReplicaSets) are kept."""
    d = _as(dep, "deployments")
    owned = sorted(
        (rs for rs in (_as(r, "replicasets") for r in replicasets) if rs.owner_uid == d.uid),
        key=lambda rs: rs.revision, reverse=True,
    )
    set_uids = {rs.uid for rs in owned}
    own_pods = tuple(sorted(
        (p for p in (_as(p, "pods") for p in pods) if p.owner_uid in set_uids), key=lambda p: p.name
    ))
    new_rs = new_replicaset(d, owned)
    old = tuple(rs for rs in owned if rs is not new_rs)
    return RolloutView(d, rollout_status(d), diagnose(d, owned, own_pods), new_rs, old, own_pods)


_STATE_ORDER = {
    RolloutState.FAILED: 0, RolloutState.PROGRESSING: 2, RolloutState.PAUSED: 3, RolloutState.COMPLETE: 4,
}


def sort_key(status: RolloutStatus, dep: DeploymentRecord, diagnosis: Diagnosis | None = None) -> tuple:
    """Failed first, then failing, progressing, paused, complete; then namespace/name."""
    rank = _STATE_ORDER[status.state]
    if diagnosis is not None and diagnosis.failing and rank > 0:
        rank = 1
    return (rank, dep.namespace, dep.name)


def _as(obj: Any, kind: str) -> Any:
    return decode(kind, obj) if isinstance(obj, dict) else obj
