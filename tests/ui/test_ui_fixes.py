"""Small promises of the TUI: the palette key, refusal banners that clear, a selection that
follows its object, and the confirm screen's buttons on a small terminal."""

from __future__ import annotations

from textual.command import CommandPalette

from tests.support.builders import node
from tests.support.ui import make_app, rows, settle, until


def selected_name(app, pane: str) -> str | None:
    record = app.pane(pane).selected_record(app.cache)
    return record.name if record is not None else None


async def select(pilot, app, pane: str, name: str) -> None:
    app.focus_pane(pane)
    table = app.pane(pane).table
    for index in range(table.row_count):
        table.move_cursor(row=index)
        if selected_name(app, pane) == name:
            return
    raise AssertionError(f"{name} not in {pane}")


async def test_ctrl_p_opens_the_command_palette_as_the_help_says():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the command palette")


async def test_a_refusal_banner_clears_on_escape_and_on_the_next_action():
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        app.show_banner("read-only mode: refusing to cordon worker-1")
        await pilot.press("escape")
        assert app.banner_text == ""
        app.show_banner("read-only mode: refusing to cordon worker-1")
        await app.run_pane_action("node.info")
        assert "refusing" not in app.banner_text


async def test_selection_follows_its_object_when_the_sort_order_changes():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        names = [selected_name(app, "nodes")]
        await select(pilot, app, "nodes", "worker-2")
        app.cache.put("nodes", node("a-new-worker"))  # sorts before worker-2
        await settle(pilot)
        names.append(selected_name(app, "nodes"))
        assert names[-1] == "worker-2", names


async def test_selection_survives_a_filter_being_cleared():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        app.focus_pane("nodes")
        await pilot.press("slash", *"worker-2", "enter")
        await settle(pilot)
        assert selected_name(app, "nodes") == "worker-2"
        await pilot.press("escape")
        await settle(pilot)
        assert app.pane("nodes").table.row_count > 1
        assert selected_name(app, "nodes") == "worker-2"


async def test_apply_and_cancel_stay_visible_at_80x24_with_a_long_plan():
    from cockpit.controllers.base import Check
    from cockpit.controllers.operation import Plan
    from cockpit.ui.screens.operation import OperationScreen

    plan = Plan(action="drain", target="node/worker-1", title="drain worker-1", before="schedulable",
                after="cordoned; 40 pods evicted", reason="NodeDrained",
                checks=tuple(Check(f"check {i}", True, "fine") for i in range(12)),
                commands=("kubectl drain worker-1 --ignore-daemonsets --delete-emptydir-data",),
                details=tuple(f"evict shop/pod-{i}" for i in range(40)), dry_run="POST eviction?dryRun=All")

    async def job(screen):
        from cockpit.controllers.driver import Declined

        if not await screen.ask(plan):  # what the driver does with a "no"
            raise Declined("cancelled: nothing was changed")
        raise AssertionError("this test never applies")

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = OperationScreen("drain worker-1", job)
        app.push_screen(screen)
        await until(pilot, lambda: screen.has_class("-asking"), what="the plan")
        for button_id in ("#apply", "#dry-run", "#close"):
            region = screen.query_one(button_id).region
            assert region.height > 0 and region.bottom <= 24 and region.right <= 80, (button_id, region)
        screen.action_close()
        await until(pilot, lambda: app.screen is not screen, what="the screen to close after cancel")


async def test_a_maximised_rollouts_pane_shows_the_full_image():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        full = next(d for d in app.cache.store("deployments").values() if d.name == "checkout").images[0]
        assert "/" in full
        app.focus_pane("rollouts")
        await pilot.press("m")
        await until(pilot, lambda: any(full in cell for r in rows(app, "rollouts") for cell in r),
                    what=f"{full} in full in the maximised pane")


async def test_fit_columns_grow_so_names_are_never_cut_into_look_alikes():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        long_a, long_b = "kube-system/metrics-server-a", "kube-system/metrics-server-b"
        from tests.support.builders import deployment
        for name in (long_a, long_b):
            namespace, short = name.split("/")
            app.cache.put("deployments", deployment(namespace, short))
        await settle(pilot)
        names = [r[0] for r in rows(app, "rollouts")]
        assert long_a in names and long_b in names, names
        table = app.pane("rollouts").table
        shown = [table.get_row(key)[0].plain for key in table.rows]  # the text the screen shows
        width = table.columns["name"].width
        assert all(len(text) <= width for text in shown)
        a, b = (next(t for t in shown if t.endswith(suffix)) for suffix in ("-a", "-b"))
        assert a != b and "…" in a, (a, b)


async def test_a_key_right_after_a_pane_key_acts_on_the_new_pane():
    """``3`` then ``u`` typed fast: uncordon on the Nodes pane, never undo on the Rollouts row."""
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        from textual import events

        for key in ("3", "u"):  # both queued before either is handled, as a fast typist's are
            app.post_message(events.Key(key, key))
        await until(pilot, lambda: app.banner_text, what="the action's answer")
        assert app.banner_text.startswith("node: uncordon"), app.banner_text


async def test_letters_typed_right_after_slash_go_to_the_filter():
    """``/web`` typed fast filters on "web": no letter reaches the pane's key bindings first."""
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        from textual import events

        for key in ("slash", "w", "e", "b"):  # all queued before any is handled
            app.post_message(events.Key(key, "/" if key == "slash" else key))
        pane = app.current_pane()
        await until(pilot, lambda: pane.filter_text == "web", what=f"the filter to read 'web', not {pane.filter_text!r}")
        assert all("web" in " ".join(row).lower() for row in rows(app, pane.id)), rows(app, pane.id)


async def test_a_pane_key_then_slash_typed_fast_filters_the_new_pane():
    """``3/work`` arriving at once (one ssh packet): the Nodes pane is filtered, not the Rollouts pane."""
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        from textual import events

        for key, char in (("3", "3"), ("slash", "/"), ("w", "w"), ("o", "o"), ("r", "r"), ("k", "k")):
            app.post_message(events.Key(key, char))
        nodes = app.pane("nodes")
        await until(pilot, lambda: nodes.filter_text == "work", what=f"the Nodes filter, not {nodes.filter_text!r}")
        assert app.pane("rollouts").filter_text == ""
        assert rows(app, "nodes") and all(r[0].startswith("worker") for r in rows(app, "nodes")), rows(app, "nodes")


async def test_digits_typed_into_the_filter_stay_in_the_filter():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("3", "slash", *"worker-2")
        nodes = app.pane("nodes")
        await until(pilot, lambda: nodes.filter_text == "worker-2", what=f"the filter, not {nodes.filter_text!r}")
        assert app.current_pane() is nodes


async def test_pane_and_filter_keys_do_nothing_under_a_dialog():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: app.screen is not app.screen_stack[0], what="the help screen")
        await pilot.press("3", "slash", "w")
        await pilot.pause()
        assert app.current_pane() is app.pane("rollouts")
        assert not any(p.has_class("-filtering") for p in app.panes())
