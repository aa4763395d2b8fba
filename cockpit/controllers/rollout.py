"""Deployment rollouts: status by kubectl's rules, and the undo/pause/resume/restart operations.

Each mutating action is an operation (see :mod:`cockpit.controllers.operation`): the preview
reads the Deployment (decoded into a record) and says exactly what will change; apply sends one
patch that carries the preview's resourceVersion, so a Deployment edited in between is a 409
and the driver shows the new plan instead of overwriting someone else's change.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cockpit.controllers.base import ChangedSincePreview, Check, Emitter, Reporter, split_target
from cockpit.controllers.operation import Plan, Result, Run, dry_run_result
from cockpit.domain import rollout as rollout_view
from cockpit.domain.records import DeploymentRecord, PodRecord, ReplicaSetRecord, decode
from cockpit.errors import CockpitError
from cockpit.kube.api import KubeApi, ObjectRef
from cockpit.kube.errors import ApiError
from cockpit.kube.paths import path_for
from cockpit.kube.typed import get_object, list_objects, list_records
from cockpit.kube.rollback import (RESTARTED_AT, paused_patch, restart_patch, spec_version, template_matches,
                                   undo_patch)

CHECK_NOT_PAUSED = "deployment not paused"


@dataclass
class RolloutStatus:
    """``kubectl rollout status`` for one Deployment, plus failure diagnosis.

    ``done``: successfully rolled out. ``failed``: the rollout will not finish by itself
    (progress deadline exceeded, or pods stuck in CrashLoopBackOff/ImagePullBackOff...);
    ``reasons`` says why and ``can_roll_back`` whether a previous revision exists.
    """

    target: str
    done: bool
    failed: bool
    message: str
    revision: int | None = None
    reasons: list[str] = field(default_factory=list)
    can_roll_back: bool = False
    previous_revision: int | None = None
    timed_out: bool = False


# ----- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentState:
    """A Deployment as read for a preview: the raw object (copied into writes) and its record."""

    raw: dict
    record: DeploymentRecord

    @property
    def ref(self) -> ObjectRef:
        """What the Kubernetes Event names."""
        return ObjectRef("Deployment", "apps/v1", self.record.name, self.record.namespace, self.record.uid)


async def read_deployment(api: KubeApi, target: str) -> DeploymentState:
    """GET the Deployment ``NS/NAME`` (raises ApiError, e.g. 404)."""
    namespace, name = split_target(target, "deployment")
    return DeploymentState(*await get_object(api, DeploymentRecord, path_for("deployments", namespace, name)))


async def owned_replicasets(api: KubeApi, dep: DeploymentRecord) -> list[tuple[dict, ReplicaSetRecord]]:
    """The ReplicaSets the Deployment controls (raw, to copy a template from, and decoded)."""
    raws = await list_objects(api, path_for("replicasets", dep.namespace), _selector_params(dep))
    pairs = [(raw, decode("replicasets", raw)) for raw in raws]
    return [(raw, rs) for raw, rs in pairs if rs.owner_uid == dep.uid]


async def deployment_pods(api: KubeApi, dep: DeploymentRecord) -> list[PodRecord]:
    """The pods the Deployment's selector matches."""
    return await list_records(api, PodRecord, path_for("pods", dep.namespace), _selector_params(dep))


def _selector_params(dep: DeploymentRecord) -> dict[str, str] | None:
    query = "" if dep.selector.selects_nothing else dep.selector.to_query()
    return {"labelSelector": query} if query else None


# ----- status -----------------------------------------------------------------------------------


async def rollout_status(api: KubeApi, target: str, reporter: Reporter | None = None, *, wait: bool = False,
                         timeout: float | None = None, poll_interval: float = 0.2) -> RolloutStatus:
    """Rollout status by kubectl's rules; with ``wait``, poll until done/failed/timeout."""
    emit = Emitter(reporter, "status", target)
    deadline = None if timeout is None else time.monotonic() + timeout
    last = ""
    while True:
        status = await _status_once(api, target)
        if status.message != last:
            emit("status", status.message, _level_of(status))
            last = status.message
        if not wait or status.done or status.failed:
            return status
        if deadline is not None and time.monotonic() >= deadline:
            status.timed_out = True
            return status
        await asyncio.sleep(poll_interval)


async def _status_once(api: KubeApi, target: str) -> RolloutStatus:
    dep = (await read_deployment(api, target)).record
    sets = [rs for _raw, rs in await owned_replicasets(api, dep)]
    return build_status(target, dep, sets, await deployment_pods(api, dep))


