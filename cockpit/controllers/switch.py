"""Atomic blue/green switch of a Service's selector, checked before and verified after.

preview -> (user confirms) -> switch:

1. ``preview`` reads the Service, works out the colour label and the target colour, and checks
   the preconditions by name (target Deployment fully rolled out, ready target pods for every
   Service port, target pods expose the Service's target ports).
2. ``switch`` re-reads the Service: if its resourceVersion moved since the preview it raises
   ``ChangedSincePreview`` with a fresh preview (never overwrite someone else's change). It
   re-checks the preconditions, then PUTs the previewed object with the new selector; the PUT
   carries the preview's resourceVersion, so a concurrent edit in between is a 409, not a lost
   update.
3. Verification: within ``verify_timeout`` the Service's EndpointSlices must list only
   target-colour pods (at least one ready) and none of the old colour. Otherwise the selector
   is switched back at once and ``ActionFailed`` explains why. The old colour keeps running.
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass, field
from typing import Any

from cockpit.controllers.base import (
    ActionFailed, ChangedSincePreview, Check, Emitter, PreconditionFailed, Reporter, failed_checks,
    labels_match, meta, pod_is_ready, selector_string, split_target,
)
from cockpit.controllers.guard import ActionGuard
from cockpit.domain.records import decode
from cockpit.domain.rollout import rollout_status
from cockpit.domain.traffic import DEFAULT_LABEL_KEYS, endpoints_by_service, pair_label
from cockpit.errors import UsageError
from cockpit.kube.errors import ApiError
from cockpit.kube.paths import path_for

SERVICE_NAME_LABEL = "kubernetes.io/service-name"

CHECK_TARGET_EXISTS = "target deployment exists"
CHECK_ROLLED_OUT = "target fully rolled out"
CHECK_PORTS = "target pods expose service ports"
CHECK_ENDPOINTS = "target has ready endpoints"
CHECK_UNCHANGED = "service unchanged since preview"


@dataclass
class SwitchPlan:
    """The previewed switch: exact selector change, checks, equivalent command."""

    target: str
    colour_key: str
    from_colour: str | None
    to_colour: str
    selector_before: dict[str, str]
    selector_after: dict[str, str]
    resource_version: str
    deployments: list[str]
    checks: list[Check]
    command: str
    ready_by_colour: dict[str, int] = field(default_factory=dict)
    service: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """All preconditions hold."""
        return not failed_checks(self.checks)

    @property
    def noop(self) -> bool:
        """The Service already selects the target colour."""
        return self.selector_before == self.selector_after

    @property
    def before_text(self) -> str:
        """e.g. ``"selector app=web,color=blue (3 ready blue pods)"``."""
        return _selector_text(self.selector_before, self.from_colour, self.ready_by_colour)

    @property
    def after_text(self) -> str:
        """e.g. ``"selector app=web,color=green (3 ready green pods)"``."""
        return _selector_text(self.selector_after, self.to_colour, self.ready_by_colour)

    def journal_fields(self) -> dict[str, Any]:
        """The preview as journaled (without the raw Service)."""
        return {"before": {"selector": self.selector_before}, "after": {"selector": self.selector_after},
                "from_colour": self.from_colour, "to_colour": self.to_colour, "command": self.command,
                "resource_version": self.resource_version, "checks": self.checks,
                "ready_by_colour": self.ready_by_colour}


@dataclass
class SwitchResult:
    """Outcome of a switch. ``ok`` False means it was rolled back (see ``reason``)."""

    target: str
    ok: bool
    message: str
    from_colour: str | None
    to_colour: str
    selector_before: dict[str, str]
    selector_after: dict[str, str]
    changed: bool = True
    dry_run: bool = False
    verified: bool = False
    rolled_back: bool = False
    reason: str = ""
    endpoints: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    command: str = ""

    def journal_fields(self) -> dict[str, Any]:
        """What the guard writes in the ``result`` / ``failure`` entry."""
        current = self.selector_before if self.rolled_back else self.selector_after
        return {"ok": self.ok, "message": self.message, "changed": self.changed, "verified": self.verified,
                "rolled_back": self.rolled_back, "reason": self.reason, "endpoints": self.endpoints,
                "before": {"selector": self.selector_before}, "after": {"selector": current},
                "seconds": round(self.seconds, 3)}


@dataclass
class EndpointState:
    """What the Service's EndpointSlices list right now, by colour."""

    ready: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)

    def only(self, colour: str) -> bool:
        """At least one ready endpoint of ``colour`` and no endpoint of any other colour."""
        others = any(n for c, n in self.total.items() if c != colour)
        return self.ready.get(colour, 0) > 0 and not others

    def text(self) -> str:
        """e.g. ``"green 3/3 ready, blue 0/1"``."""
        return ", ".join(f"{c} {self.ready.get(c, 0)}/{n} ready" for c, n in sorted(self.total.items())) or "none"


