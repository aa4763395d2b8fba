"""This cockpit's own upgrade run, hosted by the Nodes pane.

The run is an :class:`~cockpit.controllers.upgrade_ops.UpgradeRun` operation driven by the one
driver, in a Textual worker of the Nodes pane (see ``NodesPane.host_operation``). The confirm
screen shows the plan and asks; once the run has taken the lock the screen says so and points
to the board, while the run goes on in the pane's worker. This object keeps what the other
controls need about that run: its controller (pause, resume, abort at once, in this process)
and how it ended.
"""

from __future__ import annotations

import asyncio
from typing import Any

from cockpit.controllers.upgrade_ops import LocalRun


class PaneUpgrade:
    """The upgrade run this cockpit drives, if any (at most one)."""

    def __init__(self) -> None:
        self.controller: Any = None
        self.worker: Any = None
        self.last_result: Any = None
        self.last_error: str = ""
        self._ended: asyncio.Event | None = None

    def running(self) -> bool:
        """True while this cockpit's run worker is alive (also while paused)."""
        return self.worker is not None and not self.worker.is_finished

    def begin(self, worker: Any) -> None:
        """A run's worker started (its controller arrives once the run takes the lock)."""
        self.worker = worker
        self.controller = None
        self.last_result = None
        self.last_error = ""
        self._ended = asyncio.Event()

    def end(self, result: Any = None, error: str = "") -> None:
        """The run ended with ``result`` (or failed before or while running with ``error``)."""
        self.last_result = result
        self.last_error = error
        if self._ended is not None:
            self._ended.set()

    def local(self) -> LocalRun | None:
        """The controls' handle on this cockpit's live run (None when it runs nothing)."""
        controller = self.controller
        if not self.running() or controller is None:
            return None

        async def stop() -> None:
            controller.abort("aborted from this cockpit")
            if self._ended is not None:
                await self._ended.wait()

        return LocalRun(controller.pause, controller.resume, stop)
