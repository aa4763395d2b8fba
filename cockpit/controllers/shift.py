"""Weighted traffic shifts: Gateway API HTTPRoute backendRefs weights and NGINX ingress canaries.

Two routers behind one interface (``Router``): each reads the declared weights of its
backends and writes new ones with a JSON patch whose ``test`` ops pin the weights we
previewed, so a concurrent change of the split is refused (422) instead of overwritten, while
unrelated writes (a gateway controller updating status) do not get in the way.

``ShiftController`` offers: ``view`` (declared weights next to the ready endpoints behind each
backend, so a split that points at nothing is obvious), ``preview``/``set_weights``,
``run_plan`` (e.g. 10, 25, 50, 100 with a readiness check before each step and a pause between
steps) and ``abort`` (all traffic back to the stable backend: 100/0).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cockpit.controllers.base import (
    ActionFailed, ChangedSincePreview, Check, Emitter, PreconditionFailed, Reporter, failed_checks,
    split_target,
)
from cockpit.controllers.guard import ActionGuard
from cockpit.domain.records import decode
from cockpit.domain.traffic import endpoints_by_service, percentages
from cockpit.errors import UsageError
from cockpit.kube.errors import ApiError
from cockpit.kube.paths import path_for

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
CHECK_READY = "backends with weight have ready endpoints"
CHECK_KNOWN = "backends exist in the route"


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

    def text(self) -> str:
        """One line per backend."""
        return "\n".join(b.text() for b in self.backends)


@dataclass
class ShiftPlan:
    """A previewed weight change: before/after weights, checks and the equivalent command."""

    target: str
    kind: str
    before: dict[str, int]
    after: dict[str, int]
    checks: list[Check]
    command: str
    view: TrafficView
    path: str = ""
    patch: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        """All checks hold."""
        return not failed_checks(self.checks)

    @property
    def before_text(self) -> str:
        """e.g. ``"api-stable=90, api-canary=10"``."""
        return _weights_text(self.before)

    @property
    def after_text(self) -> str:
        """The weights after the change."""
        return _weights_text(self.after)

    def journal_fields(self) -> dict[str, Any]:
        """The preview as journaled."""
        return {"kind": self.kind, "before": {"weights": self.before}, "after": {"weights": self.after},
                "checks": self.checks, "command": self.command,
                "endpoints": {b.name: b.ready for b in self.view.backends}}


@dataclass
class ShiftResult:
    """Outcome of set_weights / run_plan / abort."""

    target: str
    kind: str
    ok: bool
    message: str
    before: dict[str, int]
    after: dict[str, int]
    steps: list[dict[str, Any]] = field(default_factory=list)
    aborted: bool = False
    changed: bool = True
    dry_run: bool = False

    def journal_fields(self) -> dict[str, Any]:
        """What the guard writes in the ``result`` / ``failure`` entry."""
        return {"ok": self.ok, "message": self.message, "kind": self.kind, "changed": self.changed,
                "aborted": self.aborted, "before": {"weights": self.before},
                "after": {"weights": self.after}, "steps": self.steps}


Gate = Callable[[int, dict[str, int]], Awaitable[bool]]


class ShiftController:
    """Weighted shifts on an HTTPRoute (``kind="httproute"``) or an NGINX canary (``"ingress"``)."""

    def __init__(self, client, guard: ActionGuard, reporter: Reporter | None = None) -> None:
        self.client = client
        self.guard = guard
        self.reporter = reporter

    # ----- reading ---------------------------------------------------------------------

    async def view(self, target: str, kind: str = "httproute", *, stable: str | None = None,
                   canary: str | None = None) -> TrafficView:
        """Declared weights with the ready endpoints behind each backend."""
        router = await self._router(target, kind)
        return await self._view(router, stable, canary)

    async def _router(self, target: str, kind: str) -> Router:
        namespace, name = split_target(target, kind)
        return await router_for(self.client, kind, namespace, name)

    async def _view(self, router: Router, stable: str | None, canary: str | None) -> TrafficView:
        weights = router.weights()
        stable, canary = pick_roles(list(weights), stable, canary)
        backends = []
        for (name, weight), share in zip(weights.items(), percentages(list(weights.values()))):
            ready, count = await self.ready_endpoints(router.namespace, name)
            role = "stable" if name == stable else "canary" if name == canary else ""
            backends.append(Backend(name, weight, share, ready, count, role))
        return TrafficView(router.target, router.kind, backends, stable, canary)

    async def ready_endpoints(self, namespace: str, service: str) -> tuple[int, int]:
        """(ready, total) endpoints in the EndpointSlices of ``service``."""
        listing = await self.client.list(path_for("endpointslices", namespace),
                                         {"labelSelector": f"{SERVICE_NAME_LABEL}={service}"})
        records = [decode("endpointslices", s) for s in listing.get("items") or []]
        endpoints = endpoints_by_service(records).get((namespace, service), [])
        return sum(1 for e in endpoints if e.ready), len(endpoints)

    # ----- one change ------------------------------------------------------------------

    async def preview(self, target: str, weights: dict[str, int], kind: str = "httproute", *,
                      stable: str | None = None, canary: str | None = None) -> ShiftPlan:
        """Preview setting ``weights`` (backend name -> weight); unnamed backends keep theirs."""
        router = await self._router(target, kind)
        view = await self._view(router, stable, canary)
        return make_plan(router, view, weights)

    async def set_weights(self, plan: ShiftPlan, *, dry_run: bool = False) -> ShiftResult:
        """Apply a previewed weight change (refused if a check fails or the split moved)."""
        self.guard.preview("shift", plan.target, dry_run=dry_run, **plan.journal_fields())
        emit = Emitter(self.reporter, "shift", plan.target)

        async def act() -> ShiftResult:
            _refuse_if_failed(plan)
            await self._recheck(plan)
            await self._write(plan, dry_run, emit)
            return ShiftResult(plan.target, plan.kind, True, _done_text(plan, dry_run), plan.before,
                               plan.after, changed=plan.before != plan.after, dry_run=dry_run)

        return await self.guard.run("shift", plan.target, act, dry_run=dry_run, kind=plan.kind,
                                    before={"weights": plan.before}, after={"weights": plan.after})

    async def _recheck(self, plan: ShiftPlan) -> None:
        """Refuse if the split moved or a backend lost its endpoints since the preview."""
        fresh = await self.preview(plan.target, plan.after, plan.kind, stable=plan.view.stable,
                                   canary=plan.view.canary)
        if fresh.before != plan.before:
            raise _moved(plan, fresh)
        if plan.checks and not fresh.ok:  # abort plans carry no readiness check: keep it so
            _refuse_if_failed(fresh)

    async def _write(self, plan: ShiftPlan, dry_run: bool, emit: Emitter) -> None:
        if plan.before == plan.after:
            emit("skip", f"weights already {_weights_text(plan.after)}", "ok")
            return
        try:
            await self.client.patch(plan.path, plan.patch, "json", dry_run)
        except ApiError as exc:
            if exc.status in (409, 422):
                fresh = await self.preview(plan.target, plan.after, plan.kind,
                                           stable=plan.view.stable, canary=plan.view.canary)
                if fresh.before != plan.before:
                    raise _moved(plan, fresh) from exc
            raise
        emit("write", ("[dry run] " if dry_run else "") + f"weights {_weights_text(plan.after)}", "ok")

    # ----- plans and abort -------------------------------------------------------------

    async def abort(self, target: str, kind: str = "httproute", *, dry_run: bool = False,
                    stable: str | None = None, canary: str | None = None) -> ShiftResult:
        """Return all traffic to the stable backend (stable 100, every other backend 0)."""
        view = await self.view(target, kind, stable=stable, canary=canary)
        weights = {b.name: (100 if b.name == view.stable else 0) for b in view.backends}
        plan = await self.preview(target, weights, kind, stable=view.stable, canary=view.canary)
        plan.checks = [c for c in plan.checks if c.name != CHECK_READY]  # abort must never be blocked
        result = await self.set_weights(plan, dry_run=dry_run)
        result.aborted = True
        result.message = f"aborted: all traffic on {view.stable} ({_weights_text(plan.after)})"
        return result

    async def run_plan(self, target: str, steps: list[int], *, kind: str = "httproute", pause: float = 0.0,
                       dry_run: bool = False, stable: str | None = None, canary: str | None = None,
                       abort_on_failure: bool = True, gate: Gate | None = None) -> ShiftResult:
        """Step the canary through ``steps`` percent (stable gets the rest).

        Before each step the backends that will get traffic must have ready endpoints; if not
        (or a write fails) the plan stops and, with ``abort_on_failure``, traffic returns to
        stable. ``gate(step_index, weights)`` may hold a step for a human (False stops).
        """
        validate_steps(steps)
        view = await self.view(target, kind, stable=stable, canary=canary)
        before = view.weights()
        self.guard.preview("shift-plan", target, dry_run=dry_run, kind=kind, before={"weights": before},
                           plan=steps, pause=pause, stable=view.stable, canary=view.canary)

        async def act() -> ShiftResult:
            return await self._run_steps(view, steps, pause, dry_run, abort_on_failure, gate)

        return await self.guard.run("shift-plan", target, act, dry_run=dry_run, kind=kind,
                                    before={"weights": before}, plan=steps)

    async def _run_steps(self, view: TrafficView, steps: list[int], pause: float, dry_run: bool,
                         abort_on_failure: bool, gate: Gate | None) -> ShiftResult:
        emit = Emitter(self.reporter, "shift-plan", view.target)
        done: list[dict[str, Any]] = []
        before = view.weights()
        for index, percent in enumerate(steps, 1):
            weights = {b.name: 0 for b in view.backends} | {view.stable: 100 - percent, view.canary: percent}
            label = f"step {index}/{len(steps)}"
            try:
                if gate is not None and not await gate(index, weights):
                    raise ActionFailed(f"{label} was not approved; plan stopped")
                plan = await self.preview(view.target, weights, view.kind, stable=view.stable, canary=view.canary)
                _refuse_if_failed(plan)
                emit(label, f"{view.canary} {percent}%: {_weights_text(weights)}", "info", weights=weights)
                await self._write(plan, dry_run, emit)
            except (PreconditionFailed, ActionFailed, ApiError) as exc:
                return await self._stop_plan(view, before, done, f"{label} failed: {exc}", dry_run,
                                             abort_on_failure, emit)
            done.append({"step": index, "percent": percent, "weights": weights})
            self.guard.record("shift-plan", view.target, "step", step=index, percent=percent, weights=weights,
                              endpoints={b.name: b.ready for b in plan.view.backends}, dry_run=dry_run)
            if pause > 0 and index < len(steps):
                emit("pause", f"pausing {pause:g}s before the next step", "info")
                await asyncio.sleep(pause)
        final = done[-1]["weights"] if done else before
        return ShiftResult(view.target, view.kind, True, f"plan complete: {_weights_text(final)}", before, final,
                           steps=done, dry_run=dry_run)

    async def _stop_plan(self, view: TrafficView, before: dict[str, int], done: list[dict[str, Any]],
                         reason: str, dry_run: bool, abort: bool, emit: Emitter) -> ShiftResult:
        emit("stop", reason, "error")
        after = done[-1]["weights"] if done else before
        if abort:
            aborted = await self.abort(view.target, view.kind, dry_run=dry_run, stable=view.stable,
                                       canary=view.canary)
            after = aborted.after
            reason += f"; traffic returned to {view.stable}"
        result = ShiftResult(view.target, view.kind, False, reason, before, after, steps=done, aborted=abort,
                             dry_run=dry_run)
        raise ActionFailed(reason, result)


# ----- pure helpers -----------------------------------------------------------------------

STABLE_HINTS = ("stable", "primary", "main", "blue", "prod")
CANARY_HINTS = ("canary", "preview", "green", "next", "new")


def pick_roles(names: list[str], stable: str | None = None, canary: str | None = None) -> tuple[str, str]:
    """Which backend is stable and which is canary: explicit, else by name, else by order."""
    for given in (stable, canary):
        if given and given not in names:
            raise UsageError(f"backend {given!r} is not in the route (backends: {', '.join(names)})")
    stable = stable or _by_hint(names, STABLE_HINTS, exclude=canary) or (names[0] if names else "")
    canary = canary or _by_hint(names, CANARY_HINTS, exclude=stable) or next(
        (n for n in names if n != stable), "")
    return stable, canary


def _by_hint(names: list[str], hints: tuple[str, ...], exclude: str | None) -> str | None:
    for hint in hints:
        for name in names:
            if hint in name and name != exclude:
                return name
    return None


def make_plan(router: Router, view: TrafficView, weights: dict[str, int]) -> ShiftPlan:
    """Build the plan (checks, patch, command) for setting ``weights`` on ``router``."""
    before = view.weights()
    unknown = [n for n in weights if n not in before]
    if unknown:
        raise UsageError(f"{router.target}: no backend named {', '.join(unknown)} "
                         f"(backends: {', '.join(before)})")
    for name, weight in weights.items():
        router.validate_weight(name, weight)
    after = {**before, **weights}
    return ShiftPlan(router.target, router.kind, before, after, [_check_ready(view, after)],
                     router.command(after), view, router.path, router.patch(after))


def _check_ready(view: TrafficView, after: dict[str, int]) -> Check:
    empty = [b.name for b in view.backends if after.get(b.name, 0) > 0 and b.ready == 0]
    if empty:
        return Check(CHECK_READY, False, f"{', '.join(empty)} would get traffic but has no ready endpoints")
    detail = ", ".join(f"{b.name} {b.ready} ready" for b in view.backends if after.get(b.name, 0) > 0)
    return Check(CHECK_READY, True, detail)


def _moved(plan: ShiftPlan, fresh: ShiftPlan) -> ChangedSincePreview:
    return ChangedSincePreview(f"the weights of {plan.target} changed since the preview "
                               f"({_weights_text(plan.before)} -> {_weights_text(fresh.before)}); look again",
                               plan=fresh)


def _refuse_if_failed(plan: ShiftPlan) -> None:
    bad = failed_checks(plan.checks)
    if bad:
        raise PreconditionFailed(f"refusing to shift {plan.target}: " +
                                 "; ".join(f"{c.name}: {c.detail}" for c in bad), plan.checks)


def validate_steps(steps: list[int]) -> None:
    """Raise UsageError unless ``steps`` is a non-empty list of percentages 0..100."""
    if not steps or any(not 0 <= s <= 100 for s in steps):
        raise UsageError(f"a plan is a list of canary percentages 0..100, got {steps}")


def _weights_text(weights: dict[str, int]) -> str:
    return ", ".join(f"{n}={w}" for n, w in weights.items())


def _done_text(plan: ShiftPlan, dry_run: bool) -> str:
    prefix = "[dry run] server accepted " if dry_run else ""
    return f"{prefix}weights of {plan.target}: {_weights_text(plan.before)} -> {_weights_text(plan.after)}"


# ----- routers: where the weights live ----------------------------------------------------

CANARY = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
CANARY_TOTAL = "nginx.ingress.kubernetes.io/canary-weight-total"
MAX_ROUTE_WEIGHT = 1_000_000  # Gateway API: weight is proportional, 0..1e6


class Router:
    """Where a split's weights are declared; ``path`` is the object the patch goes to."""

    kind = ""

    def __init__(self, namespace: str, name: str, path: str) -> None:
        self.namespace = namespace
        self.name = name
        self.path = path

    @property
    def target(self) -> str:
        """``NS/NAME`` as the user named it."""
        return f"{self.namespace}/{self.name}"

    def weights(self) -> dict[str, int]:
        """Declared weight per backend Service name."""
        raise NotImplementedError

    def validate_weight(self, name: str, weight: int) -> None:
        """Raise UsageError if ``weight`` cannot be declared for ``name``."""
        if weight < 0 or weight > MAX_ROUTE_WEIGHT:
            raise UsageError(f"weight for {name} must be 0..{MAX_ROUTE_WEIGHT}, got {weight}")

    def patch(self, after: dict[str, int]) -> list[dict[str, Any]]:
        """A JSON patch setting ``after``, with ``test`` ops pinning the previewed weights."""
        raise NotImplementedError

    def command(self, after: dict[str, int]) -> str:
        """The equivalent kubectl command."""
        raise NotImplementedError


