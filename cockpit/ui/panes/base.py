"""Pane machinery: a keyed virtual table that takes row diffs, and the pane container around it.

A pane owns ``rows: dict[key, cells]`` (everything it knows) and shows the subset that
matches its filter. ``upsert``/``drop`` touch only the keys they are given, and the table
(:class:`~cockpit.ui.panes.vtable.VirtualTable`, Line API) is changed with add_row /
update_row / remove_row by key, so a watch event redraws at most its own line, and only
when it is on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from cockpit.ui.actions.registry import ActionRegistry
from cockpit.ui.panes.vtable import RowDoesNotExist, VirtualTable
from cockpit.ui.themes import semantic_colour

Cells = tuple[Any, ...]


class SortText(Text):
    """A cell that carries the key its row sorts by (the table's sort only sees cell values).

    With ``width``, a longer text is shortened in the middle (``kube-system/met…server-b``), so
    names that differ only at the end stay distinguishable; ``full`` keeps the whole text for
    filtering, and ``wanted`` tells a FIT column how wide it would like to be.
    """

    def __init__(self, text: str, sort_key: Any, style: str = "", width: int = 0) -> None:
        super().__init__(middle_ellipsis(text, width) if width else text, style=style)
        self.sort_key = sort_key
        self.full = text
        self.wanted = len(text)
        self.width = width

    def refit(self, width: int) -> SortText:
        """The same cell shortened for a column ``width`` cells wide (itself when nothing changes)."""
        if not self.width or self.width == width:
            return self
        return SortText(self.full, self.sort_key, style=self.style, width=width)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SortText) and self.plain == other.plain
                and self.sort_key == other.sort_key and self.style == other.style)

    __hash__ = None  # type: ignore[assignment]


class FitText(Text):
    """A cell shown shortened for now that would like ``wanted`` cells (e.g. a full image name)."""

    def __init__(self, text: str, wanted: int, style: str = "") -> None:
        super().__init__(text, style=style)
        self.wanted = wanted


def wanted_width(cell: Any) -> int:
    """How wide a cell would like its column: its full text, or what a FitText asks for."""
    return getattr(cell, "wanted", 0) or len(cell_text(cell))


def sort_by_first(table: VirtualTable, column: str, reverse: bool = False) -> None:
    """Sort a table by the SortText in ``column``."""
    table.sort(column, key=lambda cell: cell.sort_key, reverse=reverse)


def sort_key(cells: Cells | None) -> Any:
    """What a row sorts by: the sort key of its first cell (None without one)."""
    return getattr(cells[0], "sort_key", None) if cells else None


def same_cell(a: Any, b: Any) -> bool:
    """Cell equality that also sees styles (Rich's Text.__eq__ ignores the base style)."""
    if isinstance(a, Text) and isinstance(b, Text):
        return a == b and str(a.style) == str(b.style)
    return a == b


def cell_text(cell: Any) -> str:
    """Plain text of a cell (for filtering and tests): the full text of a shortened one."""
    full = getattr(cell, "full", None)
    if full is not None:
        return full
    return cell.plain if isinstance(cell, Text) else str(cell)


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells by dropping its middle, keeping both ends readable."""
    if len(text) <= width or width < 5:
        return text
    head = (width - 1) // 2
    return f"{text[:head]}…{text[len(text) - (width - 1 - head):]}"


class PaneTable(VirtualTable):
    """The table inside a pane; pane-specific bindings are added by subclassing at build time."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("j", "cursor_down", "Down", show=False, id="cursor.down"),
        Binding("k", "cursor_up", "Up", show=False, id="cursor.up"),
    ]

    def action_pane(self, method: str) -> None:
        """Forward a key to a method of the owning pane (``pane('toggle_expand')``)."""
        pane = next((a for a in self.ancestors if isinstance(a, Pane)), None)
        if pane is not None:
            getattr(pane, method)()


def table_class(name: str, bindings: Sequence[Binding]) -> type[PaneTable]:
    """A PaneTable subclass carrying a pane's bindings (plus its registered actions).

    Creating the class with ``type()`` lets Textual merge the bindings through its normal
    class machinery, so every binding keeps its id and can be remapped with App.set_keymap.
    """
    return type(name, (PaneTable,), {"BINDINGS": list(bindings)})


def action_bindings(registry: ActionRegistry, pane: str) -> list[Binding]:
    """Key bindings for the registered actions of one pane (palette-only actions are skipped)."""
    def label(title: str) -> str:
        short = title.split(": ", 1)[-1]
        return short[:1].upper() + short[1:]

    return [
        Binding(a.key, f"app.run_pane_action('{a.id}')", label(a.title), tooltip=a.description, id=a.id)
        for a in registry.for_pane(pane)
        if a.key
    ]


class Pane(Vertical, can_focus=False):
    """A titled box with an optional header line, a filter input and a keyed table.

    Subclasses set ``PANE`` (id), ``TITLE``, ``COLUMNS`` ((key, label, width) triples) and
    ``TABLE_BINDINGS``, and implement ``refresh_from(cache, changes)``.
    """

    ALLOW_MAXIMIZE = True
    PANE: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    COLUMNS: ClassVar[Sequence[tuple[str, str, int | None]]] = ()
    TABLE_BINDINGS: ClassVar[Sequence[Binding]] = ()
    KINDS: ClassVar[tuple[str, ...]] = ()
    # Columns that grow to fit their widest cell first (names are never cut into look-alikes),
    # in order; then FLEX columns take the width left over, in order, each up to a cap (None = no cap).
    FIT: ClassVar[tuple[str, ...]] = ()
    FLEX: ClassVar[tuple[tuple[str, int | None], ...]] = ()

    def __init__(self, registry: ActionRegistry, cache: Any, clock: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(id=self.PANE, classes="pane", **kwargs)
        self.cache = cache  # the state layer's cache (ClusterCache or a fixture with its interface)
        self.now = clock  # the (possibly frozen) current time, for ages
        self.border_title = self.TITLE
        self.registry = registry
        self.rows: dict[str, Cells] = {}
        self.filter_text = ""
        self._fit: dict[str, int] = {}  # FIT column -> widest cell seen (grow-only between rebuilds)
        self._refit = False
        self._table: PaneTable | None = None
        bindings = [*self.TABLE_BINDINGS, *action_bindings(registry, self.PANE)]
        self._binding_list = bindings
        self._table_cls = table_class(f"{type(self).__name__}Table", bindings)

    def compose(self) -> ComposeResult:
        self._header = Static("", classes="pane-header")
        self._filter = Input(placeholder="filter: type, enter to keep, esc to clear", classes="pane-filter")
        self._forbidden = Static("", classes="forbidden")
        yield self._header
        yield self._filter
        yield self._forbidden
        table = self._table_cls(id=f"{self.PANE}-table", classes="pane-table")
        self._table = table  # kept: timers may fire while the DOM is being torn down
        self._widths = self.column_widths(0)
        for (key, label, _), width in zip(self.COLUMNS, self._widths):
            table.add_column(label, key=key, width=width)
        yield table
        yield from self.compose_extra()

    def column_widths(self, available: int) -> list[int]:
        """Column widths for a table ``available`` cells wide: FIT columns grow to their content,
        then FLEX columns get what is left over."""
        widths = [width or 0 for _, _, width in self.COLUMNS]
        spare = available - (sum(widths) + 2 * len(widths) + 2)  # cell padding and the scrollbar
        keys = [key for key, _, _ in self.COLUMNS]
        for key in self.FIT:
            if key in keys:
                extra = max(0, min(spare, self._fit.get(key, 0) - widths[keys.index(key)]))
                widths[keys.index(key)] += extra
                spare -= extra
        for key, cap in self.FLEX:
            extra = max(0, spare if cap is None else min(spare, cap))
            widths[keys.index(key)] += extra
            spare -= extra
        return widths

    def on_resize(self) -> None:
        """Give the FLEX column the pane's spare width (only when the width really changed)."""
        widths = self.column_widths(self.content_size.width)
        if widths != self._widths and self._table is not None and self._table.is_mounted:
            self._widths = widths
            self._refit_cells()
            self.rebuild_table()

    def column_width(self, key: str) -> int:
        """The current width of column ``key`` (what a shortened cell of it must fit)."""
        widths = getattr(self, "_widths", None) or self.column_widths(0)
        return widths[[k for k, _, _ in self.COLUMNS].index(key)]

    def _refit_cells(self) -> None:
        """Re-shorten the FIT columns' names for their new width (O(rows), only on a re-layout)."""
        keys = [key for key, _, _ in self.COLUMNS]
        for key in self.FIT:
            if key not in keys:
                continue
            index, width = keys.index(key), self.column_width(key)
            for row, cells in self.rows.items():
                cell = cells[index]
                if isinstance(cell, SortText) and cell.width and cell.width != width:
                    self.rows[row] = (*cells[:index], cell.refit(width), *cells[index + 1:])

    def _measure(self, cells: Cells) -> None:
        """Track the widest cell of each FIT column; a new widest one asks for a re-layout."""
        keys = [key for key, _, _ in self.COLUMNS]
        for key in self.FIT:
            if key in keys:
                wanted = wanted_width(cells[keys.index(key)])
                if wanted > self._fit.get(key, 0):
                    self._fit[key] = wanted
                    self._refit = True

    def rebuild_table(self) -> None:
        """Re-create columns and visible rows (O(rows); only on resize, maximise or filter)."""
        table = self.table
        cursor_key = self.selected_key()
        with self.app.batch_update():
            table.clear(columns=True)
            for (key, label, _), width in zip(self.COLUMNS, self._widths):
                table.add_column(label, key=key, width=width)
            for key, cells in self.rows.items():
                if self.matches(cells):
                    table.add_row(*cells, key=key)
            self.resort()
        self._restore_cursor(cursor_key)

    def compose_extra(self) -> ComposeResult:
        """Extra widgets below the table (the Rollouts detail view)."""
        yield from ()

    def table_bindings(self) -> list[Binding]:
        """This pane's key bindings (for the help screen)."""
        return list(self._binding_list)

    def colour(self, name: str) -> str:
        """A semantic colour of the current theme (see ui.themes.SEMANTIC_DEFAULTS)."""
        return semantic_colour(self.app.theme_variables, name)

    def show_forbidden(self, kinds: list[str]) -> None:
        """Show "forbidden" instead of the table when the user may not list the pane's kinds."""
        main_forbidden = bool(kinds) and kinds[0] == self.KINDS[0]
        if main_forbidden != self.has_class("-forbidden"):
            self.set_class(main_forbidden, "-forbidden")
            self._forbidden.update(
                f"forbidden: your RBAC role may not list {', '.join(kinds)}" if kinds else "")
        self.border_subtitle = f"forbidden: {', '.join(kinds)}" if kinds else ""

    # -- filter / back -----------------------------------------------------------------------

    def open_filter(self) -> None:
        """Show and focus the filter input."""
        self.add_class("-filtering")
        field = self._filter
        field.value = self.filter_text
        # Now, not on the next turn (Widget.focus defers): the characters typed right after "/"
        # belong to the filter, never to the pane's key bindings.
        self.screen.set_focus(field)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value != self.filter_text:
            self.filter_text = event.value
            self.reapply_filter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()
        if not self.filter_text:
            self.remove_class("-filtering")

    def back(self) -> bool:
        """Esc: clear an active filter first; returns True when something was undone."""
        if self.has_class("-filtering"):
            self.filter_text = ""
            self._filter.value = ""
            self.remove_class("-filtering")
            self.reapply_filter()
            self.table.focus()
            return True
        return False

    def tick(self, cache: Any) -> None:
        """Called once a second; panes with age columns refresh them."""

    def selected_record(self, cache: Any) -> Any:
        """The record behind the selected row (for actions); panes override."""
        return None

    @property
    def table(self) -> PaneTable:
        """The pane's table widget."""
        return self._table

    def set_header(self, text: Text | str) -> None:
        """Replace the header line (hidden when empty)."""
        header = self._header
        header.update(text)
        header.display = bool(cell_text(text))

    def selected_key(self) -> str | None:
        """Row key under the cursor, or None."""
        return self.table.cursor_key

    # -- row diffing -------------------------------------------------------------------------

    def matches(self, cells: Cells) -> bool:
        """True when the row passes the pane filter (case-insensitive substring of any cell)."""
        if not self.filter_text:
            return True
        needle = self.filter_text.lower()
        return any(needle in cell_text(c).lower() for c in cells)

    def upsert(self, key: str, cells: Cells) -> bool:
        """Add or update one row; returns True when the table changed."""
        old = self.rows.get(key)
        self.rows[key] = cells
        self._measure(cells)
        return self._show(key, cells, old)

    def drop(self, key: str) -> bool:
        """Forget one row; returns True when the table changed."""
        if self.rows.pop(key, None) is None:
            return False
        return self._hide(key)

    def _show(self, key: str, cells: Cells, old: Cells | None) -> bool:
        table = self.table
        if not self.matches(cells):
            return self._hide(key)
        if key not in table.rows:
            table.add_row(*cells, key=key)
            return True
        if old is None or all(same_cell(before, after) for before, after in zip(old, cells)):
            return False
        table.update_row(key, cells)
        return True

    def _hide(self, key: str) -> bool:
        try:
            self.table.remove_row(key)
        except RowDoesNotExist:
            return False
        return True

    def reapply_filter(self) -> None:
        """Rebuild the visible rows after the filter changed (O(rows), only on user input)."""
        self.rebuild_table()

    def _restore_cursor(self, key: str | None) -> None:
        if key is not None and key in self.table.rows and self.selected_key() != key:
            self.table.move_cursor(row=self.table.get_row_index(key))

    def resort(self) -> None:
        """Re-order the table after rows changed; default keeps insertion order."""

    def sync(self, updates: Iterable[tuple[str, Cells | None]]) -> None:
        """Apply a batch of (key, cells-or-None) and re-sort once if anything changed.

        A batch that removes more than half of a big table (a relist after an outage, a
        namespace deleted) rebuilds it instead (each removal shifts the row list).
        """
        updates = list(updates)
        removals = sum(1 for key, cells in updates if cells is None and key in self.rows)
        if removals > 50 and removals * 2 > len(self.rows):
            for key, cells in updates:
                self.rows.pop(key, None) if cells is None else self.rows.__setitem__(key, cells)
            self.rebuild_table()
            return
        reorder = False
        cursor_key = self.selected_key()
        for key, cells in updates:
            if cells is None:
                reorder |= self.drop(key)
                continue
            moved = key not in self.table.rows or sort_key(self.rows.get(key)) != sort_key(cells)
            reorder |= self.upsert(key, cells) and moved
        if reorder:
            # Sorting is O(rows log rows) and redraws the table: only when a row was added,
            # removed or changed its sort key, not for a changed count or age.
            self.resort()
            self._restore_cursor(cursor_key)  # the selection follows its object, not its row number
        if self._refit:  # a wider name arrived: widen its column (a rebuild only when widths change)
            self._refit = False
            if self.is_mounted:
                self.on_resize()

    def refresh_from(self, cache: Any, changes: dict[str, set[str]]) -> None:
        """Update rows from the cache for the changed uids per kind (``None`` = everything)."""
        raise NotImplementedError

    def retheme(self, cache: Any) -> None:
        """Redraw every row after a theme change (colours are baked into the cells)."""
        self.refresh_from(cache, {kind: None for kind in self.KINDS})  # type: ignore[misc]
        self.rebuild_table()
