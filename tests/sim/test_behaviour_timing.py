"""Controller timing clients depend on: EndpointSlice updates are batched like the real controller's
(``endpoint_delay``, default 1 simulated second, scaled by ``--speed``), the ``controller_delay``
fault makes every controller lag, and cockpit's blue/green switch waits for a lagging slice."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from kubernetes import client, config

from cockpit.controllers.base import collecting_reporter
from cockpit.controllers.switch import SwitchOperation
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.sim.runner import SimOptions
from tests.support.traffic import drive
from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(120)
GREEN_SELECTOR = '{"spec":{"selector":{"color":"green"}}}'


@pytest.fixture
def sim_for_timing(request, sim_factory):
    """A demo simulator with the parametrised options (speed 20)."""
    return sim_factory(**getattr(request, "param", {}))


@pytest.fixture
def discovery(sim_for_timing):
    """The official client's DiscoveryV1Api against ``sim_for_timing``."""
    api_client = config.new_client_from_config(sim_for_timing.kubeconfig)
    yield client.DiscoveryV1Api(api_client)
    api_client.close()


def slice_colours(discovery_api) -> set[str]:
    """Colours of the pods listed by shop/web's EndpointSlices (from the pod names web-<colour>-...)."""
    slices = discovery_api.list_namespaced_endpoint_slice("shop", label_selector="kubernetes.io/service-name=web")
    return {ep.target_ref.name.split("-")[1] for s in slices.items for ep in (s.endpoints or ())}


def switch_to_green_and_time(kubectl, sim, discovery_api) -> float:
    """Patch shop/web to green with kubectl; seconds until the slices list only green pods.

    Asserts the slices still list blue right after kubectl returned (the update is not synchronous).
    """
    wait_until(lambda: slice_colours(discovery_api), accept=lambda c: c == {"blue"}, what="blue endpoints")
    started = time.monotonic()
    kubectl("-n", "shop", "patch", "service", "web", "-p", GREEN_SELECTOR, sim=sim)
    assert slice_colours(discovery_api) == {"blue"}  # still the old colour: the update is batched
    wait_until(lambda: slice_colours(discovery_api), accept=lambda c: c == {"green"}, what="green endpoints")
    return time.monotonic() - started


@pytest.mark.parametrize("sim_for_timing", [{"endpoint_delay": 30.0}], indirect=True)
def test_slice_follows_a_selector_change_after_the_batching_delay(sim_for_timing, kubectl, discovery):
    # 30 simulated seconds at speed 20 are 1.5 real seconds.
    assert switch_to_green_and_time(kubectl, sim_for_timing, discovery) >= 1.4


@pytest.mark.parametrize("sim_for_timing", [{"endpoint_delay": 0.0}], indirect=True)
def test_the_controller_delay_fault_makes_the_slice_lag(sim_for_timing, kubectl, discovery):
    # Switched on with the CLI, as a user would on a running simulator.
    subprocess.run([sys.executable, "-m", "cockpit", "sim", "fault", "--state-dir", sim_for_timing.sim.options.state_dir,
                    "controller_delay", "40"], check=True, capture_output=True, timeout=60)
    assert sim_for_timing.faults.controller_delay == 40
    assert switch_to_green_and_time(kubectl, sim_for_timing, discovery) >= 1.9  # 40 s / speed 20


def test_the_default_delay_is_one_simulated_second(sim):
    assert SimOptions("x").endpoint_delay == 1.0
    assert sim.cluster.endpoint_delay == 1.0


def test_the_cli_passes_the_endpoint_delay(monkeypatch, tmp_path):
    from cockpit.cli import main as cli_main
    import cockpit.sim.main

    seen: list[SimOptions] = []
    monkeypatch.setattr(cockpit.sim.main, "run", lambda options: seen.append(options) or 0)
    cli_main.main(["sim", "--state-dir", str(tmp_path), "--endpoint-delay", "2.5", "--no-ssh"])
    assert seen[0].endpoint_delay == 2.5


async def test_the_switch_waits_for_a_lagging_slice_and_verifies(sim, kubectl, tmp_path, wait_for_async):
    api = KubeClient(load_cluster_config(sim.kubeconfig, None))
    try:
        operation = SwitchOperation(api, "shop/web", "green", poll_interval=0.05, verify_timeout=20.0)
        await wait_for_async(operation.preview, accept=lambda plan: not plan.blocked, what="a switchable plan")
        sim.faults.set("controller_delay", 40)  # the slices follow the selector 2 real seconds late
        reporter, progress = collecting_reporter()
        result = await drive(api, tmp_path / "journal.jsonl", operation, reporter=reporter)
    finally:
        await api.close()
    assert result.ok and result.details["verified"], result.message
    said = [p.message for p in progress if p.step == "verify"]
    lagging = next(i for i, m in enumerate(said) if m.startswith("endpoints: blue"))  # the old slice, seen first
    assert any(m.startswith("endpoints: green") for m in said[lagging + 1:])  # then waited for the new one
    assert kubectl("-n", "shop", "get", "service", "web", "-o", "jsonpath={.spec.selector.color}").stdout == "green"
