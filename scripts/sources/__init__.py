"""Readers of workbooks: every format becomes a Workbook of Sheets yielding (Excel row number, values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

Row = tuple[int, Sequence[Any]]


@dataclass(frozen=True)
class Grid:
    """The cells of a sheet: ``rows`` yields (row number as Excel shows it, values from ``first_col``)."""

    rows: Iterator[Row]
    first_col: int = 0  # 0-based column of values[0]


@dataclass(frozen=True)
class Sheet:
    """One worksheet; ``read()`` parses it (lazily, so unmapped sheets of a big workbook cost nothing)."""

    title: str
    read: Callable[[], Grid]
    hidden: bool = False
    epoch1904: bool = False
    url: str | None = None  # for sources that can link to a cell (Google Sheets)


@dataclass(frozen=True)
class Workbook:
    name: str
    path: str
    sheets: tuple[Sheet, ...]
