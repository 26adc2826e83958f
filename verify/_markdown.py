"""Markdown tables that render: every cell escaped once, here (GitHub-flavoured Markdown, as markdown-it-py
parses it). A bare ``|`` in a cell ends the cell (``max |z|`` became "max" and "z"), so it is written ``\\|``;
a newline ends the row, so it becomes a space. ``tests/test_markdown.py`` parses every table the project
writes with markdown-it-py and checks each row keeps its columns."""

from __future__ import annotations

from typing import Iterable

__all__ = ["cell", "row", "table"]


def cell(value) -> str:
    """``value`` as the text of one table cell."""
    return " ".join(str(value).replace("\\|", "|").replace("|", "\\|").splitlines())


def row(values: Iterable) -> str:
    return "| " + " | ".join(cell(v) for v in values) + " |"


def table(header: Iterable, rows: Iterable[Iterable]) -> list[str]:
    """The lines of a table: header, separator, rows."""
    header = list(header)
    return [row(header), "|" + "---|" * len(header)] + [row(r) for r in rows]