class HTTPRouteRouter(Router):
    """Gateway API HTTPRoute: ``spec.rules[].backendRefs[].weight`` (default 1)."""

    kind = "httproute"

    def __init__(self, namespace: str, name: str, route: dict) -> None:
        super().__init__(namespace, name, path_for("httproutes", namespace, name))
        self.rules = (route.get("spec") or {}).get("rules") or []

    def weights(self) -> dict[str, int]:
        """First declaration wins when a backend appears in several rules."""
        found: dict[str, int] = {}
        for rule in self.rules:
            for ref in rule.get("backendRefs") or []:
                found.setdefault(ref.get("name", ""), int(ref.get("weight", 1)))
        return found

    def patch(self, after: dict[str, int]) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        for index, rule in enumerate(self.rules):
            refs = rule.get("backendRefs") or []
            new = [_with_weight(ref, after.get(ref.get("name", ""))) for ref in refs]
            if new != refs:
                path = f"/spec/rules/{index}/backendRefs"
                ops += [{"op": "test", "path": path, "value": refs}, {"op": "replace", "path": path, "value": new}]
        return ops

    def command(self, after: dict[str, int]) -> str:
        ops = [{"op": "replace", "path": f"/spec/rules/{i}/backendRefs/{j}/weight", "value": after[ref["name"]]}
               for i, rule in enumerate(self.rules) for j, ref in enumerate(rule.get("backendRefs") or [])
               if ref.get("name") in after]
        return f"kubectl -n {self.namespace} patch httproute {self.name} --type=json -p '{json.dumps(ops)}'"


