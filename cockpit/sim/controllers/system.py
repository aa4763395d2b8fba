"""The kubeadm-shaped system layer: nodes + machines, namespaces, kube-system add-ons, static pods."""

from __future__ import annotations

import hashlib

from cockpit.sim.cluster import NodeRuntime
from cockpit.sim.controllers.nodes import make_lease, make_node, node_ip
from cockpit.sim.objects import MIRROR, backdate, iso, micro_iso
from cockpit.sim.store import KUBEADM, KUBELET

SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
STATIC_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
ETCD_FOR_MINOR = {29: "3.5.12-0", 30: "3.5.15-0", 31: "3.5.15-0", 32: "3.5.16-0", 33: "3.5.21-0",
                  34: "3.6.4-0", 35: "3.6.5-0"}
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.11.3"
DEBIAN_KERNEL, RHEL_KERNEL = "6.1.0-28-amd64", "5.14.0-503.14.1.el9_5.x86_64"


def aged(cluster, obj: dict, days: float | None = None) -> dict:
    """Give a seeded object an older creationTimestamp (``cluster.seed_age_days``), so the demo
    looks like a cluster that has been running for a while."""
    return backdate(obj, cluster.clock.now(), cluster.seed_age_days if days is None else days)


def _create(cluster, resource: str, obj: dict) -> dict:
    # Nodes, their Leases and the static pods' mirrors are the kubelet's; the rest kubeadm's.
    writer = KUBELET if resource in ("nodes", "leases", "pods") else KUBEADM
    return cluster.store.create(resource, aged(cluster, obj), writer=writer)


def add_node(cluster, name: str, index: int, control_plane: bool, os_id: str = "debian") -> dict:
    """Create a machine (NodeRuntime), its Node and its heartbeat Lease."""
    version = cluster.version
    rt = NodeRuntime(name=name, os_id=os_id, kernel=RHEL_KERNEL if os_id == "rhel" else DEBIAN_KERNEL,
                     installed={"kubelet": version, "kubeadm": version, "kubectl": version},
                     running_kubelet_version=version, config_version=version,
                     control_plane=control_plane, index=index)
    cluster.runtimes[name] = rt
    now = iso(cluster.clock.now())
    born = backdate({"metadata": {}}, cluster.clock.now(), cluster.seed_age_days)["metadata"].get(
        "creationTimestamp", now)
    node = _create(cluster, "nodes", make_node(name, index, rt, control_plane, now, since=born))
    _create(cluster, "leases", make_lease(name, node["metadata"]["uid"], cluster.clock.now()))
    return node


def namespaces(cluster, extra: tuple[str, ...] = ()) -> None:
    """The four kubeadm namespaces plus ``extra``, each with its kube-root-ca.crt ConfigMap."""
    for ns in SYSTEM_NAMESPACES + extra:
        _create(cluster, "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        _create(cluster, "configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                         "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used "
                                         "to verify the kube-apiserver when using internal endpoints such as "
                                         "the internal service IP or kubernetes.default.svc. No other usage "
                                         "is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsF"
                               "\n-----END CERTIFICATE-----\n"}})


def kubernetes_service(cluster, cp_names: list[str]) -> None:
    """Service ``default/kubernetes`` with its API-server-managed Endpoints and EndpointSlice."""
    svc = _create(cluster, "services", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}})
    ips = [node_ip(cluster.runtimes[n].index) for n in cp_names]
    _create(cluster, "endpoints", {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": ip} for ip in ips],
                     "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]})
    _create(cluster, "endpointslices", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
        "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]})
    return svc


def kubeadm_config(cluster) -> None:
    """kube-system/kubeadm-config (ClusterConfiguration), as ``kubeadm upgrade plan`` reads it."""
    _create(cluster, "configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
        "data": {"ClusterConfiguration": _cluster_configuration(cluster.version)}})


def _cluster_configuration(version: str) -> str:
    return ("apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\ncaCertificateValidityPeriod: 87600h0m0s\n"
            "certificateValidityPeriod: 8760h0m0s\ncertificatesDir: /etc/kubernetes/pki\n"
            "clusterName: kubernetes\ncontrolPlaneEndpoint: cp.cluster.internal:6443\ncontrollerManager: {}\n"
            "dns: {}\nencryptionAlgorithm: RSA-2048\netcd:\n  local:\n    dataDir: /var/lib/etcd\n"
            "imageRepository: registry.k8s.io\nkind: ClusterConfiguration\n"
            f"kubernetesVersion: v{version}\nnetworking:\n  dnsDomain: cluster.local\n"
            "  podSubnet: 10.244.0.0/16\n  serviceSubnet: 10.96.0.0/12\nproxy: {}\nscheduler: {}\n")


def kube_proxy(cluster) -> None:
    """DaemonSet kube-system/kube-proxy (tolerates every taint)."""
    labels = {"k8s-app": "kube-proxy"}
    _create(cluster, "daemonsets", {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": labels,
                     "annotations": {"deprecated.daemonset.template.generation": "1"}},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{
                "name": "kube-proxy", "image": f"registry.k8s.io/kube-proxy:v{cluster.version}",
                "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                            "--hostname-override=$(NODE_NAME)"],
                "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                          "fieldPath": "spec.nodeName"}}}],
                "securityContext": {"privileged": True}}],
                "hostNetwork": True, "nodeSelector": {"kubernetes.io/os": "linux"},
                "priorityClassName": "system-node-critical", "serviceAccountName": "kube-proxy",
                "tolerations": [{"operator": "Exists"}]}}}})


