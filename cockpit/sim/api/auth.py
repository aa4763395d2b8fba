"""Who is asking, and the self-review APIs that let a client ask what it may do.

Bearer tokens map to users: the simulator's admin (``kubernetes-admin`` in ``system:masters``,
as kubeadm's admin.conf) and the extra users of :data:`SIM_USERS`, each bound by
:func:`seed_bindings` to the roles their names promise. The reviews answered here:

- ``authentication.k8s.io SelfSubjectReview`` (``kubectl auth whoami``; v1, and v1beta1/v1alpha1
  which kubectl 1.27 asks for),
- ``authorization.k8s.io/v1 SelfSubjectAccessReview`` (``kubectl auth can-i VERB RESOURCE``),
- ``authorization.k8s.io/v1 SelfSubjectRulesReview`` (``kubectl auth can-i --list``),

all decided by the same :class:`~cockpit.sim.api.rbac.Authorizer` that guards every request.
"""

from __future__ import annotations

import copy
import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web

from cockpit.sim.api import rbac
from cockpit.sim.api.rest import json_response, read_json
from cockpit.sim.api.rbac import AUTHENTICATED, MASTERS, Attributes, User
from cockpit.sim.errors import ApiError

ADMIN = User("kubernetes-admin", (MASTERS, AUTHENTICATED))
SELF_REVIEW_PATHS = {f"/apis/authentication.k8s.io/{v}/selfsubjectreviews": v for v in ("v1", "v1beta1", "v1alpha1")}
ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
RULES_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
_GROUP = "rbac.authorization.k8s.io"
_SIM_LABELS = {"app.kubernetes.io/managed-by": "cockpit-sim"}


@dataclass(frozen=True)
class SimUser:
    """An extra kubeconfig user of the simulator and the access it is bound to."""

    name: str
    description: str
    role_kind: str  # ClusterRole the user is bound to
    role: str
    namespace: str = ""  # "" = a ClusterRoleBinding, else a RoleBinding in this namespace


# Each user tests one shape of RBAC: read-only everywhere, write in one namespace, and a verb split
# (patch without update) that only a rule-by-rule authorizer gets right.
SIM_USERS = (
    SimUser("viewer", "read-only in every namespace", "ClusterRole", "view"),
    SimUser("editor", "edits workloads in namespace shop only", "ClusterRole", "edit", "shop"),
    SimUser("service-patcher", "may patch (not update) Services", "ClusterRole", "cockpit-sim:service-patcher"),
)
_PATCHER_ROLE = {"apiVersion": f"{_GROUP}/v1", "kind": "ClusterRole",
                 "metadata": {"name": "cockpit-sim:service-patcher", "labels": _SIM_LABELS},
                 "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch", "patch"]}]}


