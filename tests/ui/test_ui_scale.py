"""The Nodes pane at 5,000 nodes: a cursor move redraws only the rows on screen, and names
that differ only at their end stay distinguishable (the name column fits its content)."""

from __future__ import annotations

import tests.support.builders as b
from tests.support.ui import make_app
from tests.support.wait import async_wait_until

NODES = 5000
SIZE = (160, 45)


def many_nodes() -> dict:
    """Three control-plane nodes and 4,997 workers named worker-00001 ... (equal up to char 11)."""
    nodes = [b.node(f"cp-{i}", cp=True) for i in range(1, 4)]
    nodes += [b.node(f"worker-{i:05d}") for i in range(1, NODES - 2)]
    return {"nodes": nodes}


async def flushed(pilot) -> None:
    """Flush until no slice of the backlog is left (the app takes big backlogs in slices)."""
    app = pilot.app
    await pilot.pause()
    app.flush()
    await async_wait_until(lambda: not app.flush_pending and len(app.pane("nodes").rows) == NODES,
                           what="all nodes flushed", pause=lambda: pilot.pause(0.05))
    await pilot.pause()


def count_render_lines(table) -> list[int]:
    """Instrument the table: every line it renders is appended to the returned list."""
    rendered: list[int] = []
    original = table.render_line

    def render_line(y: int):
        rendered.append(y)
        return original(y)

    table.render_line = render_line
    return rendered


def screen_lines(table) -> list[str]:
    """The table's lines as drawn (plain text), top to bottom."""
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_cursor_move_in_5000_nodes_renders_two_rows_and_draws_two_lines():
    app = make_app(many_nodes())
    async with app.run_test(size=SIZE) as pilot:
        await flushed(pilot)
        app.focus_pane("nodes")
        await pilot.press("down")
        await pilot.pause()
        table = app.pane("nodes").table
        drawn = count_render_lines(table)
        rendered_before = table.rendered_rows

        await pilot.press("down")
        await pilot.pause()

        assert table.cursor_row == 2
        # at most the row the cursor left and the one it entered (a row seen before comes from the cache)
        assert 1 <= table.rendered_rows - rendered_before <= 2
        assert sorted(set(drawn)) == [2, 3], drawn  # screen lines of rows 1 and 2 (the header is line 0)
        assert 0 < len(drawn) <= table.size.height, (len(drawn), table.size.height)  # never the 5,000 rows


async def test_nodes_differing_after_the_ninth_character_are_distinguishable():
    app = make_app(many_nodes())
    async with app.run_test(size=SIZE) as pilot:
        await flushed(pilot)
        lines = screen_lines(app.pane("nodes").table)

        first = next(line for line in lines if "worker-00001" in line)
        second = next(line for line in lines if "worker-00002" in line)
        assert first != second


async def test_a_change_to_a_node_off_screen_draws_nothing_and_one_on_screen_draws_its_line():
    app = make_app(many_nodes())
    async with app.run_test(size=SIZE) as pilot:
        await flushed(pilot)
        pane = app.pane("nodes")
        table = pane.table
        await pilot.pause()
        drawn = count_render_lines(table)
        last, first = table.ordered_keys[-1], table.ordered_keys[0]

        pane.sync([(last, (*pane.rows[last][:-1], "changed"))])
        await pilot.pause()
        assert drawn == []

        pane.sync([(first, (*pane.rows[first][:-1], "changed"))])
        await pilot.pause()
        assert drawn == [1]  # the first row's line, under the header


async def test_a_filter_that_puts_another_row_under_the_cursor_says_so_like_a_cursor_move():
    from cockpit.ui.panes.vtable import VirtualTable

    highlighted: list = []

    def hook(message) -> None:
        if isinstance(message, VirtualTable.RowHighlighted):
            highlighted.append(message.row_key)

    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await flushed_demo(pilot)
        pane = app.pane("rollouts")
        assert pane.selected_record(app.cache).key == "shop/checkout"

        pane.filter_text = "web"
        pane.reapply_filter()
        await pilot.pause()

        assert pane.selected_record(app.cache).key == "shop/web-blue"
        assert highlighted[-1] == pane.selected_key()  # the hint and the node detail follow it


async def flushed_demo(pilot) -> None:
    """The demo set flushed into the panes."""
    await pilot.pause()
    pilot.app.flush()
    await pilot.pause()
