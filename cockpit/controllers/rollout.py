"""Deployment rollout actions: status (kubectl rules), undo, pause, resume, restart.

Undo does exactly what ``kubectl rollout undo`` does: find the ReplicaSet carrying the wanted
``deployment.kubernetes.io/revision``, copy its pod template (minus ``pod-template-hash``) and
its annotations into the Deployment with one JSON patch. The deployment controller then sees a
template equal to the old ReplicaSet's and scales that ReplicaSet back up (it is reused, not
recreated). Our patch adds a ``test`` of ``metadata.resourceVersion`` so a Deployment edited
since the preview is never overwritten.
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cockpit.controllers.base import (
    ChangedSincePreview, Emitter, Reporter, is_owned_by, meta, split_target,
)
from cockpit.controllers.guard import ActionGuard
from cockpit.domain import rollout as rollout_view
from cockpit.errors import CockpitError
from cockpit.kube.errors import ApiError
from cockpit.kube.paths import path_for

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# Deployment annotations kubectl keeps from the Deployment instead of copying from the RS.
ANNOTATIONS_TO_SKIP = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
})


@dataclass
class RolloutResult:
    """The outcome of undo/pause/resume/restart.

    ``changed`` is False for no-ops (already paused, template already at that revision).
    ``before``/``after`` are small summaries (images, revision, paused) for the journal and UI.
    """

    action: str
    target: str
    ok: bool
    message: str
    changed: bool = True
    dry_run: bool = False
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    command: str = ""

    def journal_fields(self) -> dict[str, Any]:
        """What the guard writes in the ``result`` entry."""
        return {"ok": self.ok, "message": self.message, "changed": self.changed,
                "before": self.before, "after": self.after}


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


@dataclass
class UndoPlan:
    """Preview of an undo: from/to revision, images before/after and the exact patch."""

    target: str
    from_revision: int | None
    to_revision: int
    replicaset: str
    resource_version: str
    before: dict[str, Any]
    after: dict[str, Any]
    patch: list[dict[str, Any]]
    command: str
    noop_reason: str = ""

    @property
    def before_text(self) -> str:
        """e.g. ``"revision 2: checkout=registry.example/checkout:2.4.0-broken"``."""
        return f"revision {self.before.get('revision')}: {_images_text(self.before)}"

    @property
    def after_text(self) -> str:
        """The revision and images after the undo."""
        return f"revision {self.after.get('revision')}: {_images_text(self.after)}"


class RolloutController:
    """Rollout actions on Deployments. All mutating methods go through ``guard.run``."""

    def __init__(self, client, guard: ActionGuard, reporter: Reporter | None = None,
                 *, poll_interval: float = 0.2) -> None:
        self.client = client
        self.guard = guard
        self.reporter = reporter
        self.poll_interval = poll_interval

    # ----- status ----------------------------------------------------------------------

    async def status(self, target: str, *, wait: bool = False, timeout: float | None = None) -> RolloutStatus:
        """Rollout status by kubectl's rules; with ``wait``, poll until done/failed/timeout."""
        emit = Emitter(self.reporter, "status", target)
        deadline = None if timeout is None else time.monotonic() + timeout
        last = ""
        while True:
            status = await self._status_once(target)
            if status.message != last:
                emit("status", status.message, _level_of(status))
                last = status.message
            if not wait or status.done or status.failed:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                status.timed_out = True
                return status
            await asyncio.sleep(self.poll_interval)

    async def _status_once(self, target: str) -> RolloutStatus:
        namespace, name = split_target(target, "deployment")
        dep = await self._deployment(namespace, name)
        sets = await self._replicasets(dep)
        pods = await self._pods(dep)
        return build_status(target, dep, sets, pods)

    # ----- undo ------------------------------------------------------------------------

    async def plan_undo(self, target: str, to_revision: int | None = None) -> UndoPlan:
        """Preview ``kubectl rollout undo [--to-revision N]`` (raises CockpitError if impossible)."""
        namespace, name = split_target(target, "deployment")
        dep = await self._deployment(namespace, name)
        if (dep.get("spec") or {}).get("paused"):
            raise CockpitError(f"{target} is paused: resume it first (cockpit rollout resume {target}), then undo")
        sets = await self._replicasets(dep)
        rs = pick_revision(sets, to_revision)
        if rs is None:
            raise CockpitError(_no_revision_message(target, to_revision, sets))
        return make_undo_plan(target, dep, rs)

    async def undo(self, target: str, to_revision: int | None = None, *, dry_run: bool = False,
                   plan: UndoPlan | None = None) -> RolloutResult:
        """Roll back to ``plan`` (or a fresh plan for ``to_revision``; default the previous one)."""
        plan = plan or await self.plan_undo(target, to_revision)
        emit = Emitter(self.reporter, "undo", target)
        self.guard.preview("undo", target, before=plan.before, after=plan.after, command=plan.command,
                           to_revision=plan.to_revision, dry_run=dry_run)

        async def act() -> RolloutResult:
            if plan.noop_reason:
                emit("skip", plan.noop_reason, "ok")
                return self._result("undo", plan, dry_run, plan.noop_reason, changed=False)
            await self._apply_undo(plan, dry_run)
            message = f"rolled back {target} to revision {plan.to_revision} ({_images_text(plan.after)})"
            emit("write", ("[dry run] " if dry_run else "") + message, "ok")
            return self._result("undo", plan, dry_run, message)

        return await self.guard.run("undo", target, act, dry_run=dry_run, before=plan.before, after=plan.after)

    async def _apply_undo(self, plan: UndoPlan, dry_run: bool) -> None:
        namespace, name = split_target(plan.target)
        path = path_for("deployments", namespace, name)
        try:
            await self.client.patch(path, plan.patch, patch_type="json", dry_run=dry_run)
        except ApiError as exc:
            if exc.status in (409, 422):
                await self._raise_if_changed(plan, exc)
            raise

    async def _raise_if_changed(self, plan: UndoPlan, exc: ApiError) -> None:
        fresh = await self.plan_undo(plan.target, plan.to_revision)
        if fresh.resource_version != plan.resource_version:
            raise ChangedSincePreview(
                f"{plan.target} changed since the preview (resourceVersion {plan.resource_version} -> "
                f"{fresh.resource_version}); review the new preview and confirm again", plan=fresh) from exc

    def _result(self, action: str, plan: UndoPlan, dry_run: bool, message: str, changed: bool = True) -> RolloutResult:
        return RolloutResult(action, plan.target, True, message, changed, dry_run,
                             plan.before, plan.after if changed else plan.before, plan.command)

    # ----- pause / resume / restart ----------------------------------------------------

    async def pause(self, target: str, *, dry_run: bool = False) -> RolloutResult:
        """Pause the rollout (``spec.paused: true``); a no-op if already paused."""
        return await self._set_paused(target, True, dry_run)

    async def resume(self, target: str, *, dry_run: bool = False) -> RolloutResult:
        """Resume a paused rollout (``spec.paused: false``); a no-op if not paused."""
        return await self._set_paused(target, False, dry_run)

    async def _set_paused(self, target: str, paused: bool, dry_run: bool) -> RolloutResult:
        action = "pause" if paused else "resume"
        namespace, name = split_target(target, "deployment")
        dep = await self._deployment(namespace, name)
        before = {"paused": bool((dep.get("spec") or {}).get("paused"))}
        command = f"kubectl -n {namespace} rollout {action} deployment/{name}"
        emit = Emitter(self.reporter, action, target)

        async def act() -> RolloutResult:
            if before["paused"] == paused:
                message = f"{target} is already {'paused' if paused else 'not paused'}"
                emit("skip", message, "ok")
                return RolloutResult(action, target, True, message, False, dry_run, before, before, command)
            body = {"metadata": {"resourceVersion": meta(dep)["resourceVersion"]}, "spec": {"paused": paused}}
            await self._patch_merge(target, body, dry_run)
            message = f"{target} {'paused' if paused else 'resumed'}"
            emit("write", ("[dry run] " if dry_run else "") + message, "ok")
            return RolloutResult(action, target, True, message, True, dry_run, before, {"paused": paused}, command)

        return await self.guard.run(action, target, act, dry_run=dry_run, before=before, command=command)

    async def restart(self, target: str, *, dry_run: bool = False) -> RolloutResult:
        """Restart all pods with a new rollout (the ``restartedAt`` template annotation)."""
        namespace, name = split_target(target, "deployment")
        dep = await self._deployment(namespace, name)
        if (dep.get("spec") or {}).get("paused"):
            raise CockpitError(f"cannot restart paused deployment {target} (resume it first)")
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        before = {"restartedAt": _template_annotations(dep).get(RESTARTED_AT)}
        command = f"kubectl -n {namespace} rollout restart deployment/{name}"
        emit = Emitter(self.reporter, "restart", target)

        async def act() -> RolloutResult:
            body = {"metadata": {"resourceVersion": meta(dep)["resourceVersion"]},
                    "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
            await self._patch_merge(target, body, dry_run)
            message = f"{target} restarted (restartedAt {stamp})"
            emit("write", ("[dry run] " if dry_run else "") + message, "ok")
            return RolloutResult("restart", target, True, message, True, dry_run, before,
                                 {"restartedAt": stamp}, command)

        return await self.guard.run("restart", target, act, dry_run=dry_run, before=before, command=command)

    async def _patch_merge(self, target: str, body: dict, dry_run: bool) -> None:
        # The resourceVersion inside the merge patch makes the server reject (409) a write
        # based on a Deployment someone else changed since we read it.
        namespace, name = split_target(target)
        try:
            await self.client.patch(path_for("deployments", namespace, name), body, "merge", dry_run)
        except ApiError as exc:
            if exc.status == 409:
                raise ChangedSincePreview(f"{target} changed while we acted; look again and retry") from exc
            raise

    # ----- reads -----------------------------------------------------------------------

    async def _deployment(self, namespace: str, name: str) -> dict:
        return await self.client.get(path_for("deployments", namespace, name))

    async def _replicasets(self, dep: dict) -> list[dict]:
        namespace = meta(dep)["namespace"]
        listing = await self.client.list(path_for("replicasets", namespace), _selector_params(dep))
        return [rs for rs in listing.get("items") or [] if is_owned_by(rs, meta(dep)["uid"])]

    async def _pods(self, dep: dict) -> list[dict]:
        namespace = meta(dep)["namespace"]
        listing = await self.client.list(path_for("pods", namespace), _selector_params(dep))
        return listing.get("items") or []


# ----- pure helpers (no I/O) --------------------------------------------------------------


def build_status(target: str, dep: dict, sets: list[dict], pods: list[dict]) -> RolloutStatus:
    """Combine kubectl's status rules (domain/rollout.py) with failure diagnosis."""
    view = rollout_view.rollout_status(dep)
    health = rollout_view.diagnose(dep, sets, pods)
    previous = pick_revision(sets, None)
    return RolloutStatus(
        target=target, done=view.done, failed=view.failed or health.failing, message=view.message,
        revision=revision_of(dep), reasons=list(health.reasons),
        can_roll_back=previous is not None, previous_revision=revision_of(previous) if previous else None,
    )


def revision_of(obj: dict | None) -> int | None:
    """The ``deployment.kubernetes.io/revision`` annotation as an int, if any."""
    if not obj:
        return None
    try:
        return int((meta(obj).get("annotations") or {}).get(REVISION, ""))
    except ValueError:
        return None


def pick_revision(sets: list[dict], to_revision: int | None) -> dict | None:
    """The RS for ``to_revision``, or (None/0) the second-newest revision, as kubectl does."""
    numbered = [(rev, rs) for rs in sets if (rev := revision_of(rs)) is not None]
    if to_revision:
        return next((rs for rev, rs in numbered if rev == to_revision), None)
    numbered.sort(key=lambda pair: pair[0], reverse=True)
    return numbered[1][1] if len(numbered) >= 2 else None


def make_undo_plan(target: str, dep: dict, rs: dict) -> UndoPlan:
    """Build the JSON patch kubectl sends, plus a resourceVersion test for safety."""
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    (template.get("metadata") or {}).get("labels", {}).pop(TEMPLATE_HASH, None)
    annotations = _undo_annotations(dep, rs)
    rv = meta(dep)["resourceVersion"]
    patch = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "add", "path": "/metadata/annotations", "value": annotations},
    ]
    namespace, name = split_target(target)
    to_revision = revision_of(rs) or 0
    same = _strip_hash(template) == _strip_hash((dep.get("spec") or {}).get("template") or {})
    return UndoPlan(
        target=target, from_revision=revision_of(dep), to_revision=to_revision,
        replicaset=meta(rs)["name"], resource_version=rv,
        before=_summary(dep, (dep.get("spec") or {}).get("template") or {}),
        after={"revision": to_revision, "images": _images(template)},
        patch=patch, command=f"kubectl -n {namespace} rollout undo deployment/{name} --to-revision={to_revision}",
        noop_reason=f"skipped rollback (current template already matches revision {to_revision})" if same else "",
    )


