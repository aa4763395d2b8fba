"""Drain, cordon and uncordon through the API (like kubectl drain, with a pre-flight).

``DrainController.preflight`` changes nothing: it lists the pods kubectl would evict, the ones
that refuse the drain and why, the PDBs that will block or pace it (with their numbers) and
whether the remaining schedulable nodes have room. ``drain`` cordons (recording on the Node that
cockpit did it), evicts through policy/v1 concurrently, retries 429s every ``retry_interval``
naming the blocking PDB, stops on a 500 (overlapping PDBs), and waits for every pod to be gone
(404 or a new UID). ``remote_drain`` runs ``kubectl drain`` on a control-plane node instead,
after writing the same cordon record. ``uncordon`` lifts only cordons cockpit placed, unless forced.
``cockpit drain`` and the Nodes pane run these steps as :class:`~.drain_operation.DrainOperation`
through the driver; an upgrade run drives ``drain`` and ``uncordon`` per node. Either way the
driver has refused read-only mode already, and the steps are journaled through the operation's
:class:`~.operation.StepJournal`.

Progress events (action ``"drain"``, target = node): steps ``preflight``, ``cordon``, ``evict``,
``blocked`` (data: pod, pdb, disruptionsAllowed, currentHealthy, desiredHealthy, attempt),
``evicted`` (data: pod, done, total), ``failed``, ``done``, ``uncordon``, ``ssh`` (data: line).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cockpit.controllers.base import ActionFailed, Emitter, PreconditionFailed, Reporter
from cockpit.controllers.operation import StepJournal
from cockpit.domain import drain as plan
from cockpit.domain.drain import DrainOptions, DrainPreflight, EvictionRefusal
from cockpit.domain.records import NodeRecord, PdbRecord, PodRecord
from cockpit.journal import JournalError, current_user
from cockpit.kube.errors import ApiError, NotFound
from cockpit.kube.paths import path_for
from cockpit.kube.typed import get_record, list_objects, list_records


@dataclass
class DrainResult:
    """What a drain did: evicted pods, failures, and the PDBs that held it up."""

    node: str
    ok: bool = False
    cordoned: bool = False
    evicted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    blocked_by: dict[str, str] = field(default_factory=dict)  # pdb -> latest numbers line
    message: str = ""
    elapsed: float = 0.0

    def journal_fields(self) -> dict:
        """Fields recorded in the journal."""
        return {"node": self.node, "ok": self.ok, "evicted": self.evicted, "failed": self.failed,
                "blocked_by": self.blocked_by, "message": self.message, "elapsed": round(self.elapsed, 3)}


class DrainFailed(ActionFailed):
    """The drain did not finish (timeout, blocked PDB, overlapping PDBs, eviction error)."""


list_all = list_objects  # the old name, still imported by upgrade_steps.py


async def node_pods(client, node: str, pod_selector: str = "") -> list[PodRecord]:
    """Every pod bound to ``node`` (all namespaces), optionally label-filtered, in pages of 500."""
    params = {"fieldSelector": f"spec.nodeName={node}"}
    if pod_selector:
        params["labelSelector"] = pod_selector
    return await list_records(client, PodRecord, path_for("pods"), params)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class DrainController:
    """Cordon / drain / uncordon one node at a time, each change journaled through ``steps``.

    Without ``steps`` (a preview's engine) only the reading methods may be used.
    """

    def __init__(self, client, steps: StepJournal | None, reporter: Reporter | None = None, *, run_id: str = "",
                 user: str | None = None) -> None:
        self.client = client
        self.steps = steps
        self.reporter = reporter
        self.run_id = run_id or f"drain-{int(time.time())}"
        self.user = user or current_user()

    # ------------------------------------------------------------------ pre-flight

    async def preflight(self, node: str, options: DrainOptions, server_dry_run: bool = False) -> DrainPreflight:
        """What a drain of ``node`` would do (reads only; ``server_dry_run`` also asks the API
        server to dry-run each eviction, which catches RBAC and budget refusals as it sees them)."""
        node_obj = await get_record(self.client, NodeRecord, path_for("nodes", name=node))
        pods = await node_pods(self.client, node, options.pod_selector)
        missing = await self._missing_daemonsets(pods)
        filtered = plan.filter_pods(pods, options, missing)
        evicting = plan.decided(filtered.evict, pods)
        pdbs = await list_records(self.client, PdbRecord, path_for("poddisruptionbudgets"))
        nodes = await list_records(self.client, NodeRecord, path_for("nodes"))
        every_pod = await list_records(self.client, PodRecord, path_for("pods"))
        return DrainPreflight(
            node=node,
            already_cordoned=node_obj.unschedulable,
            filtered=filtered,
            pdbs=plan.pdb_impacts(evicting, pdbs),
            capacity=plan.capacity_check({node}, nodes, every_pod, evicting),
            server_refusals=await self._dry_run_evictions(evicting, options) if server_dry_run else {},
        )

    async def _dry_run_evictions(self, pods: list[PodRecord], options: DrainOptions) -> dict[str, str]:
        """POST each eviction with dryRun=All; ``retry: ...`` marks answers kubectl would retry."""
        out = {}
        for pod in pods:
            refusal = await self._post_eviction(pod, options, dry_run=True)
            if refusal is not None:
                out[pod.key] = ("retry: " if refusal.retryable else "") + refusal.message
        return out

    async def _missing_daemonsets(self, pods: list[PodRecord]) -> frozenset[str]:
        missing = set()
        for key in plan.daemonset_keys(pods):
            namespace, _, name = key.partition("/")
            try:
                await self.client.get(path_for("daemonsets", namespace, name))
            except NotFound:
                missing.add(key)
        return frozenset(missing)

    # ------------------------------------------------------------------ cordon / uncordon

    async def cordon(self, node: str, *, dry_run: bool = False) -> bool:
        """Cordon ``node`` and record that cockpit did (and whether it was cordoned before).

        Returns True if the node was schedulable. An existing cockpit record is kept, so a
        resumed run still knows the node was schedulable before the first attempt. ``dry_run``
        sends the patch with dryRun=All (nothing changes).
        """
        emit = Emitter(self.reporter, "drain", node)
        obj = await get_record(self.client, NodeRecord, path_for("nodes", name=node))
        was = obj.unschedulable
        existing = plan.read_cordon_record(obj)
        if was and existing is not None:
            emit("cordon", f"node/{node} already cordoned")
            return False
        record = None if existing is not None else plan.cordon_record(self.run_id, self.user, _now(), was)
        body = plan.cordon_patch(record)
        self._journal("cordon", node, "step", patch=body, was_unschedulable=was, dry_run=dry_run)
        await self.client.patch(path_for("nodes", name=node), body, "merge", dry_run=dry_run)
        marker = "[dry run] " if dry_run else ""
        emit("cordon", f"{marker}node/{node} {'already cordoned' if was else 'cordoned'}", "ok")
        return not was

    async def record_cordon(self, node: str) -> bool:
        """Write cockpit's cordon record on ``node`` without cordoning it; True if it was schedulable.

        For drains another tool carries out (``kubectl drain`` over SSH cordons the node itself),
        so that ``uncordon`` later knows the cordon is cockpit's, and whether the node was
        cordoned before. An existing record is kept, as in :meth:`cordon`.
        """
        obj = await get_record(self.client, NodeRecord, path_for("nodes", name=node))
        was = obj.unschedulable
        if plan.read_cordon_record(obj) is None:
            record = plan.cordon_record(self.run_id, self.user, _now(), was)
            body = {"metadata": {"annotations": {plan.CORDONED_BY: record}}}
            self._journal("cordon", node, "step", patch=body, was_unschedulable=was)
            await self.client.patch(path_for("nodes", name=node), body, "merge")
        return not was

    async def _drop_unused_record(self, node: str) -> None:
        """Remove cockpit's cordon record from a node that ended up schedulable (the remote drain
        failed before cordoning), so nothing claims a cordon that does not exist."""
        obj = await get_record(self.client, NodeRecord, path_for("nodes", name=node))
        if plan.read_cordon_record(obj) is None or obj.unschedulable:
            return
        body = {"metadata": {"annotations": {plan.CORDONED_BY: None}}}
        self._journal("cordon", node, "step", patch=body, reason="remote drain did not cordon")
        await self.client.patch(path_for("nodes", name=node), body, "merge")

    async def uncordon(self, node: str, force: bool = False) -> tuple[bool, str]:
        """Uncordon ``node`` if cockpit cordoned it (or ``force``); returns (changed, message)."""
        emit = Emitter(self.reporter, "drain", node)
        obj = await get_record(self.client, NodeRecord, path_for("nodes", name=node))
        allowed, message = plan.uncordon_decision(obj, force)
        has_record = plan.read_cordon_record(obj) is not None
        if not allowed and not (has_record and not obj.unschedulable):
            emit("uncordon", message, "warn" if "leaving" in message else "info")
            return False, message
        body = {"metadata": {"annotations": {plan.CORDONED_BY: None}}}
        if allowed:
            body["spec"] = {"unschedulable": False}
        self._journal("uncordon", node, "step", patch=body, forced=force)
        await self.client.patch(path_for("nodes", name=node), body, "merge")
        emit("uncordon", message, "ok")
        return allowed, message

    # ------------------------------------------------------------------ drain

    async def drain(self, node: str, options: DrainOptions) -> DrainResult:
        """Pre-flight, cordon, evict, wait, journaled as ``drain`` start and result (or failure,
        cancelled) on the node: the upgrade's drains (``cockpit drain`` and the Nodes pane run
        DrainOperation). Raises PreconditionFailed / DrainFailed."""
        emit = Emitter(self.reporter, "drain", node)
        pre = await self.preflight(node, options)
        for line in pre.lines():
            emit("preflight", line, "warn" if line in pre.warnings else "info")
        if pre.refused:
            raise PreconditionFailed(f"cannot drain node/{node}: " + "; ".join(pre.refused))
        self._journal("drain", node, "start", options=options, preflight=pre.to_dict())
        try:
            result = await self.cordon_and_evict(node, options, emit)
        except asyncio.CancelledError:
            self._journal_quietly("drain", node, "cancelled")
            raise
        except Exception as exc:
            partial = getattr(exc, "result", None)
            self._journal_quietly("drain", node, "failure", error=str(exc) or type(exc).__name__,
                                  error_type=type(exc).__name__,
                                  **(partial.journal_fields() if isinstance(partial, DrainResult) else {}))
            raise
        self._journal("drain", node, "result", **result.journal_fields())
        return result

    def _journal(self, action: str, node: str, event: str, /, **fields) -> None:
        if self.steps is None:  # a programming error: the preview's engine must never change anything
            raise RuntimeError(f"{action} {node}: this DrainController has no journal and only reads")
        self.steps.record(action, node, event, **fields)

    def _journal_quietly(self, action: str, node: str, event: str, /, **fields) -> None:
        """Journal on a path that already fails: report a journal error, never replace the failure."""
        try:
            self._journal(action, node, event, **fields)
        except JournalError as exc:
            Emitter(self.reporter, "drain", node)("journal", f"JOURNAL NOT WRITTEN ({event}): {exc}", "error")

    async def cordon_and_evict(self, node: str, options: DrainOptions, emit: Emitter) -> DrainResult:
        """The drain proper, after its pre-flight: cordon, evict, wait. Raises DrainFailed."""
        started = time.monotonic()
        result = DrainResult(node)
        result.cordoned = await self.cordon(node)
        try:
            async with asyncio.timeout(options.timeout or None):
                await self._evict_all(node, options, result, emit)
        except TimeoutError:
            result.message = _timeout_message(node, options.timeout, result)
        result.elapsed = time.monotonic() - started
        result.ok = not result.failed and not result.message
        if not result.ok:
            result.message = result.message or f"unable to drain node/{node}: " + "; ".join(
                f"{pod}: {why}" for pod, why in result.failed.items())
            emit("failed", result.message, "error", blocked_by=result.blocked_by, failed=result.failed)
            raise DrainFailed(result.message, result)
        result.message = f"node/{node} drained"
        emit("done", result.message, "ok", evicted=len(result.evicted), elapsed=round(result.elapsed, 2))
        return result

    async def _evict_all(self, node: str, options: DrainOptions, result: DrainResult, emit: Emitter) -> None:
        pods = await node_pods(self.client, node, options.pod_selector)
        filtered = plan.filter_pods(pods, options, await self._missing_daemonsets(pods))
        if filtered.errors:
            raise DrainFailed(f"cannot drain node/{node}: " + "; ".join(filtered.error_lines()), result)
        for line in filtered.warning_lines():
            emit("evict", line, "warn")
        targets = plan.decided(filtered.evict, pods)
        gate = asyncio.Semaphore(max(1, options.max_concurrency))
        tasks = [asyncio.create_task(self._evict_one(pod, node, options, result, emit, gate, len(targets)))
                 for pod in targets]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _evict_one(self, pod: PodRecord, node: str, options: DrainOptions, result: DrainResult,
                         emit: Emitter, gate: asyncio.Semaphore, total: int) -> None:
        key = pod.key
        async with gate:
            current: PodRecord | None = pod
            attempt = 0
            while current is not None and not current.terminating:
                attempt += 1
                refusal = await self._post_eviction(current, options)
                if refusal is None:
                    break
                if not refusal.retryable:
                    result.failed[key] = refusal.message
                    if refusal.kind == "multiple-pdbs":
                        raise DrainFailed(f"cannot evict {key}: {refusal.message} (several PDBs select it; "
                                          "fix the overlapping PodDisruptionBudgets)", result)
                    return
                await self._report_blocked(key, refusal, attempt, result, emit, options)
                await asyncio.sleep(options.retry_interval)
                current = await self._refetch(current, node)
        await self._wait_gone(pod, options)
        result.evicted.append(key)
        emit("evicted", f"pod/{pod.name} evicted", "info", pod=key,
             done=len(result.evicted), total=total)

    async def _post_eviction(self, pod: PodRecord, options: DrainOptions,
                             dry_run: bool = False) -> EvictionRefusal | None:
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": pod.name, "namespace": pod.namespace}}
        if options.grace_period >= 0:
            body["deleteOptions"] = {"gracePeriodSeconds": options.grace_period}
        try:
            await self.client.create(path_for("pods", pod.namespace, pod.name, "eviction"), body, dry_run=dry_run)
        except NotFound:
            return None
        except ApiError as exc:
            return plan.classify_eviction_error(exc.status, exc.body, exc.message)
        return None

    async def _report_blocked(self, key: str, refusal: EvictionRefusal, attempt: int, result: DrainResult,
                              emit: Emitter, options: DrainOptions) -> None:
        numbers = await self._pdb_numbers(key.partition("/")[0], refusal.pdb)
        pdb_key = f"{key.partition('/')[0]}/{refusal.pdb}" if refusal.pdb else "a PodDisruptionBudget"
        line = (f"error when evicting pods/{key.partition('/')[2]!r} -n {key.partition('/')[0]!r} "
                f"(will retry after {options.retry_interval:g}s): blocked by PDB {pdb_key}")
        if numbers:
            line += (f" (disruptionsAllowed={numbers['disruptionsAllowed']}, currentHealthy="
                     f"{numbers['currentHealthy']}/desiredHealthy={numbers['desiredHealthy']})")
        line += f": {refusal.message}"
        if pdb_key not in result.blocked_by:  # the first refusal per PDB, not every retry
            self._record_blocker(result.node, key, pdb_key, refusal, numbers)
        result.blocked_by[pdb_key] = line
        emit("blocked", line, "warn", pod=key, pdb=pdb_key, attempt=attempt, **numbers)

    def _record_blocker(self, node: str, pod: str, pdb: str, refusal: EvictionRefusal, numbers: dict) -> None:
        """Journal which PDB holds the drain up, with its numbers; a journal error must not
        stop the evictions already under way, so it is reported instead."""
        self._journal_quietly("drain", node, "blocked", pod=pod, pdb=pdb, message=refusal.message, **numbers)

    async def _pdb_numbers(self, namespace: str, name: str) -> dict:
        if not name:
            return {}
        try:
            pdb = await get_record(self.client, PdbRecord, path_for("poddisruptionbudgets", namespace, name))
        except ApiError:
            return {}
        return {"disruptionsAllowed": pdb.disruptions_allowed, "currentHealthy": pdb.current_healthy,
                "desiredHealthy": pdb.desired_healthy, "expectedPods": pdb.expected_pods}

    async def _refetch(self, pod: PodRecord, node: str) -> PodRecord | None:
        """Re-read the pod before a retry; None if it is gone, replaced or moved (kured#1169)."""
        try:
            fresh = await get_record(self.client, PodRecord, path_for("pods", pod.namespace, pod.name))
        except NotFound:
            return None
        return fresh if fresh.uid == pod.uid and fresh.node_name == node else None

    async def _wait_gone(self, pod: PodRecord, options: DrainOptions) -> None:
        """Poll until the pod is 404 or has a new UID (kubectl's waitForDelete)."""
        path = path_for("pods", pod.namespace, pod.name)
        while True:
            try:
                fresh = await get_record(self.client, PodRecord, path)
            except NotFound:
                return
            if fresh.uid != pod.uid:
                return
            await asyncio.sleep(options.poll_interval)

    # ------------------------------------------------------------------ drain over SSH

    async def remote_drain(self, node: str, control_plane: str, pool, argv: list[str],
                           command_timeout: float = 900) -> DrainResult:
        """Claim the cordon, then run ``argv`` (``kubectl drain``) on ``control_plane``. Raises DrainFailed."""
        emit = Emitter(self.reporter, "drain", node)
        started = time.monotonic()
        # Claim the cordon before kubectl places it: the remote kubectl cannot write our
        # record, and without it `cockpit uncordon` would refuse to lift this drain's cordon.
        cordoned = await self.record_cordon(node)
        try:
            out = await pool.run(control_plane, argv, timeout=command_timeout,
                                 on_line=lambda stream, line: emit("ssh", line, "info", stream=stream,
                                                                   line=line, log=True))
        except BaseException:
            await _quietly(self._drop_unused_record(node))
            raise
        if not out.ok:
            await _quietly(self._drop_unused_record(node))
        result = DrainResult(node, ok=out.ok, cordoned=cordoned, elapsed=time.monotonic() - started,
                             message=f"node/{node} drained (kubectl drain on {control_plane})" if out.ok
                             else " | ".join(out.tail(3)))
        if not out.ok:
            raise DrainFailed(f"kubectl drain on {control_plane} exited {out.exit_status}: {result.message}",
                              result)
        return result


def remote_drain_argv(node: str, options: DrainOptions) -> list[str]:
    """The ``kubectl drain`` argv run on a control-plane node for ``options``."""
    from cockpit.ssh import commands

    timeout = f"{int(options.timeout)}s" if options.timeout else None
    return commands.kubectl_drain(node, ignore_daemonsets=options.ignore_daemonsets,
                                  delete_emptydir_data=options.delete_emptydir_data, force=options.force,
                                  timeout=timeout, grace_period=options.grace_period
                                  if options.grace_period >= 0 else None)


async def _quietly(cleanup) -> None:
    """Await a best-effort cleanup on a failure path without masking the original error."""
    try:
        await cleanup
    except Exception:  # noqa: BLE001 - the drain's own failure is what the operator must see
        pass


def _timeout_message(node: str, timeout: float, result: DrainResult) -> str:
    blockers = "; ".join(result.blocked_by.values())
    text = f"drain of node/{node} did not complete within {timeout:g}s"
    return f"{text}: {blockers}" if blockers else text
