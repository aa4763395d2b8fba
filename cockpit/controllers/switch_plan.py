"""Planning a blue/green switch (pure, on typed records): the colours, the checks, the Plan.

A switch changes the colour label of a Service's selector (``color=blue`` -> ``color=green``)
with one merge PATCH that carries the previewed resourceVersion and, in the same write, the
``cockpit.io/switch-pending`` annotation. The annotation says what to restore (the previous
selector), what was being switched to, until when it should have been verified and by whom, so
a cockpit started later finds a switch left unverified and offers to finish or undo it.

Modes: ``switch`` (the normal switch), ``finish`` (verify a pending switch; switch back if that
fails) and ``undo`` (switch a pending switch back now).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cockpit.controllers.base import Check
from cockpit.controllers.operation import Plan
from cockpit.domain.records import DeploymentRecord, PodRecord, ServiceRecord
from cockpit.domain.rollout import rollout_status
from cockpit.domain.selectors import LabelSelector, selector_query
from cockpit.domain.traffic import DEFAULT_LABEL_KEYS, pair_label
from cockpit.errors import UsageError
from cockpit.kube.api import ObjectRef

PENDING = "cockpit.io/switch-pending"
REASON = "ServiceSwitched"

CHECK_TARGET_EXISTS = "target deployment exists"
CHECK_ROLLED_OUT = "target fully rolled out"
CHECK_PORTS = "target pods expose service ports"
CHECK_ENDPOINTS = "target has ready endpoints"


@dataclass(frozen=True)
class PendingSwitch:
    """What the ``cockpit.io/switch-pending`` annotation records while a switch is unverified."""

    previous: dict[str, str]
    selector: dict[str, str]
    colour_key: str
    from_colour: str
    to_colour: str
    deadline: str
    operator: str

    def to_annotation(self) -> str:
        """The annotation value (compact JSON)."""
        return json.dumps({"previous": self.previous, "selector": self.selector, "key": self.colour_key,
                           "from": self.from_colour, "to": self.to_colour, "deadline": self.deadline,
                           "operator": self.operator}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, text: str) -> PendingSwitch | None:
        """Read the annotation back; None when it is not a pending switch cockpit can act on."""
        try:
            doc = json.loads(text)
            previous, selector = dict(doc["previous"]), dict(doc["selector"])
            return cls(previous, selector, str(doc["key"]), str(doc.get("from") or ""), str(doc["to"]),
                       str(doc.get("deadline") or ""), str(doc.get("operator") or "?"))
        except (ValueError, KeyError, TypeError):
            return None

    @property
    def overdue(self) -> bool:
        """The verification deadline has passed (the cockpit that wrote it is gone or stuck)."""
        try:
            return datetime.fromisoformat(self.deadline) < datetime.now(timezone.utc)
        except ValueError:
            return True


def pending_of(service: ServiceRecord) -> PendingSwitch | None:
    """The unverified switch recorded on ``service``, if any."""
    text = service.annotations.get(PENDING)
    return PendingSwitch.parse(text) if text else None


@dataclass(frozen=True)
class SwitchSpec:
    """The switch's own payload in its Plan: the exact selectors and what to do."""

    namespace: str
    name: str
    colour_key: str
    from_colour: str
    to_colour: str
    selector_before: dict[str, str]
    selector_after: dict[str, str]
    mode: str = "switch"
    pending: PendingSwitch | None = None
    ready_by_colour: dict[str, int] = field(default_factory=dict)

    @property
    def target(self) -> str:
        """``NS/NAME``."""
        return f"{self.namespace}/{self.name}"

    def patch_command(self, colour: str) -> str:
        """The equivalent ``kubectl patch`` setting the colour label of the selector."""
        body = json.dumps({"spec": {"selector": {self.colour_key: colour}}}, separators=(",", ":"))
        return f"kubectl -n {self.namespace} patch service {self.name} --type=merge -p {shlex.quote(body)}"

    def selector_body(self, colour: str) -> dict[str, Any]:
        """The selector part of the merge patch (what the kubectl command sends)."""
        return {"spec": {"selector": {self.colour_key: colour}}}


def selector_text(selector: dict[str, str]) -> str:
    """``app=web,color=blue`` (``(none)`` for an empty selector)."""
    return selector_query(selector) or "(none)"


# ----- the Plan ------------------------------------------------------------------------------


