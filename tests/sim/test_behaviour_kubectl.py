"""The simulated controllers as the real kubectl sees them (rollout status/undo/restart/pause, drain)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kubectl


def test_rollout_status_undo_and_history(sim_factory, kubectl, wait_for):
    sim = sim_factory(speed=100)
    ok = kubectl("-n", "shop", "rollout", "status", "deployment/web-blue", "--timeout=20s", sim=sim)
    assert 'deployment "web-blue" successfully rolled out' in ok.stdout

    def exceeded():
        result = kubectl("-n", "shop", "rollout", "status", "deployment/checkout", "--timeout=5s",
                         check=False, sim=sim)
        return result.returncode != 0 and "exceeded its progress deadline" in result.stderr
    wait_for(exceeded, timeout=30)
    history = kubectl("-n", "shop", "rollout", "history", "deployment/checkout", sim=sim).stdout
    assert "1 " in history and "2 " in history
    kubectl("-n", "shop", "rollout", "undo", "deployment/checkout", sim=sim)
    done = kubectl("-n", "shop", "rollout", "status", "deployment/checkout", "--timeout=30s", sim=sim)
    assert "successfully rolled out" in done.stdout
    rs = kubectl("-n", "shop", "get", "rs", "-l", "app=checkout", "-o",
                 "jsonpath={range .items[*]}{.metadata.annotations.deployment\\.kubernetes\\.io/revision} {end}",
                 sim=sim).stdout.split()
    assert sorted(rs) == ["2", "3"]


def test_restart_pause_resume_set_image(sim, kubectl):
    kubectl("-n", "shop", "rollout", "restart", "deployment/web-green")
    assert "successfully rolled out" in kubectl("-n", "shop", "rollout", "status", "deployment/web-green",
                                                "--timeout=30s").stdout
    kubectl("-n", "shop", "rollout", "pause", "deployment/api-stable")
    kubectl("-n", "shop", "set", "image", "deployment/api-stable", "api=registry.example/api:3.1.1")
    rs = kubectl("-n", "shop", "get", "rs", "-l", "app=api,track=stable", "-o", "name").stdout.split()
    assert len(rs) == 1
    kubectl("-n", "shop", "rollout", "resume", "deployment/api-stable")
    assert "successfully rolled out" in kubectl("-n", "shop", "rollout", "status", "deployment/api-stable",
                                                "--timeout=30s").stdout
    kubectl("-n", "shop", "scale", "deployment/api-stable", "--replicas=5")
    assert "successfully rolled out" in kubectl("-n", "shop", "rollout", "status", "deployment/api-stable",
                                                "--timeout=30s").stdout


def test_drain_evicts_with_pdb_and_completes(sim, kubectl):
    result = kubectl("drain", "worker-1", "--ignore-daemonsets", "--timeout=60s", timeout=90)
    assert "node/worker-1 drained" in result.stdout
    pods = kubectl("get", "pods", "-A", "--field-selector", "spec.nodeName=worker-1", "-o", "name").stdout.split()
    assert all("kube-proxy" in p for p in pods)
    kubectl("uncordon", "worker-1")
