"""Error paths: unreachable API, forbidden kinds, broken themes, bad config, bad kubeconfig."""

from __future__ import annotations

import pytest

from cockpit.cli.main import main
from cockpit.errors import ConnectionProblem, UsageError
from cockpit.ui.config import load_config
from cockpit.ui.source import FixtureSource
from cockpit.ui.themes import ThemeFileError, load_theme_file, load_themes
from tests.support.ui import make_app, settle


class FailingSource(FixtureSource):
    """A source whose start fails like an unreachable API server."""

    async def start(self) -> None:
        raise ConnectionProblem("cannot reach https://10.9.9.9:6443: connection refused (is the API server up?)")


async def test_unreachable_api_shows_one_line_banner():
    app = make_app(source=FailingSource())
    async with app.run_test(size=(160, 45)) as pilot:
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert app.banner_text.startswith("cannot reach https://10.9.9.9:6443")
        assert app.query_one("#banner").display


async def test_reconnecting_status_and_last_error_banner_then_recovery():
    source = FixtureSource({})
    app = make_app(source=source)
    async with app.run_test(size=(160, 45)) as pilot:
        source.cache.status, source.cache.since = "reconnecting", 1767268800.0
        source.cache.last_error = "API: connection refused\nsecond line never shown"
        await settle(pilot)
        top = str(app.query_one("#topbar").render())
        assert "reconnecting since 12:00:00Z" in top
        assert app.banner_text == "API: connection refused"
        source.cache.status, source.cache.last_error = "stale", ""
        await settle(pilot)
        assert "✘ stale" in str(app.query_one("#topbar").render())
        assert not app.query_one("#banner").display
        source.cache.status = "live"
        await settle(pilot)
        assert "● live" in str(app.query_one("#topbar").render())


async def test_forbidden_kind_shows_in_its_pane_while_others_work():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        app.cache.forbid("nodes")
        await settle(pilot)
        nodes = app.query_one("#nodes")
        assert nodes.has_class("-forbidden")
        assert "forbidden" in str(nodes.query_one(".forbidden").render())
        assert app.query_one("#rollouts-table").row_count == 5
        assert not app.query_one("#rollouts").has_class("-forbidden")


async def test_forbidden_secondary_kind_is_noted_in_subtitle():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        app.cache.forbid("pods")
        await settle(pilot)
        assert not app.query_one("#rollouts").has_class("-forbidden")
        assert "forbidden: pods" in app.query_one("#rollouts").border_subtitle


def test_broken_theme_file_is_reported_not_fatal(tmp_path):
    good = tmp_path / "ok.toml"
    good.write_text('name = "mine"\nprimary = "#123456"\n')
    (tmp_path / "bad.toml").write_text('name = "bad"\nprimary = "not-a-colour"\n')
    (tmp_path / "worse.toml").write_text("this is = = not toml")
    themes = load_themes([tmp_path])
    assert list(themes.themes) == ["mine"]
    assert len(themes.errors) == 2 and any("not a colour" in e for e in themes.errors)
    with pytest.raises(ThemeFileError, match="bad.toml"):
        load_theme_file(tmp_path / "bad.toml")


async def test_broken_user_theme_shows_banner(isolated_config):
    folder = isolated_config / "xdg" / "cockpit" / "themes"
    folder.mkdir(parents=True)
    (folder / "broken.toml").write_text('name = "x"\n')
    (folder / "mine.toml").write_text('name = "mine"\nprimary = "#ff8800"\ndark = true\n')
    app = make_app(themes=None, theme="mine")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert "broken.toml" in app.banner_text and "primary" in app.banner_text
        assert app.theme == "mine"


async def test_unknown_theme_name_falls_back_with_message():
    app = make_app(theme="nope")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert app.theme == "cockpit-dark" and "theme 'nope' not found" in app.banner_text


def test_shipped_themes_all_load():
    themes = load_themes()
    assert themes.errors == []
    assert {"cockpit-dark", "cockpit-light", "cockpit-high-contrast", "cockpit-colour-blind-safe"} <= set(themes.themes)
    assert themes.resolve("light") == "cockpit-light"


@pytest.mark.parametrize("text, message", [
    ("theme = 3", "theme must be a string"),
    ("refresh_seconds = 0", "refresh_seconds must be a number between"),
    ("bluegreen_labels = []", "bluegreen_labels must be"),
    ("colour = 'x'", "unknown key 'colour'"),
    ("[keymap]\nquit = 1", "keymap must be"),
    ("theme = ", "not valid TOML"),
])
def test_bad_config_gives_one_line(isolated_config, text, message):
    (isolated_config / "config.toml").write_text(text)
    with pytest.raises(UsageError, match=message) as info:
        load_config()
    assert "\n" not in str(info.value)


def test_good_config_is_read(isolated_config):
    (isolated_config / "config.toml").write_text(
        'theme = "light"\nread_only = true\nrefresh_seconds = 0.5\nbluegreen_labels = ["slot"]\n'
        '[keymap]\nmaximize = "z"\n')
    config = load_config()
    assert (config.theme, config.read_only, config.refresh_seconds) == ("light", True, 0.5)
    assert config.bluegreen_labels == ("slot",) and config.keymap == {"maximize": "z"}


def test_cli_bad_config_exits_2_with_one_line(isolated_config, capsys):
    (isolated_config / "config.toml").write_text("read_only = 'yes'")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cockpit: config ") and "read_only must be true or false" in err
    assert err.count("\n") == 1


def test_cli_unknown_context_exits_2(isolated_config, tmp_path, capsys):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: a, context: {cluster: c, user: u}}]\n")
    assert main(["--kubeconfig", str(kubeconfig), "--context", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cockpit: ") and "nope" in err and err.count("\n") == 1


def test_cli_malformed_kubeconfig_exits_2(isolated_config, tmp_path, capsys):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("clusters: [ this is not yaml")
    assert main(["--kubeconfig", str(kubeconfig)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cockpit: ") and err.count("\n") == 1