class Authenticator:
    """Bearer token -> User (the admin token plus one token per :data:`SIM_USERS` entry)."""

    def __init__(self, admin_token: str, user_tokens: dict[str, str] | None = None) -> None:
        self.admin_token = admin_token
        self.user_tokens = user_tokens if user_tokens is not None else \
            {u.name: secrets.token_hex(16) for u in SIM_USERS}
        self._users = {token.encode(): User(name, (AUTHENTICATED,)) for name, token in self.user_tokens.items()}

    def user(self, request: web.Request) -> User | None:
        """The user a request's bearer token belongs to, or None."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = value.strip().encode()
        if hmac.compare_digest(token, self.admin_token.encode()):
            return ADMIN  # the hot path: one comparison, no lookup
        for known, user in self._users.items():
            if hmac.compare_digest(token, known):
                return user
        return None


def seed_bindings(store, prepare=lambda obj: obj) -> None:
    """Create the bindings (and the patcher ClusterRole) of :data:`SIM_USERS` when missing;
    ``prepare`` may adjust each object first (its age)."""
    if store.get("clusterroles", None, _PATCHER_ROLE["metadata"]["name"]) is None:
        store.create("clusterroles", prepare(copy.deepcopy(_PATCHER_ROLE)))
    for u in SIM_USERS:
        kind = "RoleBinding" if u.namespace else "ClusterRoleBinding"
        resource = "rolebindings" if u.namespace else "clusterrolebindings"
        name = f"cockpit-sim:{u.name}"
        if store.get(resource, u.namespace or None, name) is not None:
            continue
        if u.namespace and store.get("namespaces", None, u.namespace) is None:
            continue  # a scenario without that namespace: the user simply has no access there
        meta = {"name": name, "labels": dict(_SIM_LABELS)}
        if u.namespace:
            meta["namespace"] = u.namespace
        store.create(resource, prepare({"apiVersion": f"{_GROUP}/v1", "kind": kind, "metadata": meta,
                                        "roleRef": {"apiGroup": _GROUP, "kind": u.role_kind, "name": u.role},
                                        "subjects": [{"apiGroup": _GROUP, "kind": "User", "name": u.name}]}))


def kubeconfig_entries(user_tokens: dict[str, str]) -> tuple[str, str]:
    """(users, contexts) YAML list items for the extra users, for the simulator's kubeconfig."""
    namespaces = {u.name: u.namespace for u in SIM_USERS}
    users = "".join(f"- name: {name}\n  user:\n    token: {token}\n" for name, token in user_tokens.items())
    contexts = "".join(f"- name: cockpit-sim-{name}\n  context:\n    cluster: cockpit-sim\n    user: {name}\n"
                       f"    namespace: {namespaces.get(name) or 'default'}\n" for name in user_tokens)
    return users, contexts


# ---------------------------------------------------------------------- reviews


async def _body(request: web.Request) -> dict:
    """The review body (JSON, or protobuf from kubectl 1.32+); an empty one is an empty review."""
    if not request.can_read_body:
        return {}
    return await read_json(request)


async def self_subject_review(request: web.Request, user: User, version: str) -> web.Response:
    """``kubectl auth whoami``: the user the token belongs to."""
    await _body(request)
    info = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    return json_response({"kind": "SelfSubjectReview", "apiVersion": f"authentication.k8s.io/{version}",
                          "metadata": {"creationTimestamp": None}, "status": {"userInfo": info}}, 201)


def review_attributes(spec: dict) -> Attributes:
    """The Attributes a SelfSubjectAccessReview spec asks about (400 if it names none)."""
    res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if res:
        return Attributes(verb=res.get("verb", ""), resource_request=True, api_group=res.get("group", ""),
                          api_version=res.get("version", ""), resource=res.get("resource", ""),
                          subresource=res.get("subresource", ""), namespace=res.get("namespace", ""),
                          name=res.get("name", ""))
    if non:
        return Attributes(verb=non.get("verb", ""), path=non.get("path", ""))
    raise ApiError(422, "Invalid", 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                                   "spec.resourceAttributes: Invalid value: \"null\": exactly one of "
                                   "nonResourceAttributes or resourceAttributes must be specified",
                   {"group": "authorization.k8s.io", "kind": "SelfSubjectAccessReview"})


async def access_review(request: web.Request, user: User, authorizer: rbac.Authorizer) -> web.Response:
    """``kubectl auth can-i``: whether ``user`` may do what the review's spec describes."""
    review = await _body(request)
    spec = review.get("spec") or {}
    allowed, reason = authorizer.decide(user, review_attributes(spec))
    status = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return json_response({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                          "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}, 201)


async def rules_review(request: web.Request, user: User, authorizer: rbac.Authorizer) -> web.Response:
    """``kubectl auth can-i --list``: every rule of ``user`` in the review's namespace."""
    review = await _body(request)
    spec = review.get("spec") or {}
    rules = list(dict.fromkeys(authorizer.rules_for(user, spec.get("namespace", ""))))  # same rule twice: once
    status = {"resourceRules": [r.as_resource_rule() for r in rules if not r.non_resource_urls],
              "nonResourceRules": [r.as_non_resource_rule() for r in rules if r.non_resource_urls],
              "incomplete": False}
    return json_response({"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                          "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}, 201)
