"""UI test fixtures: an isolated config dir so no user config or theme leaks into tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """No user config or user themes leak into tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COCKPIT_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path

