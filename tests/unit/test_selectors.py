"""The one label-selector module: the three constructors, their empty/None meanings, matching,
the query-string form and its errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.domain.selectors import EVERYTHING, NOTHING, LabelSelector, Requirement, selector_query

WEB = {"app": "web", "color": "blue", "tier": "a"}


# ----- empty / None semantics


@pytest.mark.parametrize("selector", [None, {}])
def test_service_style_empty_or_missing_map_selects_nothing(selector):
    sel = LabelSelector.from_map(selector)
    assert sel.selects_nothing
    assert not sel.matches(WEB)
    assert not sel.matches({})


def test_spec_none_selects_nothing_and_empty_selects_everything():
    assert not LabelSelector.from_spec(None).matches(WEB)
    assert LabelSelector.from_spec({}).matches(WEB)
    assert LabelSelector.from_spec({}).matches(None)
    assert LabelSelector.from_spec({"matchLabels": None, "matchExpressions": None}).selects_everything


def test_empty_query_selects_everything():
    assert LabelSelector.parse("") is EVERYTHING
    assert LabelSelector.parse("  ").matches({"x": "y"})


def test_nothing_has_no_query_form():
    with pytest.raises(ValueError, match="selects nothing"):
        NOTHING.to_query()


# ----- constructors and matching


def test_from_map_is_equality():
    sel = LabelSelector.from_map({"app": "web", "color": "blue"})
    assert sel.matches(WEB)
    assert not sel.matches({"app": "web", "color": "green"})
    assert not sel.matches(None)
    assert sel.to_query() == "app=web,color=blue"


@pytest.mark.parametrize("expr, labels, ok", [
    ({"key": "tier", "operator": "In", "values": ["a", "b"]}, {"tier": "a"}, True),
    ({"key": "tier", "operator": "In", "values": ["a", "b"]}, {}, False),
    ({"key": "tier", "operator": "NotIn", "values": ["a"]}, {}, True),
    ({"key": "tier", "operator": "NotIn", "values": ["a"]}, {"tier": "a"}, False),
    ({"key": "tier", "operator": "Exists"}, {}, False),
    ({"key": "tier", "operator": "Exists"}, {"tier": ""}, True),
    ({"key": "tier", "operator": "DoesNotExist"}, {}, True),
    ({"key": "tier", "operator": "DoesNotExist"}, {"tier": "a"}, False),
])
def test_spec_expressions(expr, labels, ok):
    sel = LabelSelector.from_spec({"matchLabels": {}, "matchExpressions": [expr]})
    assert sel.matches(labels) is ok


def test_spec_match_labels_and_expressions_all_hold():
    sel = LabelSelector.from_spec({"matchLabels": {"app": "web"},
                                   "matchExpressions": [{"key": "color", "operator": "In", "values": ["blue"]}]})
    assert sel.matches(WEB)
    assert not sel.matches({"app": "web", "color": "green"})
    assert sel.to_query() == "app=web,color in (blue)"


def test_spec_from_record_like_object():
    class Expr:
        key, operator, values = "tier", "NotIn", ("b",)

    class Spec:
        match_labels = {"app": "web"}
        match_expressions = (Expr(),)

    sel = LabelSelector.from_spec(Spec())
    assert sel.matches(WEB) and not sel.matches({"app": "web", "tier": "b"})
    assert LabelSelector.from_spec(sel) is sel


@pytest.mark.parametrize("spec, message", [
    ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, "unknown operator"),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "at least one value"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "takes no values"),
    ({"matchLabels": ["a"]}, "must be a map"),
    ({"matchExpressions": ["a"]}, "must be a map"),
])
def test_spec_rejects_malformed(spec, message):
    with pytest.raises(ValueError, match=message):
        LabelSelector.from_spec(spec)


# ----- query-string form


@pytest.mark.parametrize("text, labels, ok", [
    ("a=b", {"a": "b"}, True),
    ("a==b", {"a": "b"}, True),
    ("a!=b", {"a": "c"}, True),
    ("a!=b", {}, True),
    ("a!=b", {"a": "b"}, False),
    ("e in (x,y)", {"e": "y"}, True),
    ("e in (x,y)", {}, False),
    ("e notin (x,y)", {"e": "z"}, True),
    ("f", {"f": "1"}, True),
    ("!f", {"f": "1"}, False),
    ("!f", {}, True),
    ("a=b,c!=d,e in (x,y),!f", {"a": "b", "e": "x"}, True),
    ("a=b,c!=d,e in (x,y),!f", {"a": "b", "e": "x", "c": "d"}, False),
    ("example.com/role = edge", {"example.com/role": "edge"}, True),
    ("a=", {"a": ""}, True),
])
def test_query_matches(text, labels, ok):
    assert LabelSelector.parse(text).matches(labels) is ok


def test_query_round_trip():
    text = "a=b,c!=d,e in (x,y),g notin (z),h==i,f,!j"
    sel = LabelSelector.parse(text)
    assert sel.to_query() == text
    assert LabelSelector.parse(sel.to_query()) == sel
    assert sel.requirements[2] == Requirement("e", "In", ("x", "y"))


@pytest.mark.parametrize("text", [
    "a=b,", ",a", "a in (x", "a in x)", "a in ((x))", "a in ()", "a=b=c", "-a=b", "a=b c",
    "!a=b", "a>1", "a in (x y)", "a=" + "v" * 64, "k" * 64,
])
def test_query_rejects_malformed(text):
    with pytest.raises(ValueError) as info:
        LabelSelector.parse(text)
    assert str(info.value).startswith(f"invalid label selector {text!r}: ")
    assert "\n" not in str(info.value)


@settings(derandomize=True, max_examples=300)
@given(st.text(alphabet="ab=!,() inotx\u00e9", max_size=20))
def test_query_parser_only_raises_value_error(text):
    try:
        sel = LabelSelector.parse(text)
    except ValueError:
        return
    assert LabelSelector.parse(sel.to_query()).to_query() == sel.to_query()


def test_selectors_hash_and_compare():
    assert hash(LabelSelector.from_map({"a": "b"})) == hash(LabelSelector.from_map({"a": "b"}))
    assert {LabelSelector.parse("a=b"), LabelSelector.parse("a=b")} == {LabelSelector.parse("a=b")}


def test_selector_query_of_a_map():
    assert selector_query({"color": "blue", "app": "web"}) == "app=web,color=blue"
    assert selector_query({}) == ""
