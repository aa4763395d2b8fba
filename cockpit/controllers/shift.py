"""Weighted traffic shifts as one operation: set weights, nudge the canary, step a plan, abort.

The weights live on an HTTPRoute or an NGINX canary Ingress pair (:mod:`cockpit.kube.routers`). Every
write is a JSON patch whose ``test`` ops pin the weights previewed (or last written by this
plan), so a concurrent change of the split stops the action instead of being overwritten.

Modes (one ``ShiftOperation`` each):

* ``weights``: set the given backend weights (``stable``/``canary`` name the roles when no
  backend is called that, so ``--weights stable=90,canary=10`` works on any pair);
* ``nudge``: move N percentage points of the total weight to the canary (the pane's ``+``);
* ``step``: walk the canary through a plan (10, 25, 50, 100), one journaled ``step`` each, a
  readiness check before each and a pause between; steps at or below the canary's current
  share are skipped, so a plan never moves weight away from the canary; a failed step returns
  all traffic to stable. With an analysis gate the pause after each step below 100% is the
  window its analyses measure: a pass promotes, a failure aborts to stable at once, an
  inconclusive verdict holds the step (``held`` in the result);
* ``abort``: all traffic to the stable backend (never blocked by a readiness check).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from cockpit.controllers.analysis_gate import AnalysisGate, canary_args, with_gate_checks
from cockpit.controllers.base import ChangedSincePreview, Check, split_target
from cockpit.controllers.operation import Plan, Result, Run, dry_run_result
from cockpit.kube.routers import Router, router_for
from cockpit.domain.analysis import Phase
from cockpit.domain.records import EndpointSliceRecord
from cockpit.domain.traffic import endpoints_by_service, percentages
from cockpit.errors import UsageError
from cockpit.kube.api import KubeApi
from cockpit.kube.errors import ApiError
from cockpit.kube.paths import path_for
from cockpit.kube.typed import list_records

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
CHECK_READY = "backends with weight have ready endpoints"
ACTIONS = {"weights": ("shift", "TrafficShifted"), "nudge": ("shift", "TrafficShifted"),
           "step": ("shift-plan", "TrafficShifted"), "abort": ("shift-abort", "TrafficShiftAborted")}


@dataclass
class Backend:
    """One backend: declared weight, its share of the total, and the endpoints behind it."""

    name: str
    weight: int
    share: float
    ready: int
    total: int
    role: str = ""

    def text(self) -> str:
        """e.g. ``"api-canary 10 (10%) -> 2/2 ready [canary]"``."""
        role = f" [{self.role}]" if self.role else ""
        warn = "  <- NO READY ENDPOINTS" if self.weight > 0 and self.ready == 0 else ""
        return f"{self.name} {self.weight} ({self.share:.0f}%) -> {self.ready}/{self.total} ready{role}{warn}"


@dataclass
class TrafficView:
    """Declared weights of a route (or ingress pair) with ready endpoints per backend."""

    target: str
    kind: str
    backends: list[Backend]
    stable: str
    canary: str

    def weights(self) -> dict[str, int]:
        """Declared weights by backend name."""
        return {b.name: b.weight for b in self.backends}

    @property
    def canary_percent(self) -> float:
        """The canary's share of the total weight, in percent."""
        total = sum(b.weight for b in self.backends)
        return 100.0 * self.weights().get(self.canary, 0) / total if total else 0.0

    def text(self) -> str:
        """One line per backend."""
        return "\n".join(b.text() for b in self.backends)


@dataclass(frozen=True)
class ShiftStep:
    """One step of a plan: the canary percentage and the weights it sets."""

    index: int
    percent: int
    weights: dict[str, int]


@dataclass(frozen=True)
class ShiftSpec:
    """The shift's payload in its Plan."""

    mode: str
    kind: str
    stable: str
    canary: str
    before: dict[str, int]
    after: dict[str, int]
    steps: tuple[ShiftStep, ...] = ()
    skipped: tuple[int, ...] = ()
    pause: float = 0.0
    path: str = ""
    patch: list[dict[str, Any]] = field(default_factory=list)


async def traffic_view(api: KubeApi, target: str, kind: str = "httproute", *, stable: str | None = None,
                       canary: str | None = None) -> TrafficView:
    """Declared weights of ``target`` with the ready endpoints behind each backend (read only)."""
    namespace, name = split_target(target, kind)
    return await view_of(api, await router_for(api, kind, namespace, name), stable, canary)


