"""Server-side defaulting, as the real API server (plus default admission plugins) applies it.

``apply_defaults(resource, obj)`` edits ``obj`` in place and is idempotent, so objects created by
``kubectl apply -f`` of ordinary manifests come back exactly as a real cluster would show them.
"""

from __future__ import annotations

import base64
import itertools
import random
from typing import Callable

_cluster_ips = itertools.count(10)

_UNREACHABLE_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
]


def apply_defaults(resource: str, obj: dict) -> dict:
    """Fill defaulted fields of ``obj`` (a store resource key such as "pods") in place."""
    obj.setdefault("metadata", {})
    fn = _DEFAULTERS.get(resource)
    if fn is not None:
        fn(obj)
    return obj


SA_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_VOLUME_PREFIX = "kube-api-access-"
_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand's alphabet
_MIRROR = "kubernetes.io/config.mirror"


def admit(resource: str, obj: dict) -> dict | None:
    """What mutating admission plugins add on create only (never on update): for pods, the
    ServiceAccount plugin's projected token volume and its mount in every container. Returns
    what was added, as a partial object (None when nothing was)."""
    if resource == "pods":
        return _mount_service_account_token(obj)
    return None


def _mount_service_account_token(pod: dict) -> dict | None:
    spec = pod.get("spec") or {}
    if spec.get("automountServiceAccountToken") is False or _MIRROR in (pod["metadata"].get("annotations") or {}):
        return None  # opted out, or a static pod's mirror (the plugin leaves those alone)
    lists = [f for f in ("initContainers", "containers") if spec.get(f)]
    if any(m.get("mountPath") == SA_MOUNT_PATH for f in lists for c in spec[f] for m in c.get("volumeMounts") or ()):
        return None  # the pod mounts its own credentials there
    name = TOKEN_VOLUME_PREFIX + "".join(random.choices(_SUFFIX_CHARS, k=5))
    volume, mount = token_volume(name), {"name": name, "readOnly": True, "mountPath": SA_MOUNT_PATH}
    spec.setdefault("volumes", []).append(volume)
    added = {"volumes": [volume]}
    for field in lists:
        for c in spec[field]:
            c.setdefault("volumeMounts", []).append(mount)  # one dict for all containers: stored objects are read-only
        added[field] = [{"name": c["name"], "volumeMounts": [mount]} for c in spec[field]]
    return {"spec": added}


TOKEN_PROJECTION = {"sources": [  # one object shared by every pod (see token_volume; the store knows it)
    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                  "fieldPath": "metadata.namespace"}}]}}],
    "defaultMode": 420}


def token_volume(name: str) -> dict:
    """The projected volume the ServiceAccount admission plugin adds (as a real pod shows it).

    Its source list is one object shared by every pod (stored objects are never changed in
    place), so 150,000 pods do not hold 150,000 copies.
    """
    return {"name": name, "projected": TOKEN_PROJECTION}


def default_container(c: dict) -> None:
    """Container defaults: pull policy, termination message, resources, port protocol."""
    image = c.get("image", "")
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    c.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") and "@" not in image
                 else "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports") or ():
        port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(c.get(probe), dict):
            _default_probe(c[probe])


def _default_probe(p: dict) -> None:
    p.setdefault("timeoutSeconds", 1)
    p.setdefault("periodSeconds", 10)
    p.setdefault("successThreshold", 1)
    p.setdefault("failureThreshold", 3)
    if isinstance(p.get("httpGet"), dict):
        p["httpGet"].setdefault("path", "/")
        p["httpGet"].setdefault("scheme", "HTTP")