class SwitchController:
    """Blue/green Service selector switches (and switching back)."""

    def __init__(self, client, guard: ActionGuard, reporter: Reporter | None = None, *,
                 verify_timeout: float = 30.0, poll_interval: float = 0.1) -> None:
        self.client = client
        self.guard = guard
        self.reporter = reporter
        self.verify_timeout = verify_timeout
        self.poll_interval = poll_interval
        self._previous: dict[str, str] = {}  # target -> colour we last switched away from

    # ----- preview ---------------------------------------------------------------------

    async def preview(self, target: str, to_colour: str | None = None) -> SwitchPlan:
        """Read the Service and the colours behind it; check the preconditions by name.

        ``to_colour`` None picks the other colour when there are exactly two.
        """
        namespace, name = split_target(target, "service")
        service = await self.client.get(path_for("services", namespace, name))
        deployments = await self._list("deployments", namespace)
        pods = await self._list("pods", namespace)
        return build_plan(target, service, deployments, pods, to_colour)

    async def preview_switch_back(self, target: str) -> SwitchPlan:
        """Preview switching back to the colour the last switch moved away from."""
        return await self.preview(target, self._previous.get(target))

    # ----- switch ----------------------------------------------------------------------

    async def switch(self, plan: SwitchPlan, *, dry_run: bool = False,
                     verify_timeout: float | None = None, drill_verify_failure: bool = False) -> SwitchResult:
        """Apply a previewed switch, verify it, and switch back by itself if verification fails.

        ``drill_verify_failure`` (game days, tests) treats verification as failed to exercise
        the automatic switch back. Raises PreconditionFailed, ChangedSincePreview, ActionFailed.
        """
        self.guard.preview("switch", plan.target, dry_run=dry_run, **plan.journal_fields())
        timeout = self.verify_timeout if verify_timeout is None else verify_timeout

        async def act() -> SwitchResult:
            return await self._switch(plan, dry_run, timeout, drill_verify_failure)

        return await self.guard.run("switch", plan.target, act, dry_run=dry_run,
                                    before={"selector": plan.selector_before},
                                    after={"selector": plan.selector_after},
                                    from_colour=plan.from_colour, to_colour=plan.to_colour)

    async def _switch(self, plan: SwitchPlan, dry_run: bool, timeout: float, drill: bool) -> SwitchResult:
        emit = Emitter(self.reporter, "switch", plan.target)
        started = time.monotonic()
        if not plan.ok and not plan.noop:  # never act on a preview that showed a failed check
            raise PreconditionFailed(_refusal(plan, failed_checks(plan.checks)), plan.checks)
        fresh = await self._recheck(plan, emit)
        if fresh.noop:
            emit("skip", f"{plan.target} already selects {plan.to_colour}", "ok")
            return _result(plan, True, f"{plan.target} already selects {plan.to_colour}", changed=False,
                           dry_run=dry_run)
        await self._write_selector(plan, plan.service, plan.selector_after, dry_run)
        if dry_run:
            message = f"[dry run] server accepted switching {plan.target} to {plan.to_colour}"
            emit("write", message, "ok")
            return _result(plan, True, message, dry_run=True)
        emit("write", f"selector set to {selector_string(plan.selector_after)}", "info")
        ok, state, reason = await self._verify(plan, timeout, drill, emit)
        if ok:
            self._previous[plan.target] = plan.from_colour or ""
            message = f"switched {plan.target} to {plan.to_colour}; endpoints: {state.text()}"
            emit("verify", message, "ok")
            return _result(plan, True, message, verified=True, endpoints=state.ready,
                           seconds=time.monotonic() - started)
        return await self._switch_back_after_failure(plan, reason, state, emit, started)

    async def _recheck(self, plan: SwitchPlan, emit: Emitter) -> SwitchPlan:
        """Refuse if the Service moved since the preview or a precondition no longer holds."""
        fresh = await self.preview(plan.target, plan.to_colour)
        if fresh.resource_version != plan.resource_version:
            emit("check", f"{CHECK_UNCHANGED}: resourceVersion {plan.resource_version} -> "
                          f"{fresh.resource_version}", "error")
            raise _changed(plan, fresh)
        fresh.checks.append(Check(CHECK_UNCHANGED, True, f"resourceVersion {plan.resource_version}"))
        bad = failed_checks(fresh.checks)
        for check in fresh.checks:
            emit("check", f"{check.name}: {check.detail}", "ok" if check.ok else "error")
        if bad and not fresh.noop:
            raise PreconditionFailed(_refusal(plan, bad), fresh.checks)
        return fresh

    async def _write_selector(self, plan: SwitchPlan, service: dict, selector: dict[str, str],
                              dry_run: bool) -> dict:
        # PUT the object we previewed: its resourceVersion makes a concurrent edit a 409.
        body = copy.deepcopy(service)
        body.setdefault("spec", {})["selector"] = dict(selector)
        namespace, name = split_target(plan.target)
        try:
            return await self.client.replace(path_for("services", namespace, name), body, dry_run=dry_run)
        except ApiError as exc:
            if exc.status == 409:
                raise _changed(plan, await self.preview(plan.target, plan.to_colour)) from exc
            raise

    # ----- verification and automatic switch back --------------------------------------

    async def _verify(self, plan: SwitchPlan, timeout: float, drill: bool,
                      emit: Emitter) -> tuple[bool, EndpointState, str]:
        deadline = time.monotonic() + timeout
        state, last = EndpointState(), ""
        while True:
            state = await self.endpoint_state(plan.target, plan.colour_key)
            if state.text() != last:
                emit("verify", f"endpoints: {state.text()}", "info", ready=state.ready, total=state.total)
                last = state.text()
            if drill:
                return False, state, "verification drill: failure injected on request"
            if state.only(plan.to_colour):
                return True, state, ""
            if time.monotonic() >= deadline:
                return False, state, (f"after {timeout:g}s the endpoints are {state.text()}, "
                                      f"expected only ready {plan.to_colour} pods")
            await asyncio.sleep(self.poll_interval)

    async def _switch_back_after_failure(self, plan: SwitchPlan, reason: str, state: EndpointState,
                                         emit: Emitter, started: float) -> SwitchResult:
        emit("rollback", f"verification failed ({reason}); switching back to {plan.from_colour}", "error")
        rolled_back, note, state = await self._restore_selector(plan, reason, state, emit)
        verdict = "was switched back" if rolled_back else "could NOT be switched back"
        result = _result(plan, False, f"switch of {plan.target} to {plan.to_colour} failed and {verdict}: "
                                      f"{reason}{note}", rolled_back=rolled_back, reason=reason + note,
                         endpoints=state.ready, seconds=time.monotonic() - started)
        raise ActionFailed(result.message, result)

    async def _restore_selector(self, plan: SwitchPlan, reason: str, state: EndpointState,
                                emit: Emitter) -> tuple[bool, str, EndpointState]:
        """Put the previous selector back unless someone else changed it meanwhile."""
        namespace, name = split_target(plan.target)
        current = await self.client.get(path_for("services", namespace, name))
        if (current.get("spec") or {}).get("selector") != plan.selector_after:
            # Someone else changed the selector meanwhile: do not fight them, report instead.
            return False, "; the selector was changed by someone else meanwhile, left as is", state
        self.guard.record("switch", plan.target, "rollback", reason=reason,
                          before={"selector": plan.selector_after}, after={"selector": plan.selector_before})
        try:
            await self._write_selector(plan, current, plan.selector_before, False)
        except ChangedSincePreview:
            return False, "; the Service changed concurrently while switching back", state
        emit("rollback", f"selector restored to {selector_string(plan.selector_before)}", "warn")
        back_ok, back_state, _ = await self._verify(_reverse(plan), self.verify_timeout, False, emit)
        note = "" if back_ok else f"; after switching back the endpoints are {back_state.text()}"
        return True, note, back_state

    async def endpoint_state(self, target: str, colour_key: str) -> EndpointState:
        """Count the Service's EndpointSlice endpoints by the colour label of their pods."""
        namespace, name = split_target(target, "service")
        slices = await self._list("endpointslices", namespace, {"labelSelector": f"{SERVICE_NAME_LABEL}={name}"})
        colours = {meta(p)["name"]: (meta(p).get("labels") or {}).get(colour_key, "?")
                   for p in await self._list("pods", namespace)}
        records = [decode("endpointslices", s) for s in slices]
        state = EndpointState()
        for ep in endpoints_by_service(records).get((namespace, name), []):
            colour = colours.get(ep.target_name, "?")
            state.total[colour] = state.total.get(colour, 0) + 1
            if ep.ready:
                state.ready[colour] = state.ready.get(colour, 0) + 1
        return state

    async def _list(self, kind: str, namespace: str, params: dict | None = None) -> list[dict]:
        return (await self.client.list(path_for(kind, namespace), params)).get("items") or []


