"""RBAC for the simulated API server: request attributes, a precomputed rule index, decisions.

The decision follows kube-apiserver's authorizer chain: members of ``system:masters`` are allowed
everything without looking at any rule (the privileged-group authorizer runs first, and keeps the
hot path of the default admin free of any RBAC work); everyone else is allowed a request when one
rule bound to the user, or to one of its groups, matches the request's attributes. Rules come from
the stored Roles, ClusterRoles and their bindings, plus the bootstrap roles every cluster binds to
``system:authenticated`` (discovery, health and the self reviews).

The index maps each subject to its rules once and is rebuilt lazily when an RBAC object changes;
the rules of one (user, namespace) are cached until then, so a request costs one dict lookup and
a scan of that user's few rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RBAC_RESOURCES = frozenset({"roles", "rolebindings", "clusterroles", "clusterrolebindings"})
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class User:
    """An authenticated user: what ``kubectl auth whoami`` prints."""

    name: str
    groups: tuple[str, ...] = (AUTHENTICATED,)
    uid: str = ""

    @property
    def privileged(self) -> bool:
        """True for members of system:masters (allowed everything, like the real apiserver)."""
        return MASTERS in self.groups


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as the apiserver's RequestInfo describes it."""

    verb: str
    path: str = ""
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""


def request_attributes(method: str, path: str, query) -> Attributes:
    """The attributes of ``method path?query`` (a port of the apiserver's RequestInfoFactory)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:  # /version, /healthz, discovery documents ...
        return Attributes(verb=method.lower(), path=path)
    verb = _VERBS.get(method, method.lower())
    if rest[0] == "watch" and verb == "get":
        verb, rest = "watch", rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    if not rest:
        return Attributes(verb=method.lower(), path=path)
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch") in ("true", "1") else "list"
        name = _selected_name(query.get("fieldSelector", ""))
    elif not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb, path, True, group, version, rest[0], sub, namespace, name)


def _selected_name(field_selector: str) -> str:
    """A list or watch of ``metadata.name=x`` is authorized as one on the object x."""
    for term in field_selector.split(","):
        key, sep, value = term.partition("=")
        if sep and key.strip() == "metadata.name" and not value.startswith("="):
            return value.strip()
    return ""


@dataclass(frozen=True)
class Rule:
    """One PolicyRule, with the binding it came through (for SelfSubjectAccessReview reasons)."""

    verbs: frozenset[str]
    api_groups: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    resource_names: frozenset[str] = frozenset()
    non_resource_urls: frozenset[str] = frozenset()
    source: str = field(default="", compare=False)

    @classmethod
    def from_policy(cls, rule: dict, source: str = "") -> Rule:
        """A Rule from a stored ``rules[]`` entry."""
        def values(key: str) -> frozenset[str]:
            return frozenset(str(v) for v in rule.get(key) or ())
        return cls(values("verbs"), values("apiGroups"), values("resources"), values("resourceNames"),
                   values("nonResourceURLs"), source)

    def allows(self, a: Attributes) -> bool:
        """True when this rule covers the request."""
        if "*" not in self.verbs and a.verb not in self.verbs:
            return False
        if not a.resource_request:
            return any(u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1]))
                       for u in self.non_resource_urls)
        if "*" not in self.api_groups and a.api_group not in self.api_groups:
            return False
        if not self._covers_resource(a.resource, a.subresource):
            return False
        return not self.resource_names or a.name in self.resource_names

    def _covers_resource(self, resource: str, sub: str) -> bool:
        if "*" in self.resources:
            return True
        if not sub:
            return resource in self.resources
        return f"{resource}/{sub}" in self.resources or f"*/{sub}" in self.resources or \
            f"{resource}/*" in self.resources

    def as_resource_rule(self) -> dict:
        """The rule as a SelfSubjectRulesReview ``resourceRules`` entry."""
        out = {"verbs": sorted(self.verbs), "apiGroups": sorted(self.api_groups), "resources": sorted(self.resources)}
        if self.resource_names:
            out["resourceNames"] = sorted(self.resource_names)
        return out

    def as_non_resource_rule(self) -> dict:
        """The rule as a ``nonResourceRules`` entry."""
        return {"verbs": sorted(self.verbs), "nonResourceURLs": sorted(self.non_resource_urls)}


def _builtin(verbs, source: str, **kw) -> Rule:
    return Rule(frozenset(verbs), source=source, **{k: frozenset(v) for k, v in kw.items()})


# The bootstrap ClusterRoles bound to system:authenticated in every cluster (system:discovery,
# system:basic-user, system:public-info-viewer), so a user with no binding can still discover and
# ask what it may do.
_AUTHENTICATED_RULES = (
    _builtin(["create"], 'ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user"',
             api_groups=["authorization.k8s.io"], resources=["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
    _builtin(["create"], 'ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user"',
             api_groups=["authentication.k8s.io"], resources=["selfsubjectreviews"]),
    _builtin(["get"], 'ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery"',
             non_resource_urls=["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                                "/openapi/*", "/readyz", "/version", "/version/"]),
)
_ADMIN_RULES = (
    _builtin(["*"], 'ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin"',
             api_groups=["*"], resources=["*"]),
    _builtin(["*"], 'ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin"', non_resource_urls=["*"]),
)


def _subject_keys(user: User) -> list[tuple[str, str]]:
    keys = [("User", user.name)] + [("Group", g) for g in user.groups]
    if user.name.startswith("system:serviceaccount:"):
        keys.append(("ServiceAccount", user.name.removeprefix("system:serviceaccount:")))
    return keys


def _subject_key(subject: dict, binding_ns: str) -> tuple[str, str]:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        return kind, f"{subject.get('namespace') or binding_ns}:{name}"
    return kind, name


class Authorizer:
    """Decides requests from the RBAC objects of an ObjectStore (see the module docstring)."""

    def __init__(self, store) -> None:
        self.store = store
        self._cluster: dict[tuple[str, str], list[Rule]] | None = None
        self._namespaced: dict[tuple[tuple[str, str], str], list[Rule]] = {}
        self._cache: dict[tuple, tuple[Rule, ...]] = {}
        store.add_listener(self._changed)

    def _changed(self, _type: str, resource: str, _obj: dict, _old) -> None:
        if resource in RBAC_RESOURCES:
            self._cluster = None  # rebuilt on the next decision
            self._cache.clear()

    # ------------------------------------------------------------------ index

    def _build(self) -> None:
        cluster_roles = {r["metadata"]["name"]: r.get("rules") or [] for r in self.store.list("clusterroles")}
        roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r.get("rules") or []
                 for r in self.store.list("roles")}
        cluster: dict[tuple[str, str], list[Rule]] = {("Group", AUTHENTICATED): list(_AUTHENTICATED_RULES)}
        for b in self.store.list("clusterrolebindings"):
            ref = b.get("roleRef") or {}
            source = f'ClusterRoleBinding "{b["metadata"]["name"]}" of ClusterRole "{ref.get("name")}"'
            rules = [Rule.from_policy(r, source) for r in cluster_roles.get(ref.get("name"), ())]
            for s in b.get("subjects") or ():
                cluster.setdefault(_subject_key(s, ""), []).extend(rules)
        namespaced: dict[tuple[tuple[str, str], str], list[Rule]] = {}
        for b in self.store.list("rolebindings"):
            ns, ref = b["metadata"]["namespace"], b.get("roleRef") or {}
            source = f'RoleBinding "{b["metadata"]["name"]}" of {ref.get("kind")} "{ref.get("name")}"'
            policy = cluster_roles.get(ref.get("name"), ()) if ref.get("kind") == "ClusterRole" else \
                roles.get((ns, ref.get("name")), ())
            rules = [Rule.from_policy(r, source) for r in policy]
            for s in b.get("subjects") or ():
                namespaced.setdefault((_subject_key(s, ns), ns), []).extend(rules)
        self._cluster, self._namespaced = cluster, namespaced

    def rules_for(self, user: User, namespace: str = "") -> tuple[Rule, ...]:
        """Every rule that applies to ``user`` in ``namespace`` ("" = cluster-wide rules only)."""
        key = (user.name, user.groups, namespace)
        cached = self._cache.get(key)
        if cached is not None and self._cluster is not None:
            return cached
        if self._cluster is None:
            self._build()
            self._cache.clear()
        rules: list[Rule] = list(_ADMIN_RULES) if user.privileged else []
        for subject in _subject_keys(user):
            rules.extend(self._cluster.get(subject, ()))
            if namespace:
                rules.extend(self._namespaced.get((subject, namespace), ()))
        self._cache[key] = tuple(rules)
        return self._cache[key]

    # ------------------------------------------------------------------ decisions

    def decide(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason) the way RBAC explains an allowed request."""
        if user.privileged:
            return True, ""
        for rule in self.rules_for(user, attrs.namespace):
            if rule.allows(attrs):
                return True, f'RBAC: allowed by {rule.source} to {_subject_name(user)}'
        return False, ""

    def allowed(self, user: User, attrs: Attributes) -> bool:
        """True when ``user`` may do what ``attrs`` describe."""
        return self.decide(user, attrs)[0]


def _subject_name(user: User) -> str:
    return f'User "{user.name}"'


def forbidden_message(user: User, a: Attributes) -> str:
    """The apiserver's 403 message, e.g. ``pods "x" is forbidden: User "v" cannot delete resource
    "pods" in API group "" in the namespace "shop"``."""
    if not a.resource_request:
        return f'forbidden: User "{user.name}" cannot {a.verb} path "{a.path}"'
    resource = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    scope = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    reason = f'User "{user.name}" cannot {a.verb} resource "{resource}" in API group "{a.api_group}" {scope}'
    qualified = f"{a.resource}.{a.api_group}" if a.api_group else a.resource
    return f'{qualified} "{a.name}" is forbidden: {reason}' if a.name else f"{qualified} is forbidden: {reason}"


def forbidden_details(a: Attributes) -> dict:
    """StatusDetails of a 403 (group omitted for the core group, like the apiserver)."""
    if not a.resource_request:
        return {}
    out = {"name": a.name} if a.name else {}
    if a.api_group:
        out["group"] = a.api_group
    out["kind"] = a.resource
    return out
