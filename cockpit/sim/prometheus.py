"""A real Prometheus server as the simulator's child process, scraping its mesh metrics.

The binary is the distribution's (``prometheus`` on PATH, Debian's ``/usr/bin/prometheus``); it
is started with a generated config that scrapes the simulator every second, keeps its TSDB under
``<state dir>/prometheus/``, listens on 127.0.0.1 only and dies with the simulator. Its URL is
written to ``<state dir>/prometheus.url`` for tools that did not see the ready line.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

SCRAPE_INTERVAL = "1s"
READY_TIMEOUT = 30.0  # real seconds; a cold TSDB on a loaded machine takes a few
URL_FILE = "prometheus.url"
FALLBACK_BINARY = "/usr/bin/prometheus"


def find_binary() -> str | None:
    """``prometheus`` on PATH, else Debian's location, else None."""
    found = shutil.which("prometheus")
    if found:
        return found
    return FALLBACK_BINARY if os.access(FALLBACK_BINARY, os.X_OK) else None


def config_text(target: str, interval: str = SCRAPE_INTERVAL) -> str:
    """The prometheus.yml that scrapes ``target`` (``127.0.0.1:PORT``) at ``/metrics``."""
    return (f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
            f"scrape_configs:\n- job_name: cockpit-sim\n  scrape_interval: {interval}\n"
            f"  scrape_timeout: {interval}\n  metrics_path: /metrics\n"
            f"  static_configs:\n  - targets: ['{target}']\n")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusProcess:
    """One Prometheus child process (``start``/``stop``; ``url`` once started)."""

    def __init__(self, state_dir: str, target: str, binary: str | None = None) -> None:
        self.home = Path(state_dir) / "prometheus"
        self.url_file = Path(state_dir) / URL_FILE
        self.target = target
        self.binary = binary or find_binary()
        self.url = ""
        self.process: subprocess.Popen | None = None

    def command(self, port: int) -> list[str]:
        """The argv that runs the server on ``127.0.0.1:port``."""
        return [self.binary or "prometheus", f"--config.file={self.home / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.home / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1d", "--log.level=warn"]

    async def start(self) -> str:
        """Write the config, start the server and wait until it is ready; returns its URL."""
        if self.binary is None:
            raise OSError("no prometheus binary on PATH (Debian: apt-get install prometheus)")
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "prometheus.yml").write_text(config_text(self.target), encoding="utf-8")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with open(self.home / "prometheus.log", "ab") as log:
            self.process = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            preexec_fn=_die_with_parent)
        await self._wait_ready()
        self.url_file.write_text(self.url + "\n", encoding="utf-8")
        return self.url

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise OSError(f"prometheus exited ({self.process.returncode}); see {self.home / 'prometheus.log'}")
            if await asyncio.to_thread(_ready, self.url):
                return
            await asyncio.sleep(0.1)
        raise OSError(f"prometheus was not ready after {READY_TIMEOUT:.0f} s")

    async def stop(self, grace: float = 1.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; removes the URL file."""
        self.url_file.unlink(missing_ok=True)
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, grace)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 2.0)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1.0) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _die_with_parent() -> None:
    # Linux: SIGTERM the server when the simulator dies without stopping it (kill -9).
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; other platforms rely on stop()
        pass
