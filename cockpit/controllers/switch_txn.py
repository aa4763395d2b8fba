"""A blue/green switch from its write on: one transaction that ends verified or switched back.

Once the selector is written, nothing ends the switch half-done: verification passes (the
EndpointSlices list only the new colour, at least one endpoint ready, none of the old colour
or of unknown pods), or the previous selector is written back and verified. A cancel (Esc in
the TUI, Ctrl-C or SIGTERM in the CLI) after the write means "switch back now"; the switch back
itself runs to its end whatever arrives meanwhile. Transient API errors (unreachable, 5xx, 429)
are retried with backoff within the verify window and reported as they happen. Journal entries
from here on are written with ``record_quietly``: a journal that fails is reported loudly and the
recovery goes on. If even the switch back cannot be written, the result's message (the last line
the user sees) says what the Service selects now and the command that fixes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cockpit.controllers.operation import Result, Run
from cockpit.controllers.switch_plan import PENDING, SwitchSpec, selector_text
from cockpit.controllers.transient import Outage, bounded, is_transient, retrying
from cockpit.domain.records import EndpointSliceRecord, PodRecord, ServiceRecord, decode
from cockpit.domain.traffic import endpoints_by_service
from cockpit.kube.api import KubeApi
from cockpit.kube.errors import Conflict
from cockpit.kube.paths import path_for
from cockpit.kube.typed import list_records

T = TypeVar("T")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass
class EndpointState:
    """What the Service's EndpointSlices list right now, by colour (``?``: a pod we cannot place)."""

    ready: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)

    def only(self, colour: str) -> bool:
        """At least one ready endpoint of ``colour`` and no endpoint of any other colour."""
        others = any(n for c, n in self.total.items() if c != colour)
        return self.ready.get(colour, 0) > 0 and not others

    def text(self) -> str:
        """e.g. ``"green 3/3 ready, blue 0/1 ready"``."""
        return ", ".join(f"{c} {self.ready.get(c, 0)}/{n} ready" for c, n in sorted(self.total.items())) or "none"


async def endpoint_state(api: KubeApi, namespace: str, name: str, colour_key: str) -> EndpointState:
    """Count the Service's EndpointSlice endpoints by the colour label of their pods."""
    records = await list_records(api, EndpointSliceRecord, path_for("endpointslices", namespace),
                                 {"labelSelector": f"{SERVICE_NAME_LABEL}={name}"})
    pods = await list_records(api, PodRecord, path_for("pods", namespace))
    colours = {p.name: p.labels.get(colour_key, "?") for p in pods}
    state = EndpointState()
    for ep in endpoints_by_service(records).get((namespace, name), []):
        colour = colours.get(ep.target_name, "?")
        state.total[colour] = state.total.get(colour, 0) + 1
        if ep.ready:
            state.ready[colour] = state.ready.get(colour, 0) + 1
    return state


async def finish_despite_cancel(awaitable: Awaitable[T]) -> tuple[T, bool]:
    """Await ``awaitable`` to its end even if this task is cancelled meanwhile (any number of times).

    Returns its result and whether a cancel arrived; the cancel requests are consumed, so the
    caller decides what a cancel means now (for a switch: switch back).
    """
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while True:
        try:
            return await asyncio.shield(task), cancelled
        except asyncio.CancelledError:
            if task.cancelled():  # the inner task itself was cancelled: nothing left to protect
                raise
            # A cancel that lands as the inner task finishes arrives here too: its result is kept.
            cancelled = True
            _uncancel()


def _uncancel() -> None:
    current = asyncio.current_task()
    if current is not None and hasattr(current, "uncancel"):
        current.uncancel()


