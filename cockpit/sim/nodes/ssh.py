"""Simulated nodes answering SSH on loopback: one asyncssh server per node.

``await start_ssh_nodes(cluster, state_dir)`` starts a server per Node on 127.0.0.1 (its own
port and ed25519 host key, generated once per state dir and reused), and writes into the
state dir:

* ``ssh_config``: a ``Host <node>`` entry per node (HostName 127.0.0.1, Port, User root,
  IdentityFile, UserKnownHostsFile, StrictHostKeyChecking yes) usable by OpenSSH and cockpit;
* ``known_hosts``: ``[127.0.0.1]:PORT ssh-ed25519 ...`` per node, as OpenSSH looks keys up;
* ``ssh/id_ed25519`` (+ ``.pub``): the client key, the only one the servers authorise.

Ports from the previous run (``ssh/ports.json``) are reused when free so an ssh_config a
user copied stays valid across restarts. Each exec request is interpreted by
:class:`cockpit.sim.nodes.shell.NodeShell`; a closed channel cancels the command, the
``ssh_drop`` fault aborts the whole connection. ``SshNodes.stop()`` closes everything.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from cockpit.sim.nodes.shell import DropConnection, NodeShell

log = logging.getLogger(__name__)


@dataclass
class SshNodes:
    """The running SSH servers and the client-side files that reach them."""

    ssh_config: Path
    known_hosts: Path
    client_key: Path
    ports: dict[str, int]
    _servers: list[asyncssh.SSHAcceptor] = field(default_factory=list, repr=False)
    _connections: set[asyncssh.SSHServerConnection] = field(default_factory=set, repr=False)

    async def stop(self) -> None:
        """Stop listening and drop every open connection."""
        for server in self._servers:
            server.close()
        for conn in list(self._connections):
            conn.abort()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        self._connections.clear()


class _NodeServer(asyncssh.SSHServer):
    """Tracks connections so stop() and the ssh_drop fault can abort them."""

    def __init__(self, connections: set[asyncssh.SSHServerConnection]) -> None:
        self._connections = connections
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True  # always authenticate: only the client key is authorised

    def password_auth_supported(self) -> bool:
        return False


class _ChannelIO:
    """NodeShell output written straight to the SSH channel (streamed as produced)."""

    def __init__(self, process: asyncssh.SSHServerProcess) -> None:
        self.process = process

    def out(self, text: str) -> None:
        if not self.process.is_closing():
            self.process.stdout.write(text)

    def err(self, text: str) -> None:
        if not self.process.is_closing():
            self.process.stderr.write(text)


async def start_ssh_nodes(cluster: Any, state_dir: str | os.PathLike[str],
                          nodes: list[str] | None = None) -> SshNodes:
    """Start an SSH server per node of ``cluster`` (all Nodes in its store unless ``nodes``)."""
    state = Path(state_dir)
    key_dir = state / "ssh"
    key_dir.mkdir(parents=True, exist_ok=True)
    names = nodes if nodes is not None else sorted(n["metadata"]["name"] for n in cluster.store.list("nodes"))
    client_key = _client_key(key_dir)
    authorized = asyncssh.import_authorized_keys(client_key.with_suffix(".pub").read_text())
    previous = _load_ports(key_dir)
    result = SshNodes(state / "ssh_config", state / "known_hosts", client_key, {})
    try:
        for name in names:
            host_key = _host_key(key_dir, name)
            server, port = await _listen(cluster, state, name, host_key, authorized, result._connections,
                                         previous.get(name, 0))
            result._servers.append(server)
            result.ports[name] = port
    except BaseException:
        await result.stop()
        raise
    _write_client_files(result, key_dir)
    return result


async def _listen(cluster: Any, state: Path, node: str, host_key: asyncssh.SSHKey,
                  authorized: asyncssh.SSHAuthorizedKeys, connections: set, port: int) -> tuple[Any, int]:
    async def handle(process: asyncssh.SSHServerProcess) -> None:
        await _serve(NodeShell(cluster, node, state), process)

    kwargs = dict(server_host_keys=[host_key], authorized_client_keys=authorized, process_factory=handle,
                  encoding="utf-8", keepalive_interval=30)
    try:
        server = await asyncssh.create_server(lambda: _NodeServer(connections), "127.0.0.1", port, **kwargs)
    except OSError:
        if not port:
            raise
        server = await asyncssh.create_server(lambda: _NodeServer(connections), "127.0.0.1", 0, **kwargs)
    return server, server.sockets[0].getsockname()[1]


async def _serve(shell: NodeShell, process: asyncssh.SSHServerProcess) -> None:
    """Run one exec request; cancel it if the client closes the channel first."""
    command = process.command
    if not command:
        process.stderr.write("This simulated node only runs commands (ssh NODE COMMAND).\n")
        process.exit(1)
        return
    io = _ChannelIO(process)
    work = asyncio.ensure_future(shell.run(command, io))
    closed = asyncio.ensure_future(process.wait_closed())
    try:
        await asyncio.wait({work, closed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        closed.cancel()
    if not work.done():
        work.cancel()
        return
    _finish(process, work)


def _finish(process: asyncssh.SSHServerProcess, work: asyncio.Future) -> None:
    exc = work.exception()
    if isinstance(exc, DropConnection):
        process.get_extra_info("connection").abort()
        return
    if exc is not None:
        log.exception("simulated node command failed", exc_info=exc)
        process.stderr.write(f"internal error in the simulated node: {exc}\n")
        process.exit(70)
        return
    process.exit(work.result())


# -- keys and client files -----------------------------------------------------------------

def _client_key(key_dir: Path) -> Path:
    path = key_dir / "id_ed25519"
    key = _load_or_generate(path)
    path.with_suffix(".pub").write_bytes(key.export_public_key("openssh"))
    return path


def _host_key(key_dir: Path, node: str) -> asyncssh.SSHKey:
    return _load_or_generate(key_dir / f"host_{node}_ed25519")


def _load_or_generate(path: Path) -> asyncssh.SSHKey:
    """Reuse the key in ``path`` or create it (mode 600, as ssh insists for private keys)."""
    if path.exists():
        return asyncssh.read_private_key(path)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"cockpit-sim {path.name}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.export_private_key("openssh"))
    return key


def _load_ports(key_dir: Path) -> dict[str, int]:
    try:
        return {str(k): int(v) for k, v in json.loads((key_dir / "ports.json").read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _write_client_files(nodes: SshNodes, key_dir: Path) -> None:
    (key_dir / "ports.json").write_text(json.dumps(nodes.ports, indent=2) + "\n")
    entries, known = [], []
    for name, port in nodes.ports.items():
        entries.append(f"Host {name}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n"
                       f"  IdentityFile {_quote(nodes.client_key)}\n  IdentitiesOnly yes\n"
                       f"  UserKnownHostsFile {_quote(nodes.known_hosts)}\n  StrictHostKeyChecking yes\n")
        public = _host_key(key_dir, name).export_public_key("openssh").decode().split()[:2]
        known.append(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
    header = "# Written by cockpit sim: one Host entry per simulated node.\n"
    nodes.ssh_config.write_text(header + "\n".join(entries))
    nodes.known_hosts.write_text("".join(known))


def _quote(path: Path) -> str:
    text = str(path)
    return f'"{text}"' if " " in text else text
