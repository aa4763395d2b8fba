"""Pod subresources: eviction (PDB checks, as policy/v1 does them) and log (simulated lines)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from cockpit.sim.errors import ApiError, bad_request, success_status
from cockpit.sim.api.selectors import selector_from_dict
from cockpit.sim.api.delete import delete_now_or_gracefully
from cockpit.sim.api.rest import Target, current, dry_run, json_response, read_json
from cockpit.sim.store import timestamp

if TYPE_CHECKING:
    from cockpit.sim.api.server import SimServer

EVICTION_REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."


def _pod_ready(pod: dict) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def matching_pdbs(server: SimServer, pod: dict) -> list[dict]:
    """The PodDisruptionBudgets in the pod's namespace whose selector matches it."""
    labels = pod["metadata"].get("labels") or {}
    return [pdb for pdb in server.store.list("poddisruptionbudgets", pod["metadata"].get("namespace"))
            if (pdb.get("spec") or {}).get("selector") and selector_from_dict(pdb["spec"]["selector"]).matches(labels)]


def _too_many(pdb: dict, message: str) -> ApiError:
    return ApiError(429, "TooManyRequests", EVICTION_REFUSED, {"causes": [
        {"reason": "DisruptionBudget", "message": message}]})


def _check_budget(server: SimServer, pod: dict, pdb: dict) -> bool:
    """Raise 429 if the PDB forbids evicting ``pod``; True when a disruption must be counted."""
    meta, status = pdb["metadata"], pdb.get("status") or {}
    key = f"{meta.get('namespace')}/{meta['name']}"
    healthy, desired = status.get("currentHealthy", 0), status.get("desiredHealthy", 0)
    if key in server.faults.blocking_pdbs:
        raise _too_many(pdb, f"The disruption budget {meta['name']} does not allow any disruption (fault injected)")
    if not _pod_ready(pod):
        policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy", "IfHealthyBudget")
        if policy == "AlwaysAllow" or healthy >= desired:
            return False  # an unhealthy pod costs the budget nothing
        raise _too_many(pdb, f"The disruption budget {meta['name']} needs {desired} healthy pods and has "
                             f"{healthy} currently")
    if "observedGeneration" in status and status["observedGeneration"] < (meta.get("generation") or 0):
        raise _too_many(pdb, "The disruption budget is still being processed by the server.")
    if status.get("disruptionsAllowed", 0) <= 0:
        raise _too_many(pdb, f"The disruption budget {meta['name']} needs {desired} healthy pods and has "
                             f"{healthy} currently")
    return True


def _count_disruption(server: SimServer, pdb: dict, pod_name: str) -> None:
    def take(p: dict) -> None:
        status = p.setdefault("status", {})
        status["disruptionsAllowed"] = max(int(status.get("disruptionsAllowed", 0)) - 1, 0)
        status.setdefault("disruptedPods", {})[pod_name] = timestamp(server.store.now())
    server.store.mutate("poddisruptionbudgets", pdb["metadata"]["namespace"], pdb["metadata"]["name"], take)


async def evict(server: SimServer, request: web.Request, target: Target) -> web.Response:
    """POST pods/<name>/eviction: 201, 429 (budget) or 500 (several budgets)."""
    body = await read_json(request)
    pod = current(server, target)
    options = body.get("deleteOptions") or {}
    dry = dry_run(request) or options.get("dryRun") == ["All"]
    if pod["metadata"].get("deletionTimestamp"):
        return json_response(success_status(201), 201)
    phase = (pod.get("status") or {}).get("phase")
    pdbs = [] if phase in ("Succeeded", "Failed", "Pending") else matching_pdbs(server, pod)
    if len(pdbs) > 1:
        raise ApiError(500, "InternalError",
                       "This pod has more than one PodDisruptionBudget, which the eviction subresource does not "
                       "support.")
    counted = _check_budget(server, pod, pdbs[0]) if pdbs else False
    if not dry:
        if counted:
            _count_disruption(server, pdbs[0], pod["metadata"]["name"])
        delete_now_or_gracefully(server, target.rtype, pod, options)
    return json_response(success_status(201), 201)


