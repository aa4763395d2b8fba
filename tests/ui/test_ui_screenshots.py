"""The README's screenshots are exactly what the code renders from the recorded demo scenario.

A UI change that alters a view fails here until the screenshots are regenerated (from the
repository root: ``python -m tests.support.screenshots``) and committed with it.
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta

import pytest

from tests.support import screenshots

README = screenshots.ROOT / "README.md"
REGENERATE = "python -m tests.support.screenshots"


def readme_screenshots() -> list[str]:
    """The view names of every screenshots/*.svg the README shows."""
    return re.findall(r"\]\(screenshots/([\w.-]+)\.svg\)", README.read_text(encoding="utf-8"))


def first_difference(expected: str, actual: str) -> str:
    """A short unified diff of the first lines that differ."""
    diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "committed", "rendered", n=1, lineterm="")
    return "\n".join(line[:200] for _, line in zip(range(20), diff))


def test_readme_shows_only_views_the_generator_renders():
    shown = readme_screenshots()
    assert shown, "the README shows no screenshots"
    assert set(shown) <= set(screenshots.VIEWS), sorted(set(shown) - set(screenshots.VIEWS))


@pytest.mark.parametrize("name", list(screenshots.VIEWS))
async def test_committed_screenshot_matches_the_render(name):
    committed = (screenshots.OUT_DIR / f"{name}.svg").read_text(encoding="utf-8")
    rendered = await screenshots.render_svg(name)
    assert rendered == committed, (
        f"screenshots/{name}.svg is not what the code renders; regenerate with `{REGENERATE}` "
        f"and commit it with the change that moved it:\n{first_difference(committed, rendered)}")


def test_rebase_times_moves_timestamps_only():
    moved = screenshots.rebase_times({"a": "2026-01-01T00:00:00Z", "b": "x", "managedFields": [1]},
                                     timedelta(hours=1))
    assert moved == {"a": "2026-01-01T01:00:00Z", "b": "x"}
