"""A reader that goes away early (`cockpit upgrade plan | head -1`) gets no traceback."""

from __future__ import annotations

import fcntl
import subprocess
import sys

F_SETPIPE_SZ = 1031  # Linux: shrink the pipe so the ~8 KB plan cannot fit in it before we close


def test_closed_pipe_ends_quietly(sim, tmp_path):
    command = [sys.executable, "-m", "cockpit", "--kubeconfig", sim.kubeconfig, "--journal",
               str(tmp_path / "journal.jsonl"), "upgrade", "plan", "--to", "1.33.1"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    fcntl.fcntl(proc.stdout.fileno(), F_SETPIPE_SZ, 4096)  # the child is still importing: it wrote nothing yet
    first = proc.stdout.readline()
    proc.stdout.close()  # like `head -1` exiting after its line
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert first.startswith("upgrade 1.32.4 -> 1.33.1")
    assert "Traceback" not in stderr
