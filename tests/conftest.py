"""Shared fixtures: a simulated cluster per test, the real kubectl against it, and wait_for.

- ``sim``: a demo-scenario SimThread (speed 20) in a temporary state dir, stopped after the test.
- ``cluster``: the same with SSH nodes at speed 100, for whole upgrades.
- ``sim_factory(**kwargs)``: more simulators with other options (all stopped after the test).
- ``kubectl(*args, check=True, sim=None, timeout=60, input=None)``: runs the real kubectl with
  ``--kubeconfig <sim.kubeconfig> --cache-dir <fresh dir>``; skips the test if kubectl is missing
  (which fails a CI run: see below).
- ``wait_for(predicate, timeout=...)``: :func:`tests.support.wait.wait_until` (never sleep to
  wait for state); deadlines shorter than its default are raised to it. ``wait_for_async``:
  :func:`tests.support.wait.async_wait_until`.

Every test that uses the ``kubectl`` fixture is marked ``kubectl``. When ``CI`` is set, a skipped
test that is not in :data:`tests.support.skip_allowlist.ALLOWED_SKIPS` fails the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from cockpit.sim.runner import SimThread
from tests.support.minimal_cluster import MinimalCluster
from tests.support.skip_allowlist import unexpected_skips
from tests.support.wait import DEFAULT_TIMEOUT, async_wait_until, wait_until

ROOT = Path(__file__).resolve().parents[1]

# CI replays the same examples on every run; locally, examples that once failed are kept in the
# repository's (gitignored) .hypothesis/ folder and replayed first. Hypothesis cannot do both at
# once: derandomize implies no database.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", database=DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "examples")))
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# -- no silent skips ---------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs the real kubectl, so ``-m "not kubectl"`` deselects them."""
    for item in items:
        if "kubectl" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kubectl)


class SkipLedger:
    """Collects skipped tests (xdist forwards its workers' reports here) and, in CI, fails the
    run when one skipped for a reason the allow-list does not accept."""

    def __init__(self) -> None:
        self.skips: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            self.skips.append((report.nodeid, reason))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        unexpected = unexpected_skips(self.skips)
        if not unexpected:
            return
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_sep("=", f"{len(unexpected)} skipped outside tests/support/skip_allowlist.py (CI is set)",
                               red=True, bold=True)
            for nodeid, reason in unexpected:
                reporter.write_line(f"{nodeid}: {reason}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    """Register the skip ledger when CI is set, on the controller only (not on xdist workers)."""
    if os.environ.get("CI") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(SkipLedger(), "cockpit-skip-ledger")


# -- waiting -----------------------------------------------------------------------------------


def _wait_for(predicate: Callable, timeout: float = DEFAULT_TIMEOUT, what: str = "", **options):
    """wait_until with the deadline raised to the default: a short one only fails under load."""
    return wait_until(predicate, max(timeout, DEFAULT_TIMEOUT), what, **options)


@pytest.fixture
def wait_for():
    """The one poll-with-deadline helper (see tests.support.wait.wait_until)."""
    return _wait_for


@pytest.fixture
def wait_for_async():
    """Its async twin (see tests.support.wait.async_wait_until)."""
    return async_wait_until


# -- simulators and kubectl --------------------------------------------------------------------


@pytest.fixture
def sim_factory(tmp_path_factory):
    """Start SimThreads with any options; they are all stopped at teardown."""
    started: list[SimThread] = []

    def make(**kwargs) -> SimThread:
        options = {"speed": 20, **kwargs}
        state = options.pop("state_dir", None) or tmp_path_factory.mktemp("sim")
        sim = SimThread(state, **options).start()
        started.append(sim)
        return sim

    yield make
    for sim in reversed(started):
        sim.stop()


@pytest.fixture
def sim(sim_factory) -> SimThread:
    """A running demo-scenario simulator (speed 20)."""
    return sim_factory()


@pytest.fixture
def cluster(sim_factory) -> SimThread:
    """The demo simulator with SSH nodes, fast enough for whole upgrades in seconds."""
    return sim_factory(ssh=True, speed=100)


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


def find_kubectl() -> str | None:
    """kubectl on PATH, else the pinned one installed into this virtualenv (see .ci/run)."""
    beside_python = Path(sys.executable).parent / "kubectl"
    return shutil.which("kubectl") or (str(beside_python) if os.access(beside_python, os.X_OK) else None)


@pytest.fixture
def kubectl(request, tmp_path) -> Kubectl:
    """The real kubectl bound to the test's ``sim`` (or ``sim=`` per call); skips without kubectl."""
    exe = find_kubectl()
    if exe is None:
        pytest.skip("kubectl is not on PATH nor in the virtualenv")
    return Kubectl(exe, str(tmp_path / "kubectl-cache"), lambda: request.getfixturevalue("sim"))


@pytest.fixture
def api_sim(sim_factory) -> SimThread:
    """A simulator serving MinimalCluster's static objects (no controllers)."""
    return sim_factory(cluster_factory=MinimalCluster)