def _undo_annotations(dep: dict, rs: dict) -> dict[str, str]:
    kept = {k: v for k, v in (meta(dep).get("annotations") or {}).items() if k in ANNOTATIONS_TO_SKIP}
    copied = {k: v for k, v in (meta(rs).get("annotations") or {}).items() if k not in ANNOTATIONS_TO_SKIP}
    return {**kept, **copied}


def _strip_hash(template: dict) -> dict:
    template = copy.deepcopy(template)
    (template.get("metadata") or {}).get("labels", {}).pop(TEMPLATE_HASH, None)
    return template


def _summary(dep: dict, template: dict) -> dict[str, Any]:
    return {"revision": revision_of(dep), "images": _images(template)}


def _images(template: dict) -> dict[str, str]:
    containers = ((template.get("spec") or {}).get("containers")) or []
    return {c.get("name", "?"): c.get("image", "?") for c in containers}


def _images_text(summary: dict[str, Any]) -> str:
    return ", ".join(f"{n}={i}" for n, i in (summary.get("images") or {}).items())


def _template_annotations(dep: dict) -> dict[str, str]:
    return (((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}


def _selector_params(dep: dict) -> dict[str, str] | None:
    match = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not match:
        return None
    return {"labelSelector": ",".join(f"{k}={v}" for k, v in sorted(match.items()))}


def _no_revision_message(target: str, to_revision: int | None, sets: list[dict]) -> str:
    known = sorted(r for rs in sets if (r := revision_of(rs)) is not None)
    if to_revision:
        return f"unable to find revision {to_revision} of {target} (known revisions: {known or 'none'})"
    return f"no rollout history found for {target}: there is no previous revision to roll back to"


def _level_of(status: RolloutStatus) -> str:
    if status.failed:
        return "error"
    return "ok" if status.done else "info"


__all__ = [
    "RolloutController", "RolloutResult", "RolloutStatus", "UndoPlan",
    "build_status", "pick_revision", "make_undo_plan", "revision_of",
]
