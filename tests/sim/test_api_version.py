"""The served version: pre-releases reported as a real build reports them; nonsense refused."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cockpit.sim.api.discovery import version_info
from cockpit.sim.runner import SimThread


def test_prerelease_version_is_served_like_a_real_build(kubectl, sim_factory):
    beta = sim_factory(version="1.32.0-beta.0")
    server = json.loads(kubectl("version", "-o", "json", sim=beta).stdout)["serverVersion"]
    assert (server["major"], server["minor"], server["gitVersion"]) == ("1", "32", "v1.32.0-beta.0")
    assert "v1.32.0-beta.0" in kubectl("get", "nodes", sim=beta).stdout


def test_version_info_keeps_build_metadata():
    info = version_info("v1.32.4+k3s1")
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "32", "v1.32.4+k3s1")


def test_cli_refuses_a_version_no_build_has(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cockpit", "sim", "--state-dir", str(tmp_path), "--no-ssh",
                             "--version", "1.32"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "invalid Kubernetes version '1.32'" in result.stderr


def test_simthread_refuses_it_too(tmp_path):
    with pytest.raises(ValueError):
        SimThread(tmp_path, version="v1.32.x").start()
