"""`cockpit serve` in a real browser: headless Chromium shows the follow-mode panes, and keys that
would change the cluster are refused (nothing changes on the server, the page says read-only).

The page draws the terminal with xterm.js on a canvas, so its text is read from xterm.js's own
screen buffer (its public ``buffer`` API): what the browser shows, not what the server sent.
The served page asks for nothing beyond this machine (a request that tries is aborted and fails the test).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from cockpit.journal import read_journal
from tests.support.wait import DEFAULT_TIMEOUT, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
# A browser, the server and a cockpit process starting together on a loaded 2-core machine.
STARTUP_TIMEOUT = 60.0

pytestmark = [
    pytest.mark.chromium, pytest.mark.slow, pytest.mark.timeout(180),
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"Chromium is not installed at {CHROMIUM}"),
]

# textual-serve's page keeps its xterm.js Terminal in a closure; it assigns ``fitAddon`` on the
# object that holds it right after creating it, so a setter on that name (installed before the
# page's scripts run) hands the Terminal to the test.
CAPTURE_TERMINAL = """
Object.defineProperty(Object.prototype, "fitAddon", {configurable: true, set(value) {
  Object.defineProperty(this, "fitAddon", {value, writable: true, configurable: true, enumerable: true});
  if (this.terminal && this.terminal.buffer) window.cockpitTerminal = this.terminal;
}});
"""
READ_SCREEN = """() => {
  const terminal = window.cockpitTerminal;
  if (!terminal) return null;
  const buffer = terminal.buffer.active, lines = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group (it and every cockpit it started), SIGKILL what lingers."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            wait_until(lambda: not group_alive(process), timeout=grace, what="the served cockpits to exit")
            return
        except AssertionError:
            continue


def group_alive(process: subprocess.Popen) -> bool:
    process.poll()  # reap the leader, so only live members keep the group
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def served(sim, tmp_path) -> Iterator[tuple[str, Path]]:
    """`cockpit serve` on a free loopback port against ``sim``: (page URL, journal path)."""
    port, journal, log = free_port(), tmp_path / "journal.jsonl", tmp_path / "serve.log"
    argv = [sys.executable, "-m", "cockpit", "serve", "--port", str(port),
            "--kubeconfig", sim.kubeconfig, "--journal", str(journal)]
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    try:
        wait_until(lambda: accepting(process, port, log), STARTUP_TIMEOUT, f"cockpit serve listening on port {port}")
        yield f"http://127.0.0.1:{port}/", journal
    finally:
        stop_group(process)
    assert not group_alive(process), "a served cockpit outlived the server"


def accepting(process: subprocess.Popen, port: int, log: Path) -> bool:
    """Whether the server accepts connections; fails at once if it exited."""
    if process.poll() is not None:
        raise RuntimeError(f"cockpit serve exited {process.returncode}: {log.read_text()}")
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def page(served) -> Iterator[Page]:
    """Headless Debian Chromium on the served page, its requests kept on this machine."""
    url, _journal = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.add_init_script(CAPTURE_TERMINAL)
            leaving: list[str] = []

            def keep_local(route) -> None:
                if route.request.url.startswith(url):
                    route.continue_()
                else:  # never let a request leave this machine, and remember that one tried
                    leaving.append(route.request.url)
                    route.abort()

            page.route("**/*", keep_local)
            page.goto(url, wait_until="domcontentloaded")
            page.focus(".xterm-helper-textarea")  # keys go to the terminal, as a watcher's typing would
            yield page
            assert leaving == [], f"the served page asked for {leaving}"
        finally:
            browser.close()


def screen(page: Page) -> str:
    """The terminal's visible text, as the page's xterm.js holds it."""
    text = page.evaluate(READ_SCREEN)
    if text is None:
        raise LookupError("the page has no terminal yet")
    return text


def footer(page: Page) -> str:
    """The bottom line: the keys the focused pane offers."""
    return screen(page).rstrip().splitlines()[-1]


def wait_for_screen(page: Page, *needles: str, absent: tuple[str, ...] = (), what: str = "",
                    timeout: float = DEFAULT_TIMEOUT) -> str:
    """Wait until the screen shows every one of ``needles`` and none of ``absent``."""
    return wait_until(lambda: screen(page), timeout, what or f"the page to show {needles}",
                      accept=lambda text: all(n in text for n in needles) and not any(a in text for a in absent))


def schedulable(sim) -> dict[str, bool]:
    """Every Node's schedulability, read from the simulated cluster."""
    return sim.call(lambda: {n["metadata"]["name"]: not n.get("spec", {}).get("unschedulable")
                             for n in sim.store.list("nodes")})


def journal_events(journal: Path) -> list[tuple[str, str]]:
    """(event, action) of every journal entry the served cockpits wrote."""
    return [(e["event"], e.get("action", "")) for e in read_journal(journal)] if journal.exists() else []


def test_served_cockpit_shows_the_panes_and_refuses_a_cordon(sim, served, page):
    _url, journal = served
    wait_for_screen(page, "Rollouts", "Traffic", "Nodes", "Warning events", "worker-6", "FOLLOWING · read-only",
                    what="the four panes, read-only", timeout=STARTUP_TIMEOUT)
    assert all(schedulable(sim).values())

    # Textual moves the focus after the key's turn, so each key waits for the screen to show the last.
    page.keyboard.press("3")  # the Nodes pane: the footer offers its own keys (node info, SSH log)
    wait_until(lambda: footer(page), accept=lambda keys: "i Info" in keys and "l Log" in keys,
               what="the footer of the Nodes pane")
    page.keyboard.press("m")
    wait_for_screen(page, "─ Nodes ─", "cp-1", absent=("─ Rollouts ─",), what="the Nodes pane maximised")
    page.keyboard.press("c")  # cordon: hidden in follow mode, so nothing may open
    page.keyboard.press("m")  # keys are handled in order: once the grid is back, `c` was handled
    after = wait_for_screen(page, "─ Rollouts ─", "─ Nodes ─", what="the grid restored after `c`")
    assert "Apply (y)" not in after and "previewing" not in after  # no confirmation screen opened
    assert all(schedulable(sim).values())
    assert journal_events(journal) == []  # nothing reached the driver

    page.keyboard.press(":")  # the palette names the action and says it is refused...
    wait_for_screen(page, "🔎", what="the command palette open")
    page.keyboard.type("node: cordon")
    wait_for_screen(page, "mark the selected node unschedulable (refused: read-only)", what="the palette entry")
    page.keyboard.press("Enter")  # ...and running it anyway: the driver refuses, the page says so
    banner = wait_for_screen(page, "read-only mode: refusing to cordon cp-1", what="the refusal banner")
    assert "FOLLOWING · read-only" in banner
    assert all(schedulable(sim).values())
    assert journal_events(journal) == [("refused", "cordon")]


def test_a_page_from_another_site_cannot_open_the_terminal(served):
    url, _journal = served
    for path in ("", "ws"):
        request = urllib.request.Request(url + path, headers={"Origin": "https://elsewhere.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
    with urllib.request.urlopen(url, timeout=10) as own:
        assert own.status == 200
