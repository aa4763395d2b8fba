"""The scrape endpoint of the simulated mesh: ``GET /metrics`` on plain HTTP, 127.0.0.1 only.

It stands apart from the API server (no TLS, no token) the way a mesh's metrics port stands
apart from the Kubernetes API: Prometheus scrapes it with a plain static target.
"""

from __future__ import annotations

from aiohttp import web

from cockpit.sim.traffic import TrafficModel

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MetricsServer:
    """Serves a :class:`TrafficModel`'s exposition at ``/metrics``."""

    def __init__(self, model: TrafficModel, host: str = "127.0.0.1", port: int = 0) -> None:
        self.model, self.host, self.port = model, host, port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The scrape URL, ``http://127.0.0.1:PORT/metrics``."""
        return f"http://{self.host}:{self.port}/metrics"

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, as a Prometheus static target names it."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind (port 0 = any free port), follow the store and serve."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the port actually bound
        self.model.attach()

    async def stop(self) -> None:
        """Stop following the store and close the listener."""
        self.model.detach()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        body = self.model.exposition().encode()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
