"""--follow: a follower's session is read-only and every mutating sub-command is refused up front."""

from __future__ import annotations

import argparse

import pytest

from cockpit.cli.follow import apply_follow
from cockpit.cli.main import build_parser, main

MUTATING = [
    ["switch", "shop/web", "--yes"], ["shift", "shop/api", "--yes"], ["rollout", "undo", "shop/checkout", "--yes"],
    ["rollout", "restart", "shop/web-blue"], ["cordon", "worker-1"], ["uncordon", "worker-1"],
    ["drain", "worker-1", "--yes"], ["upgrade", "run", "--to", "1.33.1", "--yes"], ["upgrade", "abort", "--yes"],
    ["upgrade", "skip", "worker-1"], ["upgrade", "pause"],
]


@pytest.mark.parametrize("argv", MUTATING, ids=lambda argv: " ".join(argv[:2]))
def test_every_mutating_command_is_refused_in_one_line(argv, capsys, tmp_path):
    journal = tmp_path / "journal.jsonl"
    # No cluster exists at this kubeconfig: the refusal comes before any connection.
    code = main([*argv, "--follow", "--kubeconfig", str(tmp_path / "none"), "--journal", str(journal)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("cockpit: follow mode: refusing to ") and "\n" not in err, err
    assert not journal.exists()


def test_global_option_before_the_command_works_too(capsys):
    assert main(["--follow", "rollout", "undo", "shop/checkout", "--yes"]) == 1
    assert "follow mode: refusing to rollout undo shop/checkout" in capsys.readouterr().err


def test_reading_commands_run_read_only():
    for argv in (["rollout", "status", "shop/web"], ["upgrade", "status"], ["report", "--since", "1h"], []):
        args = build_parser().parse_args([*argv, "--follow"])
        apply_follow(args)
        assert args.read_only is True


def test_without_follow_nothing_changes():
    args = argparse.Namespace(follow=False, read_only=False, yes=True)
    apply_follow(args)
    assert args.read_only is False
