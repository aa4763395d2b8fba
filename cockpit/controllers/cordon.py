"""Cordon and uncordon as operations: one preview -> confirm -> journal -> apply -> Event path.

Cordoning records on the Node who cordoned it and whether it was schedulable before
(``cockpit.dev/cordoned-by``), so that uncordoning later lifts only cockpit's own cordons: a
cordon somebody else placed (``kubectl cordon``, another tool, a cordon that predates cockpit's)
is left alone unless forced. The refusal is a failed check in the plan, the same from the CLI
and the TUI, naming who cordoned the node and how to force it.

Writes to a Node carry no resourceVersion: node status heartbeats move it all the time. The
plan's ``version`` is what these operations decide on instead (the unschedulable flag and the
cordon record), so the driver's re-check notices another operator's cordon or uncordon.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cockpit.controllers.base import Check
from cockpit.controllers.operation import Plan, Result, Run, dry_run_result
from cockpit.domain import drain as drain_rules
from cockpit.domain.records import NodeRecord
from cockpit.journal import current_user
from cockpit.kube.api import KubeApi, ObjectRef
from cockpit.kube.paths import path_for
from cockpit.kube.typed import get_record

CORDONED_BY = drain_rules.CORDONED_BY
FORCE_HINT = "cockpit uncordon {node} --force (in the TUI: 'node: uncordon (force)')"


@dataclass(frozen=True)
class NodeFacts:
    """A Node as these operations read it: the record, cockpit's cordon record, and whether
    cockpit may lift the cordon without being forced (its own cordon of a schedulable node)."""

    node: NodeRecord
    record: dict | None
    own_cordon: bool


@dataclass(frozen=True)
class NodePatch:
    """An operation's typed payload: the merge patch, and whether it overrides somebody's cordon."""

    body: dict[str, Any]
    forced: bool = False


async def read_node(api: KubeApi, name: str) -> NodeFacts:
    """Read the Node and cockpit's cordon record on it."""
    node = await get_record(api, NodeRecord, path_for("nodes", name=name))
    own, _ = drain_rules.uncordon_decision(node, force=False)
    return NodeFacts(node, drain_rules.read_cordon_record(node), own)


def node_ref(node: NodeRecord) -> ObjectRef:
    """The Event subject for a Node (cluster-scoped: the recorder files it in ``default``)."""
    return ObjectRef("Node", "v1", node.name, "", node.uid)


def node_state(node: NodeRecord) -> dict[str, Any]:
    """What cordon and uncordon change, as the journal records it before and after."""
    return {"unschedulable": node.unschedulable, "cordoned_by": node.annotations.get(CORDONED_BY)}


def node_version(node: NodeRecord) -> str:
    """The fingerprint the driver re-checks: the flag and the record, not the churning resourceVersion."""
    return f"unschedulable={node.unschedulable};{CORDONED_BY}={node.annotations.get(CORDONED_BY, '')}"


def state_text(node: NodeRecord) -> str:
    """``node/worker-1 schedulable`` or ``node/worker-1 cordoned (unschedulable)``."""
    return f"node/{node.name} " + ("cordoned (unschedulable)" if node.unschedulable else "schedulable")


def who_cordoned(node: NodeRecord, record: dict | None) -> str:
    """Who placed the cordon on ``node``, as far as the cluster tells: cockpit's record, else the
    managedFields owner of spec.unschedulable (``kubectl-cordon`` for ``kubectl cordon``)."""
    if record is None:
        placed = (f"{', '.join(node.unschedulable_managers)} set spec.unschedulable"
                  if node.unschedulable_managers else "kubectl cordon or another tool placed it")
        return f"node/{node.name} was not cordoned by cockpit (no {CORDONED_BY} record; {placed})"
    by = f"run {record.get('run') or '?'} by {record.get('user') or '?'} at {record.get('at') or '?'}"
    if record.get("was_unschedulable"):
        return f"node/{node.name} was already cordoned before cockpit's {by}"
    return f"node/{node.name} was cordoned by cockpit's {by}"


def _patch_text(node: str, body: dict) -> str:
    """The request as an operator would write it: JSON, as ``kubectl patch -p`` takes it."""
    return f"PATCH node {node} (merge) {json.dumps(body, separators=(',', ':'))}"


