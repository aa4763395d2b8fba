"""Drain as an operation: kubectl drain semantics through the one driver, from the CLI and the TUI.

The preview is the pre-flight (which pods kubectl would evict or refuse, the PDBs that block or
pace the drain, capacity) turned into a Plan whose checks refuse what kubectl refuses, and whose
equivalent command is the ``kubectl drain`` with exactly the options in effect. Apply cordons
(recording that cockpit did), evicts through policy/v1 and waits, or runs ``kubectl drain`` on a
control-plane node over SSH. A dry run sends the cordon and every eviction with dryRun=All.
A drain that fails leaves the node cordoned, as kubectl does, and says so with the command that
lifts the cordon.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from dataclasses import dataclass, replace
from typing import Any

from cockpit.controllers.base import Check, Emitter, Progress
from cockpit.controllers.cordon import NodeFacts, node_ref, node_state, node_version, read_node, state_text
from cockpit.controllers.drain import DrainController, DrainFailed, DrainResult, remote_drain_argv
from cockpit.controllers.operation import Plan, Result, Run, dry_run_result
from cockpit.domain.drain import DrainOptions, DrainPreflight
from cockpit.domain.selectors import LabelSelector
from cockpit.errors import UsageError
from cockpit.journal import current_user
from cockpit.kube.api import KubeApi

SHOWN_PODS = 8  # pods named in the one-line "after"; the details list them all
CANCEL_REPORT_SECONDS = 5  # a cancelled drain reads the node once to say what it leaves behind


def drain_options(*, ignore_daemonsets: bool = False, delete_emptydir_data: bool = False, force: bool = False,
                  pod_selector: str = "", grace_period: int = -1, timeout: float = 0.0,
                  retry_interval: float = 5.0, skip_wait_for_delete_timeout: int = 0) -> DrainOptions:
    """The one place drain options are built (CLI flags, upgrade flags, the TUI's choice).

    Defaults are kubectl's. Out-of-range numbers are a UsageError (exit status 2), never
    clamped: a drain must run with the options the operator typed or not at all.
    """
    if grace_period < -1:
        raise UsageError(f"--grace-period must be -1 (each pod's own) or 0 or more seconds, not {grace_period}")
    if timeout < 0:
        raise UsageError(f"--timeout must be 0 (no limit) or a positive duration, not {timeout:g}s")
    if retry_interval <= 0:
        raise UsageError(f"--retry-interval must be a positive duration, not {retry_interval:g}s")
    if skip_wait_for_delete_timeout < 0:
        raise UsageError("--skip-wait-for-delete-timeout must be 0 or more seconds, "
                         f"not {skip_wait_for_delete_timeout}")
    if pod_selector:
        try:
            LabelSelector.parse(pod_selector)
        except ValueError as exc:
            raise UsageError(f"--pod-selector {pod_selector!r}: {exc}") from None
    return DrainOptions(ignore_daemonsets=ignore_daemonsets, delete_emptydir_data=delete_emptydir_data,
                        force=force, pod_selector=pod_selector, grace_period=grace_period, timeout=timeout,
                        retry_interval=retry_interval, skip_wait_for_delete_timeout=skip_wait_for_delete_timeout,
                        # wait-for-delete polls a few times per retry interval, at most once a second
                        poll_interval=min(1.0, retry_interval / 5))


def kubectl_drain_command(node: str, options: DrainOptions) -> str:
    """The ``kubectl drain`` command line equivalent to a drain with ``options``."""
    argv = ["kubectl", "drain", node]
    flags = (("--ignore-daemonsets", options.ignore_daemonsets),
             ("--delete-emptydir-data", options.delete_emptydir_data), ("--force", options.force))
    argv += [flag for flag, on in flags if on]
    if options.pod_selector:
        argv.append(f"--pod-selector={options.pod_selector}")
    if options.grace_period >= 0:
        argv.append(f"--grace-period={options.grace_period}")
    if options.timeout:
        argv.append(f"--timeout={options.timeout:g}s")
    if options.skip_wait_for_delete_timeout:
        argv.append(f"--skip-wait-for-delete-timeout={options.skip_wait_for_delete_timeout}")
    return shlex.join(argv)


@dataclass(frozen=True)
class DrainSpec:
    """The drain's typed payload: its options, the pre-flight, and the remote argv (SSH drains)."""

    options: DrainOptions
    preflight: DrainPreflight
    remote_argv: tuple[str, ...] = ()


class DrainOperation:
    """``cockpit drain NODE [...]``: cordon, evict (PDB-aware) and wait, or ``kubectl drain`` over SSH."""

    action = "drain"

    def __init__(self, api: KubeApi, node: str, options: DrainOptions, *, via: str | None = None,
                 ssh: Any = None, run_id: str = "", user: str | None = None,
                 command_timeout: float = 900) -> None:
        self.api = api
        self.target = node
        self.options = options
        self.via = via
        self.ssh = ssh
        self.run_id = run_id or f"drain-{int(time.time())}"
        self.user = user or current_user()
        self.command_timeout = command_timeout

    def _engine(self, run: Run | None = None) -> DrainController:
        reporter = None if run is None else _relay(run)
        # The cordon steps are left out: the driver's start and result carry the node's state
        # before and after; the PDBs that hold the drain up are journaled on the node.
        steps = None if run is None else run.steps.without("cordon")
        return DrainController(self.api, steps, reporter, run_id=self.run_id, user=self.user)

    # ----- preview ---------------------------------------------------------------------------

    async def preview(self) -> Plan[DrainSpec]:
        """The pre-flight as a plan: kubectl's refusals and overlapping PDBs are failed checks."""
        facts = await read_node(self.api, self.target)
        pre = await self._engine().preflight(self.target, self.options)
        evict = [d.key for d in pre.filtered.evict]
        argv = tuple(remote_drain_argv(self.target, self.options)) if self.via else ()
        command = f"ssh {self.via} {shlex.join(argv)}" if self.via else kubectl_drain_command(self.target, self.options)
        return Plan(
            action=self.action, target=self.target, title=self._title(), before=state_text(facts.node),
            after=f"node/{self.target} cordoned; evict {_pods_text(evict)}", reason="NodeDrained",
            subject=node_ref(facts.node), commands=(command,), checks=_checks(pre), details=tuple(pre.lines()),
            dry_run=self._dry_run_text(command),
            version=f"{node_version(facts.node)};evict={','.join(sorted(evict))}",
            before_state={**node_state(facts.node), "pods": evict},
            after_state={"unschedulable": True, "evicted": evict},
            spec=DrainSpec(self.options, pre, argv))

    def _dry_run_text(self, command: str) -> str:
        if self.via:
            return (f"nothing runs on {self.via}: cockpit sends the cordon and every eviction to the API server "
                    "with dryRun=All")
        return f"{command} --dry-run=server: the cordon and every eviction are sent with dryRun=All"

    def _title(self) -> str:
        via = f" (kubectl drain on {self.via} over SSH)" if self.via else ""
        return f"drain node/{self.target}{via}"

    # ----- apply -----------------------------------------------------------------------------

    async def apply(self, plan: Plan[DrainSpec], run: Run) -> Result:
        """Drain as the plan says; a failure raises DrainFailed naming the cordon left behind."""
        if run.dry_run:
            return await self._dry_run(plan, run)
        engine = self._engine(run)
        try:
            if self.via:
                done = await engine.remote_drain(self.target, self.via, self.ssh, list(plan.spec.remote_argv),
                                                 self.command_timeout)
            else:
                done = await engine.cordon_and_evict(self.target, self.options,
                                                     Emitter(_relay(run), self.action, self.target))
        except DrainFailed as exc:
            partial = exc.result if isinstance(exc.result, DrainResult) else DrainResult(self.target)
            message = f"{exc}; {await self._cordon_left(plan)}"
            raise DrainFailed(message, self._result(plan, partial, message, ok=False)) from exc
        except asyncio.CancelledError:
            # kubectl leaves an interrupted drain's node cordoned too; say so before stopping
            try:
                async with asyncio.timeout(CANCEL_REPORT_SECONDS):
                    left = await self._cordon_left(plan)
            except TimeoutError:
                left = f"node/{self.target} may be left cordoned; cockpit uncordon {self.target} lifts it"
            run.say("cancelled", f"drain cancelled; {left}", "warn")
            raise
        return self._result(plan, done, done.message, ok=True)

    async def _dry_run(self, plan: Plan[DrainSpec], run: Run) -> Result:
        """Send the cordon and each eviction to the API server with dryRun=All.

        A drain over SSH is dry-run the same way, from here: nothing runs on the control-plane
        node, so a remote kubectl that ignored ``--dry-run`` could never drain for real.
        """
        engine = self._engine(run)
        await engine.cordon(self.target, dry_run=True)
        pre = await engine.preflight(self.target, self.options, server_dry_run=True)
        refusals = pre.server_refusals
        accepted = len(pre.filtered.evict) - len(refusals)
        run.say("evict", f"[dry run] the API server accepted {accepted} of {len(pre.filtered.evict)} "
                         "eviction(s)", "ok" if not refusals else "warn")
        for pod, why in refusals.items():
            run.say("evict", f"[dry run] the API server would {'retry' if why.startswith('retry:') else 'refuse'} "
                             f"the eviction of {pod}: {why.removeprefix('retry:').strip()}", "warn")
        evict = plan.after_state.get("evicted") or []
        summary = f"node/{self.target} would be cordoned and {len(evict)} pod(s) evicted"
        if refusals:
            summary += f"; {len(refusals)} eviction(s) answered with a refusal (see above)"
        return replace(dry_run_result(plan, summary),
                       details={"preflight": plan.spec.preflight.to_dict(), "server_refusals": refusals})

    async def _cordon_left(self, plan: Plan[DrainSpec]) -> str:
        """What a failed drain leaves behind, read from the cluster, and how to lift it."""
        try:
            facts: NodeFacts | None = await read_node(self.api, self.target)
        except Exception:  # noqa: BLE001 - the drain's own failure is what must be reported
            facts = None
        if facts is not None and not facts.node.unschedulable:
            return f"node/{self.target} is schedulable"
        if plan.before_state.get("unschedulable") and not (facts and facts.own_cordon):
            return f"node/{self.target} stays cordoned (it was cordoned before this drain)"
        return (f"node/{self.target} is left cordoned; to make it schedulable again run: "
                f"cockpit uncordon {self.target}")

    def _result(self, plan: Plan[DrainSpec], done: DrainResult, message: str, *, ok: bool) -> Result:
        return Result(self.action, self.target, ok, message, before=plan.before_state,
                      after={"unschedulable": True, "evicted": done.evicted},
                      details={"evicted": done.evicted, "failed": done.failed, "blocked_by": done.blocked_by,
                               "cordoned": done.cordoned, "elapsed": round(done.elapsed, 3),
                               "options": self.options, **({"via": self.via} if self.via else {})})


def _checks(pre: DrainPreflight) -> tuple[Check, ...]:
    """kubectl's filter refusals and overlapping PDBs refuse the drain; the rest are details."""
    errors = pre.filtered.error_lines()
    overlapping = [impact.line() for impact in pre.pdbs if impact.effect == "multiple"]
    evict, skip = len(pre.filtered.evict), len(pre.filtered.skipped)
    return (Check("kubectl drain may delete every pod", not errors,
                  "; ".join(errors) or f"{evict} to evict, {skip} skipped"),
            Check("each pod has at most one PDB", not overlapping,
                  "; ".join(overlapping) or "no pod is selected by several PodDisruptionBudgets"))


def _pods_text(keys: list[str]) -> str:
    if not keys:
        return "no pods"
    shown = ", ".join(keys[:SHOWN_PODS])
    more = f" and {len(keys) - SHOWN_PODS} more" if len(keys) > SHOWN_PODS else ""
    return f"{len(keys)} pod(s): {shown}{more}"


def _relay(run: Run):
    """A Reporter that forwards the engine's progress through the driver's Run (whose own
    ``done`` line, with the Result's message, replaces the engine's)."""

    def report(progress: Progress) -> None:
        if progress.step != "done":
            run.say(progress.step, progress.message, progress.level, **progress.data)

    return report

