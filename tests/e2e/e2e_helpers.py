"""Helpers shared by the upgrade end-to-end tests (imported by name: tests/e2e is on sys.path)."""

from __future__ import annotations

import json


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
