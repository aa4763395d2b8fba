"""``kubectl drain | cordon | uncordon`` on a simulated control-plane node.

Like the real one, this kubectl acts through the (simulated) API server with admin
credentials: the simulator's own kubeconfig in the state dir stands in for
``/etc/kubernetes/admin.conf``. So cordon is a PATCH, evictions are POSTs to
``pods/NAME/eviction`` (the API's PDB checks answer 429 and kubectl retries every 5 s),
and the messages are kubectl's. Only on nodes that have admin.conf (control planes).
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import yaml

if TYPE_CHECKING:
    from cockpit.sim.nodes.shell import NodeShell
    from cockpit.sim.nodes.base import ShellIO

NO_CONFIG = ("The connection to the server localhost:8080 was refused - did you specify the right host or port?\n")
RETRY_SECONDS = 5.0
POLL_SECONDS = 1.0


class KubectlEmulator:
    """Parses a kubectl command line and runs drain/cordon/uncordon against the sim API."""

    def __init__(self, shell: NodeShell) -> None:
        self.shell = shell

    async def run(self, args: list[str], io: ShellIO) -> int:
        """Entry point from the node shell."""
        args = _drop_kubeconfig(args)
        if not args or args[0] not in ("drain", "cordon", "uncordon"):
            io.err(f'error: unknown command "{args[0] if args else ""}" (simulated kubectl supports '
                   "drain, cordon, uncordon)\n")
            return 1
        names = [a for a in args[1:] if not a.startswith("-")]
        if len(names) != 1:
            io.err(f"error: USAGE: {args[0]} NODE [options]\n")
            return 1
        api = self._api()
        if api is None:
            io.err(NO_CONFIG)
            return 1
        async with api:
            return await self._verb(api, args[0], names[0], set(args[1:]) - set(names), io)

    def _api(self) -> _Api | None:
        if not self.shell.is_control_plane():
            return None
        return _Api.from_kubeconfig(self.shell.state_dir / "kubeconfig")

    async def _verb(self, api: _Api, verb: str, node: str, flags: set[str], io: ShellIO) -> int:
        if verb in ("cordon", "uncordon"):
            return await _set_unschedulable(api, node, verb == "cordon", io)
        drain = _Drain(api, self.shell, node, flags, io)
        return await drain.run()


def _drop_kubeconfig(args: list[str]) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--kubeconfig":
            skip = True
        elif not arg.startswith("--kubeconfig="):
            out.append(arg)
    return out


class _Api:
    """The few REST calls kubectl drain makes, with the simulator's bearer token."""

    def __init__(self, server: str, token: str, tls: ssl.SSLContext | bool = True) -> None:
        self.server = server.rstrip("/")
        self.session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"},
                                             connector=aiohttp.TCPConnector(ssl=tls))

    @classmethod
    def from_kubeconfig(cls, path: Path) -> _Api | None:
        try:
            config = yaml.safe_load(path.read_text())
            cluster = config["clusters"][0]["cluster"]
            token = config["users"][0]["user"].get("token", "")
            return cls(cluster["server"], token, _tls(cluster))
        except (OSError, KeyError, IndexError, TypeError, ValueError, ssl.SSLError, yaml.YAMLError):
            return None

    async def __aenter__(self) -> _Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def call(self, method: str, path: str, body: Any = None,
                   content_type: str = "application/json") -> tuple[int, dict]:
        data = None if body is None else json.dumps(body)
        async with self.session.request(method, self.server + path, data=data,
                                        headers={"Content-Type": content_type}) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text) if text else {}
            except ValueError:
                return resp.status, {"message": text}


def _tls(cluster: dict) -> ssl.SSLContext | bool:
    """Verify the server against the kubeconfig's CA, like admin.conf does for kubectl."""
    if cluster.get("insecure-skip-tls-verify"):
        return False
    if cluster.get("certificate-authority-data"):
        pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        return ssl.create_default_context(cadata=pem)
    if cluster.get("certificate-authority"):
        return ssl.create_default_context(cafile=cluster["certificate-authority"])
    return True


async def _set_unschedulable(api: _Api, node: str, value: bool, io: ShellIO) -> int:
    word = "cordoned" if value else "uncordoned"
    status, current = await api.call("GET", f"/api/v1/nodes/{node}")
    if status == 404:
        io.err(f'Error from server (NotFound): nodes "{node}" not found\n')
        return 1
    if bool(current.get("spec", {}).get("unschedulable")) == value:
        io.out(f"node/{node} already {word}\n")
        return 0
    status, body = await api.call("PATCH", f"/api/v1/nodes/{node}", {"spec": {"unschedulable": value or None}},
                                  "application/strategic-merge-patch+json")
    if status >= 300:
        io.err(f"error: {body.get('message', status)}\n")
        return 1
    io.out(f"node/{node} {word}\n")
    return 0


class _DrainFailed(Exception):
    """An eviction failed for a reason kubectl does not retry (e.g. 500: several PDBs)."""


