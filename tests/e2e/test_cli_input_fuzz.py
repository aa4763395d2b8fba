"""Arbitrary text in the arguments that reach the version parser, node lookup and weights never
ends in a traceback: every answer is an exit status with a one-line reason."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.cli.main import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# Text that looks like versions, names and weights as well as anything else.
TEXT = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"v?[0-9０-９]{1,3}\.[0-9]{1,4}\.[0-9]{1,3}(-[a-z]+\.[0-9])?", fullmatch=True),
    st.from_regex(r"[a-z-]{1,8}=-?[0-9]{1,4}(,[a-z-]{1,8}=[0-9x]{0,4}){0,3}", fullmatch=True),
)
COMMANDS = [
    ("upgrade", "plan", "--to", "{}"),
    ("upgrade", "run", "--to", "{}", "--dry-run", "--yes"),
    ("upgrade", "skip", "{}", "--yes", "--dry-run"),
    ("uncordon", "{}", "--yes", "--dry-run"),
    ("cordon", "{}", "--yes", "--dry-run"),
    ("drain", "{}", "--yes", "--dry-run"),
    ("shift", "shop/api", "--weights", "{}", "--yes", "--dry-run"),
    ("shift", "shop/api", "--step", "--plan", "{}", "--yes", "--dry-run"),
    ("upgrade", "run", "--to", "1.33.1", "--concurrency", "{}", "--dry-run", "--yes"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_no_argument_ends_in_a_traceback(command, sim, tmp_path, capsys):
    base = ["--kubeconfig", sim.kubeconfig, "--journal", str(tmp_path / "journal.jsonl")]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(value=TEXT)
    def run(value):
        argv = [part.replace("{}", value) if part == "{}" else part for part in command]
        try:
            code = main([*argv, *base])
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), (argv, code, err)
        assert "Traceback" not in out + err, (argv, err)
        if code:
            assert err.strip(), (argv, "a refusal must say why")

    run()
