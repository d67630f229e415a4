"""Excel, WPS, OpenDocument and CSV files, read-only.

python-calamine reads (it is 6-15x faster than openpyxl on a 100k-row log); openpyxl in read-only
mode takes over for .xlsx/.xlsm files calamine refuses (macro sheets, some exotic producers).
Before either sees a file, guard.py checks the container (zip bombs, DTDs, encryption) and
xlsx_scan/ods_scan/xls_scan measure the box of every sheet from its cells: calamine makes a dense
grid of it, so one far-away cell could cost gigabytes. The scans also note formula error cells,
which calamine reads as '', and the reader puts their text (#N/A) back.
"""

from __future__ import annotations

import csv
import io
import time
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator

import python_calamine as calamine

from ..errors import SourceError
from . import Grid, Row, Sheet, Workbook
from .guard import Retryable, check_cfb, check_zip, sniff
from .xls_scan import TooManySheets, XlsTooLarge, scan_xls, workbook_stream
from .xlsx_scan import MAX_CELLS, SheetScan, TooLarge, Unreadable, scan_sheet, worksheet_parts

EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".et", ".ett", ".xlt", ".xltx")
OPENPYXL_FALLBACK = (".xlsx", ".xlsm", ".xltx")


def read_workbook(path: Path, name: str | None = None, *, retries: int = 2,
                  sleep: Callable[[float], None] = time.sleep) -> Workbook:
    """Open one file read-only. Raises SourceError with a sentence a store manager can act on."""
    name = name or path.name
    for attempt in range(retries + 1):
        try:
            return _read(path, name)
        except PermissionError as exc:
            raise SourceError(name, f"no permission to read {path}: let the account running huifang read it") from exc
        except OSError as exc:
            raise SourceError(name, f"cannot open the file ({exc.strerror or type(exc).__name__})") from exc
        except Retryable:
            if attempt == retries:
                raise
            sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def _read(path: Path, name: str) -> Workbook:
    if not path.exists():
        raise SourceError(name, f"file not found: {path}")
    if path.is_dir():
        raise SourceError(name, f"{path} is a folder, not a workbook")
    if not path.is_file():  # a pipe or a device would block the read or never end
        raise SourceError(name, f"{path} is not a regular file")
    suffix = path.suffix.lower()
    if suffix == ".numbers":
        raise SourceError(name, "this is an Apple Numbers file; export it as .xlsx (File > Export To > Excel)")
    if suffix == ".fods":
        raise SourceError(name, "flat OpenDocument (.fods) is not supported; save it as .ods or .xlsx")
    if suffix == ".csv":
        return _read_csv(path, name)
    if suffix not in EXTENSIONS:
        raise SourceError(name, f"unsupported file type {suffix or '(none)'}; use .xlsx, .xls, .ods or .csv")
    kind = sniff(path)
    epoch1904 = False
    measured: dict[str, SheetScan] | None = None
    if kind == "zip":
        epoch1904 = check_zip(path, name)
        measured = _measure_zip(path, name)
    elif kind == "cfb":
        check_cfb(path, name)
        measured = _measure_xls(path, name)
    elif path.stat().st_size == 0:
        raise Retryable(name, "the file is empty (is it still being saved?)")
    else:
        raise SourceError(name, "this is not a spreadsheet file (neither Excel, WPS nor OpenDocument)")
    try:
        return _read_calamine(path, name, epoch1904, _opens_by_extension(path.suffix, kind, path), measured)
    except calamine.PasswordError as exc:
        raise SourceError(name, "the workbook is password-protected; save an unprotected copy") from exc
    except (calamine.CalamineError, calamine.ZipError, calamine.XmlError, ValueError) as exc:
        if suffix in OPENPYXL_FALLBACK and kind == "zip":
            return _read_openpyxl(path, name, exc, measured or {})
        raise SourceError(name, f"the workbook cannot be read ({_short(exc)}); if it has a password save an "
                                "unprotected copy, otherwise open it in Excel or WPS and save it as .xlsx") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _opens_by_extension(suffix: str, kind: str, path: Path) -> bool:
    """Whether calamine, which picks its parser by extension (lower case only), will pick the one the content
    needs; otherwise it is handed the bytes and tries each parser (losing the reason the right one gives)."""
    if kind == "cfb":
        return suffix == ".xls"
    with zipfile.ZipFile(path) as archive:
        ods = "content.xml" in archive.namelist()
    return suffix == ".ods" if ods else suffix in (".xlsx", ".xlsm", ".xltx")


