"""Label and field selectors as the apiserver parses them (string form and LabelSelector dicts)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cockpit.sim.errors import ApiError

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET_RE = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s+(in|notin)\s*\(([^()]*)\)\s*$")


@dataclass(frozen=True)
class Requirement:
    """One label requirement: op in {=, !=, in, notin, exists, !exists}."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict) -> bool:
        """True when ``labels`` satisfy this requirement."""
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # != and notin


class LabelSelector:
    """A parsed label selector; the empty selector matches everything."""

    def __init__(self, requirements: list[Requirement]):
        self.requirements = requirements

    def matches(self, labels: dict | None) -> bool:
        """True when every requirement holds for ``labels``."""
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)


def _bad_label(why: str) -> ApiError:
    return ApiError(400, "BadRequest", f"unable to parse requirement: {why}",
                    {"causes": [{"reason": "FieldValueInvalid", "message": why, "field": "labelSelector"}]})


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced parentheses")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise ValueError("unbalanced parentheses")
    parts.append(text[start:])
    return parts


def _check_key(key: str) -> None:
    if not key or len(key) > 316 or not _KEY.match(key):
        raise ValueError(f'invalid label key "{key}": name part must consist of alphanumeric characters, '
                         "'-', '_' or '.', and must start and end with an alphanumeric character")


def _check_value(value: str) -> None:
    if len(value) > 63 or not _VALUE.match(value):
        raise ValueError(f'invalid label value: "{value}": a valid label must be an empty string or consist of '
                         "alphanumeric characters, '-', '_' or '.'")


def _parse_one(term: str) -> Requirement:
    term = term.strip()
    if not term:
        raise ValueError("found '', expected: identifier")
    m = _SET_RE.match(term)
    if m:
        if m.group(1):
            raise ValueError(f"unexpected '!' in {term!r}")
        values = [v.strip() for v in m.group(4).split(",")]
        for v in values:
            _check_value(v)
        _check_key(m.group(2))
        return Requirement(m.group(2), m.group(3), frozenset(values))
    for op in ("!=", "==", "="):
        if op in term:
            key, _, value = term.partition(op)
            key, value = key.strip(), value.strip()
            _check_key(key)
            _check_value(value)
            return Requirement(key, "!=" if op == "!=" else "=", frozenset([value]))
    if term.startswith("!"):
        _check_key(term[1:].strip())
        return Requirement(term[1:].strip(), "!exists")
    _check_key(term)
    return Requirement(term, "exists")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse ``app=web,tier in (a,b),!legacy``; raises ApiError 400 when invalid."""
    if not text or not text.strip():
        return LabelSelector([])
    try:
        return LabelSelector([_parse_one(t) for t in _split_top(text)])
    except ValueError as exc:
        raise _bad_label(str(exc)) from None


def selector_from_dict(selector: dict | None) -> LabelSelector:
    """A metav1.LabelSelector dict (matchLabels + matchExpressions) as a LabelSelector.

    None matches nothing (as for a PDB without selector); ``{}`` matches everything.
    """
    if selector is None:
        return LabelSelector([Requirement("\0never", "exists")])
    labels, exprs = selector.get("matchLabels") or {}, selector.get("matchExpressions") or []
    if not isinstance(labels, dict) or not isinstance(exprs, list) or not all(isinstance(e, dict) for e in exprs):
        raise ApiError(422, "Invalid", "selector: Invalid value: matchLabels must be a map and matchExpressions "
                       "a list of requirements")
    reqs = [Requirement(k, "=", frozenset([str(v)])) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in selector.get("matchExpressions") or []:
        op = ops.get(expr.get("operator"), "exists")
        reqs.append(Requirement(expr.get("key", ""), op, frozenset(expr.get("values") or [])))
    return LabelSelector(reqs)


def selector_to_string(selector: dict | None) -> str:
    """The string form of a LabelSelector dict (as Scale.status.selector and tables show it)."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), ",".join(sorted(expr.get("values") or []))
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": key, "DoesNotExist": f"!{key}"}.get(op, key))
    return ",".join(parts)


# ---------------------------------------------------------------- field selectors

_COMMON_FIELDS = {"metadata.name", "metadata.namespace"}
_FIELDS = {
    "pods": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
    "nodes": {"spec.unschedulable"},
    "namespaces": {"status.phase"},
    "replicasets": {"status.replicas"},
    "events": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"},
    "events.events.k8s.io": {"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                             "regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
                             "reason", "reportingController", "type"},
}
_DEFAULT_FALSE = {"spec.unschedulable", "spec.hostNetwork"}


@dataclass(frozen=True)
class FieldRequirement:
    """``field=value`` or ``field!=value``."""

    field: str
    value: str
    negate: bool

    def matches(self, obj: dict) -> bool:
        """True when the object's field value satisfies the requirement."""
        return (field_value(obj, self.field) == self.value) != self.negate


class FieldSelector:
    """A parsed field selector (comma = AND)."""

    def __init__(self, requirements: list[FieldRequirement]):
        self.requirements = requirements

    def matches(self, obj: dict) -> bool:
        """True when all requirements hold for ``obj``."""
        return all(r.matches(obj) for r in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)

    def value_of(self, field: str) -> str | None:
        """The required value of ``field`` (for ``=`` requirements), e.g. to narrow a lookup."""
        for r in self.requirements:
            if r.field == field and not r.negate:
                return r.value
        return None


def field_value(obj: dict, path: str) -> str:
    """The string value of a dotted field path, as the apiserver's field sets expose it."""
    if path == "source" and "source" in obj:
        return (obj.get("source") or {}).get("component", "")
    value = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return "false" if path in _DEFAULT_FALSE else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_field_selector(text: str | None, resource: str) -> FieldSelector:
    """Parse a field selector for ``resource``; unknown fields -> ApiError 400."""
    if not text or not text.strip():
        return FieldSelector([])
    allowed = _COMMON_FIELDS | _FIELDS.get(resource, set())
    reqs = []
    for term in text.split(","):
        term = term.strip()
        for op in ("!=", "==", "="):
            if op in term:
                name, _, value = term.partition(op)
                break
        else:
            raise ApiError(400, "BadRequest", f"invalid selector: '{text}'; can't understand '{term}'")
        name = name.strip()
        if name not in allowed:
            raise ApiError(400, "BadRequest", f"field label not supported: {name}")
        reqs.append(FieldRequirement(name, value.strip(), op == "!="))
    return FieldSelector(reqs)
