"""From a sheet's cells to typed records: find the header row, map columns to fields, coerce cells."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .coerce import to_text
from .findings import Finding, column_letter, make_finding
from .schema import FieldSpec, TableSchema
from .sources import Row, Sheet

HEADER_SEARCH_ROWS = 10
_NOTE = re.compile(r"\s*\([^()]*\)\s*$")
_MEMO_LIMIT = 20000


class Record(dict):
    """A row's typed values by field name (empty and unreadable cells are absent)."""

    __slots__ = ("row", "invalid")

    def __init__(self, row: int):
        super().__init__()
        self.row = row
        self.invalid: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Column:
    field: str
    index: int  # position in the row's values
    letter: str
    header: str


@dataclass
class Table:
    source: str
    sheet: str
    schema: TableSchema
    header_row: int
    columns: dict[str, Column]
    records: list[Record] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    url: str | None = None
    _labels: dict[str, str] = field(default_factory=dict, repr=False)

    def header_of(self, name: str) -> str:
        column = self.columns.get(name)
        return column.header if column else self.schema.field(name).header

    def label_of(self, name: str) -> str:
        """The header for messages: the sheet's own words without ``*`` marks or a trailing note."""
        label = self._labels.get(name)
        if label is None:
            label = self._labels[name] = display_header(self.header_of(name))
        return label

    def cell_of(self, name: str, row: int) -> str | None:
        column = self.columns.get(name)
        return f"{column.letter}{row}" if column else None

    def _link(self, name: str | None, row: int | None) -> str | None:
        """A link that opens the exact cell (Google Sheets), else None."""
        if self.url is None:
            return None
        cell = self.cell_of(name, row) if (name and row is not None) else None
        return f"{self.url}&range={cell}" if cell else self.url

    def finding(self, rule: str, record: Record | None, name: str | None, message: str, **extra: Any) -> Finding:
        """A finding placed at ``name``'s cell on ``record``'s row (or on the sheet when record is None)."""
        row = record.row if record is not None else None
        schema = self.schema
        if record is not None:
            extra.setdefault("customer", record.get(schema.customer) if schema.customer else None)
            extra.setdefault("phone", record.get(schema.phone) if schema.phone else None)
            extra.setdefault("key", record_key(schema, record))
            extra.setdefault("assignee", record.get(schema.owner) if schema.owner else None)
        return make_finding(
            rule,
            source=self.source,
            sheet=self.sheet,
            row=row if row is not None else (self.header_row if rule == "missing_column" else None),
            column=name,
            cell=self.cell_of(name, row) if (name and row is not None) else None,
            header=self.header_of(name) if name else None,
            message=message,
            table=schema.name,
            url=self._link(name, row),
            **extra,
        )


def record_key(schema: TableSchema, record: Mapping[str, Any]) -> tuple:
    """The business identity of a record (never its row number), used to recognise it across runs."""
    return (schema.name, *(record.get(name) for name in schema.identity))


@dataclass(frozen=True)
class HeaderMatch:
    schema: TableSchema
    row: int
    columns: dict[str, Column]

    @property
    def score(self) -> float:
        return len(self.columns) / len(self.schema.fields)


def match_header_row(schema: TableSchema, rows: Sequence[Row], first_col: int) -> HeaderMatch | None:
    """The row among ``rows`` whose cells name the most fields of ``schema`` (at least two)."""
    index = schema.header_index()
    best: HeaderMatch | None = None
    for number, values in rows:
        columns: dict[str, Column] = {}
        for i, value in enumerate(values):
            name = schema.match_header(value, index) if isinstance(value, str) else None
            if name and name not in columns:
                columns[name] = Column(name, i, column_letter(first_col + i), str(value).strip())
        if len(columns) >= 2 and (best is None or len(columns) > len(best.columns)):
            best = HeaderMatch(schema, number, columns)
    return best


