"""Field selectors as the apiserver parses them; label selectors come from cockpit.domain.selectors."""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.domain.selectors import LabelSelector
from cockpit.sim.errors import ApiError


def _bad_label(why: str) -> ApiError:
    return ApiError(400, "BadRequest", f"unable to parse requirement: {why}",
                    {"causes": [{"reason": "FieldValueInvalid", "message": why, "field": "labelSelector"}]})


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse ``app=web,tier in (a,b),!legacy``; raises ApiError 400 when invalid."""
    try:
        return LabelSelector.parse(text or "")
    except ValueError as exc:
        raise _bad_label(str(exc)) from None


def selector_from_dict(selector: dict | None) -> LabelSelector:
    """A metav1.LabelSelector dict as a LabelSelector; None selects nothing, ``{}`` everything.

    Raises ApiError 422 when the selector is malformed.
    """
    try:
        return LabelSelector.from_spec(selector)
    except ValueError as exc:
        raise ApiError(422, "Invalid", f"selector: Invalid value: {exc}") from None


def selector_to_string(selector: dict | None) -> str:
    """The string form of a LabelSelector dict (as Scale.status.selector and tables show it)."""
    if not selector:
        return ""
    try:
        return LabelSelector.from_spec(selector).to_query()
    except ValueError:
        return ""


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
