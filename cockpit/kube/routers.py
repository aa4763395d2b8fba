"""Where a weighted split's weights live: Gateway API HTTPRoute backendRefs, or an NGINX canary Ingress.

Each ``Router`` reads the declared weights of its backends and builds the JSON patch that sets
new ones; the patch's ``test`` ops pin the weights that were previewed, so a concurrent change
of the split is refused (422) instead of overwritten, while unrelated writes (a gateway
controller updating status) do not get in the way. This lives in the kube layer because the
patch bodies are built from the raw objects they are written back into.
"""

from __future__ import annotations

import json
from typing import Any

from cockpit.domain.records import HTTPRouteRecord, decode
from cockpit.errors import UsageError
from cockpit.kube.api import KubeApi, ObjectRef
from cockpit.kube.paths import path_for

CANARY = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
CANARY_TOTAL = "nginx.ingress.kubernetes.io/canary-weight-total"
MAX_ROUTE_WEIGHT = 1_000_000  # Gateway API: weight is proportional, 0..1e6


def _ref(kind: str, api_version: str, obj: dict) -> ObjectRef:
    # List items carry no kind/apiVersion on a real API server: name them explicitly.
    meta = obj.get("metadata") or {}
    return ObjectRef(kind, api_version, meta.get("name", ""), meta.get("namespace", ""), meta.get("uid", ""))


class Router:
    """Where a split's weights are declared; ``path`` is the object the patch goes to."""

    kind = ""

    def __init__(self, namespace: str, name: str, path: str, subject: ObjectRef) -> None:
        self.namespace = namespace
        self.name = name
        self.path = path
        self.subject = subject  # the object the weights are written to (the Event's ``regarding``)

    @property
    def target(self) -> str:
        """``NS/NAME`` as the user named it."""
        return f"{self.namespace}/{self.name}"

    def weights(self) -> dict[str, int]:
        """Declared weight per backend Service name."""
        raise NotImplementedError

    def validate_weight(self, name: str, weight: int) -> None:
        """Raise UsageError if ``weight`` cannot be declared for ``name``."""
        if weight < 0 or weight > MAX_ROUTE_WEIGHT:
            raise UsageError(f"weight for {name} must be 0..{MAX_ROUTE_WEIGHT}, got {weight}")

    def patch(self, after: dict[str, int]) -> list[dict[str, Any]]:
        """A JSON patch setting ``after``, with ``test`` ops pinning the previewed weights."""
        raise NotImplementedError

    def declared(self, after: dict[str, int]) -> dict[str, int]:
        """The weights ``weights()`` reads back once ``patch(after)`` is written."""
        return {**self.weights(), **after}

    def command(self, after: dict[str, int]) -> str:
        """The equivalent kubectl command."""
        raise NotImplementedError


class HTTPRouteRouter(Router):
    """Gateway API HTTPRoute: ``spec.rules[].backendRefs[].weight`` (default 1).

    Weights are read from the decoded record; the raw ``backendRefs`` are kept only to build the
    patch that writes them back (its ``test`` ops must match the stored lists exactly).
    """

    kind = "httproute"

    def __init__(self, namespace: str, name: str, route: dict) -> None:
        super().__init__(namespace, name, path_for("httproutes", namespace, name),
                         _ref("HTTPRoute", "gateway.networking.k8s.io/v1", route))
        self.record: HTTPRouteRecord = decode("httproutes", route)  # type: ignore[assignment]
        self.raw_refs = [rule.get("backendRefs") or [] for rule in (route.get("spec") or {}).get("rules") or []]

    def weights(self) -> dict[str, int]:
        """First declaration wins when a backend appears in several rules."""
        found: dict[str, int] = {}
        for rule in self.record.rules:
            for ref in rule.backends:
                found.setdefault(ref.name, ref.weight)
        return found

    def patch(self, after: dict[str, int]) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        for index, (rule, refs) in enumerate(zip(self.record.rules, self.raw_refs)):
            # Leave a backendRef untouched unless its effective weight (unset = 1) really changes.
            new = [raw if after.get(ref.name, ref.weight) == ref.weight else {**raw, "weight": after[ref.name]}
                   for ref, raw in zip(rule.backends, refs)]
            if new != refs:
                path = f"/spec/rules/{index}/backendRefs"
                ops += [{"op": "test", "path": path, "value": refs}, {"op": "replace", "path": path, "value": new}]
        return ops

    def command(self, after: dict[str, int]) -> str:
        ops = [{"op": "replace", "path": f"/spec/rules/{i}/backendRefs/{j}/weight", "value": after[ref.name]}
               for i, rule in enumerate(self.record.rules) for j, ref in enumerate(rule.backends)
               if ref.name in after]
        return f"kubectl -n {self.namespace} patch httproute {self.name} --type=json -p '{json.dumps(ops)}'"


