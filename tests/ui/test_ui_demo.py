"""`cockpit demo` never leaves its simulator behind: quit, Ctrl+C, SIGTERM, or being killed."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]
READY = re.compile(r"cockpit demo: simulated cluster pid=(\d+)")


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def read_until(stream, pattern: re.Pattern, timeout: float = 60.0) -> re.Match:
    """Read a pipe or pty until ``pattern`` matches what was read."""
    deadline = time.monotonic() + timeout
    buffer = ""
    fd = stream if isinstance(stream, int) else stream.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536).decode(errors="replace")
            if not chunk:
                break
            buffer += chunk
            match = pattern.search(buffer)
            if match:
                return match
    raise AssertionError(f"never saw {pattern.pattern!r}: {buffer[-2000:]}")


def read_sim_pid(stream) -> int:
    """Read the demo's stderr until it names the simulator's pid."""
    return int(read_until(stream, READY).group(1))


def start_headless_demo(tmp_path) -> subprocess.Popen:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "COCKPIT_CONFIG": str(tmp_path / "c.toml")}
    return subprocess.Popen(
        [sys.executable, "-m", "cockpit", "demo", "--headless", "--speed", "0.05",
         "--journal", str(tmp_path / "journal.jsonl")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["term", "int", "kill"])
def test_demo_stops_simulator_when_signalled(tmp_path, sig):
    demo = start_headless_demo(tmp_path)
    try:
        sim_pid = read_sim_pid(demo.stderr)
        assert alive(sim_pid)
        demo.send_signal(sig)
        demo.wait(15)
        assert wait_gone(sim_pid), f"simulator {sim_pid} survived {sig.name}"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        demo.stderr.close()


def test_demo_quit_key_in_a_terminal_stops_simulator(tmp_path):
    pid, fd = pty.fork()
    if pid == 0:  # child: the demo in a real pseudo-terminal
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "36",
                           "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "COCKPIT_CONFIG": str(tmp_path / "c.toml")})
        os.execv(sys.executable, [sys.executable, "-m", "cockpit", "demo", "--speed", "0.05",
                                  "--journal", str(tmp_path / "journal.jsonl")])
    try:
        sim_pid = read_sim_pid(fd)
        read_until(fd, re.compile("Rollouts"))  # the TUI owns the terminal now
        os.write(fd, b"q")
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    os.read(fd, 65536)
                except OSError:
                    pass
        assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert wait_gone(sim_pid)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
