"""Discovery documents: legacy (/api, /apis, /api/v1, /apis/<g>/<v>) and aggregated v2/v2beta1.

kubectl asks for aggregated discovery first; 1.27-1.29 only understand v2beta1, so the version is
negotiated from Accept and the response Content-Type must carry the ``g/v/as`` parameters.
Legacy per-group documents stay served: ``kubectl drain`` checks ``/api/v1`` for pods/eviction.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from cockpit.domain.versions import parse_version
from cockpit.sim.resources import ResourceType, Subresource, group_versions

AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"
_CREATE = ("create",)

# Kinds the server answers itself rather than storing: the review APIs (create only, nothing is
# kept) and metrics.k8s.io, which a real cluster serves through metrics-server's APIService.
VIRTUAL_TYPES = (
    ResourceType("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, verbs=_CREATE),
    ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
                 verbs=_CREATE),
    ResourceType("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
                 verbs=_CREATE),
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=("get", "list")),
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=("get", "list")),
)

# The streaming pod subresources a real apiserver lists; the simulator answers them with a clear
# refusal (see streaming.py), and discovery shows them so clients see the same surface.
STREAMING_SUBRESOURCES = (
    Subresource("attach", "PodAttachOptions", ("create", "get")),
    Subresource("exec", "PodExecOptions", ("create", "get")),
    Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
)


def _with_streaming(t: ResourceType) -> ResourceType:
    if t.group or t.plural != "pods":
        return t
    known = {s.name for s in t.subresources}
    extra = tuple(s for s in STREAMING_SUBRESOURCES if s.name not in known)
    return replace(t, subresources=t.subresources + extra)


@cache
def served_group_versions() -> dict[str, list[ResourceType]]:
    """Every group-version the server answers (stored kinds, then the virtual ones), as discovery
    and OpenAPI describe them; built once."""
    out = {gv: [_with_streaming(t) for t in types] for gv, types in group_versions().items()}
    for t in VIRTUAL_TYPES:
        out.setdefault(t.api_version, []).append(t)
    return out


def negotiate_aggregated(accept: str | None) -> str | None:
    """'v2', 'v2beta1' or None (legacy), from the Accept header's media-type list."""
    if not accept:
        return None
    offered = set()
    for media in accept.split(","):
        params = {p.split("=", 1)[0].strip().lower(): p.split("=", 1)[1].strip()
                  for p in media.split(";")[1:] if "=" in p}
        if params.get("as") == "APIGroupDiscoveryList" and params.get("g") == "apidiscovery.k8s.io":
            offered.add(params.get("v"))
    for version in ("v2", "v2beta1"):
        if version in offered:
            return version
    return None


# APIService priorities of the virtual groups, as a 1.32 cluster registers them.
_PRIORITIES = {"authentication.k8s.io": (17700, 15), "authorization.k8s.io": (17600, 15),
               "metrics.k8s.io": (100, 100)}


def api_service(group: str, version: str, now: str) -> dict:
    """The APIService a real cluster has for a virtual group: Local for the review APIs, and
    metrics-server's (kube-system/metrics-server, Available) for metrics.k8s.io."""
    spec = {"group": group, "version": version, "groupPriorityMinimum": _PRIORITIES[group][0],
            "versionPriority": _PRIORITIES[group][1]}
    reason, message = "Local", "Local APIServices are always available"
    labels = {"kube-aggregator.kubernetes.io/automanaged": "onstart"}
    if group == "metrics.k8s.io":
        spec.update(service={"name": "metrics-server", "namespace": "kube-system", "port": 443},
                    insecureSkipTLSVerify=True)
        reason, message, labels = "Passed", "all checks passed", {"k8s-app": "metrics-server"}
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": f"{version}.{group}", "labels": labels}, "spec": spec,
            "status": {"conditions": [{"type": "Available", "status": "True", "lastTransitionTime": now,
                                       "reason": reason, "message": message}]}}


def seed_api_services(store, now: str, prepare=lambda obj: obj) -> None:
    """Create the APIServices of the virtual groups when missing (the stored groups' own come
    from the cluster's bootstrap); ``prepare`` may adjust each object first (its age)."""
    for group_version in dict.fromkeys(t.api_version for t in VIRTUAL_TYPES):
        group, version = group_version.split("/")
        if store.get("apiservices", None, f"{version}.{group}") is None:
            store.create("apiservices", prepare(api_service(group, version, now)))


def _groups() -> dict[str, list[ResourceType]]:
    """group name -> resources (each group has one version)."""
    out: dict[str, list[ResourceType]] = {}
    for gv, types in served_group_versions().items():
        out.setdefault(types[0].group, []).extend(types)
    return out


def api_versions() -> dict:
    """GET /api."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def api_group_list() -> dict:
    """GET /apis."""
    groups = []
    for group, types in _groups().items():
        if not group:
            continue
        gv = {"groupVersion": f"{group}/{types[0].version}", "version": types[0].version}
        groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> dict | None:
    """GET /apis/<group>."""
    for g in api_group_list()["groups"]:
        if g["name"] == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **g}
    return None


def _legacy_entries(t: ResourceType) -> list[dict]:
    main = {"name": t.plural, "singularName": t.singular_name, "namespaced": t.namespaced, "kind": t.kind,
            "verbs": list(t.verbs)}
    if t.short_names:
        main["shortNames"] = list(t.short_names)
    if t.categories:
        main["categories"] = list(t.categories)
    entries = [main]
    for sub in t.subresources:
        entry = {"name": f"{t.plural}/{sub.name}", "singularName": "", "namespaced": t.namespaced,
                 "kind": sub.kind, "verbs": list(sub.verbs)}
        if sub.group is not None:
            entry["group"], entry["version"] = sub.group, sub.version
        entries.append(entry)
    return entries


def api_resource_list(group_version: str) -> dict | None:
    """GET /api/v1 or /apis/<g>/<v>: the APIResourceList, or None if unknown."""
    types = served_group_versions().get(group_version)
    if not types:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [e for t in types for e in _legacy_entries(t)]}


def _aggregated_resource(t: ResourceType) -> dict:
    entry = {"resource": t.plural, "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
             "scope": "Namespaced" if t.namespaced else "Cluster", "singularResource": t.singular_name,
             "verbs": list(t.verbs)}
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    subs = []
    for sub in t.subresources:
        subs.append({"subresource": sub.name, "verbs": list(sub.verbs), "responseKind": {
            "group": t.group if sub.group is None else sub.group,
            "version": t.version if sub.version is None else sub.version, "kind": sub.kind}})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(core: bool, version: str) -> dict:
    """The APIGroupDiscoveryList for /api (core=True) or /apis, as apidiscovery ``version``."""
    items = []
    for group, types in _groups().items():
        if bool(group) == core:
            continue
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": [
            {"version": types[0].version, "freshness": "Current",
             "resources": [_aggregated_resource(t) for t in types]}]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}


def server_version(text: str) -> str:
    """A served version as given (``1.32.4``, ``v1.32.0-beta.0``, ``1.32.4+k3s1``) without its ``v``;
    ValueError with a one-line reason for anything a real build could not report."""
    parse_version(text)
    return text.removeprefix("v")


def version_info(version: str) -> dict:
    """GET /version as a build of ``version`` answers it (``gitVersion`` keeps any pre-release)."""
    parsed = parse_version(version)
    major, minor = str(parsed.major), str(parsed.minor)
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "gitVersion": f"v{version.lstrip('v')}", "gitCommit": "0" * 40, "gitTreeState": "clean",
            "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.6", "compiler": "gc",
            "platform": "linux/amd64"}
