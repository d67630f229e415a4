"""The box of the cells of each table of an OpenDocument workbook, measured from content.xml.

calamine reads every table of an .ods when it opens it, expanding ``number-rows-repeated`` and
``number-columns-repeated`` into a dense grid: a 2 KB file asking for 8,000 x 8,000 repeated values
cost 4 GB and 11 s (calamine's own guard stops only at 100 million cells, 3.2 GB). This runs first,
streaming content.xml, and stops at the first table whose box passes the bound. Like the .xlsx scan
it notes formula error cells (``calcext:value-type="error"``), which calamine reads as ''.
"""

from __future__ import annotations

import re
from typing import IO

from .xlsx_scan import CHUNK, MAX_CELLS, SheetScan, TooLarge

# Attribute values may hold ">" (quick-xml, calamine's parser, reads them whole): so does the pattern.
_TOKEN = re.compile(rb"""<(/?)table:(table|table-row|table-cell|covered-table-cell)(?=[\s>/])"""
                    rb"""((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>""")
_NAME = re.compile(rb'table:name\s*=\s*"([^"]*)"')
_ROWS = re.compile(rb'table:number-rows-repeated\s*=\s*"(\d{1,10})"')
_COLS = re.compile(rb'table:number-columns-repeated\s*=\s*"(\d{1,10})"')
_CHILD = re.compile(rb"\s*<(?!/)")
_TEXT = re.compile(rb"<text:p>([^<]{1,40})</text:p>")
MAX_ERROR_COPIES = 1000  # an error repeated over a block of cells is noted cell by cell up to this many


class OdsTooLarge(TooLarge):
    def __init__(self, scan: SheetScan, table: str):
        super().__init__(scan)
        self.table = table


def scan_ods(stream: IO[bytes], max_cells: int = MAX_CELLS) -> dict[str, SheetScan]:
    """Every table's box of non-empty cells; raise OdsTooLarge naming the first table past max_cells."""
    tables: dict[str, SheetScan] = {}
    state = _State()
    tail = b""
    while True:
        chunk = stream.read(CHUNK)
        data = tail + chunk
        cut = data.rfind(b"<") if chunk else len(data)
        cut = cut if cut > 0 else len(data)
        data, tail = data[:cut], data[cut:]
        _scan(data, state, tables, max_cells)
        if not chunk:
            return tables


class _State:
    def __init__(self) -> None:
        self.name = ""
        self.scan = SheetScan()
        self.row = 0  # rows before the current one
        self.repeat = 1  # of the current row
        self.col = 0  # columns before the next cell
        self.first: int | None = None  # first and last non-empty column of the current row
        self.last = 0


def _scan(data: bytes, st: _State, tables: dict[str, SheetScan], max_cells: int) -> None:
    for match in _TOKEN.finditer(data):
        closing, tag, attrs, empty = match.groups()
        if tag == b"table":
            if closing:
                tables[st.name] = st.scan
            else:
                name = _NAME.search(attrs)
                st.name = name.group(1).decode("utf-8", "replace") if name else ""
                st.scan, st.row = SheetScan(), 0
            continue
        if tag == b"table-row":
            if not closing:
                rows = _ROWS.search(attrs)
                st.repeat, st.col, st.first = (int(rows.group(1)) if rows else 1), 0, None
            if closing or empty:
                if st.first is not None:
                    st.scan.add(st.row + 1, st.first)
                    st.scan.add(st.row + st.repeat, st.last)
                    if st.scan.cells > max_cells:
                        raise OdsTooLarge(st.scan, st.name)
                st.row += st.repeat
            continue
        if closing:
            continue
        cols = _COLS.search(attrs)
        repeat = int(cols.group(1)) if cols else 1
        if b"value-type" in attrs or (not empty and _CHILD.match(data, match.end())):
            st.first = st.col + 1 if st.first is None else st.first
            st.last = st.col + repeat
            if b'value-type="error"' in attrs:
                _note_error(data, match.end(), st, repeat)
        st.col += repeat


def _note_error(data: bytes, at: int, st: _State, repeat: int) -> None:
    text = _TEXT.search(data, at, at + 4096)
    if text is None or repeat * st.repeat > MAX_ERROR_COPIES:
        return
    for row in range(st.row + 1, st.row + st.repeat + 1):
        for col in range(st.col + 1, st.col + repeat + 1):
            st.scan.errors[(row, col)] = text.group(1).decode("utf-8", "replace")