class SwitchTransaction:
    """Verification, the automatic switch back and clearing the pending marker, for one switch."""

    def __init__(self, api: KubeApi, spec: SwitchSpec, run: Run, *, verify_timeout: float, poll_interval: float,
                 drill: bool = False) -> None:
        self.api, self.spec, self.run = api, spec, run
        self.verify_timeout, self.poll_interval, self.drill = verify_timeout, poll_interval, drill
        self.path = path_for("services", spec.namespace, spec.name)
        self.started = time.monotonic()
        self.seen = dict(spec.selector_after)  # what the Service selects as far as we know
        # An undo reports the change it makes (new colour -> previous); the rest the switch's.
        self.before = spec.selector_after if spec.mode == "undo" else spec.selector_before

    # ----- the whole transaction --------------------------------------------------------------

    async def verify_or_switch_back(self, cancelled: bool = False) -> Result:
        """Verify the new colour; clear the marker when it holds, else switch back (a cancel: at once)."""
        spec = self.spec
        reason = "cancelled after the write" if cancelled else ""
        if not cancelled:
            try:
                ok, state, reason = await self.verify(spec.to_colour, time.monotonic() + self.verify_timeout,
                                                     drill=self.drill)
            except asyncio.CancelledError:
                _uncancel()
                ok, state, reason, cancelled = False, EndpointState(), "cancelled after the write", True
            if ok:
                result, _ = await finish_despite_cancel(self._verified(state))
                return result
        if cancelled:
            self.run.say("rollback", "cancel received after the write: switching back now "
                                     "(this runs to its end; the Service is never left half-switched)", "warn")
        result, _ = await finish_despite_cancel(self.switch_back(reason, cancelled=cancelled))
        return result

    async def _verified(self, state: EndpointState) -> Result:
        spec = self.spec
        message = f"switched {spec.target} to {spec.to_colour}; endpoints: {state.text()}"
        self.run.say("verify", message, "ok")
        self.run.record_quietly("step", step="verified", endpoints=state.ready)
        await self.clear_marker(time.monotonic() + self.verify_timeout)
        return self._result(True, message, spec.selector_after, verified=True, endpoints=state.ready)

    # ----- verification -----------------------------------------------------------------------

    async def verify(self, colour: str, deadline: float, drill: bool = False) -> tuple[bool, EndpointState, str]:
        """Poll the EndpointSlices until only ``colour`` is listed, or ``deadline`` passes.

        Transient API errors are ridden out (and reported) until the deadline; any other error
        fails the verification with its message. ``drill`` fails it on purpose (game days).
        """
        outage = Outage(lambda message, level: self.run.say("verify", message, level))
        state, last, unreachable = EndpointState(), "", False
        while True:
            try:
                state = await bounded(endpoint_state(self.api, self.spec.namespace, self.spec.name,
                                                     self.spec.colour_key), deadline)
                outage.recovered()
                unreachable = False
            except Exception as exc:  # noqa: BLE001 - every failure must end in a verdict, never half-done
                if not is_transient(exc):
                    return False, state, f"the endpoints could not be read: {exc}"
                outage.failed(exc)
                unreachable = True
            if not unreachable:
                if state.text() != last:
                    self.run.say("verify", f"endpoints: {state.text()}", "info", ready=state.ready, total=state.total)
                    last = state.text()
                if drill:
                    return False, state, "verification drill: failure injected on request"
                if state.only(colour):
                    return True, state, ""
            if time.monotonic() >= deadline:
                return False, state, self._late(colour, state, unreachable)
            await asyncio.sleep(self.poll_interval if not unreachable else max(self.poll_interval, 0.5))

    def _late(self, colour: str, state: EndpointState, unreachable: bool) -> str:
        if unreachable:
            return f"the API server stayed unreachable until the {self.verify_timeout:g}s verify deadline"
        return (f"after {self.verify_timeout:g}s the endpoints are {state.text()}, "
                f"expected only ready {colour} pods")

    # ----- switching back ---------------------------------------------------------------------

    async def switch_back(self, reason: str, *, cancelled: bool = False, requested: bool = False) -> Result:
        """Write the previous selector back (unless someone else changed it) and verify it."""
        spec = self.spec
        if not requested:
            self.run.say("rollback", f"{reason}; switching back to {spec.from_colour}", "error")
        self.run.record_quietly("rollback", reason=reason, before={"selector": spec.selector_after},
                                after={"selector": spec.selector_before})
        deadline = time.monotonic() + self.verify_timeout
        try:
            outcome = await self._restore(deadline)
        except Exception as exc:  # noqa: BLE001 - the one place that must say what is left and how to fix it
            return self._stuck(reason, exc, cancelled)
        if outcome is not None:
            return self._result(False, f"switch of {spec.target} to {spec.to_colour} was not switched back: {reason}; "
                                       f"the selector was changed by someone else meanwhile to "
                                       f"{selector_text(outcome)}, left as is", outcome, reason=reason,
                                cancelled=cancelled)
        self.run.say("rollback", f"selector restored to {selector_text(spec.selector_before)}", "warn")
        self.run.record_quietly("step", step="switched-back", selector=spec.selector_before)
        ok, state, why = await self.verify(spec.from_colour, time.monotonic() + self.verify_timeout)
        return self._switched_back(reason, ok, state, why, cancelled, requested)

    def _switched_back(self, reason: str, ok: bool, state: EndpointState, why: str, cancelled: bool,
                       requested: bool) -> Result:
        spec = self.spec
        verified = "verified" if ok else f"NOT verified: {why}"
        if requested:
            message = f"switched {spec.target} back to {spec.from_colour} ({verified}); endpoints: {state.text()}"
        elif cancelled:
            message = f"cancelled after the write: switched {spec.target} back to {spec.from_colour} ({verified})"
        else:
            message = (f"switch of {spec.target} to {spec.to_colour} failed and was switched back to "
                       f"{spec.from_colour} ({verified}): {reason}")
        return self._result(requested and ok, message, spec.selector_before, rolled_back=True, verified_back=ok,
                            endpoints=state.ready, reason=reason, cancelled=cancelled)

    async def _restore(self, deadline: float) -> dict[str, str] | None:
        """Put the previous selector back; None when done, else the selector someone else set."""
        spec, outage = self.spec, Outage(lambda message, level: self.run.say("rollback", message, level))
        while True:
            service: ServiceRecord = decode("services", await retrying(lambda: self.api.get(self.path), deadline, outage))  # type: ignore[assignment]
            self.seen = dict(service.selector)
            if service.selector == spec.selector_before:
                if PENDING in service.annotations:
                    await retrying(lambda: self.api.patch(self.path, _unmark(), "merge"), deadline, outage)
                return None
            if service.selector != spec.selector_after:
                await self.clear_marker(deadline)  # not ours to fix any more: do not fight, do not nag
                return dict(service.selector)
            body = {**spec.selector_body(spec.from_colour), "metadata": {
                "resourceVersion": service.resource_version, "annotations": {PENDING: None}}}
            try:
                await retrying(lambda: self.api.patch(self.path, body, "merge"), deadline, outage)
            except Conflict:
                if time.monotonic() >= deadline:
                    raise TimeoutError("the Service kept changing while switching back") from None
                continue  # changed meanwhile (or our own retried write landed): look again
            self.seen = dict(spec.selector_before)
            return None

    def _stuck(self, reason: str, exc: BaseException, cancelled: bool) -> Result:
        spec = self.spec
        message = (f"switch of {spec.target} to {spec.to_colour} failed ({reason}) and could NOT be switched back "
                   f"({exc}): {spec.target} selects {selector_text(self.seen)} now (marked {PENDING}); "
                   f"switch it back with: {spec.patch_command(spec.from_colour)}")
        self.run.say("rollback", message, "error")
        return self._result(False, message, self.seen, reason=reason, stuck=True, cancelled=cancelled)

    def unknown_write(self, exc: BaseException) -> Result:
        """The write was sent but the API never answered again: nobody knows if it landed."""
        spec = self.spec
        message = (f"the switch of {spec.target} to {spec.to_colour} may or may not have been written ({exc}); "
                   f"the API stayed unreachable for {self.verify_timeout:g}s. Check with: kubectl -n {spec.namespace} "
                   f"get service {spec.name} -o jsonpath='{{.spec.selector}}'; if it selects {spec.to_colour}, "
                   f"`cockpit switch {spec.target}` finishes or undoes it, or switch it back with: "
                   f"{spec.patch_command(spec.from_colour)}")
        self.run.say("write", message, "error")
        self.run.record_quietly("step", step="write-unknown", error=str(exc))
        return self._result(False, message, {}, stuck=True, selector_unknown=True, reason=str(exc))

    async def clear_marker(self, deadline: float) -> None:
        """Remove the pending-switch annotation (a failure is reported; a later run clears it)."""
        outage = Outage(lambda message, level: self.run.say("marker", message, level))
        try:
            await retrying(lambda: self.api.patch(self.path, _unmark(), "merge"), deadline, outage)
        except Exception as exc:  # noqa: BLE001 - the switch is settled; only the marker is left behind
            self.run.say("marker", f"could not remove {PENDING} ({exc}); `cockpit switch {self.spec.target}` "
                                   "will verify and clear it", "warn")

    def _result(self, ok: bool, message: str, selector_now: dict[str, str], **details: Any) -> Result:
        details["seconds"] = round(time.monotonic() - self.started, 3)
        return Result("switch", self.spec.target, ok, message, changed=True,
                      before={"selector": self.before}, after={"selector": selector_now}, details=details)


def _unmark() -> dict[str, Any]:
    return {"metadata": {"annotations": {PENDING: None}}}