def build_plan(target: str, service: ServiceRecord, deployments: list[DeploymentRecord], pods: list[PodRecord],
               to_colour: str | None, undo: bool = False, verify_timeout: float = 30.0) -> Plan[SwitchSpec]:
    """The Plan for switching ``service`` (or finishing/undoing the switch pending on it)."""
    pending = pending_of(service)
    if pending is not None:
        return _pending_plan(target, service, pods, pending, to_colour, undo)
    if undo:
        raise UsageError(f"{target} has no unverified switch to undo (no {PENDING} annotation)")
    key, colours = colour_key_of(service, deployments)
    before = dict(service.selector)
    from_colour = before.get(key, "")
    to_colour = to_colour or other_colour(target, from_colour, colours)
    after = {**before, key: to_colour}
    spec = SwitchSpec(service.namespace, service.name, key, from_colour, to_colour, before, after,
                      ready_by_colour=ready_by_colour(before, key, pods))
    targets = [d for d in deployments if LabelSelector.from_map(after).matches(d.template_labels)]
    checks = (check_exists(to_colour, targets, colours), check_rolled_out(targets), check_ports(service, targets),
              check_endpoints(service, after, pods, targets))
    noop = f"{target} already selects {to_colour}" if before == after else ""
    return _plan(service, spec, f"switch {target} to {to_colour}", checks, noop, (
        f"verify   within {verify_timeout:g}s the EndpointSlices must list only {to_colour} endpoints "
        f"(at least one ready), else cockpit switches back to {from_colour}",
        f"marker   {PENDING} stays on the Service until verified or switched back "
        "(a restarted cockpit offers to finish or undo it)"))


def _pending_plan(target: str, service: ServiceRecord, pods: list[PodRecord], pending: PendingSwitch,
                  to_colour: str | None, undo: bool) -> Plan[SwitchSpec]:
    """Finish (verify) or undo (switch back) a switch some cockpit left unverified."""
    if to_colour not in (None, pending.to_colour, pending.from_colour):
        raise UsageError(f"{target} has an unverified switch to {pending.to_colour} (by {pending.operator}): "
                         f"finish it (--to {pending.to_colour}) or undo it (--undo) first")
    undo = undo or (to_colour == pending.from_colour and to_colour != pending.to_colour)
    mode = "undo" if undo else "finish"
    spec = SwitchSpec(service.namespace, service.name, pending.colour_key, pending.from_colour, pending.to_colour,
                      pending.previous, pending.selector, mode, pending,
                      ready_by_colour(pending.previous, pending.colour_key, pods))
    state = "overdue" if pending.overdue else f"due {pending.deadline}: its cockpit may still be verifying it"
    left = (f"unverified switch of {target} to {pending.to_colour} by {pending.operator} ({state}); "
            f"the Service selects {selector_text(service.selector)} now")
    if undo:
        return _plan(service, spec, f"undo the unverified switch of {target} (back to {pending.from_colour})", (),
                     "", (left, f"undo     switch back to {selector_text(pending.previous)} and verify it"))
    return _plan(service, spec, f"finish the unverified switch of {target} to {pending.to_colour}", (), "", (
        left, f"finish   verify that only {pending.to_colour} endpoints are listed; if not, switch back to "
              f"{pending.from_colour}", f"undo     instead: cockpit switch {target} --undo"))


def _plan(service: ServiceRecord, spec: SwitchSpec, title: str, checks: tuple[Check, ...], noop: str,
          details: tuple[str, ...]) -> Plan[SwitchSpec]:
    back = spec.mode == "undo"
    before, after = (spec.selector_after, spec.selector_before) if back else (spec.selector_before, spec.selector_after)
    colour = spec.from_colour if back else spec.to_colour
    shown_before = spec.to_colour if back else spec.from_colour
    sends = "nothing (a finish only reads and verifies)" if spec.mode == "finish" else \
        "the same PATCH with dryRun=All (the server validates it, nothing changes)"
    return Plan(
        action="switch", target=spec.target, title=title,
        before=_text(before, shown_before, spec.ready_by_colour), after=_text(after, colour, spec.ready_by_colour),
        reason=REASON, subject=ObjectRef("Service", "v1", service.name, service.namespace, service.uid),
        commands=(spec.patch_command(colour),) if spec.mode != "finish" else (),
        checks=checks, details=details, dry_run=sends, noop=noop, version=service.resource_version,
        before_state={"selector": before}, after_state={"selector": after}, spec=spec)


def _text(selector: dict[str, str], colour: str, ready: dict[str, int]) -> str:
    return f"selector {selector_text(selector)} ({ready.get(colour, 0)} ready {colour} pods)"


# ----- colours and checks ----------------------------------------------------------------------


def colour_key_of(service: ServiceRecord, deployments: list[DeploymentRecord]) -> tuple[str, list[str]]:
    """The selector label naming the colour, and the colours found behind the Service.

    Uses the Traffic pane's pair detection; a Service with a colour label but a single colour
    deployed is still switchable (the target check says what is missing).
    """
    found = pair_label(service, deployments)
    if found is not None:
        key, by_value = found
        return key, sorted(by_value)
    for key in DEFAULT_LABEL_KEYS:
        if key in service.selector:
            return key, [service.selector[key]]
    raise UsageError(f"the Service selector {selector_text(service.selector)} has no colour label "
                     f"({', '.join(DEFAULT_LABEL_KEYS)}): not a blue/green Service")