def _with_weight(ref: dict, weight: int | None) -> dict:
    # Leave a backendRef untouched unless its effective weight (unset = 1) really changes.
    if weight is None or weight == int(ref.get("weight", 1)):
        return ref
    return {**ref, "weight": weight}


class IngressCanaryRouter(Router):
    """ingress-nginx canary: the canary Ingress's ``canary-weight`` out of ``canary-weight-total``.

    The stable backend gets ``total - weight``; weights given for the pair are scaled to total.
    """

    kind = "ingress"

    def __init__(self, namespace: str, name: str, stable: dict, canary: dict) -> None:
        canary_name = canary["metadata"]["name"]
        super().__init__(namespace, name, path_for("ingresses", namespace, canary_name))
        self.stable_ingress, self.canary_ingress = stable, canary
        self.annotations = canary["metadata"].get("annotations") or {}
        self.total = int(self.annotations.get(CANARY_TOTAL, "100") or 100)
        self.current = int(self.annotations.get(CANARY_WEIGHT, "0") or 0)
        self.stable_service = ingress_service(stable)
        self.canary_service = ingress_service(canary)

    def weights(self) -> dict[str, int]:
        return {self.stable_service: self.total - self.current, self.canary_service: self.current}

    def validate_weight(self, name: str, weight: int) -> None:
        if not 0 <= weight <= self.total:
            raise UsageError(f"weight for {name} must be 0..{self.total} (canary-weight-total), got {weight}")

    def canary_weight(self, after: dict[str, int]) -> int:
        """The canary-weight annotation value for the pair of weights ``after``."""
        stable, canary = after.get(self.stable_service, 0), after.get(self.canary_service, 0)
        if stable + canary == 0:
            raise UsageError("the stable and canary weights cannot both be 0")
        return round(canary * self.total / (stable + canary))

    def patch(self, after: dict[str, int]) -> list[dict[str, Any]]:
        pointer = "/metadata/annotations/" + CANARY_WEIGHT.replace("~", "~0").replace("/", "~1")
        canary_flag = "/metadata/annotations/" + CANARY.replace("~", "~0").replace("/", "~1")
        ops: list[dict[str, Any]] = [{"op": "test", "path": canary_flag, "value": "true"}]
        if CANARY_WEIGHT in self.annotations:
            ops.append({"op": "test", "path": pointer, "value": self.annotations[CANARY_WEIGHT]})
        ops.append({"op": "add", "path": pointer, "value": str(self.canary_weight(after))})
        return ops

    def command(self, after: dict[str, int]) -> str:
        canary_name = self.canary_ingress["metadata"]["name"]
        return (f"kubectl -n {self.namespace} annotate ingress {canary_name} --overwrite "
                f"{CANARY_WEIGHT}={self.canary_weight(after)}")


