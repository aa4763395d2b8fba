"""The streaming pod subresources (``exec``, ``attach``, ``portforward``): a clear refusal.

A simulated pod runs no process, so there is nothing to attach a terminal or a port to. The
apiserver's answer to an upgrade request it will not serve is a ``Status``; kubectl (SPDY, and
the WebSocket executor of 1.30+, which falls back to SPDY when the upgrade is refused) prints
its message as ``Error from server (BadRequest): ...``. ``kubectl cp`` runs ``tar`` through exec,
so it gets the same answer.
"""

from __future__ import annotations

from aiohttp import web

from cockpit.sim.api import rest
from cockpit.sim.api.rest import Target
from cockpit.sim.errors import ApiError

SUBRESOURCES = ("exec", "attach", "portforward")
_WHAT = {"exec": "exec into", "attach": "attach to", "portforward": "forward a port to"}


def streaming_target(parts: list[str]) -> tuple[str, str, str] | None:
    """(namespace, pod, subresource) when ``parts`` of a path name a streaming pod subresource."""
    if (len(parts) == 7 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods"
            and parts[6] in SUBRESOURCES):
        return parts[3], parts[5], parts[6]
    return None


def refuse(server, request: web.Request, pods_type, namespace: str, name: str, sub: str) -> web.Response:
    """404 for a pod that does not exist (as the apiserver), else 400 naming what is unsupported."""
    if request.method not in ("GET", "POST"):
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
    rest.current(server, Target(pods_type, namespace, name, None))
    raise ApiError(400, "BadRequest", f"pods/{sub} is not supported by the simulated cluster: its pods run no "
                                      f"containers to {_WHAT[sub]} (pod {namespace}/{name})")
