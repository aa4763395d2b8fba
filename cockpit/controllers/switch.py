"""Blue/green switch of a Service's selector as an operation: preview, one guarded PATCH, verified.

``preview`` reads the Service, its Deployments and pods, and builds the Plan (colours, named
checks, the equivalent ``kubectl patch``; see :mod:`.switch_plan`). ``apply`` writes the new
colour with one merge PATCH carrying the preview's resourceVersion (a concurrent edit is a 409:
``ChangedSincePreview`` with a fresh plan, never an overwrite) and the pending-switch marker,
journals the ``write`` step, then hands over to :class:`.switch_txn.SwitchTransaction`, which
ends verified or switched back whatever happens (cancel, API errors, journal errors).

On a Service carrying an unverified switch the same operation finishes it (verify; switch back
if that fails) or, with ``undo``, switches it back.

With an analysis gate, a verified switch is then measured for ``verify_for`` seconds on the new
colour and switched back automatically when an analysis fails (see :mod:`.analysis_gate`).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from cockpit.controllers.analysis_gate import AnalysisGate, colour_args, verify_switch, with_gate_checks
from cockpit.controllers.base import ChangedSincePreview, split_target
from cockpit.controllers.operation import Plan, Result, Run, dry_run_result
from cockpit.controllers.switch_plan import (
    CHECK_ENDPOINTS, CHECK_PORTS, CHECK_ROLLED_OUT, CHECK_TARGET_EXISTS, PENDING, PendingSwitch, SwitchSpec,
    build_plan, selector_text,
)
from cockpit.controllers.switch_txn import EndpointState, SwitchTransaction, endpoint_state, finish_despite_cancel
from cockpit.controllers.transient import Outage, is_transient, retrying
from cockpit.domain.records import RECORD_TYPES, ServiceRecord, decode
from cockpit.kube.api import KubeApi
from cockpit.kube.errors import Conflict
from cockpit.kube.paths import path_for
from cockpit.kube.typed import list_records

__all__ = ["SwitchOperation", "EndpointState", "endpoint_state", "PENDING", "CHECK_ENDPOINTS", "CHECK_PORTS",
           "CHECK_ROLLED_OUT", "CHECK_TARGET_EXISTS"]


class SwitchOperation:
    """Switch ``target`` (``NS/SERVICE``) to ``to_colour`` (default: the other colour), verified.

    ``undo`` switches back an unverified switch left on the Service; ``operator`` is recorded
    in the pending marker; ``drill_verify_failure`` (game days, tests) treats verification as
    failed to exercise the automatic switch back.
    """

    action = "switch"

    def __init__(self, api: KubeApi, target: str, to_colour: str | None = None, *, undo: bool = False,
                 operator: str = "cockpit", verify_timeout: float = 30.0, poll_interval: float = 0.1,
                 drill_verify_failure: bool = False, gate: AnalysisGate | None = None,
                 verify_for: float = 0.0) -> None:
        self.api = api
        self.target = target
        self.to_colour = to_colour
        self.undo = undo
        self.operator = operator
        self.verify_timeout = verify_timeout
        self.poll_interval = poll_interval
        self.drill = drill_verify_failure
        self.gate, self.verify_for = gate, verify_for

    async def preview(self) -> Plan[SwitchSpec]:
        """Read the Service and the colours behind it; check the preconditions by name."""
        namespace, name = split_target(self.target, "service")
        service: ServiceRecord = decode("services", await self.api.get(path_for("services", namespace, name)))  # type: ignore[assignment]
        deployments = await self._records("deployments", namespace)
        pods = await self._records("pods", namespace)
        plan = build_plan(self.target, service, deployments, pods, self.to_colour, self.undo, self.verify_timeout)
        if self.gate is None or plan.spec is None or plan.spec.mode != "switch":
            return plan
        return await with_gate_checks(self.gate, plan, self._gate_args(plan.spec), self.verify_for)

    def _gate_args(self, spec: SwitchSpec) -> dict[str, str]:
        return colour_args(spec.namespace, spec.name, spec.to_colour)

    async def apply(self, plan: Plan[Any], run: Run) -> Result:
        """Write, verify, and switch back by itself when verification fails or the run is cancelled."""
        spec: SwitchSpec = plan.spec
        if run.dry_run:
            return await self._dry_run(plan, run)
        txn = SwitchTransaction(self.api, spec, run, verify_timeout=self.verify_timeout,
                                poll_interval=self.poll_interval, drill=self.drill)
        if spec.mode == "undo":
            result, _ = await finish_despite_cancel(txn.switch_back("undo requested", requested=True))
            return result
        if spec.mode == "finish":
            return await txn.verify_or_switch_back()
        written, cancelled = await finish_despite_cancel(self._write(plan, run, txn))
        if isinstance(written, Result):  # the write's outcome could not be learned: say what to check
            return written
        result = await txn.verify_or_switch_back(cancelled)
        if self.gate is None or not result.details.get("verified"):
            return result
        return await verify_switch(self.gate, txn, result, self._gate_args(spec), self.verify_for, run)

    # ----- the write ------------------------------------------------------------------------

    async def _write(self, plan: Plan[Any], run: Run, txn: SwitchTransaction) -> Result | None:
        """One merge PATCH: the new colour, the preview's resourceVersion and the pending marker."""
        spec: SwitchSpec = plan.spec
        marker = self._marker(spec).to_annotation()
        body = {**spec.selector_body(spec.to_colour),
                "metadata": {"resourceVersion": plan.version, "annotations": {PENDING: marker}}}
        path = path_for("services", spec.namespace, spec.name)
        try:
            await self.api.patch(path, body, "merge")
        except Conflict as exc:
            raise await self._changed(plan) from exc
        except Exception as exc:
            if not is_transient(exc):
                raise
            landed = await self._landed(path, marker, run)  # sent, but did it arrive?
            if landed is None:
                return txn.unknown_write(exc)
            if not landed:
                raise exc
        run.say("write", f"selector set to {selector_text(spec.selector_after)} (resourceVersion {plan.version} "
                         f"matched; {PENDING} recorded)", "info")
        run.record_quietly("step", step="write", selector=spec.selector_after, marker=PENDING)
        return None

    def _marker(self, spec: SwitchSpec) -> PendingSwitch:
        deadline = datetime.now(timezone.utc) + timedelta(seconds=self.verify_timeout)
        return PendingSwitch(spec.selector_before, spec.selector_after, spec.colour_key, spec.from_colour,
                             spec.to_colour, deadline.isoformat(timespec="seconds"), self.operator)

    async def _landed(self, path: str, marker: str, run: Run) -> bool | None:
        """Whether our write is on the Service (its marker is); None when the API never answers."""
        outage = Outage(lambda message, level: run.say("write", message, level))
        try:
            raw = await retrying(lambda: self.api.get(path), time.monotonic() + self.verify_timeout, outage)
        except Exception:  # noqa: BLE001 - unknown outcome: the caller reports it with the fix
            return None
        return decode("services", raw).annotations.get(PENDING) == marker

    async def _changed(self, plan: Plan[Any]) -> ChangedSincePreview:
        fresh = await self.preview()
        return ChangedSincePreview(
            f"{plan.target} changed since the preview (resourceVersion {plan.version} -> {fresh.version}, selector now "
            f"{selector_text(fresh.spec.selector_before if fresh.spec else {})}); nothing was changed, "
            "review the new preview and confirm again", plan=fresh)

    async def _dry_run(self, plan: Plan[Any], run: Run) -> Result:
        """Send the same PATCH with dryRun=All (a finish sends nothing: it only verifies)."""
        spec: SwitchSpec = plan.spec
        if spec.mode == "finish":
            return dry_run_result(plan, f"finishing would verify {spec.target} and switch back if that fails")
        colour = spec.from_colour if spec.mode == "undo" else spec.to_colour
        body = {**spec.selector_body(colour), "metadata": {"resourceVersion": plan.version}}
        try:
            await self.api.patch(path_for("services", spec.namespace, spec.name), body, "merge", dry_run=True)
        except Conflict as exc:
            raise await self._changed(plan) from exc
        run.say("write", f"[dry run] the server accepted selecting {colour}; nothing changed", "ok")
        return dry_run_result(plan, f"the server accepted switching {spec.target} to {colour}")

    async def _records(self, kind: str, namespace: str) -> list[Any]:
        return await list_records(self.api, RECORD_TYPES[kind], path_for(kind, namespace))
