"""Skew rules (version-skew policy) on decoded records."""

from __future__ import annotations

import pytest

from cockpit.domain import skew as s
from cockpit.domain.records import decode


def node(name, kubelet):
    return decode("nodes", {"metadata": {"name": name, "uid": f"uid-{name}"},
                            "status": {"nodeInfo": {"kubeletVersion": kubelet}}})


def mirror(component, node_name, version):
    return decode("pods", {"metadata": {"name": f"{component}-{node_name}", "namespace": "kube-system",
                                        "uid": f"u-{component}-{node_name}", "labels": {"component": component, "tier": "control-plane"},
                                        "annotations": {"kubernetes.io/config.mirror": "x"}},
                           "spec": {"nodeName": node_name,
                                    "containers": [{"name": component, "image": f"registry.k8s.io/{component}:{version}"}]}})


def test_all_equal_is_clean():
    assert s.skew_violations("v1.32.4", [node("a", "v1.32.4"), node("b", "v1.32.0")]) == []


def test_kubelet_newer_than_apiserver():
    [v] = s.skew_violations("v1.32.4", [node("a", "v1.33.0")])
    assert (v.rule, v.node, v.severity) == ("kubelet-newer", "a", "error")
    assert "newer" in str(v)


def test_kubelet_three_behind_is_a_warning_four_is_an_error():
    [warn] = s.skew_violations("v1.32.4", [node("a", "v1.29.9")])
    assert (warn.rule, warn.severity) == ("kubelet-at-limit", "warning")
    [err] = s.skew_violations("v1.32.4", [node("a", "v1.28.0")])
    assert (err.rule, err.severity) == ("kubelet-too-old", "error")


def test_old_kubelets_before_125_get_two_minors():
    [err] = s.skew_violations("v1.26.0", [node("a", "v1.23.5")])
    assert err.rule == "kubelet-too-old"
    [warn] = s.skew_violations("v1.26.0", [node("a", "v1.24.5")])
    assert warn.rule == "kubelet-at-limit"


def test_unparseable_kubelet_is_reported():
    [v] = s.skew_violations("v1.32.4", [node("a", "garbage")])
    assert v.rule == "unparseable" and v.severity == "warning"


def test_unknown_apiserver_version_reports_nothing():
    assert s.skew_violations("?", [node("a", "v1.40.0")]) == []


def test_control_plane_components_from_mirror_pods():
    pods = [mirror("kube-apiserver", "cp-1", "v1.33.1"), mirror("kube-apiserver", "cp-2", "v1.32.4"),
            mirror("kube-scheduler", "cp-1", "v1.34.0"), mirror("kube-controller-manager", "cp-2", "v1.31.0")]
    comps = s.control_plane_versions(pods)
    assert ("kube-apiserver", "cp-1", "v1.33.1") in [(c.component, c.node, c.version) for c in comps]
    rules = {(v.component, v.rule) for v in s.skew_violations("v1.32.4", [node("cp-1", "v1.33.0")], comps)}
    # kubelet 1.33 is newer than the oldest apiserver 1.32 (HA narrowing)
    assert ("kubelet", "kubelet-newer") in rules
    assert ("kube-scheduler", "component-newer") in rules
    assert ("kube-controller-manager", "component-too-old") in rules


def test_apiservers_more_than_one_minor_apart():
    comps = [s.ComponentVersion("kube-apiserver", "cp-1", "v1.34.0"), s.ComponentVersion("kube-apiserver", "cp-2", "v1.32.0")]
    rules = [v.rule for v in s.skew_violations("v1.34.0", [], comps)]
    assert rules == ["apiserver-skew"]


def test_errors_sort_before_warnings():
    vs = s.skew_violations("v1.32.4", [node("a", "v1.29.0"), node("b", "v1.33.0")])
    assert [v.severity for v in vs] == ["error", "warning"]


def test_every_violation_names_a_known_rule():
    with pytest.raises(ValueError, match="unknown skew rule"):
        s.SkewViolation(rule="apiserver-ha", message="x")
    v = s.SkewViolation(rule="no-downgrade", message="older")
    assert (str(v), v.line()) == ("older", "[no-downgrade] older")


def test_prerelease_versions_print_canonically():
    [v] = s.skew_violations("v1.32.0-beta.0", [node("a", "1.33.0-rc.1+k3s1")])
    assert v.message == "a: kubelet v1.33.0-rc.1 is newer than kube-apiserver v1.32.0-beta.0"
