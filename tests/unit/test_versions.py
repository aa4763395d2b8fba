"""The one Kubernetes version type: strict parsing, one-line errors, ordering, printed forms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.domain.versions import Version, bare, canonical, parse_version, try_parse


@pytest.mark.parametrize("text, expected", [
    ("v1.33.1", Version(1, 33, 1)),
    ("1.33.1", Version(1, 33, 1)),
    ("v1.32.0-beta.0", Version(1, 32, 0, ("beta", "0"))),
    ("v1.33.0-rc.1", Version(1, 33, 0, ("rc", "1"))),
    ("1.33.0-alpha.2", Version(1, 33, 0, ("alpha", "2"))),
    ("v1.32.4+k3s1", Version(1, 32, 4)),
    ("v1.32.4-eks-1234", Version(1, 32, 4, ("eks-1234",))),
    ("v1.32.0-rc.0+abc.1", Version(1, 32, 0, ("rc", "0"))),
    ("0.0.0", Version(0, 0, 0)),
])
def test_parse(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("01.33.1", "leading zeros"),
    ("1.033.1", "leading zeros"),
    ("1.33.01", "leading zeros"),
    ("\uff11.33.1", "ASCII digits"),
    ("1.\u0663\u0663.1", "ASCII digits"),
    ("1.33", "expected X.Y.Z"),
    ("1.33.1.2", "expected X.Y.Z"),
    ("latest", "expected X.Y.Z"),
    ("", "expected X.Y.Z"),
    ("V1.33.1", "expected X.Y.Z"),
    (" 1.33.1", "whitespace"),
    ("1.33.1\n", "whitespace"),
    ("1.33.1-", "pre-release"),
    ("1.33.1-rc.01", "pre-release"),
    ("1.33.1+", "pre-release or build"),
    ("1.33.1-rc_1", "pre-release"),
    ("1234567890.1.1", "at most 9 digits"),
    ("1." + "1" * 100 + ".1", "longer than"),
])
def test_refused_with_one_clear_line(text, reason):
    with pytest.raises(ValueError) as info:
        parse_version(text)
    message = str(info.value)
    assert message.startswith("invalid Kubernetes version ") and reason in message
    assert "\n" not in message and len(message) < 200


def test_not_a_string_is_a_value_error():
    with pytest.raises(ValueError):
        parse_version(None)  # type: ignore[arg-type]
    assert try_parse(None) is None and try_parse("x") is None


def test_pre_releases_sort_before_the_release():
    texts = ["1.33.0", "1.33.0-rc.10", "1.33.0-alpha.2", "1.32.9", "1.33.0-rc.2", "1.33.0-beta.0", "1.33.1",
             "1.33.0-alpha.10"]
    ordered = sorted(map(parse_version, texts))
    assert [v.bare for v in ordered] == ["1.32.9", "1.33.0-alpha.2", "1.33.0-alpha.10", "1.33.0-beta.0",
                                         "1.33.0-rc.2", "1.33.0-rc.10", "1.33.0", "1.33.1"]
    assert parse_version("1.33.0-rc.1") < parse_version("1.33.0") <= parse_version("v1.33.0+k3s1")
    assert parse_version("1.33.0") > parse_version("1.33.0-1") >= parse_version("1.33.0-1")


def test_printed_forms():
    v = parse_version("1.32.0-beta.0+build.5")
    assert (str(v), v.bare, v.release.bare, v.is_prerelease) == ("v1.32.0-beta.0", "1.32.0-beta.0", "1.32.0", True)
    assert bare("v1.32.4+k3s1") == "1.32.4" and canonical("1.32.4") == "v1.32.4"
    assert bare("garbage") == "garbage" and canonical("") == ""


def test_minor_helpers():
    old, new = parse_version("1.30.9"), parse_version("1.33.0-rc.1")
    assert old.minors_behind(new) == 3 and new.minors_behind(old) == -3
    assert parse_version("1.33.1").same_minor(new) and not old.same_minor(new)
    assert parse_version("2.0.0").minors_behind(old) < -100
    assert old.next_minor().bare == "1.31.0" and old.next_patch().bare == "1.30.10"
    assert new.next_patch().bare == "1.33.0"


@settings(derandomize=True, max_examples=500)
@given(st.text(max_size=40))
def test_arbitrary_text_only_ever_raises_value_error(text):
    try:
        v = parse_version(text)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert parse_version(str(v)) == v == parse_version(v.bare)


@settings(derandomize=True, max_examples=300)
@given(st.from_regex(r"v?[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(-[a-z0-9.]{1,8})?(\+[a-z0-9]{1,5})?", fullmatch=True))
def test_version_like_text_parses_or_says_why(text):
    try:
        v = parse_version(text)
    except ValueError as exc:
        assert str(exc).startswith("invalid Kubernetes version ")
        return
    assert canonical(text) == str(v)