def other_colour(target: str, current: str, colours: list[str]) -> str:
    """The one colour that is not ``current`` (a UsageError when that is ambiguous)."""
    others = [c for c in colours if c != current]
    if len(others) != 1:
        raise UsageError(f"{target}: say which colour to switch to (--to); colours found: {', '.join(colours) or 'none'}")
    return others[0]


def check_exists(colour: str, targets: list[DeploymentRecord], colours: list[str]) -> Check:
    """A Deployment runs pods of the target colour."""
    if targets:
        return Check(CHECK_TARGET_EXISTS, True, ", ".join(d.name for d in targets))
    return Check(CHECK_TARGET_EXISTS, False, f"no Deployment has pods labelled {colour} "
                                             f"(colours found: {', '.join(colours) or 'none'})")


def check_rolled_out(targets: list[DeploymentRecord]) -> Check:
    """Every target Deployment is fully rolled out: updated = ready = available = desired."""
    if not targets:
        return Check(CHECK_ROLLED_OUT, False, "no target Deployment")
    problems = [p for d in targets if (p := rollout_problem(d))]
    if problems:
        return Check(CHECK_ROLLED_OUT, False, "; ".join(problems))
    return Check(CHECK_ROLLED_OUT, True, ", ".join(replica_text(d) for d in targets))


def rollout_problem(dep: DeploymentRecord) -> str:
    """Why a Deployment is not fully rolled out ('' when it is)."""
    # kubectl's rules first (they cover observedGeneration), then stricter: every desired
    # replica must also be ready, since the switch sends all traffic there at once.
    verdict = rollout_status(dep)
    if not verdict.done:
        return verdict.message
    if dep.replicas < 1:
        return f"{dep.name}: scaled to 0"
    if any(v != dep.replicas for v in (dep.updated_replicas, dep.ready_replicas, dep.available_replicas)):
        return replica_text(dep)
    return ""


def replica_text(dep: DeploymentRecord) -> str:
    """``web-green desired 3, updated 3, ready 3, available 3``."""
    return (f"{dep.name} desired {dep.replicas}, updated {dep.updated_replicas}, ready {dep.ready_replicas}, "
            f"available {dep.available_replicas}")


def _target_port(port: Any) -> int | str | None:
    return port.target_port if port.target_port is not None else port.port


def _exposes(dep: DeploymentRecord, target_port: int | str | None) -> bool:
    return any(c.exposes(target_port) for c in dep.containers)


def check_ports(service: ServiceRecord, targets: list[DeploymentRecord]) -> Check:
    """The target pods declare every target port of the Service."""
    wanted = [_target_port(p) for p in service.ports]
    if not targets:
        return Check(CHECK_PORTS, False, "no target Deployment")
    missing = [f"{d.name} lacks port {t}" for d in targets for t in wanted if not _exposes(d, t)]
    if missing:
        return Check(CHECK_PORTS, False, "; ".join(missing))
    return Check(CHECK_PORTS, True, "target ports " + ", ".join(str(t) for t in wanted))


def check_endpoints(service: ServiceRecord, selector: dict[str, str], pods: list[PodRecord],
                    targets: list[DeploymentRecord]) -> Check:
    """What the EndpointSlices WILL list after the switch: ready target pods serving each port."""
    # The Service's own slices still point at the old colour, so count the target pods.
    matcher = LabelSelector.from_map(selector)
    ready = [p for p in pods if matcher.matches(p.labels) and p.ready and not p.terminating]
    if not service.ports:
        return Check(CHECK_ENDPOINTS, False, "the Service has no ports")
    counts = [(p.port, _target_port(p), len(ready) if any(_exposes(d, _target_port(p)) for d in targets) else 0)
              for p in service.ports]
    empty = [f"port {p}->{t}: 0 ready pods" for p, t, n in counts if n == 0]
    if empty:
        return Check(CHECK_ENDPOINTS, False, "; ".join(empty))
    return Check(CHECK_ENDPOINTS, True, ", ".join(f"port {p}->{t}: {n} ready" for p, t, n in counts))


def ready_by_colour(selector: dict[str, str], key: str, pods: list[PodRecord]) -> dict[str, int]:
    """Ready pods per colour among the pods the selector picks on every other key."""
    base = LabelSelector.from_map({k: v for k, v in selector.items() if k != key})
    counts: dict[str, int] = {}
    for pod in pods:
        if key in pod.labels and base.matches(pod.labels) and pod.ready and not pod.terminating:
            counts[pod.labels[key]] = counts.get(pod.labels[key], 0) + 1
    return counts
