"""The README screenshots are deterministic and come from the committed demo snapshot."""

from __future__ import annotations

from cockpit.ui import screenshots


async def test_screenshot_render_is_deterministic(tmp_path):
    first = (await screenshots.render_view("rollout-expanded", out_dir=tmp_path)).read_text()
    (tmp_path / "rollout-expanded.svg").unlink()
    second = (await screenshots.render_view("rollout-expanded", out_dir=tmp_path)).read_text()
    assert first == second
    assert "shop/checkout" in first and "ImagePullBackOff" in first


def test_committed_screenshots_exist_for_every_view():
    for name in screenshots.VIEWS:
        assert (screenshots.OUT_DIR / f"{name}.svg").is_file(), name


def test_rebase_times_moves_timestamps_only():
    from datetime import timedelta

    moved = screenshots.rebase_times({"a": "2026-01-01T00:00:00Z", "b": "x", "managedFields": [1]},
                                     timedelta(hours=1))
    assert moved == {"a": "2026-01-01T01:00:00Z", "b": "x"}
