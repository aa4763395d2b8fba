"""The production_contexts and redact_patterns config keys."""

from __future__ import annotations

import pytest

from cockpit.errors import UsageError
from cockpit.ui.config import load_config


def test_keys_are_read(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("production_contexts = [\"prod-*\"]\nredact_patterns = ['\\bacme-[a-z]+\\b']\n")
    config = load_config(path)
    assert config.production_contexts == ("prod-*",) and config.redact_patterns == (r"\bacme-[a-z]+\b",)
    assert load_config(tmp_path / "missing.toml").production_contexts == ()


@pytest.mark.parametrize("text, message", [
    ("production_contexts = \"prod-*\"", "production_contexts must be a list of non-empty strings"),
    ("redact_patterns = ['(']", "redaction pattern '(' is not a valid regular expression"),
])
def test_bad_values_are_named(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("*", r"\*")):
        load_config(path)