def coredns(cluster) -> None:
    """Deployment kube-system/coredns (2 replicas) and Service kube-dns."""
    labels = {"k8s-app": "kube-dns"}
    _create(cluster, "deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "containers": [{"name": "coredns", "image": COREDNS_IMAGE,
                                     "args": ["-conf", "/etc/coredns/Corefile"],
                                     "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                               {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                               {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}]}],
                     "dnsPolicy": "Default", "priorityClassName": "system-cluster-critical",
                     "serviceAccountName": "coredns", "nodeSelector": {"kubernetes.io/os": "linux"},
                     "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                     {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}}})
    _create(cluster, "services", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                "kubernetes.io/name": "CoreDNS"}},
        "spec": {"clusterIP": "10.96.0.10", "selector": labels, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]}})


def static_image(component: str, version: str) -> str:
    """Image of a kubeadm static pod for a control-plane version."""
    if component == "etcd":
        return f"registry.k8s.io/etcd:{ETCD_FOR_MINOR.get(int(version.split('.')[1]), '3.5.16-0')}"
    return f"registry.k8s.io/{component}:v{version}"


def mirror_pod(cluster, node: dict, component: str, version: str) -> dict:
    """The API mirror of a static pod from /etc/kubernetes/manifests on ``node``."""
    name = node["metadata"]["name"]
    image = static_image(component, version)
    config_hash = hashlib.md5(f"{name}/{component}/{image}".encode()).hexdigest()
    ip = node_ip(cluster.runtimes[name].index)
    annotations = {"kubernetes.io/config.hash": config_hash, MIRROR: config_hash,
                   "kubernetes.io/config.seen": micro_iso(cluster.clock.now()).replace("Z", "+00:00"),
                   "kubernetes.io/config.source": "file"}
    if component == "kube-apiserver":
        annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] = f"{ip}:6443"
    if component == "etcd":
        annotations["kubeadm.kubernetes.io/etcd.advertise-client-urls"] = f"https://{ip}:2379"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{component}-{name}", "namespace": "kube-system",
                     "labels": {"component": component, "tier": "control-plane"}, "annotations": annotations,
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name,
                                          "uid": node["metadata"]["uid"], "controller": True}]},
        "spec": {"containers": [{"name": component, "image": image, "command": [component]}],
                 "hostNetwork": True, "nodeName": name, "priorityClassName": "system-node-critical",
                 "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                 "tolerations": [{"operator": "Exists", "effect": "NoExecute"}]},
    }


def refresh_static_pods(cluster, node_name: str) -> None:
    """Make the node's mirror pods match its config version (recreated with new uids when changed)."""
    node = cluster.store.get("nodes", None, node_name)
    if node is None:
        return
    version = cluster.runtimes[node_name].config_version or cluster.version
    for component in STATIC_COMPONENTS:
        wanted = mirror_pod(cluster, node, component, version)
        current = cluster.store.get("pods", "kube-system", wanted["metadata"]["name"])
        if current is not None and current["spec"]["containers"][0]["image"] == wanted["spec"]["containers"][0]["image"]:
            continue
        if current is not None:
            cluster.store.remove("pods", "kube-system", wanted["metadata"]["name"])
        _create(cluster, "pods", wanted)


def upgrade_addons(cluster) -> None:
    """What ``kubeadm upgrade apply`` does once every control-plane node runs the new version."""
    image = f"registry.k8s.io/kube-proxy:v{cluster.version}"

    def proxy(ds: dict) -> None:
        for c in ds["spec"]["template"]["spec"]["containers"]:
            if c["name"] == "kube-proxy":
                c["image"] = image

    cluster.store.mutate("daemonsets", "kube-system", "kube-proxy", proxy)

    def config(cm: dict) -> None:
        cm.setdefault("data", {})["ClusterConfiguration"] = _cluster_configuration(cluster.version)

    cluster.store.mutate("configmaps", "kube-system", "kubeadm-config", config)


def system_layer(cluster, cp_names: list[str], workers: list[tuple[str, str]]) -> None:
    """Nodes (cp first, then workers with their os_id), namespaces, kube-system and default/kubernetes."""
    for i, name in enumerate(cp_names):
        add_node(cluster, name, i, control_plane=True)
    for j, (name, os_id) in enumerate(workers):
        add_node(cluster, name, len(cp_names) + j, control_plane=False, os_id=os_id)
    kubernetes_service(cluster, cp_names)
    kubeadm_config(cluster)
    kube_proxy(cluster)
    coredns(cluster)
    for name in cp_names:
        refresh_static_pods(cluster, name)
