"""Themes as data: TOML files in the repo's themes/ folder plus the user theme folder.

A theme file holds the fields of :class:`textual.theme.Theme` (``name`` and ``primary`` are
required, colours are CSS colour strings) and an optional ``[variables]`` table for the
cockpit's semantic colours (see :data:`SEMANTIC_DEFAULTS`). Example::

    name = "cockpit-dark"
    dark = true
    primary = "#4f9fe8"
    background = "#101418"

    [variables]
    state-failed = "#ff5f5f"
    colour-blue = "#4f9fe8"

A broken file never stops the cockpit: it is skipped and reported in one line.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from cockpit.ui.config import user_theme_dir

DEFAULT_THEME = "cockpit-dark"

# Semantic colours the panes use; a theme may override each one in [variables]. The pane code
# never relies on these hues alone: every state also has a word and a shape.
SEMANTIC_DEFAULTS: dict[str, str] = {
    "state-complete": "#5fd75f",
    "state-progressing": "#5fafff",
    "state-paused": "#d7af5f",
    "state-failed": "#ff5f5f",
    "state-muted": "#8a8a8a",
    "colour-blue": "#5f87ff",
    "colour-green": "#5fd787",
    "bar-filled": "#5fafff",
    "bar-empty": "#3a3a3a",
}

_COLOUR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent",
                  "foreground", "background", "surface", "panel", "boost")
_ALLOWED = {f.name for f in fields(Theme)}


def shipped_theme_dir() -> Path:
    """The repo's themes/ folder (next to the cockpit package in a checkout or wheel)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent.parent / "themes", here.parent / "_themes"):
        if candidate.is_dir():
            return candidate
    return here.parent.parent / "themes"


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message is one line naming the file."""


def load_theme_file(path: Path) -> Theme:
    """Parse one TOML theme file into a Theme.

    Raises:
        ThemeFileError: the file is unreadable, not TOML, misses ``name``/``primary``, has an
            unknown key or a value that is not a colour.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThemeFileError(f"theme {path.name}: {exc}") from None
    for key in ("name", "primary"):
        if not isinstance(data.get(key), str):
            raise ThemeFileError(f"theme {path.name}: missing string key {key!r}")
    unknown = sorted(set(data) - _ALLOWED)
    if unknown:
        raise ThemeFileError(f"theme {path.name}: unknown key {unknown[0]!r}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(f"theme {path.name}: [variables] must be a table")
    for key, value in [*((k, data.get(k)) for k in _COLOUR_FIELDS), *variables.items()]:
        _check_colour(path, key, value)
    return Theme(**data)


def _check_colour(path: Path, key: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ThemeFileError(f"theme {path.name}: {key} must be a colour string")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f"theme {path.name}: {key} = {value!r} is not a colour") from None


@dataclass
class ThemeSet:
    """Every theme that loaded, plus one line per file that did not."""

    themes: dict[str, Theme] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)

    def resolve(self, name: str | None) -> str | None:
        """Map a user-given name (``light``, ``cockpit-light`` or a file stem) to a theme name."""
        if not name:
            return None
        return name if name in self.themes else self.aliases.get(name)


def load_themes(folders: list[Path] | None = None) -> ThemeSet:
    """Load the shipped themes then the user folder (later files override same-named ones)."""
    folders = folders if folders is not None else [shipped_theme_dir(), user_theme_dir()]
    found = ThemeSet()
    for folder in folders:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                found.errors.append(str(exc))
                continue
            found.themes[theme.name] = theme
            found.aliases[path.stem] = theme.name
            found.aliases[theme.name.removeprefix("cockpit-")] = theme.name
    return found


def semantic_colour(variables: dict[str, str], name: str) -> str:
    """The theme's value for a semantic colour, falling back to the default."""
    return variables.get(name) or SEMANTIC_DEFAULTS[name]