# ------------------------------------------------------------------ logs

_MESSAGES = ("GET / 200 {n}ms", "GET /healthz 200 1ms", "POST /api/orders 201 {n}ms", "GET /metrics 200 2ms",
             "cache refresh done in {n}ms", "GET /api/items 200 {n}ms")


def _container(pod: dict, name: str | None) -> dict:
    containers = (pod.get("spec") or {}).get("containers") or []
    pod_name = pod["metadata"]["name"]
    if name is None:
        if len(containers) != 1:
            names = " ".join(c.get("name", "") for c in containers)
            raise bad_request(f"a container name must be specified for pod {pod_name}, choose one of: [{names}]")
        return containers[0]
    for c in containers:
        if c.get("name") == name:
            return c
    raise bad_request(f"container {name} is not valid for pod {pod_name}")


def _check_started(pod: dict, container: dict) -> None:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == container.get("name"):
            waiting = (cs.get("state") or {}).get("waiting")
            if waiting and not cs.get("restartCount"):
                raise bad_request(f'container "{cs["name"]}" in pod "{pod["metadata"]["name"]}" is waiting to '
                                  f'start: {waiting.get("reason", "ContainerCreating")}')
            return
    raise bad_request(f'container "{container.get("name")}" in pod "{pod["metadata"]["name"]}" is waiting to '
                      "start: ContainerCreating")


def log_line(pod: dict, container: dict, when: datetime, seq: int, stamps: bool) -> str:
    """One deterministic simulated log line."""
    digest = hashlib.blake2b(f"{pod['metadata']['name']}/{seq}".encode(), digest_size=4).digest()
    n = int.from_bytes(digest, "big")
    text = _MESSAGES[n % len(_MESSAGES)].format(n=n % 97 + 1)
    image = container.get("image", "")
    line = f"{when.strftime('%Y-%m-%dT%H:%M:%S')}Z INFO {container.get('name')}[{image}] {text}"
    if "crash" in image and seq % 5 == 4:
        line = f"{when.strftime('%Y-%m-%dT%H:%M:%S')}Z FATAL {container.get('name')} panic: simulated crash"
    return (when.strftime("%Y-%m-%dT%H:%M:%S.%fZ ") if stamps else "") + line


def _history(pod: dict, container: dict, tail: int | None, stamps: bool) -> list[str]:
    started = (pod.get("status") or {}).get("startTime") or pod["metadata"].get("creationTimestamp")
    try:
        start = datetime.fromisoformat(started.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        start = datetime.now(UTC)
    seconds = max(int((datetime.now(UTC) - start).total_seconds()), 1)
    count = min(seconds // 2 + 10, 500)  # start-up lines, then one every ~2 s, capped
    lines = [log_line(pod, container, start + timedelta(seconds=i * seconds / count), i, stamps)
             for i in range(count)]
    return lines[-tail:] if tail is not None and tail >= 0 else lines


async def pod_log(server: SimServer, request: web.Request, target: Target) -> web.StreamResponse:
    """GET pods/<name>/log (container, tailLines, timestamps, follow)."""
    pod = current(server, target)
    container = _container(pod, request.query.get("container"))
    _check_started(pod, container)
    tail_q = request.query.get("tailLines")
    stamps = request.query.get("timestamps", "").lower() == "true"
    lines = _history(pod, container, int(tail_q) if tail_q and tail_q.lstrip("-").isdigit() else None, stamps)
    if request.query.get("follow", "").lower() != "true":
        return web.Response(text="".join(line + "\n" for line in lines), content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    await response.write("".join(line + "\n" for line in lines).encode())
    seq = len(lines)
    while request.transport is not None and not request.transport.is_closing() and not server.closing:
        await asyncio.sleep(1.0)
        if server.store.get("pods", target.namespace, target.name or "") is None:
            break
        await response.write((log_line(pod, container, datetime.now(UTC), seq, stamps) + "\n").encode())
        seq += 1
    return response