def default_pod_spec(spec: dict, *, admission: bool = False) -> None:
    """PodSpec defaults; ``admission`` adds what admission plugins add to real pods."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in spec.get("initContainers") or ():
        default_container(c)
    for c in spec.get("containers") or ():
        default_container(c)
    for vol in spec.get("volumes") or ():
        if isinstance(vol.get("configMap"), dict):
            vol["configMap"].setdefault("defaultMode", 420)
    if admission:
        _default_pod_admission(spec)


def _default_pod_admission(spec: dict) -> None:
    # ServiceAccount, Priority and DefaultTolerationSeconds admission plugins.
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 2000001000 if spec.get("priorityClassName") == "system-node-critical"
                    else 2000000000 if spec.get("priorityClassName") == "system-cluster-critical" else 0)
    tolerations = spec.setdefault("tolerations", [])
    for tol in _UNREACHABLE_TOLERATIONS:
        if not any(t.get("key") == tol["key"] and t.get("effect") in (None, "NoExecute")
                   for t in tolerations):
            if not any(t.get("operator") == "Exists" and not t.get("key") for t in tolerations):
                tolerations.append(dict(tol))


def default_pod_template(tpl: dict) -> None:
    """Pod template (Deployment/ReplicaSet/DaemonSet .spec.template) defaults."""
    tpl.setdefault("metadata", {})
    default_pod_spec(tpl.setdefault("spec", {}))


def _pod(obj: dict) -> None:
    default_pod_spec(obj.setdefault("spec", {}), admission=True)
    status = obj.setdefault("status", {})
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", _qos_class(obj["spec"]))


def _qos_class(spec: dict) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or ()]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    if all(r.get("limits") and r.get("requests", r["limits"]) == r["limits"] for r in resources):
        return "Guaranteed"
    return "Burstable"


def _deployment(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_pod_template(spec.setdefault("template", {}))
    obj.setdefault("status", {})


def _replicaset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    default_pod_template(spec.setdefault("template", {}))
    obj.setdefault("status", {}).setdefault("replicas", 0)


def _daemonset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    default_pod_template(spec.setdefault("template", {}))
    status = obj.setdefault("status", {})
    for field in ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled",
                  "numberReady"):
        status.setdefault(field, 0)


def _service(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        if "clusterIP" not in spec or spec["clusterIP"] == "":
            n = next(_cluster_ips)
            spec["clusterIP"] = f"10.96.{n // 250 % 250}.{n % 250 + 1}"
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or ():
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def _namespace(obj: dict) -> None:
    meta = obj["metadata"]
    if meta.get("name"):
        meta.setdefault("labels", {}).setdefault("kubernetes.io/metadata.name", meta["name"])
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def _httproute(obj: dict) -> None:
    # Defaults from the Gateway API CRD schema (v1.2).
    spec = obj.setdefault("spec", {})
    for ref in spec.get("parentRefs") or ():
        ref.setdefault("group", "gateway.networking.k8s.io")
        ref.setdefault("kind", "Gateway")
    rules = spec.setdefault("rules", [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}])
    for rule in rules:
        for match in rule.setdefault("matches", [{"path": {"type": "PathPrefix", "value": "/"}}]):
            if isinstance(match.get("path"), dict):
                match["path"].setdefault("type", "PathPrefix")
                match["path"].setdefault("value", "/")
        for ref in rule.get("backendRefs") or ():
            ref.setdefault("group", "")
            ref.setdefault("kind", "Service")
            ref.setdefault("weight", 1)


def _pdb(obj: dict) -> None:
    obj.setdefault("spec", {})


def _secret(obj: dict) -> None:
    # stringData is write-only: merged into data (base64) and never stored.
    obj.setdefault("type", "Opaque")
    plain = obj.pop("stringData", None) or {}
    if plain:
        data = obj.setdefault("data", {})
        for key, value in plain.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _replication_controller(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    template = spec.setdefault("template", {})
    default_pod_template(template)
    spec.setdefault("selector", dict(template["metadata"].get("labels") or {}))
    obj.setdefault("status", {}).setdefault("replicas", 0)


def _statefulset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    default_pod_template(spec.setdefault("template", {}))
    obj.setdefault("status", {}).setdefault("replicas", 0)
    obj["status"].setdefault("availableReplicas", 0)


JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"


def _job(obj: dict) -> None:
    spec, meta = obj.setdefault("spec", {}), obj["metadata"]
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", spec["parallelism"] if spec.get("completionMode") == "Indexed" else 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.setdefault("template", {})
    if not spec.get("manualSelector") and meta.get("uid"):
        generated = {JOB_UID_LABEL: meta["uid"], "batch.kubernetes.io/job-name": meta.get("name", ""),
                     "controller-uid": meta["uid"], "job-name": meta.get("name", "")}
        template.setdefault("metadata", {}).setdefault("labels", {}).update(generated)
        spec.setdefault("selector", {"matchLabels": {JOB_UID_LABEL: meta["uid"]}})
    template.setdefault("spec", {}).setdefault("restartPolicy", "Never")  # "Always" is invalid for a Job
    default_pod_template(template)
    obj.setdefault("status", {})


def _cronjob(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = spec.setdefault("jobTemplate", {}).setdefault("spec", {})
    for key, value in (("backoffLimit", 6), ("completionMode", "NonIndexed"), ("suspend", False),
                       ("podReplacementPolicy", "TerminatingOrFailed")):
        job_spec.setdefault(key, value)
    job_spec.setdefault("template", {}).setdefault("spec", {}).setdefault("restartPolicy", "Never")
    default_pod_template(job_spec["template"])
    obj.setdefault("status", {})


_DEFAULTERS: dict[str, Callable[[dict], None]] = {
    "pods": _pod,
    "deployments": _deployment,
    "replicasets": _replicaset,
    "daemonsets": _daemonset,
    "services": _service,
    "namespaces": _namespace,
    "httproutes": _httproute,
    "poddisruptionbudgets": _pdb,
    "secrets": _secret,
    "replicationcontrollers": _replication_controller,
    "statefulsets": _statefulset,
    "jobs": _job,
    "cronjobs": _cronjob,
}
