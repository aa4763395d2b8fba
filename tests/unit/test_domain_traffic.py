"""Blue/green pair detection, ready endpoints per colour, route splits and percentages."""

from __future__ import annotations

from cockpit.domain import traffic as t
from cockpit.domain.records import decode


def meta(name, ns="shop", labels=None, **extra):
    return {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", "resourceVersion": "1",
            "labels": labels or {}, **extra}


def dep(name, labels, replicas=3, available=3, ns="shop"):
    return decode("deployments", {
        "metadata": meta(name, ns, labels, generation=1),
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                   "availableReplicas": available, "readyReplicas": available},
    })


def svc(name, selector, ns="shop"):
    return decode("services", {"metadata": meta(name, ns), "spec": {"selector": selector, "ports": [{"port": 80}]}})


def pod(name, labels, ready=True, ns="shop"):
    return decode("pods", {"metadata": meta(name, ns, labels), "spec": {"containers": [{"name": "c", "image": "i"}]},
                           "status": {"phase": "Running",
                                      "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}})


def slice_(service, pods, ns="shop", ready=True):
    return decode("endpointslices", {
        "metadata": meta(f"{service}-abc", ns, {"kubernetes.io/service-name": service}),
        "addressType": "IPv4",
        "endpoints": [{"addresses": [f"10.0.0.{i}"], "conditions": {"ready": ready},
                       "targetRef": {"kind": "Pod", "name": p.name, "uid": p.uid}} for i, p in enumerate(pods)],
    })


def demo():
    blue = [pod(f"blue-{i}", {"app": "web", "color": "blue"}) for i in range(3)]
    green = [pod(f"green-{i}", {"app": "web", "color": "green"}, ready=i < 2) for i in range(3)]
    deps = [dep("web-blue", {"app": "web", "color": "blue"}), dep("web-green", {"app": "web", "color": "green"}),
            dep("api", {"app": "api"})]
    services = [svc("web", {"app": "web", "color": "blue"}), svc("api", {"app": "api"})]
    return services, deps, blue + green, [slice_("web", blue)]


def test_pair_detected_with_active_colour_and_endpoints():
    services, deps, pods, slices = demo()
    [pair] = t.blue_green_pairs(services, deps, pods, slices)
    assert (pair.key, pair.label, pair.active) == ("shop/web", "color", "blue")
    blue, green = pair.slots
    assert (blue.value, blue.active, blue.ready, blue.ready_endpoints) == ("blue", True, 3, 3)
    assert (green.value, green.active, green.ready, green.ready_endpoints) == ("green", False, 2, 0)
    assert green.desired == 3 and not green.ready_to_switch
    assert pair.active_slot is blue and pair.idle_slots == (green,)


def test_idle_ready_to_switch_when_all_ready():
    services, deps, pods, slices = demo()
    pods = [p for p in pods if p.name != "green-2"] + [pod("green-2", {"app": "web", "color": "green"})]
    [pair] = t.blue_green_pairs(services, deps, pods, slices)
    assert pair.slots[1].ready_to_switch


def test_single_deployment_or_other_namespace_is_no_pair():
    services = [svc("web", {"app": "web", "color": "blue"})]
    deps = [dep("web-blue", {"app": "web", "color": "blue"}), dep("web-green", {"app": "web", "color": "green"}, ns="x")]
    assert t.blue_green_pairs(services, deps) == []


def test_other_selector_labels_must_match():
    services = [svc("web", {"app": "web", "color": "blue"})]
    deps = [dep("web-blue", {"app": "web", "color": "blue"}), dep("other", {"app": "other", "color": "green"})]
    assert t.blue_green_pairs(services, deps) == []


def test_configurable_label_keys_and_order():
    services = [svc("web", {"app": "web", "slot": "a", "version": "1"})]
    deps = [dep("a", {"app": "web", "slot": "a", "version": "1"}), dep("b", {"app": "web", "slot": "b", "version": "1"})]
    [pair] = t.blue_green_pairs(services, deps)
    assert (pair.label, pair.active) == ("slot", "a")
    assert t.blue_green_pairs(services, deps, label_keys=("color",)) == []
    # "version" differs nowhere here, so it cannot form a pair even when listed first
    [pair] = t.blue_green_pairs(services, deps, label_keys=("version", "slot"))
    assert pair.label == "slot"


def test_active_value_without_deployment():
    services = [svc("web", {"app": "web", "color": "red"})]
    deps = [dep("web-blue", {"app": "web", "color": "blue"}), dep("web-green", {"app": "web", "color": "green"})]
    [pair] = t.blue_green_pairs(services, deps)
    assert pair.active == "red" and pair.active_slot is None


def route(name, backends, ns="shop"):
    return decode("httproutes", {"metadata": meta(name, ns), "spec": {
        "parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": backends, "matches": [{"path": {"value": "/"}}]}]}})


def test_route_split_percentages_and_endpoints():
    stable = [pod(f"s{i}", {"app": "api"}) for i in range(3)]
    canary = [pod("c0", {"app": "api"})]
    r = route("api", [{"name": "api-stable", "port": 80, "weight": 90}, {"name": "api-canary", "port": 80, "weight": 10}])
    services = [svc("api-stable", {"app": "api"}), svc("api-canary", {"app": "api"})]
    [split] = t.route_splits([r], services, [slice_("api-stable", stable), slice_("api-canary", canary, ready=False)])
    assert (split.key, split.rule, split.total_weight) == ("shop/api", 0, 100)
    s, c = split.backends
    assert (s.name, s.percent, s.ready_endpoints, s.total_endpoints, s.service_exists) == ("api-stable", 90.0, 3, 3, True)
    assert (c.name, c.percent, c.ready_endpoints, c.total_endpoints) == ("api-canary", 10.0, 0, 1)


def test_route_default_weight_and_missing_service():
    [split] = t.route_splits([route("r", [{"name": "a"}, {"name": "b"}])])
    assert [b.weight for b in split.backends] == [1, 1]
    assert [b.percent for b in split.backends] == [50.0, 50.0]
    assert not split.backends[0].service_exists


def test_percentages():
    assert t.percentages([0, 0]) == [0.0, 0.0]
    assert t.whole_percentages([1, 1, 1]) == [34, 33, 33]
    assert sum(t.whole_percentages([7, 3, 5])) == 100
    assert t.whole_percentages([0, 0]) == [0, 0]


def test_endpoints_deduplicated_across_dual_stack_slices():
    p = [pod("a", {"app": "x"})]
    v4 = slice_("x", p)
    v6 = decode("endpointslices", {"metadata": meta("x-v6", "shop", {"kubernetes.io/service-name": "x"}),
                                   "addressType": "IPv6",
                                   "endpoints": [{"addresses": ["fd00::1"], "targetRef": {"kind": "Pod", "name": "a", "uid": p[0].uid}}]})
    assert len(t.endpoints_by_service([v4, v6])[("shop", "x")]) == 1