def _measure_zip(path: Path, name: str) -> dict[str, SheetScan]:
    """Every worksheet of an .xlsx or table of an .ods measured before calamine opens the file.

    One pass over the zip, closed again before calamine opens it: an .ods is read whole at opening;
    an .xlsx sheet by sheet, but nearly every sheet is read to find its table, and a zip reopened per
    sheet costs its central directory each time (30 s for a workbook of 2,000 sheets).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if "content.xml" in archive.namelist():
                from .ods_scan import OdsTooLarge, scan_ods  # noqa: PLC0415 - only OpenDocument files need it

                try:
                    with archive.open("content.xml") as stream:
                        return scan_ods(stream)
                except OdsTooLarge as exc:
                    raise _too_large(name, exc.table, exc.scan) from exc
            parts = worksheet_parts(archive)
            titles = {part: title for title, part in parts.items()}
            # Parts no title maps to are measured too: a title decoded differently here than in calamine
            # must not let a sheet through unmeasured.
            members = sorted(set(parts.values()) | {m for m in archive.namelist()
                                                    if "worksheets/" in m and m.endswith(".xml")})
            measured = {}
            for part in members:
                title = titles.get(part, part)
                try:
                    with archive.open(part) as stream:
                        measured[title] = scan_sheet(stream)
                except TooLarge as exc:
                    raise _too_large(name, title, exc.scan) from exc
                except Unreadable as exc:
                    raise SourceError(name, f"sheet {title!r} holds {exc}, which no spreadsheet program writes: "
                                            "open it in Excel or WPS and save it again as .xlsx") from exc
            return measured
    except (zipfile.BadZipFile, EOFError, zlib.error, KeyError) as exc:
        raise Retryable(name, "the file is incomplete or corrupt (is it still being saved?)") from exc


def _measure_xls(path: Path, name: str) -> dict[str, SheetScan] | None:
    """The worksheets of an .xls measured before calamine opens it (it reads them all at once)."""
    try:
        stream = workbook_stream(str(path))
        if stream is None:
            return None
        measured = scan_xls(stream)
    except XlsTooLarge as exc:
        if exc.declared:
            raise SourceError(name, f"sheet {exc.title!r} declares a size of {exc.scan.span}, which no .xls sheet "
                                    "can have: the file is damaged or crafted; save it again from Excel as .xlsx") from exc
        raise _too_large(name, exc.title, exc.scan) from exc
    except TooManySheets as exc:
        raise SourceError(name, f"the workbook has more than {exc.bound:,} sheets; keep the logs in a workbook "
                                "of their own") from exc
    except Exception as exc:  # noqa: BLE001  (olefile raises OSError and several others for damaged containers)
        raise SourceError(name, f"the workbook cannot be read ({_short(exc)}); open it in Excel or WPS and "
                                "save it as .xlsx") from exc
    if measured is None:  # calamine would say so too, but not when the name hides that it is an .xls
        raise SourceError(name, "the workbook is password-protected; save an unprotected copy")
    return measured


def _too_large(name: str, title: str, big: SheetScan) -> SourceError:
    return SourceError(name, f"sheet {title!r} spans {big.span} ({_count(big.cells)} cells), more than "
                             f"{_count(MAX_CELLS)} can be read safely: delete the stray cells far from the table "
                             "(Ctrl+End shows the last one) or move the table to a workbook of its own")


def _read_calamine(path: Path, name: str, epoch1904: bool, by_extension: bool = True,
                   measured: dict[str, SheetScan] | None = None) -> Workbook:
    if by_extension:
        book = calamine.CalamineWorkbook.from_path(str(path))
    else:  # an .xlsx saved as .xls and the like: calamine then looks at the content
        with path.open("rb") as fh:
            book = calamine.CalamineWorkbook.from_filelike(fh)
    sheets = []
    for meta in book.sheets_metadata:
        if meta.typ != calamine.SheetTypeEnum.WorkSheet:
            continue
        sheets.append(Sheet(
            title=meta.name,
            read=_calamine_reader(book, meta.name, name, (measured or {}).get(meta.name)),
            hidden=meta.visible != calamine.SheetVisibleEnum.Visible,
            epoch1904=epoch1904,
        ))
    return Workbook(name=name, path=str(path), sheets=tuple(sheets))


def _calamine_reader(book: Any, title: str, name: str, scan: SheetScan | None) -> Callable[[], Grid]:
    def read() -> Grid:
        try:
            sheet = book.get_sheet_by_name(title)
            cells = sheet.iter_rows()
        except Exception as exc:  # calamine raises several exception types per sheet
            raise SourceError(name, f"sheet {title!r} cannot be read ({_short(exc)})") from exc
        # calamine drops the empty columns left of the data (start says where it begins); iter_rows still
        # yields the empty rows above it, one by one, without keeping the sheet's Python values all at once.
        first_row, first_col = sheet.start if sheet.start is not None else (0, 0)
        return Grid(rows=_numbered(cells, first_row, scan.errors if scan is not None else {}, first_col),
                    first_col=first_col)

    return read


def _numbered(cells: Iterator[list[Any]], first_row: int, errors: dict[tuple[int, int], str], first_col: int) -> Iterator[Row]:
    """(row number, values) from the sheet's first non-empty row; #N/A, #REF! ... put back where calamine
    read them as ''."""
    by_row: dict[int, list[tuple[int, str]]] = {}
    for (row, col), text in errors.items():
        by_row.setdefault(row, []).append((col - 1 - first_col, text))
    for number, values in enumerate(cells, start=1):
        if number <= first_row:
            continue
        put = by_row.get(number)
        if put:
            for j, text in put:
                if 0 <= j < len(values) and values[j] == "":
                    values[j] = text
        yield number, values


def _count(cells: int) -> str:
    for size, word in ((10**9, "billion"), (10**6, "million")):
        if cells >= size:
            return f"{cells / size:.3g} {word}"
    return f"{cells:,}"


def _read_openpyxl(path: Path, name: str, cause: BaseException, measured: dict[str, SheetScan]) -> Workbook:
    """Every sheet was measured before (openpyxl would pad each row across a sheet's box, too)."""
    import openpyxl  # noqa: PLC0415  (only for the files calamine refuses)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise SourceError(name, f"the workbook cannot be read ({_short(cause)}; {_short(exc)}); save it again as .xlsx") from exc

    def reader(ws: Any) -> Callable[[], Grid]:
        def read() -> Grid:
            # Dimensions written by some producers claim 1,048,576 rows; read what is really there.
            ws.reset_dimensions()
            return Grid(rows=_quietly(enumerate(ws.iter_rows(values_only=True), start=1)))

        return read

    sheets = tuple(
        Sheet(title=ws.title, read=reader(ws), hidden=ws.sheet_state != "visible", epoch1904=book.epoch.year == 1904)
        for ws in book.worksheets
        if ws.__class__.__name__ == "ReadOnlyWorksheet"
    )
    return Workbook(name=name, path=str(path), sheets=sheets)


def _quietly(rows: Iterator[Row]) -> Iterator[Row]:
    """openpyxl warns about every extension it drops; the data is unaffected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield from rows


def _read_csv(path: Path, name: str) -> Workbook:
    raw = path.read_bytes()
    if not raw:
        raise Retryable(name, "the file is empty (is it still being saved?)")
    if b"\x00" in raw[:65536]:
        raise SourceError(name, "this is not a text CSV file")
    text = _decode(raw, name)

    def read() -> Grid:
        # Row numbers count records, as Excel shows a CSV file (a quoted line break stays in its cell).
        return Grid(rows=enumerate(_csv_rows(text, name), start=1))

    return Workbook(name=name, path=str(path), sheets=(Sheet(title=path.stem, read=read),))


def _decode(raw: bytes, name: str) -> str:
    """UTF-8, else GBK/GB18030 or Big5 as charset-normalizer judges from the characters; never a guess."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # noqa: PLC0415

    best = from_bytes(raw, cp_isolation=["gb18030", "big5"]).best()
    if best is not None:
        try:
            return raw.decode(best.encoding)
        except UnicodeDecodeError:
            pass
    raise SourceError(name, "the CSV file is neither UTF-8, GBK nor Big5 text (or its encoding cannot be told); "
                            "save it as CSV UTF-8")


def _csv_rows(text: str, name: str) -> list[list[str]]:
    """All records; a quote left open, or a cell past the csv module's limit, is a SourceError."""
    # strict mode is what notices a file ending inside a quoted cell (the lenient reader swallows the rest
    # of the file into that cell); lenient reading is kept for stray quotes such as 5"3 inside a cell.
    for strict in (True, False):
        reader = csv.reader(io.StringIO(text, newline=""), strict=strict)
        try:
            return list(reader)
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                reason = (f"a cell on line {reader.line_num} is longer than {csv.field_size_limit():,} characters "
                          "(a quote that is never closed?)")
            elif "unexpected end of data" in message:
                reason = "the file ends inside a quoted cell: a quote is never closed"
            elif strict:
                continue
            else:
                reason = f"line {reader.line_num} is not valid CSV ({_short(exc)})"
            raise SourceError(name, f"{reason}; fix it in Excel or WPS and save as CSV again") from exc
    raise AssertionError("unreachable")
