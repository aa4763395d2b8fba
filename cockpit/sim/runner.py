"""Start the whole simulator (store, cluster, API server, optional SSH nodes) on an event loop,
either in the foreground (``cockpit sim``) or in a background thread (``SimThread``, for tests
and benchmarks)."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import datetime
import inspect
import os
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cockpit.sim.faults import Faults
from cockpit.sim.api.server import SimServer
from cockpit.sim.store import ObjectStore


@dataclass
class SimOptions:
    """Everything ``cockpit sim`` and SimThread can configure."""

    state_dir: str
    scenario: str = "demo"
    speed: float = 20.0
    nodes: int | None = None
    pods_per_node: int | None = None
    version: str = "1.32.4"
    ssh: bool = False
    port: int = 0
    cluster_factory: object = None  # tests only: build a stand-in instead of SimCluster
    extra: dict = field(default_factory=dict)
    prometheus: bool = False  # also run a real Prometheus scraping the mesh metrics
    endpoint_delay: float = 1.0  # simulated seconds before a selector/readiness change reaches the slices


class Simulator:
    """A running simulator: ``.store .cluster .server .faults .kubeconfig .ssh_config``, the mesh
    metrics endpoint ``.metrics`` and, when asked for, ``.prometheus``."""

    def __init__(self, options: SimOptions):
        self.options = options
        self.faults = Faults()
        self.token = secrets.token_hex(16)
        self.store: ObjectStore | None = None
        self.cluster = None
        self.server: SimServer | None = None
        self.ssh = None
        self.metrics = None
        self.prometheus = None
        self.kubeconfig = str(Path(options.state_dir) / "kubeconfig")
        self.ssh_config: str | None = None
        self.ca_file = str(Path(options.state_dir) / "tls.crt")

    @property
    def url(self) -> str:
        """The API server URL."""
        return self.server.url if self.server else ""

    async def start(self) -> None:
        """Seed the scenario, start controllers, serve, write the kubeconfig (and SSH nodes)."""
        opts = self.options
        Path(opts.state_dir).mkdir(parents=True, exist_ok=True)
        clock = _make_clock(opts.speed)
        self.store = ObjectStore(now=clock.now if clock else None)
        self.cluster = _make_cluster(opts, self.store, clock, self.faults)
        await _maybe_await(self.cluster.start())
        cert, key = ensure_tls(opts.state_dir)
        self.server = SimServer(self.store, self.faults, self.token, self.cluster, port=opts.port,
                                version=opts.version, ssl_context=server_ssl_context(cert, key))
        await self.server.start()
        write_kubeconfig(self.kubeconfig, self.server.url, self.token, cert, self.server.authenticator.user_tokens)
        await self._start_metrics(clock)
        if opts.ssh:
            await self._start_ssh()

    async def _start_metrics(self, clock) -> None:
        from cockpit.sim.metrics_server import MetricsServer
        from cockpit.sim.traffic import TrafficModel

        self.metrics = MetricsServer(TrafficModel(self.store, clock.monotonic if clock else None))
        await self.metrics.start()
        if self.options.prometheus:
            from cockpit.sim.prometheus import PrometheusProcess

            self.prometheus = PrometheusProcess(self.options.state_dir, self.metrics.address)
            await self.prometheus.start()

    async def _start_ssh(self) -> None:
        try:
            from cockpit.sim.nodes.ssh import start_ssh_nodes
        except ImportError:
            return
        self.ssh = await start_ssh_nodes(self.cluster, self.options.state_dir)
        self.ssh_config = str(self.ssh.ssh_config)

    async def stop(self) -> None:
        """Stop Prometheus, SSH nodes, the servers and the cluster (in that order)."""
        if self.prometheus is not None:
            await _quietly(self.prometheus.stop())
        if self.metrics is not None:
            await _quietly(self.metrics.stop())
        if self.ssh is not None:
            await _quietly(self.ssh.stop())
        if self.server is not None:
            await _quietly(self.server.stop())
        if self.cluster is not None and hasattr(self.cluster, "stop"):
            await _quietly(_maybe_await(self.cluster.stop()))


async def _maybe_await(value):
    if inspect.isawaitable(value):
        return await value
    return value


async def _quietly(awaitable) -> None:
    try:
        await asyncio.wait_for(awaitable, timeout=2.0)
    except (Exception, asyncio.TimeoutError):  # shutdown must not hang or raise
        pass


def _make_clock(speed: float):
    try:
        from cockpit.sim.clock import SimClock
    except ImportError:
        return None
    return SimClock(speed)


def _make_cluster(opts: SimOptions, store: ObjectStore, clock, faults: Faults):
    if opts.cluster_factory is not None:
        return opts.cluster_factory(store, clock, faults)
    from cockpit.sim.cluster import SimCluster  # late: a cluster_factory replaces it
    return SimCluster(store, clock, faults, version=opts.version, scenario=opts.scenario,
                      nodes=opts.nodes, pods_per_node=opts.pods_per_node, endpoint_delay=opts.endpoint_delay)


def ensure_tls(state_dir: str) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1/localhost in ``state_dir`` (made once, then reused).

    kubectl does not send bearer tokens to plain-http servers, so the simulator serves HTTPS and
    the kubeconfig carries this certificate as its certificate authority.
    """
    cert, key = Path(state_dir) / "tls.crt", Path(state_dir) / "tls.key"
    if cert.exists() and key.exists():
        return str(cert), str(key)
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cockpit-sim")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=3650))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                               x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(private, hashes.SHA256()))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    key.chmod(0o600)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return str(cert), str(key)