async def view_of(api: KubeApi, router: Router, stable: str | None, canary: str | None) -> TrafficView:
    """The view of a router already read."""
    weights = router.weights()
    stable, canary = pick_roles(list(weights), stable, canary)
    backends = []
    for (name, weight), share in zip(weights.items(), percentages(list(weights.values()))):
        ready, count = await ready_endpoints(api, router.namespace, name)
        role = "stable" if name == stable else "canary" if name == canary else ""
        backends.append(Backend(name, weight, share, ready, count, role))
    return TrafficView(router.target, router.kind, backends, stable, canary)


async def ready_endpoints(api: KubeApi, namespace: str, service: str) -> tuple[int, int]:
    """(ready, total) endpoints in the EndpointSlices of ``service``."""
    records = await list_records(api, EndpointSliceRecord, path_for("endpointslices", namespace),
                                 {"labelSelector": f"{SERVICE_NAME_LABEL}={service}"})
    endpoints = endpoints_by_service(records).get((namespace, service), [])
    return sum(1 for e in endpoints if e.ready), len(endpoints)


class ShiftOperation:
    """A weighted shift of ``target`` (``NS/ROUTE``, or either Ingress of a canary pair): see the module docstring.

    Exactly one of ``weights``, ``nudge`` (percentage points), ``steps`` or ``abort`` says what to do.
    """

    def __init__(self, api: KubeApi, target: str, *, kind: str = "httproute", weights: dict[str, int] | None = None,
                 nudge: int | None = None, steps: list[int] | None = None, abort: bool = False, pause: float = 0.0,
                 stable: str | None = None, canary: str | None = None, gate: AnalysisGate | None = None) -> None:
        modes = [m for m, given in (("weights", weights), ("nudge", nudge), ("step", steps), ("abort", abort)) if given]
        if len(modes) != 1:
            raise UsageError("say what to shift: weights, a step plan or abort")
        if steps is not None:
            validate_steps(steps)
        self.api, self.target, self.kind, self.mode = api, target, kind, modes[0]
        self.action, self.reason = ACTIONS[self.mode]
        self.weights, self.nudge, self.steps, self.pause = weights or {}, nudge or 0, steps or [], pause
        self.stable, self.canary = stable, canary
        self.gate = gate

    # ----- preview --------------------------------------------------------------------------

    async def preview(self) -> Plan[ShiftSpec]:
        """Read the split and the endpoints behind it; build the plan for this mode."""
        namespace, name = split_target(self.target, self.kind)
        router = await router_for(self.api, self.kind, namespace, name)
        view = await view_of(self.api, router, self.stable, self.canary)
        if self.mode == "step":
            plan = self._step_plan(router, view)
            return await with_gate_checks(self.gate, plan, self._gate_args(plan.spec), self.pause) if self.gate else plan
        after = self._after(router, view)
        spec = ShiftSpec(self.mode, router.kind, view.stable, view.canary, view.weights(), after, path=router.path,
                         patch=router.patch(after))
        checks = () if self.mode == "abort" else (check_ready(view, [after]),)
        details = (f"stable   {view.stable}: {_ready_text(view, view.stable)}",) if self.mode == "abort" else ()
        return self._plan(router, view, spec, self._title(view), checks, (router.command(after),), details)

    def _after(self, router: Router, view: TrafficView) -> dict[str, int]:
        before = view.weights()
        if self.mode == "abort":
            return {b.name: (100 if b.name == view.stable else 0) for b in view.backends}
        wanted = nudged(view, self.nudge) if self.mode == "nudge" else resolve_names(view, self.weights)
        for name, weight in wanted.items():
            router.validate_weight(name, weight)
        return {**before, **wanted}

    def _title(self, view: TrafficView) -> str:
        if self.mode == "abort":
            return f"abort the shift of {self.target}: all traffic to {view.stable}"
        if self.mode == "nudge":
            return f"shift {self.nudge}% more of {self.target} to {view.canary}"
        return f"set the weights of {self.target}"

    def _step_plan(self, router: Router, view: TrafficView) -> Plan[ShiftSpec]:
        steps, skipped = plan_steps(view, self.steps)
        after = steps[-1].weights if steps else view.weights()
        spec = ShiftSpec("step", router.kind, view.stable, view.canary, view.weights(), after, tuple(steps),
                         tuple(skipped), self.pause, router.path)
        details = [f"step {s.index}/{len(steps)}: {view.canary} {s.percent}% ({weights_text(s.weights)})" for s in steps]
        if skipped:
            details.append(f"skipped  {', '.join(f'{p}%' for p in skipped)}: the canary already has "
                           f"{view.canary_percent:.0f}% (a plan never moves weight away from the canary)")
        details.append(f"between  steps: a readiness check, then a pause of {self.pause:g}s; "
                       f"a failed step returns all traffic to {view.stable}")
        checks = (check_ready(view, [s.weights for s in steps]),) if steps else ()
        commands = tuple(router.command(s.weights) for s in steps)
        title = f"step {view.canary} of {self.target} through {', '.join(f'{p}%' for p in self.steps)}"
        return self._plan(router, view, spec, title, checks, commands, tuple(details))

    def _plan(self, router: Router, view: TrafficView, spec: ShiftSpec, title: str, checks: tuple[Check, ...],
              commands: tuple[str, ...], details: tuple[str, ...]) -> Plan[ShiftSpec]:
        noop = ""
        if spec.after == spec.before:
            noop = (f"the canary {view.canary} already has {view.canary_percent:.0f}%: no step of the plan moves it "
                    "further" if self.mode == "step" else f"weights of {self.target} already {weights_text(spec.after)}")
        return Plan(action=self.action, target=self.target, title=title, before=weights_text(spec.before),
                    after=weights_text(spec.after), reason=self.reason, subject=router.subject, commands=commands,
                    checks=checks, details=tuple(f"backend  {b.text()}" for b in view.backends) + details, dry_run="the same JSON patch with dryRun=All (nothing changes)",
                    noop=noop, version=fingerprint(spec.before), before_state={"weights": spec.before},
                    after_state={"weights": spec.after}, spec=spec)

    # ----- apply ----------------------------------------------------------------------------

    async def apply(self, plan: Plan[Any], run: Run) -> Result:
        """Write the weights (or walk the steps); honour ``run.dry_run``."""
        spec: ShiftSpec = plan.spec
        if spec.mode == "step":
            return await self._run_steps(plan, run)
        await self._patch(plan, spec.path, spec.patch, run.dry_run)
        if run.dry_run:
            run.say("write", f"[dry run] the server accepted {weights_text(spec.after)}; nothing changed", "ok")
            return dry_run_result(plan, f"the server accepted the weights {weights_text(spec.after)}")
        run.say("write", f"weights {weights_text(spec.after)}", "ok")
        message = (f"aborted: all traffic of {self.target} on {spec.stable} ({weights_text(spec.after)})"
                   if spec.mode == "abort" else
                   f"weights of {self.target}: {weights_text(spec.before)} -> {weights_text(spec.after)}")
        return Result(self.action, self.target, True, message, before={"weights": spec.before},
                      after={"weights": spec.after}, details={"kind": spec.kind, "aborted": spec.mode == "abort"})

    async def _patch(self, plan: Plan[Any], path: str, patch: list[dict[str, Any]], dry_run: bool) -> None:
        try:
            await self.api.patch(path, patch, "json", dry_run)
        except ApiError as exc:
            if exc.status in (409, 422):
                fresh = await self.preview()
                if fresh.version != plan.version:
                    raise _moved(plan, fresh) from exc
            raise

    async def _run_steps(self, plan: Plan[Any], run: Run) -> Result:
        spec: ShiftSpec = plan.spec
        expected, done = spec.before, []
        for step in spec.steps:
            label = f"step {step.index}/{len(spec.steps)}"
            if done and spec.pause > 0 and not run.dry_run and self.gate is None:
                run.say("pause", f"pausing {spec.pause:g}s before the next step", "info")
                await asyncio.sleep(spec.pause)
            router = await self._router()
            if router.weights() != expected:
                return self._stopped(plan, done, expected, f"{label}: the weights were changed by someone else "
                                     f"({weights_text(router.weights())}); plan stopped, left as is")
            view = await view_of(self.api, router, spec.stable, spec.canary)
            check = check_ready(view, [step.weights])
            if not check.ok:
                return await self._abort(plan, run, done, f"{label} failed: {check.name}: {check.detail}")
            run.record("step", step=step.index, percent=step.percent, weights=step.weights, dry_run=run.dry_run,
                       endpoints={b.name: b.ready for b in view.backends})
            run.say(label, f"{spec.canary} {step.percent}%: {weights_text(step.weights)}", "info", weights=step.weights)
            try:
                await self.api.patch(router.path, router.patch(step.weights), "json", run.dry_run)
            except ApiError as exc:
                return await self._abort(plan, run, done, f"{label} failed: {exc}")
            done.append(step)
            expected = spec.before if run.dry_run else router.declared(step.weights)
            stopped = await self._analyse(plan, run, step, done)
            if stopped is not None:
                return stopped
        if run.dry_run:
            return dry_run_result(plan, f"the server accepted every step ({len(done)})")
        return Result(self.action, self.target, True, f"plan complete: {weights_text(expected)}",
                      before={"weights": spec.before}, after={"weights": expected},
                      details={"kind": spec.kind, "steps": _steps_json(done), "skipped": list(spec.skipped)})

    def _gate_args(self, spec: ShiftSpec) -> dict[str, str]:
        namespace, name = split_target(self.target, self.kind)
        return canary_args(namespace, name, spec.canary)

    async def _analyse(self, plan: Plan[Any], run: Run, step: ShiftStep, done: list[ShiftStep]) -> Result | None:
        """Gate a step on its analyses over the pause: None promotes, else the abort or the hold."""
        spec: ShiftSpec = plan.spec
        if self.gate is None or run.dry_run or step.percent >= 100:
            return None
        label = f"step {step.index}/{len(spec.steps)}"
        verdict = await self.gate.judge(self._gate_args(spec), spec.pause, run, label)
        if verdict.phase == Phase.SUCCESSFUL:
            return None
        if verdict.phase == Phase.FAILED:
            run.record_quietly("step", step="analysis-failed", reason=verdict.reason(), analysis=verdict.describe())
            result = await self._abort(plan, run, done, f"{label} failed: {verdict.reason()}")
        else:
            run.say("hold", f"{label} held at {weights_text(step.weights)}: {verdict.reason()}", "warn")
            run.record_quietly("step", step="held", reason=verdict.reason(), analysis=verdict.describe())
            result = self._stopped(plan, done, step.weights, f"held at {label} ({weights_text(step.weights)}): "
                                   f"{verdict.reason()}; promote or abort by hand")
            result.details["held"] = True
        result.details["analysis"] = verdict.describe()
        return result

    async def _router(self) -> Router:
        namespace, name = split_target(self.target, self.kind)
        return await router_for(self.api, self.kind, namespace, name)

    async def _abort(self, plan: Plan[Any], run: Run, done: list[ShiftStep], reason: str) -> Result:
        """A step failed: all traffic back to stable (journaled quietly: the recovery must happen)."""
        spec: ShiftSpec = plan.spec
        run.say("stop", reason, "error")
        try:
            router = await self._router()
            weights = {name: (100 if name == spec.stable else 0) for name in router.weights()}
            run.record_quietly("step", step="abort", reason=reason, weights=weights, dry_run=run.dry_run)
            await self.api.patch(router.path, router.patch(weights), "json", run.dry_run)
        except Exception as exc:  # noqa: BLE001 - say what is left and how to finish the abort
            message = (f"{reason}; could NOT return traffic to {spec.stable} ({exc}): "
                       f"run `cockpit shift {self.target} --kind {spec.kind} --abort`")
            run.say("abort", message, "error")
            return self._stopped(plan, done, done[-1].weights if done else spec.before, message)
        run.say("abort", f"all traffic back on {spec.stable}: {weights_text(weights)}", "warn")
        result = self._stopped(plan, done, weights, f"{reason}; traffic returned to {spec.stable}")
        result.details["aborted"] = True
        return result

    def _stopped(self, plan: Plan[Any], done: list[ShiftStep], now: dict[str, int], message: str) -> Result:
        spec: ShiftSpec = plan.spec
        return Result(self.action, self.target, False, message, dry_run=False, before={"weights": spec.before},
                      after={"weights": now}, details={"kind": spec.kind, "steps": _steps_json(done), "aborted": False})


