"""Production contexts by glob pattern, and the typed-name confirmation."""

from __future__ import annotations

from cockpit.domain.production import is_production, matching_pattern, typed_name_matches


def test_glob_patterns_match_case_insensitively():
    patterns = ["prod-*", "*-production", "eu-?-live"]
    assert is_production("prod-eu", patterns) and is_production("PROD-us", patterns)
    assert is_production("shop-production", patterns) and is_production("eu-1-live", patterns)
    assert not is_production("staging", patterns) and not is_production("preprod-eu", patterns)
    assert matching_pattern("shop-production", patterns) == "*-production"


def test_no_patterns_or_no_context_is_never_production():
    assert not is_production("prod-eu", [])
    assert not is_production(None, ["*"]) and not is_production("", ["*"])


def test_typed_name_must_be_the_object_name():
    assert typed_name_matches("checkout", "shop/checkout")
    assert typed_name_matches(" shop/checkout ", "shop/checkout")
    assert not typed_name_matches("check", "shop/checkout") and not typed_name_matches("", "shop/checkout")
