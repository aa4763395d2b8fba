"""Helpers shared by the end-to-end tests: CLI runs, upgrade processes, and reading Nodes through kubectl."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from cockpit.cli.main import main as cli_main

SIM_CONTEXT = "cockpit-sim"


def run_cli(capsys, sim, journal_path, *args) -> tuple[int, str, str]:
    """Run ``cockpit <args>`` in-process against ``sim``; return (exit code, stdout, stderr)."""
    code = cli_main([*args, "--kubeconfig", sim.kubeconfig, "--journal", str(journal_path)])
    out, err = capsys.readouterr()
    return code, out, err


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
