"""The cockpit's user configuration: one TOML file in the user config dir.

Who reads what:

| key                  | read by                         | meaning                                      |
|----------------------|---------------------------------|----------------------------------------------|
| ``theme``            | ui.app (start-up)               | theme name (``--theme`` wins)                |
| ``read_only``        | commands.tui                    | default for ``--read-only``                  |
| ``refresh_seconds``  | ui.app (flush timer)            | how often panes take changes (0.05..5 s)     |
| ``bluegreen_labels`` | ui.panes.traffic -> domain view | selector label keys that name a colour       |
| ``[keymap]``         | ui.app -> App.set_keymap        | binding id -> keys, e.g. ``maximize = "z"`` |
| ``production_contexts`` | ui.walkthrough (banner, guard) | kube context globs that are production      |
| ``redact_patterns``  | ui.walkthrough, cli.report      | extra regexes masked when redaction is on    |
| ``[prometheus]``     | metrics.config                  | url, bearer_token or token_file, ca_file     |
| ``[analysis.NAME]``  | metrics.config                  | metric analyses (query, conditions, limits)  |

Example ``~/.config/cockpit/config.toml``::

    theme = "cockpit-light"
    read_only = true
    refresh_seconds = 0.5
    bluegreen_labels = ["color", "slot", "version"]
    production_contexts = ["prod-*", "*-production"]
    redact_patterns = ['\\bacme-[a-z0-9-]+\\b', '[a-z0-9-]+\\.corp\\.example\\.com']

    [keymap]
    maximize = "z"
    filter = "slash,f"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_config_dir

from cockpit.domain.redact import pattern_rules
from cockpit.errors import UsageError

APP_NAME = "cockpit"
CONFIG_ENV = "COCKPIT_CONFIG"
DEFAULT_LABELS = ("color", "slot", "version")


def config_dir() -> Path:
    """The user config dir (``$XDG_CONFIG_HOME/cockpit`` on Linux)."""
    return Path(user_config_dir(APP_NAME))


def config_path() -> Path:
    """The config file: ``$COCKPIT_CONFIG`` if set, else ``config.toml`` in the config dir."""
    override = os.environ.get(CONFIG_ENV)
    return Path(override) if override else config_dir() / "config.toml"


def user_theme_dir() -> Path:
    """Where users drop extra theme files (``*.toml``)."""
    return config_dir() / "themes"


@dataclass(frozen=True)
class UiConfig:
    """Validated settings; the defaults are what a missing file means."""

    theme: str | None = None
    read_only: bool = False
    refresh_seconds: float = 0.25
    bluegreen_labels: tuple[str, ...] = DEFAULT_LABELS
    keymap: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    production_contexts: tuple[str, ...] = ()
    redact_patterns: tuple[str, ...] = ()


def load_config(path: Path | None = None) -> UiConfig:
    """Read and validate the config file; a missing file gives the defaults.

    Raises:
        UsageError: one line naming the file and the bad key when the file is unreadable,
            not TOML, or has a value of the wrong type.
    """
    path = path or config_path()
    if not path.exists():
        return UiConfig(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {path} is not valid TOML: {exc}") from None
    return _validate(data, path)


def _validate(data: dict, path: Path) -> UiConfig:
    def bad(key: str, want: str) -> UsageError:
        return UsageError(f"config {path}: {key} must be {want} (got {data.get(key)!r})")

    known = {"theme", "read_only", "refresh_seconds", "bluegreen_labels", "keymap",
             "production_contexts", "redact_patterns",
             "prometheus", "analysis"}  # the last two are validated by cockpit.metrics.config
    unknown = sorted(set(data) - known)
    if unknown:
        raise UsageError(f"config {path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise bad("theme", "a string")
    read_only = data.get("read_only", False)
    if not isinstance(read_only, bool):
        raise bad("read_only", "true or false")
    refresh = data.get("refresh_seconds", 0.25)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float) or not 0.05 <= refresh <= 5:
        raise bad("refresh_seconds", "a number between 0.05 and 5")
    labels = data.get("bluegreen_labels", list(DEFAULT_LABELS))
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        raise bad("bluegreen_labels", "a non-empty list of label keys")
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
        raise bad("keymap", 'a table of binding id = "keys"')
    production = _strings(data, "production_contexts", bad)
    patterns = _strings(data, "redact_patterns", bad)
    try:
        pattern_rules(patterns)
    except ValueError as exc:
        raise UsageError(f"config {path}: {exc}") from None
    return UiConfig(theme, read_only, float(refresh), tuple(labels), dict(keymap), path, production, patterns)


def _strings(data: dict, key: str, bad) -> tuple[str, ...]:
    """An optional list of non-empty strings."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise bad(key, "a list of non-empty strings")
    return tuple(value)