class IngressCanaryRouter(Router):
    """ingress-nginx canary: the canary Ingress's ``canary-weight`` out of ``canary-weight-total``.

    The stable backend gets ``total - weight``; weights given for the pair are scaled to total.
    """

    kind = "ingress"

    def __init__(self, namespace: str, name: str, stable: dict, canary: dict) -> None:
        canary_name = canary["metadata"]["name"]
        super().__init__(namespace, name, path_for("ingresses", namespace, canary_name),
                         _ref("Ingress", "networking.k8s.io/v1", canary))
        self.stable_ingress, self.canary_ingress = stable, canary
        self.annotations = canary["metadata"].get("annotations") or {}
        self.total = int(self.annotations.get(CANARY_TOTAL, "100") or 100)
        self.current = int(self.annotations.get(CANARY_WEIGHT, "0") or 0)
        self.stable_service = ingress_service(stable)
        self.canary_service = ingress_service(canary)

    def weights(self) -> dict[str, int]:
        return {self.stable_service: self.total - self.current, self.canary_service: self.current}

    def validate_weight(self, name: str, weight: int) -> None:
        if not 0 <= weight <= self.total:
            raise UsageError(f"weight for {name} must be 0..{self.total} (canary-weight-total), got {weight}")

    def declared(self, after: dict[str, int]) -> dict[str, int]:
        """Weights are kept as one canary-weight out of the total: read back scaled to it."""
        weight = self.canary_weight(after)
        return {self.stable_service: self.total - weight, self.canary_service: weight}

    def canary_weight(self, after: dict[str, int]) -> int:
        """The canary-weight annotation value for the pair of weights ``after``."""
        stable, canary = after.get(self.stable_service, 0), after.get(self.canary_service, 0)
        if stable + canary == 0:
            raise UsageError("the stable and canary weights cannot both be 0")
        return round(canary * self.total / (stable + canary))

    def patch(self, after: dict[str, int]) -> list[dict[str, Any]]:
        pointer = "/metadata/annotations/" + CANARY_WEIGHT.replace("~", "~0").replace("/", "~1")
        canary_flag = "/metadata/annotations/" + CANARY.replace("~", "~0").replace("/", "~1")
        ops: list[dict[str, Any]] = [{"op": "test", "path": canary_flag, "value": "true"}]
        if CANARY_WEIGHT in self.annotations:
            ops.append({"op": "test", "path": pointer, "value": self.annotations[CANARY_WEIGHT]})
        ops.append({"op": "add", "path": pointer, "value": str(self.canary_weight(after))})
        return ops

    def command(self, after: dict[str, int]) -> str:
        canary_name = self.canary_ingress["metadata"]["name"]
        return (f"kubectl -n {self.namespace} annotate ingress {canary_name} --overwrite "
                f"{CANARY_WEIGHT}={self.canary_weight(after)}")


async def router_for(client: KubeApi, kind: str, namespace: str, name: str) -> Router:
    """Read the route (or the ingress pair) and wrap it in the right Router."""
    if kind == "httproute":
        return HTTPRouteRouter(namespace, name, await client.get(path_for("httproutes", namespace, name)))
    if kind == "ingress":
        named = await client.get(path_for("ingresses", namespace, name))
        others = (await client.list(path_for("ingresses", namespace))).get("items") or []
        stable, canary = ingress_pair(named, others)
        return IngressCanaryRouter(namespace, name, stable, canary)
    raise UsageError(f"--kind must be httproute or ingress, got {kind!r}")


def is_canary_ingress(ingress: dict) -> bool:
    """Whether the Ingress carries ``nginx.ingress.kubernetes.io/canary: "true"``."""
    return ((ingress.get("metadata") or {}).get("annotations") or {}).get(CANARY) == "true"


def ingress_pair(named: dict, others: list[dict]) -> tuple[dict, dict]:
    """(stable, canary) Ingresses for the one the user named (either side of the pair)."""
    hosts = _hosts(named)
    want_canary = not is_canary_ingress(named)
    match = [o for o in others if is_canary_ingress(o) == want_canary and _hosts(o) & hosts
             and o["metadata"]["name"] != named["metadata"]["name"]]
    if not match:
        side = "canary" if want_canary else "stable"
        raise UsageError(f"no {side} Ingress for host(s) {', '.join(sorted(hosts)) or '(none)'} next to "
                         f"{named['metadata']['name']} (the canary carries {CANARY}: \"true\")")
    return (named, match[0]) if want_canary else (match[0], named)


def ingress_service(ingress: dict) -> str:
    """The backend Service of an Ingress (first path, else the default backend)."""
    spec = ingress.get("spec") or {}
    for rule in spec.get("rules") or []:
        for path in ((rule.get("http") or {}).get("paths")) or []:
            service = ((path.get("backend") or {}).get("service") or {}).get("name")
            if service:
                return service
    return (((spec.get("defaultBackend") or {}).get("service")) or {}).get("name", "")


def _hosts(ingress: dict) -> set[str]:
    return {r.get("host", "") for r in (ingress.get("spec") or {}).get("rules") or []}
