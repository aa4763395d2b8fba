"""``VirtualTable``: a keyed table drawn with Textual's Line API, for panes of thousands of rows.

Textual's DataTable keeps a Python object per row and cell, re-measures on insert and throws
away every rendered line after any change, so a flush that touches a 5,000-row pane repaints
all of it. This table keeps each row as the pane's tuple of cells, in one list of keys in
display order, and renders only the lines on screen (``render_line``), each cached until its
cells (by identity), the cursor on it, the widths or the styles change. A cursor move marks two
lines dirty; an update marks its own line, and only if it is on screen.

It draws like the DataTable it replaces (same component classes and CSS, one-line rows, a
fixed header, cell padding 1) and offers the part of its API the panes use: ``add_column``,
``add_row``, ``update_cell``, ``remove_row``, ``clear``, ``sort``, ``rows``, ``row_count``,
``get_row_index``, ``get_row``, ``get_row_at``, ``get_cell``, ``cursor_row``, ``move_cursor`` and a ``RowHighlighted``
message handled as ``on_data_table_row_highlighted``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.renderables.styled import Styled
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets._data_table import default_cell_formatter

CELL_PADDING = 1
ROW_CACHE = 512  # rendered rows kept (a screenful is about 40; scrolling back finds them here)


@dataclass
class Column:
    """A column: its key, its header label and its content width (padding excluded)."""

    key: str
    label: Text
    width: int

    @property
    def render_width(self) -> int:
        """Width on screen, padding included."""
        return self.width + 2 * CELL_PADDING


class RowDoesNotExist(LookupError):
    """No row with that key (or index) is shown."""


class VirtualTable(ScrollView, can_focus=True):
    """A keyed, row-cursor table that renders only the lines on screen (see the module docstring)."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "cursor_home", "Top", show=False),
        Binding("end,ctrl+end", "cursor_end", "Bottom", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"datatable--cursor", "datatable--header"}
    # DataTable's own rules for the parts this table draws, so both look the same in every theme.
    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .datatable--header { background-tint: $foreground 5%; }
        }
        & > .datatable--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .datatable--header { background: ansi_bright_blue; color: ansi_default; }
        & > .datatable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    cursor_row: reactive[int] = reactive(0, repaint=False, init=False)  # repaints its two lines itself
    show_cursor = True

    @dataclass
    class RowHighlighted(Message, namespace="data_table"):
        """The cursor moved to another row (handled as ``on_data_table_row_highlighted``,
        like the DataTable message it stands in for)."""

        data_table: VirtualTable
        cursor_row: int
        row_key: str | None

        @property
        def control(self) -> VirtualTable:
            """The table that sent the message."""
            return self.data_table

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns: dict[str, Column] = {}  # by key, in display order
        self._keys: list[str] = []  # display order
        self._cells: dict[str, tuple] = {}  # key -> cells, the pane's tuples as given
        self._positions: dict[str, int] | None = {}  # key -> index; None = rebuild on next use
        self._line_cache: dict[tuple, tuple[tuple, Strip]] = {}
        self.rendered_rows = 0  # rows rendered (cache misses) since mounting: tests count them
        self._highlighted: str | None = None  # the row key the last RowHighlighted named
        self._highlight_pending = False

    # -- columns and rows ----------------------------------------------------------------------

    def add_column(self, label: str | Text, *, key: str, width: int | None = None) -> str:
        """Add a column ``width`` cells wide (the label's width when None)."""
        text = Text.from_markup(label) if isinstance(label, str) else label
        self.columns[key] = Column(key, text, text.cell_len if width is None else width)
        self._changed_shape()
        return key

    @property
    def rows(self) -> dict[str, tuple]:
        """The shown rows by key (read only: use the methods to change them)."""
        return self._cells

    @property
    def row_count(self) -> int:
        """How many rows are shown."""
        return len(self._keys)

    @property
    def ordered_keys(self) -> list[str]:
        """The shown row keys in display order (read only)."""
        return self._keys

    def add_row(self, *cells: Any, key: str) -> str:
        """Append a row (``key`` must not be shown yet)."""
        if key in self._cells:
            raise ValueError(f"row {key!r} is already shown")
        self._cells[key] = cells
        if self._positions is not None:
            self._positions[key] = len(self._keys)
        self._keys.append(key)
        self._changed_rows()
        self._refresh_row(len(self._keys) - 1)
        return key

    def update_cell(self, row_key: str, column_key: str, value: Any) -> None:
        """Replace one cell; only that row's line is redrawn (when on screen)."""
        cells = self._cells.get(row_key)
        if cells is None:
            raise RowDoesNotExist(row_key)
        column = self._column_index(column_key)
        self._cells[row_key] = (*cells[:column], value, *cells[column + 1:])
        self._refresh_row(self.get_row_index(row_key))

    def update_row(self, row_key: str, cells: tuple) -> None:
        """Replace a whole row's cells (one line redrawn)."""
        if row_key not in self._cells:
            raise RowDoesNotExist(row_key)
        self._cells[row_key] = cells
        self._refresh_row(self.get_row_index(row_key))

    def remove_row(self, row_key: str) -> None:
        """Remove a row; the cursor stays on the same index (clamped)."""
        if self._cells.pop(row_key, None) is None:
            raise RowDoesNotExist(row_key)
        index = self._positions.get(row_key) if self._positions is not None else None
        if index is None or index >= len(self._keys) or self._keys[index] != row_key:
            index = self._keys.index(row_key)
        del self._keys[index]
        self._positions = None
        self._changed_rows()
        self.refresh()

    def clear(self, columns: bool = False) -> None:
        """Remove every row (and the columns too, with ``columns=True``)."""
        self._keys, self._cells, self._positions = [], {}, {}
        if columns:
            self.columns = {}
            self._changed_shape()
        self._changed_rows()
        self.refresh()

    def sort(self, column_key: str, *, key: Callable[[Any], Any] = lambda cell: cell,
             reverse: bool = False) -> None:
        """Order the rows by ``key(cell of column_key)`` (stable); the cursor keeps its index."""
        column = self._column_index(column_key)
        cells = self._cells
        self._keys.sort(key=lambda row: key(cells[row][column]), reverse=reverse)
        self._positions = None
        self.refresh()
        self._check_highlight()

    def get_row_index(self, row_key: str) -> int:
        """The display index of a shown row."""
        if self._positions is None:
            self._positions = {k: i for i, k in enumerate(self._keys)}
        try:
            return self._positions[row_key]
        except KeyError:
            raise RowDoesNotExist(row_key) from None

    def get_row_at(self, index: int) -> list[Any]:
        """The cells of the row at display ``index``."""
        if not 0 <= index < len(self._keys):
            raise RowDoesNotExist(index)
        return list(self._cells[self._keys[index]])

    def get_row(self, row_key: str) -> list[Any]:
        """The cells of a shown row."""
        cells = self._cells.get(row_key)
        if cells is None:
            raise RowDoesNotExist(row_key)
        return list(cells)

    def get_cell(self, row_key: str, column_key: str) -> Any:
        """The cell of a shown row in column ``column_key``."""
        cells = self._cells.get(row_key)
        if cells is None:
            raise RowDoesNotExist(row_key)
        return cells[self._column_index(column_key)]

    def _column_index(self, column_key: str) -> int:
        for index, key in enumerate(self.columns):
            if key == column_key:
                return index
        raise KeyError(column_key)

    def _refresh_row(self, index: int) -> None:
        """Mark row ``index``'s line dirty, when it is on screen (a row off screen costs nothing)."""
        line = index + 1 - round(self.scroll_y)
        if 1 <= line < self.size.height:
            self.refresh_line(index + 1)

    def _changed_shape(self) -> None:
        self._line_cache.clear()
        self._changed_rows()
        self.refresh()

    def _changed_rows(self) -> None:
        """Row count or column widths changed: new virtual size; the cursor kept inside."""
        width = sum(c.render_width for c in self.columns.values())
        self.virtual_size = Size(width, len(self._keys) + 1)
        if self.cursor_row >= len(self._keys) and self._keys:
            self.cursor_row = len(self._keys) - 1
        self._check_highlight()

    def _check_highlight(self) -> None:
        """Another row may have come under the cursor without it moving (rows added, removed,
        re-sorted, filtered): look once the current batch of changes is done."""
        if not self._highlight_pending:
            self._highlight_pending = True
            self.call_next(self._settle_highlight)

    def _settle_highlight(self) -> None:
        self._highlight_pending = False
        if self.cursor_key != self._highlighted:  # say so, as a cursor move would
            self._refresh_row(self.cursor_row)
            self._highlight()

    def _highlight(self) -> None:
        self._highlighted = self.cursor_key
        self.post_message(self.RowHighlighted(self, self.cursor_row, self._highlighted))

    # -- cursor --------------------------------------------------------------------------------

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor (None when there are no rows)."""
        if not self._keys:
            return None
        return self._keys[min(self.cursor_row, len(self._keys) - 1)]

    def move_cursor(self, *, row: int) -> None:
        """Put the cursor on display row ``row`` (clamped) and scroll it into view."""
        self.cursor_row = row

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self._keys) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        # Two lines change, not the table: the old cursor line and the new one.
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_cursor_into_view()
        self._highlight()

    def _scroll_cursor_into_view(self) -> None:
        rows_shown = max(1, self.scrollable_content_region.height - 1)  # below the header
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, force=True)
        elif self.cursor_row >= top + rows_shown:
            self.scroll_to(y=self.cursor_row - rows_shown + 1, animate=False, force=True)

    def action_cursor_up(self) -> None:
        """One row up."""
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        """One row down."""
        self.cursor_row += 1

    def action_page_up(self) -> None:
        """One screenful up."""
        self.cursor_row -= max(1, self.scrollable_content_region.height - 1)

    def action_page_down(self) -> None:
        """One screenful down."""
        self.cursor_row += max(1, self.scrollable_content_region.height - 1)

    def action_cursor_home(self) -> None:
        """The first row."""
        self.cursor_row = 0

    def action_cursor_end(self) -> None:
        """The last row."""
        self.cursor_row = len(self._keys) - 1

    def on_click(self, event: events.Click) -> None:
        """A click on a row puts the cursor there."""
        row = event.y - 1 + round(self.scroll_y)
        if event.y >= 1 and 0 <= row < len(self._keys):
            self.cursor_row = row

    def on_resize(self) -> None:
        """A new width changes how far each line's background extends."""
        self._line_cache.clear()

    # -- rendering -----------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        """Colours changed (theme, focus): drop the rendered lines."""
        super().notify_style_update()
        self._line_cache.clear()

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the widget: the header on top, then the rows from the scroll offset."""
        width = self.size.width
        base = self.rich_style
        if y == 0:
            strip = self._header_strip(base)
        else:
            index = y - 1 + round(self.scroll_y)
            if index >= len(self._keys):
                return Strip.blank(width, base)
            strip = self._row_strip(index, base)
        scroll_x = round(self.scroll_x)
        return strip.crop(scroll_x, scroll_x + width).adjust_cell_length(width, base)

    def _header_strip(self, base: Style) -> Strip:
        header = self.get_component_rich_style("datatable--header")
        cached = self._line_cache.get(("header", base))
        if cached is not None:
            return cached[1]
        strip = self._strip([c.label for c in self.columns.values()], header, Style(), header)
        self._line_cache[("header", base)] = ((), strip)
        return strip

    def _row_strip(self, index: int, base: Style) -> Strip:
        key = self._keys[index]
        cells = self._cells[key]
        cursor = self.show_cursor and index == self.cursor_row
        cache_key = (key, cursor, base, self.has_focus)
        cached = self._line_cache.get(cache_key)
        if cached is not None and cached[0] is cells:
            return cached[1]
        self.rendered_rows += 1
        cursor_style = self.get_component_rich_style("datatable--cursor") if cursor else Style()
        strip = self._strip(cells, base, cursor_style, base + cursor_style)
        if len(self._line_cache) >= ROW_CACHE:
            self._line_cache.clear()
        self._line_cache[cache_key] = (cells, strip)
        return strip

    def _strip(self, cells: Any, row_style: Style, cursor_style: Style, extend_style: Style) -> Strip:
        """One row as DataTable draws it: each cell padded and cut to its column, then the
        row's background carried to the right edge."""
        console = self.app.console
        segments: list[Segment] = []
        # DataTable's default: the cursor's CSS colour wins over the cell's own foreground.
        post = Style.from_color(color=cursor_style.color)
        for index, (column, cell) in enumerate(zip(self.columns.values(), cells)):
            renderable = _EMPTY if cell is None else default_cell_formatter(cell, wrap=False, height=1)
            options = console.options.update_dimensions(column.render_width, 1).update(no_wrap=True)
            # The column in the style's meta keeps each cell its own segment (a screenshot draws
            # the cells apart, as DataTable's do).
            pre = row_style + _column_meta(index) + cursor_style
            lines = console.render_lines(Styled(Padding(renderable, (0, CELL_PADDING)), pre_style=pre, post_style=post),
                                         options, pad=True)
            segments += Segment.simplify(lines[0])
        table_width = sum(c.render_width for c in self.columns.values())
        segments.append(Segment(" " * max(0, self.size.width - table_width), extend_style + _OUT_OF_BOUNDS))
        return Strip(segments)


@lru_cache(maxsize=64)
def _column_meta(index: int) -> Style:
    return Style.from_meta({"column": index})


_OUT_OF_BOUNDS = Style.from_meta({"out_of_bounds": True})
_EMPTY: RenderableType = Text()
