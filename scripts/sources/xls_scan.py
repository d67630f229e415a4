"""The box of the cells of each worksheet of a binary .xls (BIFF8), measured from its records.

calamine reads every sheet of an .xls when it opens it: it reserves room for the box its DIMENSIONS
record declares, then makes a dense grid over the cells it finds (values and formulas). One cell
record patched to column 16,383 made it abort; a cell at IV65536 cost 1.2 GB. This walks the
Workbook stream first (olefile reads the OLE container) and refuses before calamine sees the file.
Like the .xlsx scan it notes formula error cells, which calamine reads as ''.
"""

from __future__ import annotations

import struct

from .xlsx_scan import MAX_CELLS, SheetScan, TooLarge

ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!",
          0x2A: "#N/A", 0x2B: "#GETTING_DATA"}
_BOF, _EOF, _BOUNDSHEET, _DIMENSIONS, _FILEPASS = 0x0809, 0x000A, 0x0085, 0x0200, 0x002F
_CELLS = {0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006}  # number, label, rstring, boolerr, rk, sst, formula
_MULRK = 0x00BD
_BOOLERR, _FORMULA = 0x0205, 0x0006
# What calamine reserves from DIMENSIONS is address space it does not touch; a full BIFF8 sheet
# (65,536 x 256) is fine, a declared 65,536 x 65,536 (171 GB) aborts the process.
MAX_DECLARED = 65536 * 256
# Each sheet is read from where its BOUNDSHEET record points; 400k of them pointing at one place would
# make the reading quadratic (in calamine as well as here).
MAX_SHEETS = 4096


class TooManySheets(Exception):
    def __init__(self, bound: int):
        super().__init__(bound)
        self.bound = bound


class XlsTooLarge(TooLarge):
    def __init__(self, scan: SheetScan, title: str, declared: bool = False):
        super().__init__(scan)
        self.title = title
        self.declared = declared


def workbook_stream(path: str) -> bytes | None:
    """The BIFF stream of an OLE file, or None when it has none (an encrypted .xlsx, a .doc...)."""
    import olefile  # noqa: PLC0415

    with olefile.OleFileIO(path) as ole:
        for name in ("Workbook", "Book"):
            if ole.exists(name):
                return ole.openstream(name).read()
    return None


def scan_xls(stream: bytes, max_cells: int = MAX_CELLS) -> dict[str, SheetScan] | None:
    """Every worksheet's box of cells by title; raise XlsTooLarge naming the first one past max_cells.

    None for an encrypted workbook (a FILEPASS record): its cell records cannot be read, and calamine
    names the password.
    """
    sheets = []
    biff8 = True
    for typ, start, end in _records(stream, 0):
        if typ == _BOF and not sheets:
            biff8 = end - start >= 2 and struct.unpack_from("<H", stream, start)[0] == 0x0600
        elif typ == _BOUNDSHEET and end - start >= 8:
            position, kind = struct.unpack_from("<I", stream, start)[0], stream[start + 5]
            if kind == 0:  # a worksheet (not a chart or macro sheet)
                sheets.append((_title(stream[start + 6:end], biff8), position))
                if len(sheets) > MAX_SHEETS:
                    raise TooManySheets(MAX_SHEETS)
        elif typ == _FILEPASS:
            return None
        elif typ == _EOF:
            break
    return {title: _scan_sheet(stream, position, title, biff8, max_cells) for title, position in sheets}


def _records(stream: bytes, position: int):
    size = len(stream)
    while position + 4 <= size:
        typ, length = struct.unpack_from("<HH", stream, position)
        start = position + 4
        end = min(start + length, size)
        yield typ, start, end
        position = end


def _title(data: bytes, biff8: bool) -> str:
    if not data:
        return ""
    count = data[0]
    if not biff8:
        return data[1:1 + count].decode("latin-1")
    wide = len(data) > 1 and data[1] & 1
    raw = data[2:2 + count * (2 if wide else 1)]
    return raw.decode("utf-16-le", "replace") if wide else raw.decode("latin-1")


def _scan_sheet(stream: bytes, position: int, title: str, biff8: bool, max_cells: int) -> SheetScan:
    scan = SheetScan()
    depth = 0
    seen_bof = False
    rows: list[int] = []
    cols: list[int] = []
    for typ, start, end in _records(stream, position):
        if depth:
            depth += (typ == _BOF) - (typ == _EOF)
            continue
        if typ == _BOF:
            depth, seen_bof = (1, seen_bof) if seen_bof else (0, True)
        elif typ == _EOF:
            break
        elif typ == _DIMENSIONS and end - start >= (12 if biff8 else 8):
            first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH" if biff8 else "<HHHH", stream, start)
            declared = SheetScan(first_row + 1, max(last_row, first_row + 1), first_col + 1, max(last_col, first_col + 1))
            if declared.cells > max(max_cells, MAX_DECLARED):  # calamine reserves this before reading a cell
                raise XlsTooLarge(declared, title, declared=True)
        elif typ in _CELLS and end - start >= 4:
            row, col = struct.unpack_from("<HH", stream, start)
            rows.append(row)
            cols.append(col)
            if typ == _BOOLERR and end - start >= 8 and stream[start + 7] == 1:
                scan.errors[(row + 1, col + 1)] = ERRORS.get(stream[start + 6], "#N/A")
            elif typ == _FORMULA and end - start >= 14 and stream[start + 6] == 2 \
                    and stream[start + 12:start + 14] == b"\xff\xff":
                scan.errors[(row + 1, col + 1)] = ERRORS.get(stream[start + 8], "#N/A")
        elif typ == _MULRK and end - start >= 6:
            row, first = struct.unpack_from("<HH", stream, start)
            last = struct.unpack_from("<H", stream, end - 2)[0]
            rows.append(row)
            cols.extend((first, max(first, last)))
        if len(rows) >= 65536:
            _fold(scan, rows, cols, title, max_cells)
    _fold(scan, rows, cols, title, max_cells)
    return scan


def _fold(scan: SheetScan, rows: list[int], cols: list[int], title: str, max_cells: int) -> None:
    if rows:
        scan.add(min(rows) + 1, min(cols) + 1)
        scan.add(max(rows) + 1, max(cols) + 1)
        rows.clear()
        cols.clear()
        if scan.cells > max_cells:
            raise XlsTooLarge(scan, title)
