"""Helpers shared by the upgrade end-to-end tests (imported by name: tests/e2e is on sys.path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def cockpit_args(sim, journal, *args):
    """Global options pointing a CLI run at ``sim`` and ``journal``."""
    return ["--kubeconfig", sim.kubeconfig, "--ssh-config", sim.ssh_config, "--journal", str(journal), *args]


def nodes(kubectl, sim):
    """Every Node as kubectl sees it, by name."""
    doc = json.loads(kubectl("get", "nodes", "-o", "json", sim=sim).stdout)
    return {n["metadata"]["name"]: n for n in doc["items"]}


def ann(node, key):
    """A cockpit.dev/ annotation of a raw Node."""
    return (node["metadata"].get("annotations") or {}).get(f"cockpit.dev/{key}")


def start_upgrade_process(sim, journal, target, *options) -> subprocess.Popen:
    """``cockpit upgrade run`` in a child process (to be paused, killed or raced from outside)."""
    argv = [sys.executable, "-m", "cockpit", *cockpit_args(sim, journal, "upgrade", "run", "--to", target, *options)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