# ----- pure planning (no I/O) -------------------------------------------------------------


def build_plan(target: str, service: dict, deployments: list[dict], pods: list[dict],
               to_colour: str | None) -> SwitchPlan:
    """Work out the switch and its precondition checks from raw objects."""
    selector = dict((service.get("spec") or {}).get("selector") or {})
    key, colours = colour_key_of(service, deployments)
    from_colour = selector.get(key)
    to_colour = to_colour or _other_colour(target, from_colour, colours)
    after = {**selector, key: to_colour}
    targets = [d for d in deployments if labels_match(_template_labels(d), after)]
    checks = [_check_exists(to_colour, targets, colours), _check_rolled_out(targets),
              _check_ports(service, targets), _check_endpoints(service, after, pods)]
    namespace, name = split_target(target)
    return SwitchPlan(
        target=target, colour_key=key, from_colour=from_colour, to_colour=to_colour,
        selector_before=selector, selector_after=after, resource_version=meta(service).get("resourceVersion", ""),
        deployments=[meta(d)["name"] for d in targets], checks=checks,
        command=f"kubectl -n {namespace} patch service {name} --type=merge -p "
                f"'{{\"spec\":{{\"selector\":{{\"{key}\":\"{to_colour}\"}}}}}}'",
        ready_by_colour=_ready_by_colour(selector, key, pods), service=service,
    )