async def router_for(client, kind: str, namespace: str, name: str) -> Router:
    """Read the route (or the ingress pair) and wrap it in the right Router."""
    if kind == "httproute":
        return HTTPRouteRouter(namespace, name, await client.get(path_for("httproutes", namespace, name)))
    if kind == "ingress":
        named = await client.get(path_for("ingresses", namespace, name))
        others = (await client.list(path_for("ingresses", namespace))).get("items") or []
        stable, canary = ingress_pair(named, others)
        return IngressCanaryRouter(namespace, name, stable, canary)
    raise UsageError(f"--kind must be httproute or ingress, got {kind!r}")


def is_canary_ingress(ingress: dict) -> bool:
    """Whether the Ingress carries ``nginx.ingress.kubernetes.io/canary: "true"``."""
    return ((ingress.get("metadata") or {}).get("annotations") or {}).get(CANARY) == "true"


def ingress_pair(named: dict, others: list[dict]) -> tuple[dict, dict]:
    """(stable, canary) Ingresses for the one the user named (either side of the pair)."""
    hosts = _hosts(named)
    want_canary = not is_canary_ingress(named)
    match = [o for o in others if is_canary_ingress(o) == want_canary and _hosts(o) & hosts
             and o["metadata"]["name"] != named["metadata"]["name"]]
    if not match:
        side = "canary" if want_canary else "stable"
        raise UsageError(f"no {side} Ingress for host(s) {', '.join(sorted(hosts)) or '(none)'} next to "
                         f"{named['metadata']['name']} (the canary carries {CANARY}: \"true\")")
    return (named, match[0]) if want_canary else (match[0], named)


def ingress_service(ingress: dict) -> str:
    """The backend Service of an Ingress (first path, else the default backend)."""
    spec = ingress.get("spec") or {}
    for rule in spec.get("rules") or []:
        for path in ((rule.get("http") or {}).get("paths")) or []:
            service = ((path.get("backend") or {}).get("service") or {}).get("name")
            if service:
                return service
    return (((spec.get("defaultBackend") or {}).get("service")) or {}).get("name", "")


def _hosts(ingress: dict) -> set[str]:
    return {r.get("host", "") for r in (ingress.get("spec") or {}).get("rules") or []}