class _Drain:
    """kubectl drain's flow: cordon, filter pods, evict (retrying 429 every 5 s), wait for deletion."""

    def __init__(self, api: _Api, shell: NodeShell, node: str, flags: set[str], io: ShellIO) -> None:
        self.api, self.shell, self.node, self.flags, self.io = api, shell, node, flags, io
        self.timeout = _timeout_seconds(flags)

    async def run(self) -> int:
        status = await _set_unschedulable(self.api, self.node, True, self.io)
        if status:
            return status
        pods = await self._pods()
        if pods is None:
            return 1
        try:
            await asyncio.wait_for(self._evict_all(pods), self.shell.cluster.clock.scaled(self.timeout)
                                   if self.timeout else None)
        except asyncio.TimeoutError:
            self.io.err(f"There are pending pods in node \"{self.node}\" when an error occurred: drain did not "
                        f"complete within {int(self.timeout)}s\nerror: unable to drain node \"{self.node}\" due to "
                        "error: drain did not complete within the timeout, continuing command...\n")
            return 1
        except _DrainFailed as exc:
            self.io.err(f"{exc}\nerror: unable to drain node \"{self.node}\" due to error: {exc}, "
                        "continuing command...\n")
            return 1
        self.io.out(f"node/{self.node} drained\n")
        return 0

    async def _pods(self) -> list[dict] | None:
        status, body = await self.api.call("GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{self.node}")
        if status >= 300:
            self.io.err(f"error: {body.get('message', status)}\n")
            return None
        errors, warnings, evict = _filter(body.get("items", []), self.flags)
        if errors:
            self.io.err(f"error: unable to drain node \"{self.node}\" due to error: cannot delete "
                        + "; cannot delete ".join(errors) + ", continuing command...\n"
                        "There are pending nodes to be drained:\n " + self.node + "\n")
            return None
        for warning in warnings:
            self.io.err(f"Warning: {warning}\n")
        return evict

    async def _evict_all(self, pods: list[dict]) -> None:
        await asyncio.gather(*(self._evict(pod) for pod in pods))

    async def _evict(self, pod: dict) -> None:
        ns, name, uid = pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"]
        self.io.out(f"evicting pod {ns}/{name}\n")
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns}}
        while True:
            status, reply = await self.api.call("POST", f"/api/v1/namespaces/{ns}/pods/{name}/eviction", body)
            if status == 429:
                self.io.err(f'error when evicting pods/"{name}" -n "{ns}" (will retry after 5s): '
                            f"{reply.get('message', 'Too Many Requests')}\n")
                await self.shell.cluster.clock.sleep(RETRY_SECONDS)
                continue
            if status not in (200, 201, 404):
                raise _DrainFailed(f'error when evicting pods/"{name}" -n "{ns}": '
                                   f'{reply.get("message", f"HTTP {status}")}')
            break
        await self._wait_gone(ns, name, uid)
        self.io.out(f"pod/{name} evicted\n")

    async def _wait_gone(self, ns: str, name: str, uid: str) -> None:
        while True:
            status, pod = await self.api.call("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
            if status == 404 or pod.get("metadata", {}).get("uid") != uid:
                return
            await self.shell.cluster.clock.sleep(POLL_SECONDS)


def _filter(pods: list[dict], flags: set[str]) -> tuple[list[str], list[str], list[dict]]:
    """kubectl's pod filters: (errors, warnings, pods to evict)."""
    daemonsets, unmanaged_ok, local_ok = "--ignore-daemonsets" in flags, "--force" in flags, \
        "--delete-emptydir-data" in flags
    errors, ds_pods, evict = [], [], []
    for pod in pods:
        meta, key = pod["metadata"], f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        owners = meta.get("ownerReferences") or []
        if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
            continue
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            evict.append(pod)
            continue
        if any(o.get("kind") == "DaemonSet" and o.get("controller") for o in owners):
            (ds_pods if daemonsets else errors).append(key if daemonsets else
                                                       f"DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {key}")
            continue
        if not any(o.get("controller") for o in owners) and not unmanaged_ok:
            errors.append(f"Pods declare no controller (use --force to override): {key}")
            continue
        if any("emptyDir" in v for v in pod.get("spec", {}).get("volumes") or []) and not local_ok:
            errors.append(f"Pods with local storage (use --delete-emptydir-data to override): {key}")
            continue
        evict.append(pod)
    warnings = [f"ignoring DaemonSet-managed Pods: {', '.join(ds_pods)}"] if ds_pods else []
    return errors, warnings, evict


def _timeout_seconds(flags: set[str]) -> float:
    for flag in flags:
        if flag.startswith("--timeout="):
            value = flag.split("=", 1)[1]
            units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
            for suffix in ("ms", "s", "m", "h"):
                if value.endswith(suffix) and value[: -len(suffix)].isdigit():
                    return float(value[: -len(suffix)]) * units[suffix]
    return 0.0
