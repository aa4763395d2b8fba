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


async def test_cursor_move_in_5000_nodes_redraws_only_the_visible_rows():
    app = make_app(many_nodes())
    async with app.run_test(size=SIZE) as pilot:
        await flushed(pilot)
        app.focus_pane("nodes")
        await pilot.press("down")
        await pilot.pause()
        table = app.pane("nodes").table
        rendered = count_render_lines(table)

        await pilot.press("down")
        await pilot.pause()

        assert table.cursor_row == 2
        assert 0 < len(rendered) <= table.size.height, (len(rendered), table.size.height)


async def test_nodes_differing_after_the_ninth_character_are_distinguishable():
    app = make_app(many_nodes())
    async with app.run_test(size=SIZE) as pilot:
        await flushed(pilot)
        lines = screen_lines(app.pane("nodes").table)

        first = next(line for line in lines if "worker-00001" in line)
        second = next(line for line in lines if "worker-00002" in line)
        assert first != second
