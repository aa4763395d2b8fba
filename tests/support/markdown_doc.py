"""Reading a Markdown document back with markdown-it-py: headings and tables, as a reader sees them."""

from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it import MarkdownIt


@dataclass
class Table:
    """A parsed GFM table: header cells and body rows (cell text as rendered inline content)."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def column(self, name: str) -> list[str]:
        """The cells of one column, by header name."""
        index = self.header.index(name)
        return [row[index] for row in self.rows]


@dataclass
class Document:
    """Headings as (level, text) in order, and tables with the heading they sit under."""

    headings: list[tuple[int, str]]
    tables: list[tuple[str, Table]]

    def tables_under(self, heading: str) -> list[Table]:
        """The tables whose nearest heading above is ``heading``."""
        return [t for h, t in self.tables if h == heading]


def parse(text: str) -> Document:
    """Parse with CommonMark plus tables; raises AssertionError when a table row has the wrong width."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings: list[tuple[int, str]] = []
    tables: list[tuple[str, Table]] = []
    current, table, row, in_head = "", None, None, False
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            current = tokens[i + 1].content
            headings.append((int(token.tag[1]), current))
        elif token.type == "table_open":
            table = Table([])
        elif token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(token.content)
        elif token.type == "tr_close" and table is not None and row is not None:
            if in_head:
                table.header = row
            else:
                assert len(row) == len(table.header), f"row {row} does not match header {table.header}"
                table.rows.append(row)
            row = None
        elif token.type == "table_close" and table is not None:
            tables.append((current, table))
            table = None
    return Document(headings, tables)