def build_status(target: str, dep: DeploymentRecord, sets: list[ReplicaSetRecord],
                 pods: list[PodRecord]) -> RolloutStatus:
    """Combine kubectl's status rules (domain/rollout.py) with failure diagnosis."""
    view = rollout_view.rollout_status(dep)
    health = rollout_view.diagnose(dep, sets, pods)
    previous = pick_revision(sets, None)
    return RolloutStatus(
        target=target, done=view.done, failed=view.failed or health.failing, message=view.message,
        revision=dep.revision or None, reasons=list(health.reasons),
        can_roll_back=previous is not None, previous_revision=previous.revision if previous else None,
    )


def pick_revision(sets: list[ReplicaSetRecord], to_revision: int | None) -> ReplicaSetRecord | None:
    """The RS for ``to_revision``, or (None/0) the second-newest revision, as kubectl does."""
    numbered = sorted((rs for rs in sets if rs.revision), key=lambda rs: rs.revision, reverse=True)
    if to_revision:
        return next((rs for rs in numbered if rs.revision == to_revision), None)
    return numbered[1] if len(numbered) >= 2 else None


def _level_of(status: RolloutStatus) -> str:
    if status.failed:
        return "error"
    return "ok" if status.done else "info"


# ----- operations -------------------------------------------------------------------------------


def images_text(images: dict[str, str]) -> str:
    """``checkout=registry.example/checkout:2.4.0``, comma separated."""
    return ", ".join(f"{name}={image}" for name, image in images.items())


def _images(containers: Any) -> dict[str, str]:
    return {c.name: c.image for c in containers}


def _not_paused(dep: DeploymentRecord, target: str, what: str) -> Check:
    detail = f"resume it first (cockpit rollout resume {target}), then {what}" if dep.paused else "running"
    return Check(CHECK_NOT_PAUSED, not dep.paused, detail)


class UndoOperation:
    """``kubectl rollout undo [--to-revision N]``: the previous (or given) revision's template back."""

    action = "undo"

    def __init__(self, api: KubeApi, target: str, to_revision: int | None = None) -> None:
        self.api = api
        self.target = target
        self.to_revision = to_revision

    async def preview(self) -> Plan[list[dict[str, Any]]]:
        """Find the revision's ReplicaSet and the exact patch; refuse a paused Deployment by check."""
        state = await read_deployment(self.api, self.target)
        dep = state.record
        if dep.paused:  # kubectl refuses to roll back a paused Deployment too
            return self._refused_while_paused(state)
        sets = await owned_replicasets(self.api, dep)
        wanted = pick_revision([rs for _raw, rs in sets], self.to_revision)
        if wanted is None:
            raise CockpitError(_no_revision_message(self.target, self.to_revision, [rs for _r, rs in sets]))
        raw_rs = next(raw for raw, rs in sets if rs.uid == wanted.uid)
        before = {"revision": dep.revision, "images": _images(dep.containers)}
        after = {"revision": wanted.revision, "images": _images(wanted.containers)}
        namespace, name = split_target(self.target)
        same = template_matches(state.raw, raw_rs)
        return Plan(
            action="undo", target=self.target, reason="RolloutUndone",
            title=f"roll {self.target} back to revision {wanted.revision}",
            before=f"revision {dep.revision}: {images_text(before['images'])}",
            after=f"revision {wanted.revision}: {images_text(after['images'])}",
            subject=state.ref,
            commands=(f"kubectl -n {namespace} rollout undo deployment/{name} --to-revision={wanted.revision}",),
            dry_run=f"PATCH deployments/{name}?dryRun=All (JSON patch: test generation and annotations, "
                    "replace template)",
            noop=f"skipped rollback (current template already matches revision {wanted.revision})" if same else "",
            version=spec_version(state.raw, with_annotations=True), before_state=before, after_state=after,
            spec=undo_patch(state.raw, raw_rs),
        )

    def _refused_while_paused(self, state: DeploymentState) -> Plan[list[dict[str, Any]]]:
        dep = state.record
        return Plan(action="undo", target=self.target, reason="RolloutUndone", title=f"roll {self.target} back",
                    before=f"revision {dep.revision} (paused)", after="unchanged", subject=state.ref,
                    checks=(_not_paused(dep, self.target, "undo"),), version=spec_version(state.raw, with_annotations=True))

    async def apply(self, plan: Plan[list[dict[str, Any]]], run: Run) -> Result:
        """Send the patch (dryRun=All in a dry run)."""
        namespace, name = split_target(self.target)
        try:
            await self.api.patch(path_for("deployments", namespace, name), plan.spec, "json", run.dry_run)
        except ApiError as exc:
            if exc.status in (409, 422):
                await _raise_if_moved(self, plan, exc)
            raise
        if run.dry_run:
            return dry_run_result(plan, f"the server accepted rolling {self.target} back ({plan.after})")
        message = f"rolled back {self.target} to {plan.after}"
        run.say("write", message, "ok")
        return Result("undo", self.target, True, message, before=plan.before_state, after=plan.after_state)