# ----- pure helpers -----------------------------------------------------------------------

STABLE_HINTS = ("stable", "primary", "main", "blue", "prod")
CANARY_HINTS = ("canary", "preview", "green", "next", "new")


def pick_roles(names: list[str], stable: str | None = None, canary: str | None = None) -> tuple[str, str]:
    """Which backend is stable and which is canary: explicit, else by name, else by order."""
    for given in (stable, canary):
        if given and given not in names:
            raise UsageError(f"backend {given!r} is not in the route (backends: {', '.join(names)})")
    stable = stable or _by_hint(names, STABLE_HINTS, exclude=canary) or (names[0] if names else "")
    canary = canary or _by_hint(names, CANARY_HINTS, exclude=stable) or next((n for n in names if n != stable), "")
    return stable, canary


def _by_hint(names: list[str], hints: tuple[str, ...], exclude: str | None) -> str | None:
    for hint in hints:
        for name in names:
            if hint in name and name != exclude:
                return name
    return None


def resolve_names(view: TrafficView, weights: dict[str, int]) -> dict[str, int]:
    """Backend names as given; ``stable``/``canary`` name the roles unless a backend is called that."""
    names = view.weights()
    roles = {"stable": view.stable, "canary": view.canary}
    resolved = {(name if name in names else roles.get(name, name)): weight for name, weight in weights.items()}
    unknown = [n for n in resolved if n not in names]
    if unknown:
        raise UsageError(f"{view.target}: no backend named {', '.join(unknown)} "
                         f"(backends: {', '.join(names)}; stable and canary name the roles)")
    return resolved


