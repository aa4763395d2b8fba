"""`cockpit` (the TUI against the current kubeconfig) and `cockpit demo` (the TUI against a
simulated cluster started in a subprocess).

This is the only module that knows the simulator exists, and it only knows its command line:
the TUI itself talks to whatever API server the kubeconfig names.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cockpit.errors import ConnectionProblem

READY_PREFIX = "cockpit-sim ready "
READY_TIMEOUT = 60.0


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add ``demo``; the TUI itself is the default handler (set by cli.py)."""
    demo = subparsers.add_parser(
        "demo", parents=[common],
        help="start a simulated cluster (demo scenario) and open the cockpit against it",
        description="Start `cockpit sim --scenario demo` in a subprocess, open the cockpit against its "
                    "kubeconfig, and stop the simulator whenever the cockpit exits.")
    demo.add_argument("--speed", type=float, default=1.0,
                      help="speed-up factor of the simulated cluster (1 = real time, the default; 20 = twenty "
                           "times faster)")
    demo.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)
    demo.set_defaults(handler=run_demo)


# -- the TUI -----------------------------------------------------------------------------------


class LiveSource:
    """The live feed: a KubeClient and a ClusterCache over it (created here, started by the app)."""

    def __init__(self, cluster_config: Any, namespace: str | None) -> None:
        from cockpit.kube.client import KubeClient
        from cockpit.kube.informers import ClusterCache

        self.client = KubeClient(cluster_config)
        self.cache = ClusterCache(self.client, namespace)

    async def start(self) -> None:
        """Start every informer (returns at once; the panes fill as lists arrive)."""
        await self.cache.start()

    async def stop(self) -> None:
        """Stop the informers and close the connection pool."""
        try:
            await self.cache.stop()
        finally:
            await self.client.close()


def build_app(args: argparse.Namespace, headless_ok: bool = False) -> Any:
    """Load the UI config and the cluster config, and build the app (nothing connects yet).

    Raises:
        UsageError / ConnectionProblem: bad config file, kubeconfig or context (one line).
    """
    from cockpit.controllers.driver import Services
    from cockpit.controllers.traffic_metrics import TrafficMetrics
    from cockpit.journal import Journal
    from cockpit.kube.config import load_cluster_config
    from cockpit.ui.app import CockpitApp
    from cockpit.metrics.config import load_metrics_config
    from cockpit.ui.config import config_path, load_config
    from cockpit.ui.actions.common import wire_actions

    ui_config = load_config()
    # The demo's simulator names its Prometheus; it overrides [prometheus] url as --prometheus-url does.
    metrics_config = load_metrics_config(config_path(), getattr(args, "prometheus_url", None))
    cluster = load_cluster_config(args.kubeconfig, args.context)
    read_only = bool(args.read_only or ui_config.read_only)
    journal = Journal(args.journal, context=cluster.context)
    source = LiveSource(cluster, args.namespace)
    feed = TrafficMetrics(metrics_config)
    services = {"ssh_config": args.ssh_config, "traffic_metrics": feed}
    return CockpitApp(source, config=ui_config, read_only=read_only, theme=args.theme,
                      context=cluster.context, namespace=args.namespace, services=services,
                      registry=wire_actions(), metrics=feed, follow=bool(getattr(args, "follow", False)),
                      ops=Services(source.client, journal, cluster.context, cluster.user or None, read_only,
                                   cluster.namespace or "default"))


def run_tui(args: argparse.Namespace, headless: bool = False) -> int:
    """Open the cockpit against the current kubeconfig context; returns the exit status."""
    app = build_app(args)
    for error in app.theme_set.errors:  # also shown in the TUI banner
        print(f"cockpit: {error}", file=sys.stderr)
    with _terminate_on_sigterm():
        app.run(headless=headless)
    return int(app.return_code or 0)


@contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so every `finally` (e.g. the demo's) still runs."""
    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- the demo ----------------------------------------------------------------------------------


def run_demo(args: argparse.Namespace) -> int:
    """Start the simulator, open the TUI against it, and always stop the simulator afterwards."""
    state_dir = Path(tempfile.mkdtemp(prefix="cockpit-demo-"))
    process: subprocess.Popen[str] | None = None
    try:
        with _terminate_on_sigterm():
            process = start_simulator(state_dir, args.speed)
            ready = wait_until_ready(process)
            drain_output(process)
            print(f"cockpit demo: simulated cluster pid={process.pid} {ready}", file=sys.stderr, flush=True)
            args.kubeconfig = ready_field(ready, "kubeconfig")
            args.ssh_config = args.ssh_config or ready_field(ready, "ssh_config")
            args.prometheus_url = ready_field(ready, "prometheus")  # None when no binary was found
            args.context = None
            return run_tui(args, headless=args.headless)
    finally:
        if process is not None:
            stop_simulator(process)
        shutil.rmtree(state_dir, ignore_errors=True)


def start_simulator(state_dir: Path, speed: float) -> subprocess.Popen[str]:
    """``python -m cockpit sim`` in its own process group, dying with us if we are killed."""
    command = [sys.executable, "-m", "cockpit", "sim", "--state-dir", str(state_dir),
               "--scenario", "demo", "--speed", str(speed)]
    if shutil.which("prometheus"):  # live request metrics whenever the server is installed
        command.append("--prometheus")
    # stderr goes to a file (not a pipe nobody reads, which would block the simulator when full).
    log = open(state_dir / "sim.log", "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                text=True, start_new_session=True, preexec_fn=_die_with_parent)
    finally:
        log.close()


def _die_with_parent() -> None:
    # Linux: deliver SIGTERM to the simulator if the cockpit dies without cleaning up (kill -9).
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; other platforms rely on the finally block
        pass


def wait_until_ready(process: subprocess.Popen[str], timeout: float = READY_TIMEOUT) -> str:
    """Read the simulator's stdout until its ready line; raise ConnectionProblem if it dies."""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(READY_PREFIX):
            return line.strip()[len(READY_PREFIX):]
        if not line and process.poll() is not None:
            raise ConnectionProblem(f"the simulated cluster exited ({process.returncode}): {_last_log_line(process)}")
    raise ConnectionProblem(f"the simulated cluster was not ready after {timeout:.0f} s")


def _last_log_line(process: subprocess.Popen[str]) -> str:
    state_dir = Path(process.args[process.args.index("--state-dir") + 1])  # type: ignore[union-attr]
    try:
        lines = (state_dir / "sim.log").read_text(encoding="utf-8").strip().splitlines()
    except OSError:
        lines = []
    return lines[-1] if lines else "no output"


def drain_output(process: subprocess.Popen[str]) -> None:
    """Keep reading the simulator's stdout in a daemon thread so it never blocks on a full pipe."""
    def drain() -> None:
        for _line in process.stdout or ():
            pass

    threading.Thread(target=drain, name="sim-stdout", daemon=True).start()


def ready_field(ready: str, name: str) -> str | None:
    """A ``name=value`` field of the ready line."""
    for part in ready.split():
        key, _, value = part.partition("=")
        if key == name and value:
            return value
    return None


def stop_simulator(process: subprocess.Popen[str], grace: float = 3.0) -> None:
    """SIGTERM the simulator's process group, then SIGKILL it if it lingers."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