class SetPausedOperation:
    """``kubectl rollout pause|resume``: set ``spec.paused`` (a no-op when already so)."""

    def __init__(self, api: KubeApi, target: str, paused: bool) -> None:
        self.api = api
        self.target = target
        self.paused = paused
        self.action = "pause" if paused else "resume"

    async def preview(self) -> Plan[list[dict[str, Any]]]:
        """The paused flag before and after."""
        state = await read_deployment(self.api, self.target)
        namespace, name = split_target(self.target)
        word = "paused" if self.paused else "not paused"
        return Plan(
            action=self.action, target=self.target, reason="RolloutPaused" if self.paused else "RolloutResumed",
            title=f"{self.action} the rollout of {self.target}",
            before="paused" if state.record.paused else "not paused", after=word, subject=state.ref,
            commands=(f"kubectl -n {namespace} rollout {self.action} deployment/{name}",),
            dry_run=f"PATCH deployments/{name}?dryRun=All (JSON patch: test generation, spec.paused="
                    f"{str(self.paused).lower()})",
            noop=f"{self.target} is already {word}" if state.record.paused == self.paused else "",
            version=spec_version(state.raw), before_state={"paused": state.record.paused},
            after_state={"paused": self.paused}, spec=paused_patch(state.raw, self.paused),
        )

    async def apply(self, plan: Plan[list[dict[str, Any]]], run: Run) -> Result:
        """One JSON patch guarded by the preview's generation."""
        await _guarded_patch(self, plan, run)
        if run.dry_run:
            return dry_run_result(plan, f"the server accepted {plan.title}")
        message = f"{self.target} {'paused' if self.paused else 'resumed'}"
        run.say("write", message, "ok")
        return Result(self.action, self.target, True, message, before=plan.before_state, after=plan.after_state)


class RestartOperation:
    """``kubectl rollout restart``: a new rollout through the ``restartedAt`` template annotation."""

    action = "restart"

    def __init__(self, api: KubeApi, target: str) -> None:
        self.api = api
        self.target = target

    async def preview(self) -> Plan[list[dict[str, Any]]]:
        """The restart stamp the new template will carry; refused for a paused Deployment."""
        state = await read_deployment(self.api, self.target)
        dep = state.record
        namespace, name = split_target(self.target)
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Plan(
            action="restart", target=self.target, reason="RolloutRestarted",
            title=f"restart every pod of {self.target}",
            before=f"revision {dep.revision}: {dep.ready_replicas}/{dep.replicas} ready",
            after=f"a new rollout (template annotation {RESTARTED_AT}={stamp})", subject=state.ref,
            checks=(_not_paused(dep, self.target, "restart"),),
            commands=(f"kubectl -n {namespace} rollout restart deployment/{name}",),
            dry_run=f"PATCH deployments/{name}?dryRun=All (JSON patch: test generation, template annotation "
                    f"{RESTARTED_AT})",
            version=spec_version(state.raw), before_state={"revision": dep.revision},
            after_state={"restartedAt": stamp}, spec=restart_patch(state.raw, stamp),
        )

    async def apply(self, plan: Plan[list[dict[str, Any]]], run: Run) -> Result:
        """One JSON patch guarded by the preview's generation."""
        await _guarded_patch(self, plan, run)
        if run.dry_run:
            return dry_run_result(plan, f"the server accepted restarting {self.target}")
        message = f"{self.target} restarted ({plan.after})"
        run.say("write", message, "ok")
        return Result("restart", self.target, True, message, before=plan.before_state, after=plan.after_state)


async def _guarded_patch(operation: Any, plan: Plan[list[dict[str, Any]]], run: Run) -> None:
    # The patch's generation test makes the server refuse (422) a write based on a Deployment
    # whose spec someone changed since the preview (kube/rollback.py says why not resourceVersion).
    namespace, name = split_target(operation.target)
    try:
        await operation.api.patch(path_for("deployments", namespace, name), plan.spec, "json", run.dry_run)
    except ApiError as exc:
        if exc.status in (409, 422):
            await _raise_if_moved(operation, plan, exc)
        raise


async def _raise_if_moved(operation: Any, plan: Plan[Any], exc: ApiError) -> None:
    """After a conflict: a fresh preview for the driver to show, if the Deployment moved."""
    fresh = await operation.preview()
    if fresh.version != plan.version:
        raise ChangedSincePreview(
            f"{operation.target} changed since the preview ({plan.version} -> {fresh.version})",
            plan=fresh) from exc


def _no_revision_message(target: str, to_revision: int | None, sets: list[ReplicaSetRecord]) -> str:
    known = sorted(rs.revision for rs in sets if rs.revision)
    if to_revision:
        return f"unable to find revision {to_revision} of {target} (known revisions: {known or 'none'})"
    return f"no rollout history found for {target}: there is no previous revision to roll back to"
