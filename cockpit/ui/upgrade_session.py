"""The TUI's side of a node upgrade: at most one UpgradeController per cockpit, run as an
app worker so the panes stay live while it works.

The controller's Progress events go to ``app.report_node_progress`` (the Nodes pane's board
and log view). Pause/resume steer this cockpit's controller, or, when the run belongs to
another process (a second cockpit, ``cockpit upgrade run``), ask it through the Lease.
Every mutating call checks ``services["guard"]`` (read-only) and is journaled by it.

Tests and the config can shrink the controller's timeouts with ``services["upgrade_options"]``
(a dict of UpgradeOptions fields, e.g. ``{"poll_interval": 0.05, "ready_timeout": 2.0}``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cockpit.errors import CockpitError


class UpgradeSession:
    """The upgrade run this cockpit drives (if any), its SSH pool and its worker."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.controller: Any = None
        self.worker: Any = None
        self.target = ""
        self.last_result: Any = None

    @property
    def services(self) -> dict[str, Any]:
        """The app's services (client, guard, ssh_config, ...)."""
        return self.app.services

    def running(self) -> bool:
        """True while this cockpit's run worker is alive (also while paused)."""
        return self.worker is not None and not self.worker.is_finished

    def options(self, target: str) -> Any:
        """UpgradeOptions for ``target`` with the app's overrides applied."""
        from cockpit.controllers.upgrade import UpgradeOptions

        return replace(UpgradeOptions(target=target), **dict(self.services.get("upgrade_options") or {}))

    def controller_for(self, target: str, pool: Any = None, reporter: Any = None) -> Any:
        """An UpgradeController for ``target`` (no pool: it can plan but not run)."""
        from cockpit.controllers.upgrade import UpgradeController

        return UpgradeController(self.services["client"], pool, self.services["guard"], self.options(target),
                                 reporter)

    async def plan(self, target: str) -> Any:
        """Read the cluster and plan (reads only); returns the controller holding the plan."""
        controller = self.controller_for(target)
        await controller.plan()
        return controller

    def new_pool(self) -> Any:
        """The SSH pool from ``--ssh-config`` (strict host keys unless the config says otherwise)."""
        from cockpit.ssh.pool import SshPool

        return SshPool(ssh_config=self.services.get("ssh_config"),
                       accept_new_host_keys=bool(self.services.get("ssh_accept_new_host_keys")))

    # -- start / retry -------------------------------------------------------------------------

    def start(self, target: str) -> str:
        """Start (or resume, after a halt) the run to ``target`` in an app worker."""
        if self.running():
            raise CockpitError(f"an upgrade to {self.target} is already running in this cockpit")
        self.services["guard"].check_mutation_allowed("upgrade", target)
        pool = self.new_pool()
        self.controller = self.controller_for(target, pool, self.app.report_node_progress)
        self.target = target
        self.worker = self.app.run_worker(self._run(self.controller, pool), group="upgrade",
                                          name=f"upgrade to {target}", exit_on_error=False)
        return f"upgrade to {target} started ({self.controller.run_id}): follow it in the Nodes pane, l shows the log"

    async def _run(self, controller: Any, pool: Any) -> Any:
        try:
            result = await controller.run()
        except Exception as exc:  # noqa: BLE001 - a refused or broken run is a message, not a crash
            message = str(exc) if isinstance(exc, CockpitError) else f"{type(exc).__name__}: {exc}"
            self.app.show_banner(f"upgrade: {message}")
            self.app.notify(message, title="upgrade failed to run", severity="error")
            return None
        finally:
            await pool.close()
        self.last_result = result
        severity = {"done": "information", "halted": "error"}.get(result.outcome, "warning")
        self.app.notify(result.message, title=f"upgrade {result.outcome}", severity=severity, timeout=10)
        return result

    # -- pause / resume ------------------------------------------------------------------------

    async def pause(self) -> str:
        """Pause at the next step boundary (this cockpit's run, or another's through the Lease)."""
        guard = self.services["guard"]
        guard.check_mutation_allowed("upgrade-pause", "cluster")
        if self.running():
            self.controller.pause()
            guard.record("upgrade-pause", "cluster", "pause", run=self.controller.run_id)
            return "pausing at the next step boundary"
        holder = await self._lock().request_pause(True)
        guard.record("upgrade-pause", "cluster", "pause", holder=holder.identity, run=holder.run)
        return f"pause requested from {holder.identity} (run {holder.run})"

    async def resume(self) -> str:
        """Continue a paused run (and lift a pause requested through the Lease)."""
        guard = self.services["guard"]
        guard.check_mutation_allowed("upgrade-resume", "cluster")
        lock = self._lock()
        holder = await lock.holder()
        if holder is not None and holder.paused:
            holder = await lock.request_pause(False)
        if self.running():
            self.controller.resume()
        elif holder is None:
            raise CockpitError("no upgrade is running (no lock lease); use retry (T) to run it again")
        guard.record("upgrade-resume", "cluster", "resume", run=self.controller.run_id if self.running() else None)
        return "resumed" if self.running() else f"resume requested from {holder.identity}"

    # -- skip / abort --------------------------------------------------------------------------

    async def skip(self, node: str, reporter: Any = None) -> str:
        """Mark ``node`` skipped (controller's skip_node: annotations + lifting cockpit's cordon)."""
        from cockpit.controllers.upgrade import skip_node

        if self.running():
            raise CockpitError("the run is still going: pause or abort it before skipping a node")
        return await skip_node(self.services["client"], self.services["guard"], node, reporter)

    async def abort(self, reporter: Any = None) -> list[str]:
        """Stop this cockpit's run at the next step boundary, then clear the run from the cluster."""
        from cockpit.controllers.upgrade import abort_run

        self.services["guard"].check_mutation_allowed("upgrade-abort", "cluster")
        if self.running():
            self.controller.abort("aborted from the cockpit")
            await self.worker.wait()
        return await abort_run(self.services["client"], self.services["guard"], reporter=reporter)

    def _lock(self) -> Any:
        from cockpit.controllers.upgrade_lock import RunLock

        return RunLock(self.services["client"])
