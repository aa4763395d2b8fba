"""`cockpit demo` never leaves its simulator behind: quit, Ctrl+C, SIGTERM, or being killed."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys

import pytest

from tests.support.wait import wait_until

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]
READY = re.compile(r"cockpit demo: simulated cluster pid=(\d+)")


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int) -> bool:
    """Wait until ``pid`` has exited (a zombie counts as exited); True, or AssertionError."""
    return wait_until(lambda: not alive(pid), what=f"process {pid} to exit")


def read_available(fd: int) -> str:
    """What the pipe or pty has to read within 0.2 s ('' if nothing); EOFError once it is closed."""
    if not select.select([fd], [], [], 0.2)[0]:
        return ""
    try:
        chunk = os.read(fd, 65536)
    except OSError:  # a pty whose child has exited reads EIO
        chunk = b""
    if not chunk:
        raise EOFError("the output ended")
    return chunk.decode(errors="replace")


def read_until(stream, pattern: re.Pattern, timeout: float = 60.0) -> re.Match:
    """Read a pipe or pty until ``pattern`` matches what was read."""
    fd = stream if isinstance(stream, int) else stream.fileno()
    buffer = []

    def read_more() -> str:
        try:
            buffer.append(read_available(fd))
        except EOFError:
            raise AssertionError(f"the output ended before {pattern.pattern!r}: {''.join(buffer)[-2000:]}") from None
        return "".join(buffer)

    text = wait_until(read_more, timeout, f"{pattern.pattern!r} in the output", accept=pattern.search, interval=0,
                      ignore=())
    return pattern.search(text)


def exit_status(pid: int, fd: int) -> int | None:
    """The child's wait status once it has exited, else None (reading its terminal meanwhile, so
    a full pty never blocks it)."""
    try:
        read_available(fd)
    except EOFError:
        pass
    done, status = os.waitpid(pid, os.WNOHANG)
    return status if done == pid else None


def read_sim_pid(stream) -> int:
    """Read the demo's stderr until it names the simulator's pid."""
    return int(read_until(stream, READY).group(1))


def start_headless_demo(tmp_path) -> subprocess.Popen:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "COCKPIT_CONFIG": str(tmp_path / "c.toml")}
    return subprocess.Popen(
        [sys.executable, "-m", "cockpit", "demo", "--headless", "--speed", "20",
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
        os.execv(sys.executable, [sys.executable, "-m", "cockpit", "demo", "--speed", "20",
                                  "--journal", str(tmp_path / "journal.jsonl")])
    try:
        sim_pid = read_sim_pid(fd)
        read_until(fd, re.compile("Rollouts"))  # the TUI owns the terminal now
        os.write(fd, b"q")
        status = wait_until(lambda: exit_status(pid, fd), what="the demo to exit after q",
                            accept=lambda status: status is not None)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"the demo ended with wait status {status:#x}"
        assert wait_gone(sim_pid)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