def server_ssl_context(cert: str, key: str) -> ssl.SSLContext:
    """The server side TLS context."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def write_kubeconfig(path: str, url: str, token: str, ca_file: str | None = None,
                     extra_users: dict[str, str] | None = None) -> None:
    """Write a kubeconfig with context ``cockpit-sim`` (namespace default, bearer token), mode 0600.

    ``extra_users`` (name -> token) become further users, each with a context ``cockpit-sim-<name>``;
    the admin stays the first user and the current context."""
    from cockpit.sim.api.auth import kubeconfig_entries
    users, contexts = kubeconfig_entries(extra_users or {})
    ca = ""
    if ca_file:
        ca = f"    certificate-authority-data: {base64.b64encode(Path(ca_file).read_bytes()).decode()}\n"
    text = (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: cockpit-sim\n  cluster:\n    server: {url}\n{ca}"
        f"users:\n- name: cockpit-sim\n  user:\n    token: {token}\n{users}"
        "contexts:\n- name: cockpit-sim\n  context:\n    cluster: cockpit-sim\n    user: cockpit-sim\n"
        f"    namespace: default\n{contexts}"
        "current-context: cockpit-sim\npreferences: {}\n"
    )
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


class SimThread:
    """The simulator on its own event loop in a background thread (a context manager).

    ``.url .token .kubeconfig .ssh_config .cluster .faults .store``; ``.call(fn, *args)`` runs
    ``fn`` (plain or async) on the simulator's loop and returns its result.
    """

    def __init__(self, state_dir, scenario: str = "demo", speed: float = 20.0, nodes: int | None = None,
                 pods_per_node: int | None = None, version: str = "1.32.4", ssh: bool = False,
                 port: int = 0, cluster_factory=None, prometheus: bool = False, endpoint_delay: float = 1.0):
        self.sim = Simulator(SimOptions(str(state_dir), scenario, speed, nodes, pods_per_node, version,
                                        ssh, port, cluster_factory, prometheus=prometheus,
                                        endpoint_delay=endpoint_delay))
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="cockpit-sim", daemon=True)
        self._started = concurrent.futures.Future()

    # attribute passthrough
    url = property(lambda self: self.sim.url)
    token = property(lambda self: self.sim.token)
    kubeconfig = property(lambda self: self.sim.kubeconfig)
    ssh_config = property(lambda self: self.sim.ssh_config)
    cluster = property(lambda self: self.sim.cluster)
    faults = property(lambda self: self.sim.faults)
    store = property(lambda self: self.sim.store)
    server = property(lambda self: self.sim.server)
    ca_file = property(lambda self: self.sim.ca_file)
    metrics_url = property(lambda self: self.sim.metrics.url if self.sim.metrics else "")
    prometheus_url = property(lambda self: self.sim.prometheus.url if self.sim.prometheus else "")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def boot():
            try:
                await self.sim.start()
            except BaseException as exc:  # hand start-up failures to the starting thread
                self._started.set_exception(exc)
                return
            self._started.set_result(True)
        self.loop.run_until_complete(boot())
        if self._started.exception() is None:
            self.loop.run_forever()
        else:
            self.loop.run_until_complete(self.sim.stop())
        self._cancel_leftovers()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def _cancel_leftovers(self) -> None:
        """Cancel tasks still pending after stop (controllers that did not exit) and let them finish."""
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    def start(self, timeout: float = 120.0) -> SimThread:
        """Start and wait until the server accepts requests (start-up errors are re-raised)."""
        self._thread.start()
        try:
            self._started.result(timeout)
        except BaseException:
            self._thread.join(5)
            raise
        return self

    def stop(self) -> None:
        """Stop everything and join the thread."""
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop)
        try:
            fut.result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    def call(self, fn, *args, timeout: float = 30.0):
        """Run ``fn(*args)`` on the sim loop (awaiting it if it is async) and return the result."""
        async def run():
            return await _maybe_await(fn(*args))
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def __enter__(self) -> SimThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
