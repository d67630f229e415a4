"""What one worksheet of an .xlsx really holds, read from its XML before python-calamine sizes a grid.

calamine keeps a sheet as one dense grid over the bounding box of its non-empty cells (32 bytes a
cell): two cells at A1 and XFD1048576 make it ask for 512 GiB and abort the process. The box is
measured here from the cells themselves (their ``r`` references, or their position when a producer
leaves ``r`` out), never from the ``<dimension>`` a file declares, streaming the part in chunks.

The same pass finds formula error cells (``t="e"``): calamine hands them back as ``''``, which would
read as a blank cell; the scan returns their text (``#N/A``) so the reader can put it back.
"""

from __future__ import annotations

import functools
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import IO

from ..findings import column_letter

MAX_CELLS = 10_000_000  # ~450 MB for calamine's grid of an empty box; a 100k-row log of 20 columns is 2M
# A box past MAX_CELLS is still read when its cells fill at least half of it, up to this many cells
# (1 GiB of calamine's grid): a log of a million rows and 14 columns is 14.7M cells, all of them there.
MAX_DENSE_CELLS = 32 * 1024**2
CHUNK = 8 * 1024 * 1024

# Fast path: every cell tag of the chunk starts `<c r="` plus a letter; the box is grown over the value
# cells, the ones not closed at once (`<c r="D9" s="1"/>` is formatting only; calamine skips it, and
# dragged formatting must not count). calamine takes any number of letters, either case, and any number
# of digits, so the patterns do too.
# The rest of a tag, possessive (no backtracking at each formatting-only cell): a quoted value may hold > or />.
_ATTRS = rb"""[^>"']*+(?:(?:"[^"]*+"|'[^']*+')[^>"']*+)*+"""
_CELL = re.compile(rb'<c r="([A-Za-z]+)(\d+)"' + _ATTRS + rb"(?<!/)>")  # without letters or digits calamine refuses it
# Exact path (cells without `r`, namespace prefixes, `r` not first): one token at a time.
_TOKEN = re.compile(rb"""<(/?)(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s>/])((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>""")
_ATTR_R = re.compile(rb'(?<![\w:.-])r\s*=\s*["\']([A-Za-z]*)(\d*)["\']')  # not x:r (calamine takes the last r)
_ERROR_TYPE = re.compile(rb'\bt\s*=\s*["\']e["\']')
_ERROR_CELL = re.compile(rb'<c r="([A-Za-z]+)(\d+)"[^>]*?\bt=["\']e["\'][^>]*>(.*?)</(?:[\w.-]+:)?c>', re.S)
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]{0,40})<")
_CHILD = re.compile(rb"\s*<(?!/)")
# A cell tag without a lettered r first (or <color... in rich text): the chunk goes through the exact path.
_UNUSUAL = re.compile(rb'<c(?! r="[A-Za-z])')
_ODD_R = re.compile(rb"r(?:\s+=|=\s|=')")  # an r attribute with spaces or single quotes (or such text)


class TooLarge(Exception):
    def __init__(self, scan: "SheetScan"):
        super().__init__(scan.span)
        self.scan = scan


@dataclass
class SheetScan:
    """The box of the non-empty cells (1-based, inclusive) and the error cells by (row, column)."""

    first_row: int = 0
    last_row: int = 0
    first_col: int = 0
    last_col: int = 0
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    tags: int = 0  # cells with content seen (an open-and-closed empty cell counts, as it does for the box)

    @property
    def cells(self) -> int:
        if not self.last_row:
            return 0
        return (self.last_row - self.first_row + 1) * (self.last_col - self.first_col + 1)

    @property
    def span(self) -> str:
        return f"{column_letters(self.first_col)}{self.first_row}:{column_letters(self.last_col)}{self.last_row}"

    def too_large(self, max_cells: int | None = None) -> bool:
        """Past ``max_cells`` (MAX_CELLS), unless the cells fill at least half of the box and it stays within
        MAX_DENSE_CELLS."""
        cells = self.cells
        max_cells = MAX_CELLS if max_cells is None else max_cells
        return cells > max_cells and not (cells <= MAX_DENSE_CELLS and cells <= 2 * self.tags)

    def add(self, row: int, col: int) -> None:
        if not self.last_row:
            self.first_row = self.last_row = row
            self.first_col = self.last_col = col
            return
        self.first_row = min(self.first_row, row)
        self.last_row = max(self.last_row, row)
        self.first_col = min(self.first_col, col)
        self.last_col = max(self.last_col, col)


