"""``Table`` rendering (meta.k8s.io/v1) for ``kubectl get``: the server-side printer columns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from cockpit.sim.api.selectors import selector_to_string
from cockpit.sim.errors import bad_request

TABLE_ACCEPT = "as=table"
NONE = "<none>"


def wants_table(accept: str | None) -> bool:
    """True when the Accept header asks for a meta.k8s.io Table."""
    return bool(accept) and "as=table" in accept.replace(" ", "").lower()


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration (the AGE column)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    years, days = hours // (24 * 365), (hours // 24) % 365
    return f"{years}y{days}d" if days and years < 8 else f"{years}y"


def _parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(value: str | None, now: datetime | None = None) -> str:
    """The age of an RFC 3339 timestamp, or <unknown>."""
    ts = _parse_ts(value)
    if ts is None:
        return "<unknown>"
    return human_duration(((now or datetime.now(UTC)) - ts).total_seconds())


def _obj_age(obj: dict) -> str:
    return age(obj.get("metadata", {}).get("creationTimestamp"))


def _col(name: str, type_: str = "string", priority: int = 0, fmt: str = "") -> dict:
    return {"name": name, "type": type_, "format": fmt, "description": name, "priority": priority}


# ------------------------------------------------------------------ per-kind printers

def _pod_status(pod: dict) -> tuple[str, int, int, int]:
    status, spec = pod.get("status") or {}, pod.get("spec") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    ready = restarts = 0
    running = False
    for cs in reversed(status.get("containerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "terminated" in state:
            term = state["terminated"] or {}
            reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
        elif cs.get("ready") and "running" in state:
            running = True
            ready += 1
    if reason == "Completed" and running:
        reason = "Running"
    if pod.get("metadata", {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, len(spec.get("containers") or []), restarts


def _pod(pod: dict) -> list:
    reason, ready, total, restarts = _pod_status(pod)
    status, spec = pod.get("status") or {}, pod.get("spec") or {}
    return [pod["metadata"]["name"], f"{ready}/{total}", reason, restarts, _obj_age(pod),
            status.get("podIP") or NONE, spec.get("nodeName") or NONE,
            status.get("nominatedNodeName") or NONE, NONE]


def _node_roles(node: dict) -> str:
    roles = set()
    for key, value in (node["metadata"].get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            roles.add(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(r for r in roles if r)) or NONE


def _node(node: dict) -> list:
    status = node.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    info = status.get("nodeInfo") or {}
    addrs = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [node["metadata"]["name"], state, _node_roles(node), _obj_age(node), info.get("kubeletVersion", ""),
            addrs.get("InternalIP", NONE), addrs.get("ExternalIP", NONE), info.get("osImage", "<unknown>"),
            info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion", "<unknown>")]


def _containers(obj: dict) -> tuple[str, str]:
    cs = ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _deployment(d: dict) -> list:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    names, images = _containers(d)
    return [d["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _obj_age(d),
            names, images, selector_to_string(spec.get("selector")) or NONE]


def _replicaset(rs: dict) -> list:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    names, images = _containers(rs)
    return [rs["metadata"]["name"], spec.get("replicas", 1), status.get("replicas", 0),
            status.get("readyReplicas", 0), _obj_age(rs), names, images,
            selector_to_string(spec.get("selector")) or NONE]


def _daemonset(ds: dict) -> list:
    spec, status = ds.get("spec") or {}, ds.get("status") or {}
    node_sel = (spec.get("template") or {}).get("spec", {}).get("nodeSelector") or {}
    names, images = _containers(ds)
    return [ds["metadata"]["name"], status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(node_sel.items())) or NONE, _obj_age(ds),
            names, images, selector_to_string(spec.get("selector")) or NONE]


def _service_ports(spec: dict) -> str:
    out = []
    for p in spec.get("ports") or []:
        port = f"{p.get('port')}:{p['nodePort']}" if p.get("nodePort") else str(p.get("port"))
        out.append(f"{port}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or NONE


def _service(svc: dict) -> list:
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    external = ",".join(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        ingress = (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
        external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or "<pending>"
    elif kind == "ExternalName":
        external = spec.get("externalName", "")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [svc["metadata"]["name"], kind, spec.get("clusterIP") or NONE, external or NONE,
            _service_ports(spec), _obj_age(svc), selector or NONE]


def _more(items: list[str]) -> str:
    if not items:
        return NONE
    shown = ",".join(items[:3])
    return shown + (f" + {len(items) - 3} more..." if len(items) > 3 else "")


def _endpoints(ep: dict) -> list:
    items = []
    for subset in ep.get("subsets") or []:
        ports = subset.get("ports") or [{}]
        for addr in subset.get("addresses") or []:
            items.extend(f"{addr.get('ip')}:{p['port']}" if "port" in p else addr.get("ip", "") for p in ports)
    return [ep["metadata"]["name"], _more(items), _obj_age(ep)]


def _endpointslice(es: dict) -> list:
    ports = ",".join(str(p.get("port")) for p in es.get("ports") or [] if p.get("port") is not None) or "<unset>"
    addrs = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return [es["metadata"]["name"], es.get("addressType", ""), ports, _more(addrs), _obj_age(es)]


def _pdb(pdb: dict) -> list:
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    return [pdb["metadata"]["name"], str(spec.get("minAvailable", "N/A")), str(spec.get("maxUnavailable", "N/A")),
            status.get("disruptionsAllowed", 0), _obj_age(pdb)]


def _event(ev: dict) -> list:
    obj = ev.get("involvedObject") or {}
    last = ev.get("lastTimestamp") or ev.get("eventTime") or ev["metadata"].get("creationTimestamp")
    target = f"{(obj.get('kind') or '').lower()}/{obj.get('name', '')}"
    return [age(last), ev.get("type", ""), ev.get("reason", ""), target, ev.get("message", "")]


def _event_v1(ev: dict) -> list:
    obj = ev.get("regarding") or {}
    last = (ev.get("series") or {}).get("lastObservedTime") or ev.get("eventTime") or ev.get("deprecatedLastTimestamp")
    target = f"{(obj.get('kind') or '').lower()}/{obj.get('name', '')}"
    return [age(last), ev.get("type", ""), ev.get("reason", ""), target, ev.get("note", "")]


def _namespace(ns: dict) -> list:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", "Active"), _obj_age(ns)]


def _configmap(cm: dict) -> list:
    return [cm["metadata"]["name"], len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), _obj_age(cm)]


def _lease(lease: dict) -> list:
    return [lease["metadata"]["name"], (lease.get("spec") or {}).get("holderIdentity") or "", _obj_age(lease)]


def _httproute(route: dict) -> list:
    hosts = (route.get("spec") or {}).get("hostnames") or []
    return [route["metadata"]["name"], '["' + '","'.join(hosts) + '"]' if hosts else "", _obj_age(route)]


def _ingress(ing: dict) -> list:
    spec = ing.get("spec") or {}
    hosts = ",".join(r.get("host", "") for r in spec.get("rules") or [] if r.get("host")) or "*"
    lbs = (ing.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
    address = ",".join(i.get("ip") or i.get("hostname", "") for i in lbs)
    ports = "80, 443" if spec.get("tls") else "80"
    return [ing["metadata"]["name"], spec.get("ingressClassName") or NONE, hosts, address, ports, _obj_age(ing)]


def _secret(secret: dict) -> list:
    return [secret["metadata"]["name"], secret.get("type", "Opaque"), len(secret.get("data") or {}),
            _obj_age(secret)]


def _service_account(sa: dict) -> list:
    return [sa["metadata"]["name"], len(sa.get("secrets") or []), _obj_age(sa)]


def _replication_controller(rc: dict) -> list:
    spec, status = rc.get("spec") or {}, rc.get("status") or {}
    names, images = _containers(rc)
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [rc["metadata"]["name"], spec.get("replicas", 1), status.get("replicas", 0),
            status.get("readyReplicas", 0), _obj_age(rc), names, images, selector or NONE]


def _statefulset(sts: dict) -> list:
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    names, images = _containers(sts)
    return [sts["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            _obj_age(sts), names, images]


def _job_status(status: dict, spec: dict) -> str:
    for cond in status.get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed", "Suspended"):
            return cond["type"]
        if cond.get("status") == "True" and cond.get("type") == "FailureTarget":
            return "FailureTarget"
    return "Suspended" if spec.get("suspend") else "Running"


def _job_duration(status: dict) -> str:
    start, end = _parse_ts(status.get("startTime")), _parse_ts(status.get("completionTime"))
    if start is None:
        return ""
    return human_duration(((end or datetime.now(UTC)) - start).total_seconds())


def _job(job: dict) -> list:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    names, images = _containers(job)
    completions = f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}"
    return [job["metadata"]["name"], _job_status(status, spec), completions, _job_duration(status),
            _obj_age(job), names, images, selector_to_string(spec.get("selector")) or NONE]


def _cronjob(cj: dict) -> list:
    spec, status = cj.get("spec") or {}, cj.get("status") or {}
    template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    cs = (template.get("spec") or {}).get("containers") or []
    last = status.get("lastScheduleTime")
    return [cj["metadata"]["name"], spec.get("schedule", ""), spec.get("timeZone") or NONE,
            "True" if spec.get("suspend") else "False", len(status.get("active") or []),
            age(last) if last else NONE, _obj_age(cj), ",".join(c.get("name", "") for c in cs),
            ",".join(c.get("image", "") for c in cs), NONE]


def _role(role: dict) -> list:
    return [role["metadata"]["name"], role["metadata"].get("creationTimestamp", "")]


def _binding(binding: dict) -> list:
    ref = binding.get("roleRef") or {}
    subjects = binding.get("subjects") or []

    def names(kind: str) -> str:
        return ",".join((f"{s.get('namespace', '')}/" if kind == "ServiceAccount" else "") + s.get("name", "")
                        for s in subjects if s.get("kind") == kind)
    return [binding["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}", _obj_age(binding),
            names("User"), names("Group"), names("ServiceAccount")]


def _apiservice(svc: dict) -> list:
    spec, status = svc.get("spec") or {}, svc.get("status") or {}
    ref = spec.get("service")
    available = next((c for c in status.get("conditions") or [] if c.get("type") == "Available"), None)
    state = "Unknown" if available is None else ("True" if available.get("status") == "True"
                                                 else f"False ({available.get('reason', '')})")
    return [svc["metadata"]["name"], f"{ref.get('namespace')}/{ref.get('name')}" if ref else "Local", state,
            _obj_age(svc)]


def _default(obj: dict) -> list:
    return [obj["metadata"]["name"], _obj_age(obj)]


_NAME = _col("Name", fmt="name")
_AGE = _col("Age")
_WORKLOAD_WIDE = [_col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)]
_BINDING_COLS = [_NAME, _col("Role"), _AGE, _col("Users", priority=1), _col("Groups", priority=1),
                 _col("ServiceAccounts", priority=1)]
_EVENT_COLS = [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")]
PRINTERS: dict[str, tuple[list[dict], Callable[[dict], list]]] = {
    "pods": ([_NAME, _col("Ready"), _col("Status"), _col("Restarts", "integer"), _AGE, _col("IP", priority=1),
              _col("Node", priority=1), _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1)], _pod),
    "nodes": ([_NAME, _col("Status"), _col("Roles"), _AGE, _col("Version"), _col("Internal-IP", priority=1),
               _col("External-IP", priority=1), _col("OS-Image", priority=1), _col("Kernel-Version", priority=1),
               _col("Container-Runtime", priority=1)], _node),
    "deployments": ([_NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), _AGE,
                     _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)],
                    _deployment),
    "replicasets": ([_NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"), _AGE,
                     _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)],
                    _replicaset),
    "daemonsets": ([_NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"),
                    _col("Up-to-date", "integer"), _col("Available", "integer"), _col("Node Selector"), _AGE,
                    _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)],
                   _daemonset),
    "services": ([_NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), _AGE,
                  _col("Selector", priority=1)], _service),
    "endpoints": ([_NAME, _col("Endpoints"), _AGE], _endpoints),
    "endpointslices": ([_NAME, _col("AddressType"), _col("Ports"), _col("Endpoints"), _AGE], _endpointslice),
    "poddisruptionbudgets": ([_NAME, _col("Min Available"), _col("Max Unavailable"),
                              _col("Allowed Disruptions", "integer"), _AGE], _pdb),
    "events": (_EVENT_COLS, _event),
    "events.events.k8s.io": (_EVENT_COLS, _event_v1),
    "namespaces": ([_NAME, _col("Status"), _AGE], _namespace),
    "configmaps": ([_NAME, _col("Data", "integer"), _AGE], _configmap),
    "leases": ([_NAME, _col("Holder"), _AGE], _lease),
    "httproutes": ([_NAME, _col("Hostnames"), _AGE], _httproute),
    "ingresses": ([_NAME, _col("Class"), _col("Hosts"), _col("Address"), _col("Ports"), _AGE], _ingress),
    "secrets": ([_NAME, _col("Type"), _col("Data", "integer"), _AGE], _secret),
    "serviceaccounts": ([_NAME, _col("Secrets", "integer"), _AGE], _service_account),
    "replicationcontrollers": ([_NAME, _col("Desired", "integer"), _col("Current", "integer"),
                                _col("Ready", "integer"), _AGE, *_WORKLOAD_WIDE], _replication_controller),
    "statefulsets": ([_NAME, _col("Ready"), _AGE, *_WORKLOAD_WIDE[:2]], _statefulset),
    "jobs": ([_NAME, _col("Status"), _col("Completions"), _col("Duration"), _AGE, *_WORKLOAD_WIDE], _job),
    "cronjobs": ([_NAME, _col("Schedule"), _col("Timezone"), _col("Suspend"), _col("Active", "integer"),
                  _col("Last Schedule"), _AGE, *_WORKLOAD_WIDE], _cronjob),
    "roles": ([_NAME, _col("Created At", "date")], _role),
    "clusterroles": ([_NAME, _col("Created At", "date")], _role),
    "rolebindings": (_BINDING_COLS, _binding),
    "clusterrolebindings": (_BINDING_COLS, _binding),
    "apiservices": ([_NAME, _col("Service"), _col("Available"), _AGE], _apiservice),
}


INCLUDE_OBJECT = ("Object", "Metadata", "None")


def include_object(query) -> str:
    """The ``includeObject`` parameter: what rows carry (Metadata when absent); 400 when unknown."""
    value = query.get("includeObject") or "Metadata"
    if value not in INCLUDE_OBJECT:
        raise bad_request(f'includeObject must be one of "Object", "Metadata" or "None", got "{value}"')
    return value


def row(resource: str, obj: dict, include: str = "Metadata") -> dict:
    """One Table row; ``Metadata`` rows carry the PartialObjectMetadata kubectl needs for NAMESPACE
    and LABELS, ``Object`` rows the whole object (``kubectl get --sort-by`` reads fields from it)."""
    _, printer = PRINTERS.get(resource, (None, _default))
    out = {"cells": printer(obj)}
    if include == "Object":
        out["object"] = obj
    elif include == "Metadata":
        out["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": obj.get("metadata", {})}
    return out


def columns(resource: str) -> list[dict]:
    """The column definitions of a resource's Table."""
    return PRINTERS.get(resource, ([_NAME, _AGE], None))[0]


def table(resource: str, objects: list[dict], resource_version: str, cont: str | None = None,
          with_columns: bool = True, include: str = "Metadata") -> dict:
    """A Table of ``objects`` (``with_columns=False`` for watch events after the first)."""
    meta = {"resourceVersion": resource_version}
    if cont:
        meta["continue"] = cont
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": columns(resource) if with_columns else None,
            "rows": [row(resource, o, include) for o in objects]}