def colour_key_of(service: dict, deployments: list[dict]) -> tuple[str, list[str]]:
    """The selector label naming the colour, and the colours found behind the Service.

    Uses the Traffic pane's pair detection (domain/traffic.py); a Service with a colour label
    but a single colour deployed is still switchable (the target check will say what is missing).
    """
    record = decode("services", service)
    found = pair_label(record, [decode("deployments", d) for d in deployments])
    if found is not None:
        key, by_value = found
        return key, sorted(by_value)
    for key in DEFAULT_LABEL_KEYS:
        if key in record.selector:
            return key, [record.selector[key]]
    raise UsageError(f"the Service selector {selector_string(record.selector) or '(empty)'} has no colour label "
                     f"({', '.join(DEFAULT_LABEL_KEYS)}): not a blue/green Service")


def _other_colour(target: str, current: str | None, colours: list[str]) -> str:
    others = [c for c in colours if c != current]
    if len(others) != 1:
        raise UsageError(f"{target}: say which colour to switch to (--to); colours found: {', '.join(colours) or 'none'}")
    return others[0]


def _template_labels(dep: dict) -> dict[str, str]:
    return (((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def _check_exists(colour: str, targets: list[dict], colours: list[str]) -> Check:
    if targets:
        return Check(CHECK_TARGET_EXISTS, True, ", ".join(meta(d)["name"] for d in targets))
    return Check(CHECK_TARGET_EXISTS, False, f"no Deployment has pods labelled {colour} "
                                             f"(colours found: {', '.join(colours) or 'none'})")


def _check_rolled_out(targets: list[dict]) -> Check:
    if not targets:
        return Check(CHECK_ROLLED_OUT, False, "no target Deployment")
    problems = [p for d in targets if (p := _rollout_problem(d))]
    if problems:
        return Check(CHECK_ROLLED_OUT, False, "; ".join(problems))
    return Check(CHECK_ROLLED_OUT, True, ", ".join(_replica_text(d) for d in targets))


def _rollout_problem(dep: dict) -> str:
    """Why a Deployment is not fully rolled out ('' when it is): updated=ready=available=desired."""
    # kubectl's rules first (they cover observedGeneration), then stricter: every desired
    # replica must also be ready, since the switch sends all traffic there at once.
    verdict = rollout_status(dep)
    if not verdict.done:
        return verdict.message
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    desired = spec.get("replicas", 1)
    counts = [status.get(f"{k}Replicas", 0) or 0 for k in ("updated", "ready", "available")]
    if desired < 1:
        return f"{meta(dep)['name']}: scaled to 0"
    if any(v != desired for v in counts):
        return _replica_text(dep)
    return ""


def _replica_text(dep: dict) -> str:
    status = dep.get("status") or {}
    desired = (dep.get("spec") or {}).get("replicas", 1)
    return (f"{meta(dep)['name']} desired {desired}, updated {status.get('updatedReplicas', 0)}, "
            f"ready {status.get('readyReplicas', 0)}, available {status.get('availableReplicas', 0)}")


def _service_ports(service: dict) -> list[dict]:
    return (service.get("spec") or {}).get("ports") or []


def _target_port(port: dict) -> int | str:
    return port.get("targetPort", port.get("port"))


def _container_ports(pod_spec: dict) -> list[dict]:
    return [p for c in pod_spec.get("containers") or [] for p in c.get("ports") or []]


def _exposes(pod_spec: dict, target_port: int | str) -> bool:
    ports = _container_ports(pod_spec)
    if isinstance(target_port, str) and not target_port.isdigit():
        return any(p.get("name") == target_port for p in ports)
    return any(p.get("containerPort") == int(target_port) for p in ports)


def _check_ports(service: dict, targets: list[dict]) -> Check:
    wanted = [_target_port(p) for p in _service_ports(service)]
    if not targets:
        return Check(CHECK_PORTS, False, "no target Deployment")
    missing = [f"{meta(d)['name']} lacks port {t}" for d in targets for t in wanted
               if not _exposes(((d.get("spec") or {}).get("template") or {}).get("spec") or {}, t)]
    if missing:
        return Check(CHECK_PORTS, False, "; ".join(missing))
    return Check(CHECK_PORTS, True, "target ports " + ", ".join(str(t) for t in wanted))


def _check_endpoints(service: dict, selector: dict[str, str], pods: list[dict]) -> Check:
    # The Service's own slices still point at the old colour, so compute what the slices
    # WILL contain from the target pods: ready pods that serve each Service port.
    ready = [p for p in pods if labels_match(meta(p).get("labels"), selector) and pod_is_ready(p)]
    counts = []
    for port in _service_ports(service):
        serving = sum(1 for p in ready if _exposes(p.get("spec") or {}, _target_port(port)))
        counts.append((port.get("port"), _target_port(port), serving))
    empty = [f"port {p}->{t}: 0 ready pods" for p, t, n in counts if n == 0]
    if not counts:
        return Check(CHECK_ENDPOINTS, False, "the Service has no ports")
    if empty:
        return Check(CHECK_ENDPOINTS, False, "; ".join(empty))
    return Check(CHECK_ENDPOINTS, True, ", ".join(f"port {p}->{t}: {n} ready" for p, t, n in counts))


def _ready_by_colour(selector: dict[str, str], key: str, pods: list[dict]) -> dict[str, int]:
    base = {k: v for k, v in selector.items() if k != key}
    counts: dict[str, int] = {}
    for pod in pods:
        labels = meta(pod).get("labels") or {}
        if base and labels_match(labels, base) and key in labels and pod_is_ready(pod):
            counts[labels[key]] = counts.get(labels[key], 0) + 1
    return counts


def _selector_text(selector: dict[str, str], colour: str | None, ready: dict[str, int]) -> str:
    return f"selector {selector_string(selector)} ({ready.get(colour or '', 0)} ready {colour} pods)"


def _reverse(plan: SwitchPlan) -> SwitchPlan:
    return SwitchPlan(plan.target, plan.colour_key, plan.to_colour, plan.from_colour or "",
                      plan.selector_after, plan.selector_before, "", [], [], plan.command)


def _changed(plan: SwitchPlan, fresh: SwitchPlan) -> ChangedSincePreview:
    # The fresh plan is the new baseline (its own checks only); the failed "unchanged" check
    # belongs to the refused attempt.
    moved = Check(CHECK_UNCHANGED, False, f"resourceVersion {plan.resource_version} -> {fresh.resource_version}")
    return ChangedSincePreview(
        f"{plan.target} changed since the preview (selector now {selector_string(fresh.selector_before)}); "
        "review the new preview and confirm again", plan=fresh, checks=[*fresh.checks, moved])


def _refusal(plan: SwitchPlan, bad: list[Check]) -> str:
    names = "; ".join(f"{c.name}: {c.detail}" for c in bad)
    return f"refusing to switch {plan.target} to {plan.to_colour}: {names}"


def _result(plan: SwitchPlan, ok: bool, message: str, **kwargs: Any) -> SwitchResult:
    return SwitchResult(plan.target, ok, message, plan.from_colour, plan.to_colour,
                        plan.selector_before, plan.selector_after, command=plan.command, **kwargs)
