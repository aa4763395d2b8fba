"""Shared fixtures: a simulated cluster per test, the real kubectl against it, and wait_for.

- ``sim``: a demo-scenario SimThread (speed 0.05) in a temporary state dir, stopped after the test.
- ``sim_factory(**kwargs)``: more simulators with other options (all stopped after the test).
- ``kubectl(*args, check=True, sim=None, timeout=60, input=None)``: runs the real kubectl with
  ``--kubeconfig <sim.kubeconfig> --cache-dir <fresh dir>``; skips the test if kubectl is missing.
- ``wait_for(predicate, timeout=10, interval=0.05)``: poll until ``predicate()`` is truthy and
  return that value; AssertionError on timeout. Never sleep to wait for state.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable

import pytest

from cockpit.sim.runner import SimThread
from sim_support import MinimalCluster


def poll_until(predicate: Callable, timeout: float = 10, interval: float = 0.05, message: str = ""):
    """Call ``predicate`` until it returns something truthy; return it, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError as exc:  # let predicates assert while the state converges
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f": {last_error}" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate!r}{detail}")
        time.sleep(interval)


@pytest.fixture
def wait_for():
    """The poll-with-deadline helper (see poll_until)."""
    return poll_until


@pytest.fixture
def sim_factory(tmp_path_factory):
    """Start SimThreads with any options; they are all stopped at teardown."""
    started: list[SimThread] = []

    def make(**kwargs) -> SimThread:
        options = {"speed": 0.05, **kwargs}
        state = options.pop("state_dir", None) or tmp_path_factory.mktemp("sim")
        sim = SimThread(state, **options).start()
        started.append(sim)
        return sim

    yield make
    for sim in reversed(started):
        sim.stop()


@pytest.fixture
def sim(sim_factory) -> SimThread:
    """A running demo-scenario simulator (speed 0.05)."""
    return sim_factory()


class Kubectl:
    """Runs the real kubectl against a simulator with a fresh discovery cache per test."""

    def __init__(self, exe: str, cache_dir: str, default_sim: Callable[[], SimThread]):
        self.exe, self.cache_dir, self._default_sim = exe, cache_dir, default_sim

    def __call__(self, *args: str, check: bool = True, sim: SimThread | None = None, timeout: float = 60,
                 input: str | None = None) -> subprocess.CompletedProcess:
        target = sim or self._default_sim()
        cmd = [self.exe, "--kubeconfig", target.kubeconfig, "--cache-dir", self.cache_dir, *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result


@pytest.fixture
def kubectl(request, tmp_path) -> Kubectl:
    """The real kubectl bound to the test's ``sim`` (or ``sim=`` per call); skips without kubectl."""
    exe = shutil.which("kubectl")
    if exe is None:
        pytest.skip("kubectl is not on PATH")
    return Kubectl(exe, str(tmp_path / "kubectl-cache"), lambda: request.getfixturevalue("sim"))


@pytest.fixture
def api_sim(sim_factory) -> SimThread:
    """A simulator serving MinimalCluster's static objects (no controllers)."""
    return sim_factory(cluster_factory=MinimalCluster)
