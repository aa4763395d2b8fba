"""``cockpit sim`` as a process: ready line, kubeconfig, faults subcommand, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest


@pytest.fixture
def sim_process(tmp_path):
    state = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "sim", "--state-dir", str(state), "--speed", "20",
                             "--no-ssh"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield proc, state
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def _cockpit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True, text=True, timeout=30)


def test_ready_line_faults_and_sigterm(sim_process):
    proc, state = sim_process
    line = proc.stdout.readline().strip()
    assert line.startswith("cockpit-sim ready "), (line, proc.stderr.read() if proc.poll() is not None else "")
    fields = dict(part.split("=", 1) for part in line.split()[2:])
    assert fields["kubeconfig"] == str(state / "kubeconfig") and os.path.exists(fields["kubeconfig"])
    assert fields["url"].startswith("https://127.0.0.1:") and "ssh_config" in fields
    shown = _cockpit("sim", "fault", "--state-dir", str(state), "blocking_pdbs", "shop/web")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["blocking_pdbs"] == ["shop/web"]
    bad = _cockpit("sim", "fault", "--state-dir", str(state), "no_such_fault", "1")
    assert bad.returncode == 2 and "unknown fault" in bad.stderr
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_fault_without_simulator_is_a_usage_error(tmp_path):
    result = _cockpit("sim", "fault", "--state-dir", str(tmp_path), "force_410", "true")
    assert result.returncode == 2 and result.stderr.startswith("cockpit: ")


def test_unknown_scenario_is_a_one_line_error(tmp_path):
    result = _cockpit("sim", "--state-dir", str(tmp_path), "--scenario", "nope", "--no-ssh")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "unknown scenario" in result.stderr
