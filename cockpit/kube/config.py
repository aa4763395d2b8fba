"""Cluster connection settings, loaded the way kubectl loads them.

``load_cluster_config(kubeconfig, context)`` goes through the official ``kubernetes``
client's kubeconfig loader, so everything kubectl understands works here too:
``KUBECONFIG`` with several files joined by ``:`` (first file wins per entry),
contexts, bearer tokens and token files, basic auth, client certificates (files or
inline data), exec credential plugins (re-run when their token expires) and the
in-cluster service-account config when no kubeconfig exists.

Every failure becomes a :class:`cockpit.errors.UsageError` (bad input) or
:class:`cockpit.errors.ConnectionProblem` (credentials) with ONE actionable line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
from dataclasses import dataclass, field
from typing import Callable, Iterator

import yaml
from kubernetes.client import Configuration
from kubernetes.config import incluster_config, kube_config
from kubernetes.config.config_exception import ConfigException

from cockpit.errors import ConnectionProblem, UsageError

DEFAULT_KUBECONFIG = "~/.kube/config"
IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


@dataclass
class ClusterConfig:
    """Everything :class:`cockpit.kube.client.KubeClient` needs to talk to one cluster.

    ``host``: API server URL without trailing slash (``https://10.0.0.1:6443``).
    ``context``: kubeconfig context name (``"in-cluster"`` for the service account).
    ``namespace``: the context's default namespace (``"default"`` if unset).
    ``user``: the context's user name (for messages and the journal).
    ``ssl_context``: ``ssl.SSLContext`` for https hosts, ``None`` for plain http.
    ``headers``: auth headers (``{"Authorization": "Bearer ..."}`` / ``"Basic ..."``), maybe empty.
    ``tls_server_name`` / ``proxy``: kubeconfig ``tls-server-name`` and ``proxy-url``.
    ``refresh_auth``: returns fresh auth headers (re-runs an expired exec plugin / re-reads a
    rotated token file). Blocking: call it from a thread.
    """

    host: str
    context: str
    namespace: str = "default"
    user: str = ""
    ssl_context: ssl.SSLContext | None = None
    headers: dict[str, str] = field(default_factory=dict)
    tls_server_name: str | None = None
    proxy: str | None = None
    refresh_auth: Callable[[], dict[str, str]] | None = field(default=None, repr=False)


def load_cluster_config(kubeconfig: str | None = None, context: str | None = None) -> ClusterConfig:
    """Load the connection settings for ``context`` (default: current-context).

    ``kubeconfig`` is a path or a ``:``-separated list of paths; ``None`` means
    ``$KUBECONFIG`` or ``~/.kube/config``, and when none of those exists the in-cluster
    service account (if running in a pod). Raises UsageError / ConnectionProblem.
    """
    paths = _kubeconfig_paths(kubeconfig)
    existing = [p for p in paths if os.path.exists(p)]
    if not existing:
        if kubeconfig is None and context is None and _in_cluster():
            return _load_in_cluster()
        raise UsageError(_missing_message(kubeconfig, paths))
    return _load_from_files(existing, context)


def _kubeconfig_paths(kubeconfig: str | None) -> list[str]:
    # Read KUBECONFIG at call time: the client's module-level default is frozen at import.
    spec = kubeconfig or os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    return [os.path.expanduser(p) for p in spec.split(os.pathsep) if p]


def _missing_message(kubeconfig: str | None, paths: list[str]) -> str:
    shown = ", ".join(paths) or "(empty)"
    if kubeconfig:
        return f"kubeconfig file not found: {shown} (check --kubeconfig)"
    return f"no kubeconfig found at {shown}: pass --kubeconfig FILE or set KUBECONFIG"


def _in_cluster() -> bool:
    return bool(os.environ.get(incluster_config.SERVICE_HOST_ENV_NAME))


def _load_in_cluster() -> ClusterConfig:
    cfg = Configuration()
    try:
        incluster_config.load_incluster_config(client_configuration=cfg)
    except ConfigException as exc:
        raise ConnectionProblem(f"in-cluster config unusable: {_one_line(exc)}") from None
    namespace = "default"
    if os.path.exists(IN_CLUSTER_NAMESPACE_FILE):
        with open(IN_CLUSTER_NAMESPACE_FILE) as f:
            namespace = f.read().strip() or "default"
    return _from_configuration(cfg, context="in-cluster", namespace=namespace, user="serviceaccount")


def _load_from_files(paths: list[str], context: str | None) -> ClusterConfig:
    joined = os.pathsep.join(paths)
    contexts, current = _read_contexts(paths)
    name = _pick_context(contexts, current, context, joined)
    cfg = Configuration()
    details = contexts[name]
    user = details.get("user") or ""
    with _captured_errors() as errors:
        try:
            kube_config.load_kube_config(
                config_file=joined, context=name, client_configuration=cfg, persist_config=False
            )
        except (ConfigException, yaml.YAMLError, TypeError, KeyError, ValueError, AttributeError, OSError) as exc:
            raise UsageError(f"kubeconfig context {name!r} is unusable: {_one_line(exc)}") from None
        result = _from_configuration(cfg, context=name, namespace=details.get("namespace") or "default", user=user)
    if errors and not result.headers and not cfg.cert_file:
        # The loader only logs a failed exec plugin; without credentials every call would 401.
        raise ConnectionProblem(f"credential plugin for user {user!r} failed: {_one_line(errors[-1])}")
    return result


@contextlib.contextmanager
def _captured_errors() -> Iterator[list[str]]:
    """Collect what the client's loader logs (it logs exec-plugin failures instead of raising)
    and keep it off stderr, where it would scribble over the TUI."""
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = _Collect(level=logging.ERROR)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield messages
    finally:
        root.removeHandler(handler)


def _read_contexts(paths: list[str]) -> tuple[dict[str, dict], str | None]:
    """Merge the context lists of all files like kubectl: the first file naming an entry wins."""
    contexts: dict[str, dict] = {}
    current = None
    for path in paths:
        doc = _read_yaml(path)
        current = current or doc.get("current-context") or None
        for entry in doc.get("contexts") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("context"), dict):
                raise UsageError(f"malformed kubeconfig {path}: each context needs a name and a context map")
            contexts.setdefault(str(entry.get("name")), entry["context"])
    return contexts, current


def _read_yaml(path: str) -> dict:
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise UsageError(f"malformed kubeconfig {path}: {_one_line(exc)}") from None
    except OSError as exc:
        raise UsageError(f"cannot read kubeconfig {path}: {exc.strerror or exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise UsageError(f"malformed kubeconfig {path}: expected a YAML mapping (apiVersion: v1, kind: Config)")
    return doc


def _pick_context(contexts: dict[str, dict], current: str | None, wanted: str | None, where: str) -> str:
    name = wanted or current
    if not name:
        raise UsageError(f"kubeconfig {where} has no current-context: pass --context NAME")
    if name not in contexts:
        available = ", ".join(sorted(contexts)) or "none"
        raise UsageError(f"context {name!r} not found in kubeconfig {where} (available: {available})")
    return name


def _from_configuration(cfg: Configuration, *, context: str, namespace: str, user: str) -> ClusterConfig:
    host = (cfg.host or "").rstrip("/")
    if not host:
        raise UsageError(f"kubeconfig context {context!r} has no cluster server URL")
    return ClusterConfig(
        host=host,
        context=context,
        namespace=namespace,
        user=user,
        ssl_context=_ssl_context(cfg, context) if host.startswith("https") else None,
        headers=_auth_headers(cfg),
        tls_server_name=getattr(cfg, "tls_server_name", None),
        proxy=cfg.proxy,
        refresh_auth=lambda: _auth_headers(cfg),
    )


def _auth_headers(cfg: Configuration) -> dict[str, str]:
    # The loader stores the full header value ("Bearer x" or "Basic y") under BearerToken;
    # get_api_key_with_prefix also runs the refresh hook (exec plugins, token files).
    try:
        value = cfg.get_api_key_with_prefix("BearerToken", alias="authorization")
    except ConfigException as exc:
        raise ConnectionProblem(f"could not obtain credentials: {_one_line(exc)}") from None
    if not value:
        return {}
    scheme, _, credential = value.partition(" ")
    if scheme.lower() == "bearer":  # the in-cluster loader writes "bearer": normalise the scheme
        value = f"Bearer {credential}"
    return {"Authorization": value}


def _ssl_context(cfg: Configuration, context: str) -> ssl.SSLContext:
    try:
        ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert) if cfg.ssl_ca_cert else ssl.create_default_context()
        if cfg.cert_file:
            ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"kubeconfig context {context!r}: bad certificate or key: {_one_line(exc)}") from None
    if not cfg.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