class CordonOperation:
    """``cockpit cordon NODE``: mark the node unschedulable and record that cockpit did."""

    action = "cordon"

    def __init__(self, api: KubeApi, node: str, *, run_id: str = "", user: str | None = None) -> None:
        self.api = api
        self.target = node
        self.run_id = run_id or f"cordon-{int(time.time())}"
        self.user = user or current_user()

    async def preview(self) -> Plan[NodePatch]:
        """The cordon patch, or a no-op when the node is already cordoned."""
        facts = await read_node(self.api, self.target)
        node, record = facts.node, facts.record
        new_record = None if record is not None else drain_rules.cordon_record(
            self.run_id, self.user, datetime.now(timezone.utc), node.unschedulable)
        body = drain_rules.cordon_patch(new_record)
        written = new_record or node_state(node)["cordoned_by"]
        commands = [f"kubectl cordon {node.name}"]
        if record is None:
            commands.append(f"kubectl annotate node {node.name} {CORDONED_BY}={shlex.quote(written)}")
        return Plan(
            action=self.action, target=node.name, title=f"cordon node/{node.name}", before=state_text(node),
            after=f"node/{node.name} cordoned (unschedulable), recorded as cockpit's in {CORDONED_BY}",
            reason="NodeCordoned", subject=node_ref(node), commands=tuple(commands),
            dry_run=f"{_patch_text(node.name, body)} with dryRun=All",
            noop=f"node/{node.name} is already cordoned" if node.unschedulable else "",
            version=node_version(node), before_state=node_state(node),
            after_state={"unschedulable": True, "cordoned_by": written}, spec=NodePatch(body))

    async def apply(self, plan: Plan[NodePatch], run: Run) -> Result:
        """Send the cordon patch (dryRun=All in a dry run)."""
        await self.api.patch(path_for("nodes", name=plan.target), plan.spec.body, "merge", dry_run=run.dry_run)
        if run.dry_run:
            run.say("cordon", f"[dry run] the API server accepted the cordon of node/{plan.target}", "ok")
            return dry_run_result(plan, f"node/{plan.target} would be cordoned")
        return Result(self.action, plan.target, True, f"node/{plan.target} cordoned",
                      before=plan.before_state, after=plan.after_state)


class UncordonOperation:
    """``cockpit uncordon NODE [--force]``: lift cockpit's own cordon; anybody else's only if forced."""

    action = "uncordon"

    def __init__(self, api: KubeApi, node: str, *, force: bool = False) -> None:
        self.api = api
        self.target = node
        self.force = force

    async def preview(self) -> Plan[NodePatch]:
        """The uncordon patch with the ownership check; a no-op when the node is schedulable."""
        facts = await read_node(self.api, self.target)
        node, record = facts.node, facts.record
        body: dict[str, Any] = {"metadata": {"annotations": {CORDONED_BY: None}}} if record is not None else {}
        checks: tuple[Check, ...] = ()
        if node.unschedulable:
            body["spec"] = {"unschedulable": False}
            checks = (self._ownership(facts),)
        commands = [f"kubectl uncordon {node.name}"] if node.unschedulable else []
        if record is not None:
            commands.append(f"kubectl annotate node {node.name} {CORDONED_BY}-")
        stale = "" if node.unschedulable else "; drop cockpit's stale cordon record"
        forced = self.force and node.unschedulable and not facts.own_cordon
        return Plan(
            action=self.action, target=node.name,
            title=f"uncordon node/{node.name}" + (" (forced)" if forced else ""), before=state_text(node),
            after=f"node/{node.name} schedulable{stale}", reason="NodeUncordoned", subject=node_ref(node),
            commands=tuple(commands), checks=checks, dry_run=f"{_patch_text(node.name, body)} with dryRun=All",
            noop="" if body else f"node/{node.name} is not cordoned",
            version=node_version(node), before_state=node_state(node),
            after_state={"unschedulable": False, "cordoned_by": None}, spec=NodePatch(body, forced))

    def _ownership(self, facts: NodeFacts) -> Check:
        """Passes for cockpit's own cordon, or when forced; otherwise names who cordoned and how to force."""
        name = "cordon placed by cockpit"
        who = who_cordoned(facts.node, facts.record)
        if facts.own_cordon:
            return Check(name, True, who)
        if self.force:
            return Check(name, True, f"forced: {who}")
        return Check(name, False, f"{who}; leaving it cordoned. To uncordon anyway: "
                                  + FORCE_HINT.format(node=facts.node.name))

    async def apply(self, plan: Plan[NodePatch], run: Run) -> Result:
        """Send the uncordon patch (dryRun=All in a dry run)."""
        await self.api.patch(path_for("nodes", name=plan.target), plan.spec.body, "merge", dry_run=run.dry_run)
        if run.dry_run:
            run.say("uncordon", f"[dry run] the API server accepted the uncordon of node/{plan.target}", "ok")
            return dry_run_result(plan, f"node/{plan.target} would be uncordoned")
        message = f"node/{plan.target} uncordoned" + (" (forced)" if plan.spec.forced else "")
        if not plan.before_state.get("unschedulable"):
            message = f"node/{plan.target} was schedulable; cockpit's stale cordon record removed"
        return Result(self.action, plan.target, True, message, before=plan.before_state, after=plan.after_state,
                      details={"forced": plan.spec.forced})