def nudged(view: TrafficView, points: int) -> dict[str, int]:
    """Move ``points`` percentage points of the total weight from stable to canary."""
    weights = view.weights()
    total = sum(weights.values()) or 100
    canary = min(total, weights.get(view.canary, 0) + max(1, total * points // 100))
    return {view.stable: total - canary, view.canary: canary}


def plan_steps(view: TrafficView, percents: list[int]) -> tuple[list[ShiftStep], list[int]]:
    """The steps that move the canary further (numbered from 1), and the percentages skipped."""
    current = view.canary_percent
    kept = [p for p in percents if p > current]
    skipped = [p for p in percents if p <= current]
    others = {b.name: 0 for b in view.backends}
    steps = [ShiftStep(i, p, others | {view.stable: 100 - p, view.canary: p}) for i, p in enumerate(kept, 1)]
    return steps, skipped


def check_ready(view: TrafficView, afters: list[dict[str, int]]) -> Check:
    """Every backend that gets traffic (at any of ``afters``) has ready endpoints."""
    gets = [b for b in view.backends if any(after.get(b.name, 0) > 0 for after in afters)]
    empty = [b.name for b in gets if b.ready == 0]
    if empty:
        return Check(CHECK_READY, False, f"{', '.join(empty)} would get traffic but has no ready endpoints")
    return Check(CHECK_READY, True, ", ".join(f"{b.name} {b.ready} ready" for b in gets))


def validate_steps(steps: list[int]) -> None:
    """Raise UsageError unless ``steps`` is a non-empty list of percentages 0..100."""
    if not steps or any(not 0 <= s <= 100 for s in steps):
        raise UsageError(f"a plan is a list of canary percentages 0..100, got {steps}")


def weights_text(weights: dict[str, int]) -> str:
    """``api-stable=90, api-canary=10``."""
    return ", ".join(f"{n}={w}" for n, w in weights.items())


def fingerprint(weights: dict[str, int]) -> str:
    """What the driver compares to notice a split that moved (status-only writes do not count)."""
    return "weights " + ",".join(f"{n}={w}" for n, w in sorted(weights.items()))


def _ready_text(view: TrafficView, name: str) -> str:
    backend = next((b for b in view.backends if b.name == name), None)
    return f"{backend.ready}/{backend.total} endpoints ready" if backend else "not found"


def _steps_json(done: list[ShiftStep]) -> list[dict[str, Any]]:
    return [{"step": s.index, "percent": s.percent, "weights": s.weights} for s in done]


def _moved(plan: Plan[Any], fresh: Plan[Any]) -> ChangedSincePreview:
    return ChangedSincePreview(f"the weights of {plan.target} changed since the preview ({plan.before} -> "
                               f"{fresh.before}); nothing was changed, look again", plan=fresh)
