"""Helpers for the traffic tests (switch and shift): run operations through the driver, read the
server's state (selector, marker, weights, Events) and hold old endpoints back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from cockpit.controllers.driver import Driver, Services
from cockpit.controllers.switch_plan import PENDING
from cockpit.journal import Journal
from tests.support.e2e import SIM_CONTEXT

HELD_SLICE = "web-held-back"


def services(client, journal_path, *, read_only: bool = False) -> Services:
    """The driver's services against the simulator, journaling to ``journal_path``."""
    return Services(client, Journal(journal_path, context=SIM_CONTEXT), SIM_CONTEXT, "cockpit-sim", read_only, "shop")


async def yes(_plan) -> bool:
    """A confirmation that always applies (what --yes does)."""
    return True


async def drive(client, journal_path, operation, *, reporter=None, dry_run=False, read_only=False,
                confirm=yes, interactive=False):
    """Run ``operation`` through the one Driver, as the CLI and the TUI do."""
    driver = Driver(services(client, journal_path, read_only=read_only), confirm, reporter)
    return await driver.run(operation, dry_run=dry_run, interactive=interactive)


def service_web(kubectl) -> dict:
    """The shop/web Service as kubectl sees it."""
    return json.loads(kubectl("-n", "shop", "get", "service", "web", "-o", "json").stdout)


def selector_of(kubectl) -> dict:
    """shop/web's selector."""
    return service_web(kubectl)["spec"]["selector"]


def marker_of(kubectl) -> str | None:
    """shop/web's pending-switch marker (None when no switch is left unverified)."""
    return (service_web(kubectl)["metadata"].get("annotations") or {}).get(PENDING)


def endpoint_colours(kubectl) -> set[str]:
    """Colours of the pods kubectl sees in the web Service's EndpointSlices."""
    slices = json.loads(kubectl("-n", "shop", "get", "endpointslices", "-l",
                                "kubernetes.io/service-name=web", "-o", "json").stdout)
    names = {(e.get("targetRef") or {}).get("name") for s in slices["items"] for e in s.get("endpoints") or []}
    pods = json.loads(kubectl("-n", "shop", "get", "pods", "-l", "app=web", "-o", "json").stdout)
    return {p["metadata"]["labels"]["color"] for p in pods["items"] if p["metadata"]["name"] in names}


def route_weights(kubectl) -> dict[str, int]:
    """shop/api's declared weights."""
    route = json.loads(kubectl("-n", "shop", "get", "httproute", "api", "-o", "json").stdout)
    return {ref["name"]: ref.get("weight", 1) for rule in route["spec"]["rules"] for ref in rule["backendRefs"]}


def journal_steps(journal_path, action: str = "switch") -> list[str]:
    """The journal of ``action``: event names, with ``step:NAME`` for step entries."""
    return [f"step:{e['step']}" if e["event"] == "step" else e["event"]
            for e in Journal(journal_path).entries() if e.get("action") == action]


def cockpit_events(kubectl, namespace: str = "shop") -> list[dict[str, Any]]:
    """The events.k8s.io Events cockpit recorded in ``namespace``, oldest first."""
    doc = json.loads(kubectl("-n", namespace, "get", "events.events.k8s.io", "-o", "json").stdout)
    mine = [e for e in doc["items"] if e.get("reportingController") == "cockpit"]
    return sorted(mine, key=lambda e: e.get("eventTime") or "")


def event_summary(event: dict[str, Any]) -> tuple[str, str, str, str]:
    """(reason, type, regarding kind, regarding name)."""
    regarding = event.get("regarding") or {}
    return event["reason"], event["type"], regarding.get("kind", ""), regarding.get("name", "")


def hold_old_endpoints(kubectl, colour: str = "blue") -> str:
    """A second EndpointSlice of shop/web (another manager's, which the slice controller leaves
    alone) listing one ready ``colour`` pod: an old endpoint that does not go away."""
    pods = json.loads(kubectl("-n", "shop", "get", "pods", "-l", f"app=web,color={colour}", "-o", "json").stdout)
    pod = pods["items"][0]
    body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": HELD_SLICE, "namespace": "shop",
                         "labels": {"kubernetes.io/service-name": "web",
                                    "endpointslice.kubernetes.io/managed-by": "test-mirror"}},
            "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [pod["status"].get("podIP") or "10.0.0.1"],
                           "conditions": {"ready": True, "serving": True, "terminating": False},
                           "targetRef": {"kind": "Pod", "namespace": "shop", "name": pod["metadata"]["name"],
                                         "uid": pod["metadata"]["uid"]}}]}
    kubectl("apply", "-f", "-", input=json.dumps(body))
    return pod["metadata"]["name"]


def release_old_endpoints(sim) -> None:
    """Drop the held-back slice straight from the simulator's store (works while the API refuses)."""
    sim.call(sim.cluster.store.remove, "endpointslices", "shop", HELD_SLICE)


def start_cockpit(sim, journal, *args) -> subprocess.Popen:
    """``cockpit <args>`` in a child process, stdout piped (line by line) and stderr merged into it."""
    argv = [sys.executable, "-m", "cockpit", *args, "--kubeconfig", sim.kubeconfig, "--journal", str(journal)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            env={**os.environ, "PYTHONPATH": os.getcwd(), "PYTHONUNBUFFERED": "1"})


def read_until(process: subprocess.Popen, needle: str, seen: list[str]) -> str:
    """Read the child's output until a line contains ``needle`` (AssertionError at EOF)."""
    for line in process.stdout:
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} never printed; output:\n{''.join(seen)}")
