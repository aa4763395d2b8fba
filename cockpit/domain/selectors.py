"""Kubernetes label selectors: the one matcher used by the domain, the controllers and the UI.

Three sources produce a :class:`LabelSelector`, each with its own meaning of "empty":

- :meth:`LabelSelector.from_map`: a Service-style equality map; an empty or missing map
  selects nothing (a Service without a selector has no endpoints managed for it);
- :meth:`LabelSelector.from_spec`: a metav1.LabelSelector (``matchLabels`` and
  ``matchExpressions``); ``{}`` selects everything and ``None`` selects nothing, as for a
  policy/v1 PodDisruptionBudget;
- :meth:`LabelSelector.parse`: the query-string form ``a=b,c!=d,e in (x,y),!f`` of the
  ``labelSelector`` parameter; the empty string selects everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist", "=", "==", "!="]

SET_OPERATORS: frozenset[str] = frozenset({"In", "NotIn"})
EQUALITY_OPERATORS: frozenset[str] = frozenset({"=", "==", "!="})
OPERATORS: frozenset[str] = frozenset({"In", "NotIn", "Exists", "DoesNotExist"}) | EQUALITY_OPERATORS

_KEY_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_KEY = re.compile(rf"({_KEY_PREFIX}/)?{_KEY_NAME}")
_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_SET_TERM = re.compile(r"(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)")
_MAX_PREFIX = 253


@dataclass(frozen=True)
class Requirement:
    """One requirement: ``key``, an operator and the values it compares with."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        present = self.key in labels
        if self.operator in ("In", "=", "=="):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # NotIn and !=

    def to_query(self) -> str:
        """The requirement in the query-string form (``e in (x,y)``, ``!f``, ``c!=d``)."""
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        if self.operator in EQUALITY_OPERATORS:
            return f"{self.key}{self.operator}{self.values[0]}"
        word = "in" if self.operator == "In" else "notin"
        return f"{self.key} {word} ({','.join(sorted(self.values))})"


@dataclass(frozen=True)
class LabelSelector:
    """Match labels plus requirements; all must hold. ``selects_nothing`` overrides both."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    requirements: tuple[Requirement, ...] = ()
    selects_nothing: bool = False

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.match_labels.items())), self.requirements, self.selects_nothing))

    # ----- constructors

    @classmethod
    def from_map(cls, selector: Mapping[str, str] | None) -> LabelSelector:
        """A Service-style equality map; empty or None selects nothing."""
        if not selector:
            return NOTHING
        return cls(dict(selector))

    @classmethod
    def from_spec(cls, spec: Any) -> LabelSelector:
        """A metav1.LabelSelector as a dict (``matchLabels``/``matchExpressions``) or a record.

        ``None`` selects nothing, ``{}`` selects everything (policy/v1 PDB, Deployment).
        Raises ValueError for an unknown operator or values that contradict the operator.
        """
        if spec is None:
            return NOTHING
        if isinstance(spec, LabelSelector):
            return spec
        if isinstance(spec, Mapping):
            return _from_spec_dict(spec)
        labels = getattr(spec, "match_labels", None) or {}
        exprs = [(e.key, e.operator, e.values) for e in getattr(spec, "match_expressions", None) or ()]
        return cls(dict(labels), tuple(_requirement(*e) for e in exprs))

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """The query-string form ``a=b,c!=d,e in (x,y),!f``; ``""`` selects everything.

        Raises ValueError naming the selector and what is wrong with it.
        """
        if not text.strip():
            return EVERYTHING
        try:
            return cls({}, tuple(_parse_term(t) for t in _split_terms(text)))
        except ValueError as exc:
            raise ValueError(f"invalid label selector {text!r}: {exc}") from None

    # ----- queries

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with ``labels`` is selected."""
        if self.selects_nothing:
            return False
        labels = labels or {}
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        return all(r.matches(labels) for r in self.requirements)

    @property
    def selects_everything(self) -> bool:
        """True for the empty selector (no labels, no requirements)."""
        return not (self.selects_nothing or self.match_labels or self.requirements)

    def to_query(self) -> str:
        """The query-string form (``labelSelector`` parameter, ``kubectl -l``).

        A selector that selects nothing has no query form (the empty string would select
        everything), so it raises ValueError; callers skip the list instead.
        """
        if self.selects_nothing:
            raise ValueError("a selector that selects nothing has no query-string form")
        parts = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        return ",".join(parts + [r.to_query() for r in self.requirements])

    def __str__(self) -> str:
        return "<nothing>" if self.selects_nothing else self.to_query()


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(selects_nothing=True)


def selector_query(selector: Mapping[str, str]) -> str:
    """``{"app": "web", "color": "blue"}`` -> ``"app=web,color=blue"`` (sorted by key)."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


# ----- helpers


def _from_spec_dict(spec: Mapping[str, Any]) -> LabelSelector:
    labels = spec.get("matchLabels") or {}
    exprs = spec.get("matchExpressions") or []
    if not isinstance(labels, Mapping) or not isinstance(exprs, list):
        raise ValueError("matchLabels must be a map and matchExpressions a list")
    if not all(isinstance(e, Mapping) for e in exprs):
        raise ValueError("every matchExpressions item must be a map")
    reqs = tuple(_requirement(e.get("key", ""), e.get("operator", ""), e.get("values")) for e in exprs)
    return LabelSelector({str(k): str(v) for k, v in labels.items()}, reqs)


def _requirement(key: str, operator: str, values: Iterable[str] | None) -> Requirement:
    values = tuple(values or ())
    if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
        raise ValueError(f"unknown operator {operator!r} for key {key!r}")
    if operator in SET_OPERATORS and not values:
        raise ValueError(f"operator {operator} on key {key!r} needs at least one value")
    if operator not in SET_OPERATORS and values:
        raise ValueError(f"operator {operator} on key {key!r} takes no values")
    return Requirement(key, operator, values)  # type: ignore[arg-type]


def _split_terms(text: str) -> list[str]:
    """Split on the commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0 or depth > 1:
            raise ValueError("unbalanced or nested parentheses")
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise ValueError("unbalanced parentheses")
    return parts + [text[start:]]


def _parse_term(term: str) -> Requirement:
    term = term.strip()
    if not term:
        raise ValueError("empty requirement")
    if set_term := _SET_TERM.fullmatch(term):
        return _set_requirement(set_term["key"], set_term["op"], set_term["values"])
    for op in ("!=", "==", "="):
        if op in term:
            key, _, value = term.partition(op)
            values = (_checked_value(value.strip()),)
            return Requirement(_checked_key(key.strip()), op, values)  # type: ignore[arg-type]
    if term.startswith("!"):
        return Requirement(_checked_key(term[1:].strip()), "DoesNotExist")
    return Requirement(_checked_key(term), "Exists")


def _set_requirement(key: str, word: str, raw_values: str) -> Requirement:
    values = tuple(_checked_value(v.strip()) for v in raw_values.split(","))
    if values == ("",):
        raise ValueError(f"'{word}' on key {key!r} needs at least one value")
    return Requirement(_checked_key(key), "In" if word == "in" else "NotIn", values)


def _checked_key(key: str) -> str:
    prefix, _, _ = key.rpartition("/")
    if not _KEY.fullmatch(key) or len(prefix) > _MAX_PREFIX:
        raise ValueError(f"invalid label key {key!r}")
    return key


def _checked_value(value: str) -> str:
    if not _VALUE.fullmatch(value):
        raise ValueError(f"invalid label value {value!r}")
    return value
