"""Connecting: kubeconfig loading (contexts, KUBECONFIG lists, exec plugins, client certs,
in-cluster) and the one-line messages for every way it can fail."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
from pathlib import Path

import pytest
import yaml

from cockpit.errors import ConnectionProblem, UsageError
from cockpit.kube import config as kconfig
from cockpit.kube.client import KubeClient
from cockpit.kube.config import load_cluster_config
from cockpit.kube.errors import NotFound, TlsProblem, Unauthorized, Unreachable
from cockpit.kube.paths import path_for


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


def sim_doc(sim) -> dict:
    return yaml.safe_load(Path(sim.kubeconfig).read_text())


def write(path: Path, doc) -> str:
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return str(path)


async def version_via(cfg) -> dict:
    async with KubeClient(cfg) as client:
        return await client.version()


# ----- loading -----------------------------------------------------------------------------


async def test_sim_kubeconfig_loads_and_connects(api_sim):
    cfg = load_cluster_config(api_sim.kubeconfig, None)
    assert (cfg.context, cfg.namespace, cfg.user) == ("cockpit-sim", "default", "cockpit-sim")
    assert cfg.host == api_sim.url.rstrip("/") and cfg.headers["Authorization"].startswith("Bearer ")
    assert cfg.ssl_context is not None
    assert (await version_via(cfg))["gitVersion"] == "v1.32.4"


def test_unknown_context(api_sim):
    with pytest.raises(UsageError) as err:
        load_cluster_config(api_sim.kubeconfig, "nope")
    assert "'nope' not found" in one_line(err.value) and "cockpit-sim" in str(err.value)
    assert err.value.exit_status == 2


@pytest.mark.parametrize("text", ["clusters: [unclosed", "- just\n- a list\n", "contexts:\n- name: x\n  context: 5\n"])
def test_malformed_kubeconfig(tmp_path, text):
    path = write(tmp_path / "config", text)
    with pytest.raises(UsageError) as err:
        load_cluster_config(path, None)
    assert "malformed kubeconfig" in one_line(err.value)


def test_context_pointing_at_missing_cluster(tmp_path):
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
           "contexts": [{"name": "c", "context": {"cluster": "ghost", "user": "u"}}], "users": [], "clusters": []}
    with pytest.raises(UsageError) as err:
        load_cluster_config(write(tmp_path / "config", doc), None)
    assert "unusable" in one_line(err.value)


def test_missing_file_and_no_current_context(tmp_path, monkeypatch):
    with pytest.raises(UsageError) as err:
        load_cluster_config(str(tmp_path / "absent"), None)
    assert "not found" in one_line(err.value)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "also-absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(UsageError) as err:
        load_cluster_config(None, None)
    assert "KUBECONFIG" in one_line(err.value)
    doc = {"apiVersion": "v1", "kind": "Config", "contexts": [], "clusters": [], "users": []}
    with pytest.raises(UsageError) as err:
        load_cluster_config(write(tmp_path / "empty", doc), None)
    assert "current-context" in one_line(err.value)


def test_kubeconfig_list_merges_files_first_wins(api_sim, tmp_path, monkeypatch):
    doc = sim_doc(api_sim)
    first = {"apiVersion": "v1", "kind": "Config", "current-context": "team",
             "contexts": [{"name": "team", "context": {"cluster": "cockpit-sim", "user": "cockpit-sim", "namespace": "shop"}}]}
    second = {**doc, "current-context": "cockpit-sim"}
    paths = [write(tmp_path / "a", first), write(tmp_path / "b", second)]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(paths))
    cfg = load_cluster_config(None, None)
    assert (cfg.context, cfg.namespace) == ("team", "shop")  # current-context of the first file
    assert load_cluster_config(None, "cockpit-sim").namespace == "default"


async def test_exec_credential_plugin(api_sim, tmp_path):
    plugin = tmp_path / "cred-plugin"
    credential = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"token": api_sim.token}}
    plugin.write_text(f"#!{sys.executable}\nimport json; print(json.dumps({credential!r}))\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    doc = sim_doc(api_sim)
    doc["users"] = [{"name": "cockpit-sim", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}}}]
    cfg = load_cluster_config(write(tmp_path / "config", doc), None)
    assert cfg.headers == {"Authorization": f"Bearer {api_sim.token}"}
    assert (await version_via(cfg))["gitVersion"] == "v1.32.4"


async def test_client_certificate_files_are_loaded(api_sim, tmp_path):
    from cockpit.sim.runner import ensure_tls

    cert, key = ensure_tls(str(tmp_path))
    doc = sim_doc(api_sim)
    doc["users"][0]["user"].update({"client-certificate": cert, "client-key": key})
    cfg = load_cluster_config(write(tmp_path / "config", doc), None)
    assert (await version_via(cfg))["gitVersion"] == "v1.32.4"
    doc["users"][0]["user"]["client-key"] = str(tmp_path / "missing.key")
    with pytest.raises(UsageError) as err:
        load_cluster_config(write(tmp_path / "config2", doc), None)
    one_line(err.value)


async def test_insecure_skip_tls_verify(api_sim, tmp_path):
    doc = sim_doc(api_sim)
    cluster = doc["clusters"][0]["cluster"]
    cluster.pop("certificate-authority-data")
    cluster["insecure-skip-tls-verify"] = True
    cfg = load_cluster_config(write(tmp_path / "config", doc), None)
    assert (await version_via(cfg))["gitVersion"] == "v1.32.4"


def test_in_cluster_fallback(tmp_path, monkeypatch):
    token, ca, ns = tmp_path / "token", tmp_path / "ca.crt", tmp_path / "namespace"
    token.write_text("sa-token")
    ns.write_text("ops")
    from cockpit.sim.runner import ensure_tls

    cert, _ = ensure_tls(str(tmp_path))
    ca.write_text(Path(cert).read_text())
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    from kubernetes.config import incluster_config

    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setattr(kconfig, "IN_CLUSTER_NAMESPACE_FILE", str(ns))
    cfg = load_cluster_config(None, None)
    assert (cfg.host, cfg.context, cfg.namespace) == ("https://10.96.0.1:443", "in-cluster", "ops")
    assert cfg.headers == {"Authorization": "Bearer sa-token"}


# ----- connection failures -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_host(api_sim, tmp_path):
    doc = sim_doc(api_sim)
    doc["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    cfg = load_cluster_config(write(tmp_path / "config", doc), None)
    with pytest.raises(Unreachable) as err:
        await version_via(cfg)
    assert isinstance(err.value, ConnectionProblem) and "cannot reach the API server" in one_line(err.value)


async def test_tls_failure(api_sim, tmp_path):
    doc = sim_doc(api_sim)
    doc["clusters"][0]["cluster"].pop("certificate-authority-data")
    cfg = load_cluster_config(write(tmp_path / "config", doc), None)
    with pytest.raises(TlsProblem) as err:
        await version_via(cfg)
    assert "TLS verification failed" in one_line(err.value) and err.value.exit_status == 2


async def test_wrong_token_is_401_connection_problem(api_sim, tmp_path):
    doc = sim_doc(api_sim)
    doc["users"][0]["user"]["token"] = "wrong"
    cfg = load_cluster_config(write(tmp_path / "config", doc), None)
    async with KubeClient(cfg) as client:
        with pytest.raises(Unauthorized) as err:
            await client.list(path_for("pods"))
    assert isinstance(err.value, ConnectionProblem) and err.value.status == 401
    assert "401 Unauthorized" in one_line(err.value) and err.value.exit_status == 2


async def test_not_found_is_an_api_error_with_status(api_sim):
    async with KubeClient(load_cluster_config(api_sim.kubeconfig, None)) as client:
        with pytest.raises(NotFound) as err:
            await client.get(path_for("pods", "shop", "ghost"))
        assert (err.value.status, err.value.reason) == (404, "NotFound")
        assert err.value.body.get("kind") == "Status"
        one_line(err.value)


async def test_writes_patch_types_and_dry_run(api_sim):
    async with KubeClient(load_cluster_config(api_sim.kubeconfig, None)) as client:
        svc = path_for("services", "shop", "web")
        dry = await client.patch(svc, {"spec": {"selector": {"color": "green"}}}, dry_run=True)
        assert dry["spec"]["selector"]["color"] == "green"
        assert (await client.get(svc))["spec"]["selector"]["color"] == "blue"
        merged = await client.patch(svc, {"metadata": {"labels": {"x": "1"}}}, patch_type="merge")
        assert merged["metadata"]["labels"]["x"] == "1"
        ops = [{"op": "add", "path": "/metadata/labels/y", "value": "2"}]
        assert (await client.patch(svc, ops, patch_type="json"))["metadata"]["labels"]["y"] == "2"
        made = await client.create(path_for("configmaps", "shop"), {"metadata": {"name": "cm"}, "data": {"a": "b"}})
        made["data"]["a"] = "c"
        assert (await client.replace(path_for("configmaps", "shop", "cm"), made))["data"]["a"] == "c"
        await client.delete(path_for("configmaps", "shop", "cm"))
        with pytest.raises(NotFound):
            await client.get(path_for("configmaps", "shop", "cm"))
        assert await client.has_resource("", "v1", "pods")
        assert not await client.has_resource("example.com", "v1", "widgets")


def test_messages_are_json_safe():
    # ClusterConfig must never leak into messages: only host/context/user names appear.
    assert json.dumps(str(Unreachable("x")))


async def test_expired_exec_credential_is_refreshed_after_401(api_sim, tmp_path):
    # The plugin hands out a bad token twice (at load time), then the right one: the client
    # must re-run it when the server answers 401 and retry the request once.
    plugin, calls = tmp_path / "cred-plugin", tmp_path / "calls"
    plugin.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib\n"
        f"p = pathlib.Path({str(calls)!r}); n = int(p.read_text()) + 1 if p.exists() else 1; p.write_text(str(n))\n"
        f"token = 'stale' if n <= 2 else {api_sim.token!r}\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',\n"
        "                  'status': {'token': token, 'expirationTimestamp': '2000-01-01T00:00:00Z'}}))\n"
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    doc = sim_doc(api_sim)
    doc["users"] = [{"name": "cockpit-sim", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}}}]
    cfg = load_cluster_config(write(tmp_path / "config", doc), None)
    assert cfg.headers == {"Authorization": "Bearer stale"}
    async with KubeClient(cfg) as client:
        assert (await client.list(path_for("nodes")))["items"]


def test_failing_exec_plugin_is_one_line(api_sim, tmp_path, capsys):
    doc = sim_doc(api_sim)
    doc["users"] = [{"name": "cockpit-sim", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": "sh",
        "args": ["-c", "echo 'token expired, run: cloud login' >&2; exit 3"], "interactiveMode": "Never"}}}]
    with pytest.raises(ConnectionProblem) as err:
        load_cluster_config(write(tmp_path / "config", doc), None)
    text = one_line(err.value)
    assert "credential plugin" in text and "cloud login" in text
    assert "exec:" not in capsys.readouterr().err