def column_number(letters: bytes | str) -> int:
    n = 0
    for ch in (letters.encode() if isinstance(letters, str) else letters).upper():
        n = n * 26 + ch - 64
    return n


def column_letters(n: int) -> str:
    """1-based column number -> letters (0, an empty box, -> "")."""
    return column_letter(n - 1) if n > 0 else ""


def worksheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> part name inside the zip (xl/worksheets/sheet1.xml), from workbook.xml and its rels."""
    names = set(archive.namelist())
    workbook = next((n for n in ("xl/workbook.xml", "xl/workbook.xlsm") if n in names), None)
    if workbook is None:
        return {}
    rels_name = posixpath.join(posixpath.dirname(workbook), "_rels", posixpath.basename(workbook) + ".rels")
    targets: dict[str, str] = {}
    if rels_name in names:
        for tag in re.findall(rb"<(?:[\w.-]+:)?Relationship\b[^>]*>", archive.read(rels_name)):
            rid, target = _attr(tag, b"Id"), _attr(tag, b"Target")
            if rid and target:
                target = target.replace("\\", "/")
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                    posixpath.join(posixpath.dirname(workbook), target))
                targets[rid] = path
    parts = {}
    for tag in re.findall(rb"<(?:[\w.-]+:)?sheet\b[^>]*>", archive.read(workbook)):
        title, rid = _attr(tag, b"name"), _attr(tag, rb"[\w.-]+:id")
        if title is not None and rid in targets and targets[rid] in names:
            parts[_unescape(title)] = targets[rid]
    return parts


def _attr(tag: bytes, name: bytes) -> str | None:
    match = re.search(rb"\s" + name + rb'\s*=\s*"([^"]*)"', tag) or re.search(rb"\s" + name + rb"\s*=\s*'([^']*)'", tag)
    return match.group(1).decode("utf-8", "replace") if match else None


_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#(\d+)|#x([0-9A-Fa-f]+));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    """An attribute value as XML reads it: the five named entities and character references."""
    def one(match: re.Match[str]) -> str:
        name, decimal, hexadecimal = match.groups()
        if name:
            return _NAMED[name]
        code = int(decimal) if decimal else int(hexadecimal, 16)
        return chr(code) if 0 < code < 0x110000 else match.group()

    return _ENTITY.sub(one, text) if "&" in text else text


def scan_sheet(stream: IO[bytes], max_cells: int | None = None) -> SheetScan:
    """Measure the non-empty cells of one worksheet part; raise TooLarge as soon as the box passes max_cells."""
    scan = SheetScan()
    state = [0, 0, 0]  # calamine's 0-based row and next column for cells without r; 1 once inside sheetData
    tail = b""
    while True:
        chunk = stream.read(CHUNK)
        data = tail + chunk
        pending = b""
        if _MARKUP_START.search(data) is not None:  # comments, CDATA and processing instructions hold no cells
            data, pending = _without_markup(data, final=not chunk)
        if chunk:
            cut = _last_tag(data)
            if cut == 0 and not pending:  # one tag longer than the chunk so far: read on
                if len(data) > MAX_TAG:
                    raise Unreadable(f"a tag longer than {MAX_TAG // 1024**2} MB")
                tail = data
                continue
            data, tail = data[:cut], data[cut:] + pending
        if not state[2]:
            start = _SHEET_DATA.search(data)
            if start is None:
                data = b""
            elif start.group(1):  # <sheetData/>
                return scan
            else:
                state[2] = 1
                data = data[start.end():]
        end = _sheet_data_end(data)
        if end is not None:
            data, chunk = data[:end], b""
        if data:
            _scan_chunk(data, scan, state)
            if scan.too_large(max_cells):
                raise TooLarge(scan)
        if not chunk:
            return scan


_SHEET_DATA_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?sheetData\s*>")
_SHEET_DATA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData\b[^>]*?(/?)>")


def _sheet_data_end(data: bytes) -> int | None:
    """Where ``</sheetData>`` starts. Text may hold "sheetData>", never "</"; the word is looked for
    first (a regex search stops at each of the million "</" of a big sheet: 0.13 s for 60 MB)."""
    at = data.find(b"sheetData")
    while at >= 0:
        opening = data.rfind(b"</", 0, at)
        if opening >= 0:
            end = _SHEET_DATA_END.match(data, opening)
            if end is not None and end.end() > at:
                return opening
        at = data.find(b"sheetData", at + 1)
    return None


def _last_tag(data: bytes) -> int:
    """Where to cut a chunk: before its last cell or row tag, so a cell and its value stay together
    (0: the chunk is one unfinished tag so far)."""
    window = max(0, len(data) - 65536)
    last = None
    for last in re.finditer(rb"<(?:[A-Za-z_][\w.-]*:)?(?:c|/?row)[\s>/]", data[window:]):
        pass
    if last is not None and window + last.start() > 0:
        return window + last.start()
    cut = data.rfind(b"<")
    return cut if cut >= 0 else len(data)


MAX_TAG = 64 * 1024**2  # one tag (or comment) longer than this is no sheet a spreadsheet program saved
_MARKUP = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.S)
_MARKUP_START = re.compile(rb"<(?:!--|!\[CDATA\[|\?)")


class Unreadable(Exception):
    """The part is no worksheet a spreadsheet program writes (the reason says why)."""


def _without_markup(data: bytes, final: bool) -> tuple[bytes, bytes]:
    """The data without its comments, CDATA sections and processing instructions (calamine reads no cell
    or row in them), and an unfinished one at the end, kept for the next chunk."""
    data = _MARKUP.sub(b"", data)
    start = _MARKUP_START.search(data)
    if start is None:
        return data, b""
    if final:
        return data[:start.start()], b""
    if len(data) - start.start() > MAX_TAG:
        raise Unreadable(f"a comment longer than {MAX_TAG // 1024**2} MB")
    return data[:start.start()], data[start.start():]


def _scan_chunk(data: bytes, scan: SheetScan, state: list[int]) -> None:
    # Inside sheetData only cells start with "<c"; any other spelling (no r, r not first, a prefix, an r
    # with spaces or single quotes) goes through the exact path.
    last = data.rfind(b'<c r="')
    if last < 0 or _UNUSUAL.search(data) is not None or b":c" in data or _ODD_R.search(data) is not None:
        _scan_exact(data, scan, state)
        return
    if not _grow_to_fit(data, scan):  # a reference spelt unusually somewhere: read tag by tag
        _scan_exact(data, scan, state)
        return
    scan.tags += data.count(b"</c>")  # cells with content: formatting-only ones close themselves
    _scan_exact(data[last:], scan, state)  # the last cell again, and the row tags after it: where the next chunk starts
    if b't="e"' in data or b"t='e'" in data:
        for letters, digits, body in _ERROR_CELL.findall(data):
            value = _VALUE.search(body)
            if value:
                scan.errors[(int(digits), column_number(letters))] = value.group(1).decode("ascii", "replace")


MAX_GROWS = 64


def _grow_to_fit(data: bytes, scan: SheetScan) -> bool:
    """Grow the box over the chunk's value cells by searching only for cells outside it.

    A log written row after row has its columns in the box after the header row and its rows between
    the chunk's first and last value cells, so one regex search that finds nothing settles the chunk:
    the search checks each reference against the box in a lookahead that fails on its first
    characters. False (the caller reads the chunk tag by tag) for references spelt unusually, or when
    the box had to grow more than MAX_GROWS times.
    """
    first = _CELL.search(data)
    if first is None:
        return True
    scan.add(int(first.group(2)), column_number(first.group(1)))
    closing = data.rfind(b"</c>")  # the chunk's last value cell, however much formatting follows it
    last = _CELL.match(data, data.rfind(b'<c r="', 0, closing)) if closing > 0 else None
    if last is not None:
        scan.add(int(last.group(2)), column_number(last.group(1)))
    position = 0
    for _ in range(MAX_GROWS):
        outside = _outside(scan.first_row, scan.last_row, scan.first_col, scan.last_col).search(data, position)
        if outside is None:
            return True
        if outside.group(3) is not None:
            return False
        scan.add(int(outside.group(2)), column_number(outside.group(1)))
        position = outside.end()
    return False


@functools.lru_cache(maxsize=256)
def _outside(first_row: int, last_row: int, first_col: int, last_col: int) -> re.Pattern[bytes]:
    """A value cell with a reference outside the box, or a reference spelt unusually.

    Every ``r="`` attribute is looked at, not only the one a cell tag starts with: calamine places a cell
    by its last ``r`` (a second one, or one after a prefixed ``x:r``, would otherwise go unmeasured; an
    ``r`` spelt with spaces or single quotes sends the chunk tag by tag, see _ODD_R). Row tags (``r="7"``,
    digits only) are passed over. Groups: 1-2 letters and digits of a value cell outside the box
    (upper-case letters, no leading zeros); 3 a reference spelt otherwise (the caller then reads tag by
    tag). Formatting-only cells (``<c r="X9" s="1"/>``) outside the box match neither.
    """
    letters = in_range(column_letters(first_col), column_letters(last_col), _LETTERS)
    digits = in_range(str(first_row), str(last_row), _DIGITS)
    return re.compile(b'r="(?!(?:' + f"{letters})(?:{digits})".encode() + b'"|\\d+")'
                      b'(?:([A-Z]+)([1-9]\\d*)"' + _ATTRS + b'(?<!/)>|([A-Za-z]*[^A-Z"\\d]|[A-Za-z]+0|[A-Za-z]*"))')


_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def in_range(low: str, high: str, alphabet: str) -> str:
    """A regex matching exactly the numbers from ``low`` to ``high`` written in ``alphabet``.

    Digits (no leading zeros) or column letters (bijective base 26: every string of a length comes
    after all shorter ones); within one length the order is the alphabet's, symbol by symbol.
    """
    first, last = alphabet[0], alphabet[-1]
    lead = alphabet[1] if alphabet is _DIGITS else first  # the smallest leading symbol
    parts = []
    full_from = None  # lengths wholly inside the range are merged into one part
    for length in range(len(low), len(high) + 1):
        a = low if length == len(low) else lead + first * (length - 1)
        b = high if length == len(high) else last * length
        if a == lead + first * (length - 1) and b == last * length:
            full_from = full_from or length
            full_to = length
            continue
        parts.append(_same_length(a, b, alphabet))
    if full_from is not None:
        head = f"[{lead}-{last}]" if alphabet is _DIGITS else f"[{first}-{last}]"
        body = r"\d" if alphabet is _DIGITS else "[A-Z]"
        low_n, high_n = full_from - 1, full_to - 1
        count = "" if high_n == 0 else (f"{{{low_n}}}" if low_n == high_n else f"{{{low_n},{high_n}}}")
        parts.insert(0, head + (body + count if high_n else ""))
    return "|".join(parts)


def _same_length(a: str, b: str, alphabet: str) -> str:
    """The strings of one length from ``a`` to ``b`` (a <= b in the alphabet's order)."""
    if a == b:
        return a
    first, last = alphabet[0], alphabet[-1]
    body = r"\d" if alphabet is _DIGITS else "[A-Z]"
    rest = len(a) - 1
    span = lambda lo, hi: f"[{lo}-{hi}]" if lo != hi else lo  # noqa: E731
    if a[1:] == first * rest and b[1:] == last * rest:
        return span(a[0], b[0]) + (body + (f"{{{rest}}}" if rest > 1 else "") if rest else "")
    if a[0] == b[0]:
        return a[0] + f"(?:{_same_length(a[1:], b[1:], alphabet)})"
    parts = [a[0] + f"(?:{_same_length(a[1:], last * rest, alphabet)})"]
    between = alphabet.index(b[0]) - alphabet.index(a[0])
    if between > 1:
        parts.append(span(alphabet[alphabet.index(a[0]) + 1], alphabet[alphabet.index(b[0]) - 1])
                     + body + (f"{{{rest}}}" if rest > 1 else ""))
    parts.append(b[0] + f"(?:{_same_length(first * rest, b[1:], alphabet)})")
    return "|".join(parts)


def _last_r(attrs: bytes) -> re.Match[bytes] | None:
    last = None
    for last in _ATTR_R.finditer(attrs):
        pass
    return last


def _scan_exact(data: bytes, scan: SheetScan, state: list[int]) -> None:
    """The way calamine places cells: by `r` when present, else after the previous cell of the row."""
    for match in _TOKEN.finditer(data):
        closing, tag, attrs, empty = match.groups()
        if tag == b"row":
            if closing:
                state[0], state[1] = state[0] + 1, 0
                continue
            ref = _last_r(attrs)
            if ref and ref.group(2):
                state[0] = int(ref.group(2)) - 1
            if empty:  # <row r="5"/> holds no cells
                state[0], state[1] = state[0] + 1, 0
            continue
        if closing:
            continue
        ref = _last_r(attrs)
        if ref and ref.group(1) and ref.group(2):
            row, col = int(ref.group(2)), column_number(ref.group(1))
        else:
            row, col = state[0] + 1, state[1] + 1
        state[1] = col
        if empty or not _CHILD.match(data, match.end()):
            continue
        scan.tags += 1
        scan.add(row, col)
        if _ERROR_TYPE.search(attrs):
            value = _VALUE.search(data, match.end(), match.end() + 4096)
            if value:
                scan.errors[(row, col)] = value.group(1).decode("ascii", "replace")