def detect_table(schemas: Iterable[TableSchema], rows: Sequence[Row], first_col: int) -> HeaderMatch | None:
    """The schema the sheet clearly is: most of its fields found, and clearly ahead of the next best."""
    matches = sorted(
        (m for s in schemas if (m := match_header_row(s, rows, first_col)) is not None),
        key=lambda m: (m.score, len(m.columns)),
        reverse=True,
    )
    if not matches:
        return None
    best = matches[0]
    required = [f.name for f in best.schema.fields if f.always_required]
    found_required = sum(1 for n in required if n in best.columns)
    clear = best.score >= 0.5 and len(best.columns) >= 3 and found_required >= max(1, len(required) // 2)
    if len(matches) > 1 and matches[1].score >= best.score * 0.8:
        clear = False
    return best if clear else None


def split_head(rows: Iterator[Row]) -> tuple[list[Row], Iterator[Row]]:
    """The rows that may hold the header (the first ten of the sheet), and an iterator over all rows."""
    head: list[Row] = []
    for row in rows:
        head.append(row)
        if row[0] >= HEADER_SEARCH_ROWS:
            break
    return head, itertools.chain(head, rows)


class _Cells:
    """A field's converter with a memo for repeated cell texts (names, choices, sources repeat a lot)."""

    __slots__ = ("name", "index", "convert", "memo", "spec", "native", "bounded")

    def __init__(self, spec: FieldSpec, index: int, epoch1904: bool):
        self.spec = spec
        self.name = spec.name
        self.index = index
        self.convert = spec.converter(epoch1904)
        self.memo: dict[str, Any] = {}
        # A cell that already has the field's Python type needs no conversion (Excel dates, numbers).
        self.bounded = spec.min is not None or spec.max is not None
        self.native = None if self.bounded else _NATIVE.get(spec.type)


_NATIVE = {"datetime": dt.datetime, "date": dt.date, "bool": bool, "int": int}
_INVALID = object()


class Invalid:
    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def _convert(cells: _Cells, value: Any) -> Any:
    try:
        out = cells.convert(value)
    except ValueError as exc:
        return Invalid(str(exc))
    if cells.bounded:
        spec = cells.spec
        if spec.min is not None and out < spec.min or spec.max is not None and out > spec.max:
            return Invalid(f"应在 {spec.min:g}–{spec.max:g} 之间")
    return out


def read_records(table: Table, rows: Iterable[Row], epoch1904: bool = False) -> None:
    """Fill ``table.records`` from the rows below the header; unreadable cells become findings.

    This is the hot loop of a run (a million cells for a 100k-row log): cells whose type is already
    right pass straight through, repeated texts are converted once.
    """
    cells = [_Cells(table.schema.field(c.field), c.index, epoch1904) for c in table.columns.values()]
    plan = [(c.name, c.index, c.memo, c.native, c) for c in cells]
    need = max((c.index for c in cells), default=-1) + 1
    header_row = table.header_row
    records = table.records
    defaults = [(c.name, c.spec.default) for c in cells if c.spec.default is not None]
    for number, values in rows:
        if number <= header_row:
            continue
        if len(values) < need:  # ragged rows (CSV, openpyxl): pad once instead of checking every cell
            values = [*values, *([None] * (need - len(values)))]
        record = Record(number)
        invalid: list[tuple[str, Any, str]] | None = None
        for name, index, memo, native, c in plan:
            value = values[index]
            kind = type(value)
            if kind is str:
                out = memo.get(value, _INVALID)
                if out is _INVALID:
                    out = None if not value.strip() else _convert(c, value)
                    if len(memo) < _MEMO_LIMIT:
                        memo[value] = out
                if out is None:
                    continue
            elif kind is native:
                record[name] = value
                continue
            elif value is None:
                continue
            else:
                out = _convert(c, value)
            if type(out) is Invalid:
                invalid = invalid or []
                invalid.append((name, value, out.reason))
                continue
            record[name] = out
        if record or invalid:
            for name, default in defaults:  # e.g. an empty 跟进状态 means 跟进中
                if name not in record and not (invalid and any(n == name for n, _, _ in invalid)):
                    record[name] = default
        if invalid:
            record.invalid = frozenset(name for name, _, _ in invalid)
            for name, value, reason in invalid:  # after the row is read, so the finding has its assignee
                # Licence and ID numbers never leave the sheet, not even inside an error message.
                shown = "" if table.schema.field(name).confidential else f"「{_show(value)}」"
                table.findings.append(table.finding(
                    "invalid_value", record, name, f"{table.label_of(name)}{shown}无法识别：{reason}",
                ))
        if record or invalid:
            records.append(record)


def _show(value: Any) -> str:
    try:
        text = to_text(value).replace("\n", " ")
    except ValueError:
        text = str(value).strip()
    return text if len(text) <= 40 else text[:39] + "…"


def display_header(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).strip().strip("*").strip()
    return _NOTE.sub("", text).strip() or text


def read_sheet_table(source: str, sheet: Sheet, schema: TableSchema | None, candidates: Iterable[TableSchema],
                     url: str | None = None) -> Table | None:
    """Read one sheet as ``schema`` (or the schema its header clearly matches); None when it matches none."""
    grid = sheet.read()
    head, rows = split_head(grid.rows)
    if schema is not None:
        match = match_header_row(schema, head, grid.first_col)
        if match is None:
            table = Table(source, sheet.title, schema, header_row=0, columns={}, url=url)
            table.findings.append(make_finding(
                "missing_column", source=source, sheet=sheet.title, row=None, column=None, cell=None,
                header=None, table=schema.name, url=url,
                message=f"前 {HEADER_SEARCH_ROWS} 行中找不到「{schema.title}」的表头（如 "
                        + "、".join(f.header for f in schema.fields[:4]) + "）",
            ))
            return table
    else:
        match = detect_table(candidates, head, grid.first_col)
        if match is None:
            return None
    table = Table(source, sheet.title, match.schema, match.row, match.columns, url=url)
    for spec in match.schema.fields:
        if spec.always_required and spec.name not in match.columns:
            table.findings.append(table.finding(
                "missing_column", None, spec.name, f"缺少必填列「{display_header(spec.header)}」",
            ))
    read_records(table, rows, sheet.epoch1904)
    return table
