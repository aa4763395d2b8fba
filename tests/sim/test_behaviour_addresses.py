"""Node and pod addresses are valid IPv4 addresses and unique at every cluster size."""

from __future__ import annotations

import ipaddress
import json

import pytest

from cockpit.sim.controllers.nodes import PodAddresses, node_ip, pod_cidr


def test_node_addresses_are_valid_and_unique_up_to_the_largest_cluster():
    addresses = [ipaddress.IPv4Address(node_ip(i)) for i in range(61_440)]
    assert len(set(addresses)) == len(addresses)
    assert all(a in ipaddress.IPv4Network("10.0.0.0/16") for a in addresses)


def test_pod_cidrs_are_disjoint_and_miss_the_node_range():
    cidrs = [ipaddress.IPv4Network(pod_cidr(i)) for i in range(5_000)]
    assert len(set(cidrs)) == len(cidrs)
    assert not any(c.overlaps(ipaddress.IPv4Network("10.0.0.0/16")) for c in cidrs)


def test_pod_addresses_skip_those_in_use_and_reuse_freed_ones():
    pool = PodAddresses()
    first = [pool.allocate("n", "10.244.7") for _ in range(253)]
    assert len(set(first)) == 253 and all(ipaddress.IPv4Address(ip) for ip in first)
    with pytest.raises(RuntimeError):
        pool.allocate("n", "10.244.7")
    pool.release("n", "10.244.7.100")
    assert pool.allocate("n", "10.244.7") == "10.244.7.100"


def test_a_large_cluster_as_kubectl_sees_it(kubectl, sim_factory):
    big = sim_factory(scenario="synthetic", nodes=520, pods_per_node=2)
    nodes = json.loads(kubectl("get", "nodes", "-o", "json", sim=big, timeout=120).stdout)["items"]
    internal = [next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP") for n in nodes]
    assert len(nodes) == 520 and len(set(internal)) == 520
    assert all(ipaddress.IPv4Address(ip) for ip in internal)
    cidr = {n["metadata"]["name"]: ipaddress.IPv4Network(n["spec"]["podCIDR"]) for n in nodes}
    pods = json.loads(kubectl("get", "pods", "-A", "-o", "json", sim=big, timeout=120).stdout)["items"]
    ips = [p["status"]["podIP"] for p in pods if not p["spec"].get("hostNetwork") and p["status"].get("podIP")]
    assert len(ips) > 500 and len(set(ips)) == len(ips)
    for pod in pods:
        if not pod["spec"].get("hostNetwork") and pod["status"].get("podIP"):
            assert ipaddress.IPv4Address(pod["status"]["podIP"]) in cidr[pod["spec"]["nodeName"]]
