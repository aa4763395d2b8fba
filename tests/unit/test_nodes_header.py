"""The Nodes header tells a transient skew of an upgrade in progress from a real violation."""

from __future__ import annotations

from cockpit.domain.records import decode
from cockpit.ui.source import FixtureCache
from cockpit.ui.views import nodes_header
from tests.support.builders import node


def cache_with(*raw_nodes, server_version: str = "v1.32.4", forbidden=()) -> tuple[FixtureCache, list]:
    cache = FixtureCache(server_version)
    for raw in raw_nodes:
        cache.put("nodes", raw)
    cache.forbidden = set(forbidden)
    return cache, [decode("nodes", raw) for raw in raw_nodes]


def test_a_kubelet_ahead_of_the_api_server_is_expected_while_an_upgrade_runs():
    cache, nodes = cache_with(node("cp-1", cp=True, version="v1.33.1"), node("worker-1"))
    during = nodes_header(nodes, cache, upgrading=True).plain
    assert "upgrade in progress: transient skew" in during and "✘" not in during
    outside = nodes_header(nodes, cache).plain
    assert "✘ 1 skew violation(s)" in outside


def test_a_real_violation_stays_a_violation_during_an_upgrade():
    cache, nodes = cache_with(node("cp-1", cp=True), node("worker-1", version="v1.28.0"))
    text = nodes_header(nodes, cache, upgrading=True).plain
    assert "✘" in text and "transient" not in text


def test_forbidden_nodes_say_forbidden_not_zero_nodes():
    cache, _ = cache_with(forbidden=("nodes",))
    text = nodes_header([], cache).plain
    assert "nodes: forbidden" in text and "0 control-plane" not in text and "skew ok" not in text
