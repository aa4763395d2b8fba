"""The once-a-second problem pass runs its detectors off the UI thread and still ends in the same
hint line and timeline as a pass on the UI thread (the explicit path the Timeline key takes)."""

from __future__ import annotations

import threading

import cockpit.ui.walkthrough as walkthrough
from cockpit.ui.hints import RunbookHint
from tests.support.ui import make_app, settle, until

SIZE = (160, 45)


def record_detector_threads(monkeypatch) -> list[threading.Thread]:
    """Instrument the real detectors: the thread of every pass is appended to the returned list."""
    threads: list[threading.Thread] = []
    real = walkthrough.detect_all

    def detect_all(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(walkthrough, "detect_all", detect_all)
    return threads


async def test_the_timer_pass_detects_problems_on_a_worker_thread_and_shows_the_hint(monkeypatch):
    threads = record_detector_threads(monkeypatch)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.observe_in_background()
        await until(pilot, lambda: app.problems_for("shop/checkout"), what="bad deploy detected")

        assert threads and threading.main_thread() not in threads
        app.jump_to_object("rollouts", "shop/checkout")
        hint = app.query_one(RunbookHint)
        await until(pilot, lambda: hint.display)
        assert hint.lines()[0].startswith("⚠ bad deploy: checkout revision 2 is failing")


async def test_a_background_pass_feeds_the_timeline_like_a_pass_on_the_ui_thread():
    background, explicit = make_app(), make_app()
    async with background.run_test(size=SIZE) as pilot:
        await settle(pilot)
        background.observe_in_background()
        await until(pilot, lambda: background.problems, what="background pass done")
        shown = [(r.kind, r.text) for r in background.timeline.rows(background.now())]
    async with explicit.run_test(size=SIZE) as pilot:
        await settle(pilot)
        explicit.observe_cluster()
        expected = [(r.kind, r.text) for r in explicit.timeline.rows(explicit.now())]

    assert shown == expected and any(kind.value == "problem" for kind, _ in shown)


async def test_a_tick_while_a_pass_runs_starts_no_second_pass(monkeypatch):
    calls: list[int] = []
    release = threading.Event()
    real = walkthrough.detect_all

    def held_detect_all(*args, **kwargs):
        calls.append(1)
        release.wait(10)  # hold the pass until the second tick has come and gone
        return real(*args, **kwargs)

    monkeypatch.setattr(walkthrough, "detect_all", held_detect_all)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.observe_in_background()
        await until(pilot, lambda: calls, what="the first pass started")
        app.observe_in_background()
        passes = [w for w in app.workers if w.group == "observe"]
        release.set()
        await until(pilot, lambda: app.problems, what="the pass done")

    assert len(passes) == 1
