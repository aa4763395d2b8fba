"""``/healthz``, ``/livez`` and ``/readyz`` the way kube-apiserver answers them.

Plain ``ok`` by default; ``?verbose`` lists every check as ``[+]name ok`` and ends with
``<endpoint> check passed``; ``?exclude=name`` leaves a check out; ``/readyz/<check>`` answers one
check. The names are those of a 1.32 apiserver, so scripts that grep for ``[+]etcd ok`` or wait
for ``readyz check passed`` work against the simulator unchanged.
"""

from __future__ import annotations

from aiohttp import web

from cockpit.sim.errors import ApiError

_HOOKS = (
    "start-apiserver-admission-initializer", "generic-apiserver-start-informers",
    "priority-and-fairness-config-consumer",
    "priority-and-fairness-filter", "storage-object-count-tracker-hook", "start-apiextensions-informers",
    "start-apiextensions-controllers", "crd-informer-synced", "start-system-namespaces-controller",
    "start-cluster-authentication-info-controller", "start-kube-apiserver-identity-lease-controller",
    "start-kube-apiserver-identity-lease-garbage-collector", "start-legacy-token-tracking-controller",
    "start-service-ip-repair-controllers", "rbac/bootstrap-roles", "scheduling/bootstrap-system-priority-classes",
    "priority-and-fairness-config-producer", "bootstrap-controller", "aggregator-reload-proxy-client-cert",
    "start-kube-aggregator-informers", "apiservice-status-local-available-controller",
    "apiservice-status-remote-available-controller", "apiservice-registration-controller",
    "apiservice-discovery-controller", "kube-apiserver-autoregistration", "apiservice-openapi-controller",
    "apiservice-openapiv3-controller",
)
_LIVEZ = ("ping", "log", "etcd", *(f"poststarthook/{h}" for h in _HOOKS), "autoregister-completion")
# readyz adds the checks that only gate traffic, not liveness (etcd-readiness, informer-sync, shutdown).
_READYZ = ("ping", "log", "etcd", "etcd-readiness", "informer-sync",
           *(f"poststarthook/{h}" for h in _HOOKS), "autoregister-completion", "shutdown")
CHECKS = {"healthz": _LIVEZ, "livez": _LIVEZ, "readyz": _READYZ}


def is_health_path(path: str) -> bool:
    """True for /healthz, /livez, /readyz and their per-check paths."""
    return path.split("/")[1] in CHECKS


def answer(path: str, query) -> web.Response:
    """The plain-text answer to a health path (404 Status for an unknown check)."""
    endpoint, _, check = path.lstrip("/").partition("/")
    checks = CHECKS[endpoint]
    if check:
        if check not in checks:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        return web.Response(text="ok")
    if "verbose" not in query:
        return web.Response(text="ok")
    return web.Response(text=verbose(endpoint, set(query.getall("exclude", []))))


def verbose(endpoint: str, exclude: set[str]) -> str:
    """The ``?verbose`` body: one ``[+]check ok`` line per check, excluded ones as ``excluded: ok``."""
    lines = []
    for name in CHECKS[endpoint]:
        lines.append(f"[+]{name} excluded: ok" if name in exclude else f"[+]{name} ok")
    unknown = sorted(exclude - set(CHECKS[endpoint]))
    if unknown:
        lines.append("warn: some health checks cannot be excluded: no matches for " +
                     ",".join(f'"{u}"' for u in unknown))
    lines.append(f"{endpoint} check passed")
    return "\n".join(lines) + "\n"
