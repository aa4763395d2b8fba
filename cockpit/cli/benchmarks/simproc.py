"""The simulated cluster in a subprocess for the benchmarks, and small HTTP calls against it
made from outside the cockpit (faults, stamps) so they never load the event loop measured."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.cli.tui import drain_output, ready_field, stop_simulator, wait_until_ready

STARTUP_TIMEOUT = 900.0  # 150,000 pods take about 25 s to seed on a quiet machine, far more on a busy one


@dataclass
class SimProcess:
    """A running ``cockpit sim``: its process, state dir, kubeconfig, URL and bearer token."""

    process: subprocess.Popen[str]
    state_dir: Path
    kubeconfig: str
    url: str
    startup_s: float
    token: str = ""
    _context: ssl.SSLContext | None = field(default=None, repr=False)

    def request(self, method: str, path: str, body: Any = None,
                content_type: str = "application/json") -> dict:
        """One synchronous API call (from a bench thread, never from the cockpit's loop)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=30, context=self._context) as resp:
            return json.loads(resp.read() or b"{}")

    def set_fault(self, name: str, value: Any) -> None:
        """Switch a simulator fault (e.g. ``churn_per_second``)."""
        self.request("POST", "/_sim/faults", {"name": name, "value": value})

    def rss_mib(self) -> float:
        """The simulator's resident set size in MiB (0 when it is gone)."""
        return process_rss_mib(self.process.pid)

    def stop(self) -> None:
        """Stop the simulator and remove its state dir."""
        stop_simulator(self.process)
        shutil.rmtree(self.state_dir, ignore_errors=True)


def start_sim(nodes: int, pods_per_node: int, speed: float = 1.0, scenario: str = "synthetic") -> SimProcess:
    """Start ``cockpit sim`` (no SSH) and return once it serves."""
    state_dir = Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    command = [sys.executable, "-m", "cockpit", "sim", "--state-dir", str(state_dir), "--scenario", scenario,
               "--speed", str(speed), "--no-ssh"]
    if scenario == "synthetic":
        command += ["--nodes", str(nodes), "--pods-per-node", str(pods_per_node)]
    log = open(state_dir / "sim.log", "w", encoding="utf-8")  # noqa: SIM115 - closed below, kept by the child
    started = time.monotonic()
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                   text=True, start_new_session=True)
    finally:
        log.close()
    try:
        ready = wait_until_ready(process, STARTUP_TIMEOUT)
    except BaseException:
        stop_simulator(process)
        shutil.rmtree(state_dir, ignore_errors=True)
        raise
    drain_output(process)
    sim = SimProcess(process, state_dir, ready_field(ready, "kubeconfig") or "", ready_field(ready, "url") or "",
                     time.monotonic() - started)
    _load_credentials(sim)
    return sim


def _load_credentials(sim: SimProcess) -> None:
    import yaml

    config = yaml.safe_load(Path(sim.kubeconfig).read_text())
    sim.token = config["users"][0]["user"].get("token", "")
    sim.url = sim.url or config["clusters"][0]["cluster"]["server"]
    ca = sim.state_dir / "tls.crt"
    sim._context = ssl.create_default_context(cafile=str(ca)) if ca.exists() else None


def process_rss_mib(pid: int | str = "self", peak: bool = False) -> float:
    """VmRSS (or VmHWM, the peak) of a process in MiB."""
    wanted = "VmHWM:" if peak else "VmRSS:"
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(wanted):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def time_kubectl(sim: SimProcess, *args: str, timeout: float = 1800.0) -> tuple[float, int, int]:
    """Run kubectl against the simulator with a fresh cache dir: (seconds, output lines, exit status)."""
    cache = tempfile.mkdtemp(prefix="cockpit-bench-kcache-")
    try:
        started = time.monotonic()
        out = subprocess.run(["kubectl", "--kubeconfig", sim.kubeconfig, "--cache-dir", cache, *args],
                             capture_output=True, text=True, timeout=timeout)
        return time.monotonic() - started, len(out.stdout.splitlines()), out.returncode
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    try:
        return [round(float(x), 2) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []
