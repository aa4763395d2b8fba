"""Every command-line option explains itself, and `cockpit sim --help` is about the simulator only."""

from __future__ import annotations

import argparse

from cockpit.cli.main import build_parser


def walk(parser: argparse.ArgumentParser, path: str = "cockpit"):
    """Yield (command path, action) for every option and positional of every sub-command."""
    for action in parser._actions:  # noqa: SLF001 - argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                yield from walk(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):  # noqa: SLF001
            yield path, action


def test_every_option_has_help_text():
    missing = sorted({f"{path} {action.option_strings or action.dest}" for path, action in walk(build_parser())
                      if not action.help})
    assert missing == []


def test_sim_help_shows_only_the_simulators_options(capsys):
    parser = build_parser()
    sim = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["sim"]  # noqa: SLF001
    text = sim.format_help()
    for global_only in ("--kubeconfig", "--read-only", "--journal", "--theme", "--ssh-config"):
        assert global_only not in text, global_only
