"""Excel, WPS, OpenDocument and CSV files, read-only.

python-calamine reads (it is 6-15x faster than openpyxl on a 100k-row log); openpyxl in read-only
mode takes over for .xlsx/.xlsm files calamine refuses (macro sheets, some exotic producers).
"""

from __future__ import annotations

import csv
import io
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import python_calamine as calamine

from ..errors import SourceError
from . import Grid, Row, Sheet, Workbook
from .guard import Retryable, check_cfb, check_zip, sniff

EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".et", ".ett", ".xlt", ".xltx")
OPENPYXL_FALLBACK = (".xlsx", ".xlsm", ".xltx")


def read_workbook(path: Path, name: str | None = None, *, retries: int = 2,
                  sleep: Callable[[float], None] = time.sleep) -> Workbook:
    """Open one file read-only. Raises SourceError with a sentence a store manager can act on."""
    name = name or path.name
    for attempt in range(retries + 1):
        try:
            return _read(path, name)
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
    suffix = path.suffix.lower()
    if suffix == ".numbers":
        raise SourceError(name, "this is an Apple Numbers file; export it as .xlsx (File > Export To > Excel)")
    if suffix == ".fods":
        raise SourceError(name, "flat OpenDocument (.fods) is not supported; save it as .ods or .xlsx")
    if suffix == ".csv":
        return _read_csv(path, name)
    if suffix not in EXTENSIONS:
        raise SourceError(name, f"unsupported file type {suffix or '(none)'}; use .xlsx, .xls, .ods or .csv")
    try:
        kind = sniff(path)
    except OSError as exc:
        raise SourceError(name, f"cannot open the file ({exc.strerror})") from exc
    epoch1904 = False
    if kind == "zip":
        epoch1904 = check_zip(path, name)
    elif kind == "cfb":
        check_cfb(path, name)
    elif path.stat().st_size == 0:
        raise Retryable(name, "the file is empty (is it still being saved?)")
    else:
        raise SourceError(name, "this is not a spreadsheet file (neither Excel, WPS nor OpenDocument)")
    try:
        return _read_calamine(path, name, epoch1904)
    except calamine.PasswordError as exc:
        raise SourceError(name, "the workbook is password-protected; save an unprotected copy") from exc
    except (calamine.CalamineError, calamine.ZipError, calamine.XmlError, ValueError) as exc:
        if suffix in OPENPYXL_FALLBACK and kind == "zip":
            return _read_openpyxl(path, name, exc)
        raise SourceError(name, f"the workbook cannot be read ({_short(exc)}); if it has a password save an "
                                "unprotected copy, otherwise open it in Excel or WPS and save it as .xlsx") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _read_calamine(path: Path, name: str, epoch1904: bool) -> Workbook:
    book = calamine.CalamineWorkbook.from_path(str(path))
    sheets = []
    for meta in book.sheets_metadata:
        if meta.typ != calamine.SheetTypeEnum.WorkSheet:
            continue
        sheets.append(Sheet(
            title=meta.name,
            read=_calamine_reader(book, meta.name, name),
            hidden=meta.visible != calamine.SheetVisibleEnum.Visible,
            epoch1904=epoch1904,
        ))
    return Workbook(name=name, path=str(path), sheets=tuple(sheets))


def _calamine_reader(book: Any, title: str, name: str) -> Callable[[], Grid]:
    def read() -> Grid:
        try:
            sheet = book.get_sheet_by_name(title)
            data = sheet.to_python(skip_empty_area=True)
        except Exception as exc:  # calamine raises several exception types per sheet
            raise SourceError(name, f"sheet {title!r} cannot be read ({_short(exc)})") from exc
        # calamine drops the empty area above and left of the data: start says where it begins.
        first_row, first_col = sheet.start if sheet.start is not None else (0, 0)
        return Grid(rows=((first_row + i + 1, values) for i, values in enumerate(data)), first_col=first_col)

    return read


def _read_openpyxl(path: Path, name: str, cause: BaseException) -> Workbook:
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
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SourceError(name, "the CSV file is neither UTF-8 nor GBK text; save it as CSV UTF-8")
    if "\x00" in text:
        raise SourceError(name, "this is not a text CSV file")

    def read() -> Grid:
        # Row numbers count records, as Excel shows a CSV file (a quoted line break stays in its cell).
        return Grid(rows=enumerate(csv.reader(io.StringIO(text, newline="")), start=1))

    return Workbook(name=name, path=str(path), sheets=(Sheet(title=path.stem, read=read),))
