"""``cockpit sim`` in the foreground: serve until SIGINT/SIGTERM, then shut down within 2 s."""

from __future__ import annotations

import asyncio
import signal

from cockpit.errors import UsageError
from cockpit.sim.runner import SimOptions, Simulator


def ready_line(sim: Simulator) -> str:
    """The single line printed once the simulator serves."""
    ssh = sim.ssh_config or f"{sim.options.state_dir.rstrip('/')}/ssh_config"
    line = f"cockpit-sim ready kubeconfig={sim.kubeconfig} ssh_config={ssh} url={sim.url}"
    if sim.metrics is not None:
        line += f" metrics={sim.metrics.url}"
    if sim.prometheus is not None:
        line += f" prometheus={sim.prometheus.url}"
    return line


async def serve(options: SimOptions) -> int:
    """Run the simulator until a termination signal arrives."""
    sim = Simulator(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await sim.start()
        print(ready_line(sim), flush=True)
        await stop.wait()
    finally:
        await asyncio.wait_for(sim.stop(), timeout=1.8)
    return 0


def run(options: SimOptions) -> int:
    """Blocking entry point used by the CLI."""
    try:
        return asyncio.run(serve(options))
    except (OSError, ValueError) as exc:  # port in use, unknown scenario, bad sizes, no prometheus
        raise UsageError(f"cannot start the simulator: {exc}") from None
