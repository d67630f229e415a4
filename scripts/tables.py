"""From a sheet's cells to typed records: find the header row, map columns to fields, coerce cells."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .coerce import DECLINED, MIN_DATE, DoneMark, Yearless, date_prefix, is_empty, read_time, to_text
from .findings import Finding, column_letter, make_finding
from .schema import FieldSpec, TableSchema
from .sources import Row, Sheet
from .textnorm import fold, header_keys

HEADER_SEARCH_ROWS = 10
# A row whose first non-empty cell starts with one of these is a note or a total, not a record.
_NOT_RECORD = tuple(fold(p) for p in ("合计", "小计", "总计", "共计", "备注：", "说明：", "注：", "制表", "审核"))
_DATE_SUFFIX, _TIME_SUFFIXES = "日期", ("时间", "时刻")
_NOTE = re.compile(r"\s*\([^()]*\)\s*$")
_MEMO_LIMIT = 20000


_NONE: frozenset[str] = frozenset()


class Record(dict):
    """A row's typed values by field name (empty and unreadable cells are absent).

    ``dateonly``: datetime fields written as a date without a time of day (deadlines end with the day);
    ``declined``: fields whose cell says the customer declined (``不留`` in a phone cell);
    ``at_time``: split date+time fields whose findings point at the time cell.
    """

    __slots__ = ("row", "invalid", "dateonly", "declined", "at_time")

    def __init__(self, row: int):
        super().__init__()
        self.row = row
        self.invalid: frozenset[str] = _NONE  # one shared empty set: a 100k-row log has 100k records
        self.dateonly: frozenset[str] = _NONE
        self.declined: frozenset[str] = _NONE
        self.at_time: frozenset[str] = _NONE


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
    times: dict[str, Column] = field(default_factory=dict)  # the time column of a split date+time field
    headers: dict[str, str] = field(default_factory=dict)  # letter -> header text of every header cell
    skipped_rows: list[int] = field(default_factory=list)  # totals, notes, repeated headers
    done_unknown: int = 0  # done-marks read as "done, moment unknown"
    _labels: dict[str, str] = field(default_factory=dict, repr=False)

    def column_map(self) -> dict[str, str | None]:
        """Letter -> field (``visit_at.date``/``visit_at.time`` for a split pair, None when ignored)."""
        mapped: dict[str, str | None] = {letter: None for letter in self.headers}
        for name, column in self.columns.items():
            mapped[column.letter] = f"{name}.date" if name in self.times else name
        for name, column in self.times.items():
            mapped[column.letter] = f"{name}.time"
        return dict(sorted(mapped.items(), key=lambda kv: (len(kv[0]), kv[0])))

    def pairs(self) -> list[tuple[str, str, str]]:
        """(field, date letter, time letter) of every split date+time field."""
        return [(name, self.columns[name].letter, column.letter) for name, column in self.times.items()]

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
        if record is not None and name in record.at_time:  # the time cell of a split date+time field
            column = self.times[name]
            extra.setdefault("cell", f"{column.letter}{row}")
            extra.setdefault("header", column.header)
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
            cell=extra.pop("cell", None) or (self.cell_of(name, row) if (name and row is not None) else None),
            header=extra.pop("header", None) or (self.header_of(name) if name else None),
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
    times: dict[str, Column] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def score(self) -> float:
        counted = [f.name for f in self.schema.fields if f.detect]
        return sum(1 for name in counted if name in self.columns) / len(counted)


def _role(key: str) -> str | None:
    if key.endswith(_DATE_SUFFIX):
        return "date"
    if key.endswith(_TIME_SUFFIXES):
        return "time"
    return None


def _sibling(key: str) -> tuple[str, ...]:
    """``来店日期`` -> (``来店时间``,); ``来店时间`` -> (``来店日期``,): the other half of a split pair."""
    if key.endswith(_DATE_SUFFIX):
        return tuple(key[: -len(_DATE_SUFFIX)] + t for t in _TIME_SUFFIXES)
    for t in _TIME_SUFFIXES:
        if key.endswith(t):
            return (key[: -len(t)] + _DATE_SUFFIX,)
    return ()


def _match_cell(schema: TableSchema, value: str, index: Mapping[str, str],
                overrides: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(field, role) of one header cell: role "date"/"time" when it may be half of a split pair."""
    keys = header_keys(value)
    for key in keys:
        if key in overrides:
            name, _, part = overrides[key].partition(".")
            if name in schema.field_names:  # ``columns`` applies to every sheet: other tables' fields pass
                return name, (part or None)
    name = schema.match_header(value, index)
    key = keys[-1] if keys else ""
    role = _role(key)
    if name is None and role is not None:
        for other in _sibling(key):
            found = index.get(other)
            if found is not None and schema.field(found).type in ("datetime", "date"):
                name = found
                break
    if name is not None and schema.field(name).type != "datetime":
        role = None
    return name, role


def match_header_row(schema: TableSchema, rows: Sequence[Row], first_col: int,
                     overrides: Mapping[str, str] | None = None) -> HeaderMatch | None:
    """The row among ``rows`` whose cells name the most fields of ``schema`` (at least two).

    ``overrides`` maps folded header spellings to ``field``, ``field.date`` or ``field.time`` (config
    ``columns``). A datetime field named by a ``…日期`` and a ``…时间`` column is read from both.
    """
    index = schema.header_index()
    fallback = schema.fallback_index()
    overrides = overrides or {}
    best: HeaderMatch | None = None
    for number, values in rows:
        found: dict[str, list[tuple[str | None, Column]]] = {}
        headers: dict[str, str] = {}
        spare: dict[str, Column] = {}
        for i, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                continue
            letter = column_letter(first_col + i)
            headers[letter] = value.strip()
            name, role = _match_cell(schema, value, index, overrides)
            column = Column(name or "", i, letter, value.strip())
            if name is not None:
                chosen = any(k in overrides for k in header_keys(value))
                found.setdefault(name, []).append((role, column, chosen))
            else:
                key = header_keys(value)[-1] if header_keys(value) else ""
                if key in fallback:
                    spare.setdefault(fallback[key], Column(fallback[key], i, letter, value.strip()))
        columns: dict[str, Column] = {}
        times: dict[str, Column] = {}
        for name, all_candidates in found.items():
            # Columns the config names win over headers that merely match.
            candidates = [(r, c) for r, c, chosen in all_candidates if chosen] or [(r, c) for r, c, _ in all_candidates]
            dates = [c for role, c in candidates if role == "date"]
            clock = [c for role, c in candidates if role == "time"]
            if dates and clock:
                columns[name] = Column(name, dates[0].index, dates[0].letter, dates[0].header)
                times[name] = Column(name, clock[0].index, clock[0].letter, clock[0].header)
            else:
                first = candidates[0][1]
                columns[name] = Column(name, first.index, first.letter, first.header)
        for name, column in spare.items():
            columns.setdefault(name, column)
        if len(columns) >= 2 and (best is None or len(columns) > len(best.columns)):
            columns = dict(sorted(columns.items(), key=lambda kv: kv[1].index))
            best = HeaderMatch(schema, number, columns, times, headers)
    return best


def detect_table(schemas: Iterable[TableSchema], rows: Sequence[Row], first_col: int,
                 overrides: Mapping[str, str] | None = None) -> HeaderMatch | None:
    """The schema the sheet clearly is: most of its fields found, and clearly ahead of the next best."""
    matches = sorted(
        (m for s in schemas if (m := match_header_row(s, rows, first_col, overrides)) is not None),
        key=lambda m: (m.score, len(m.columns)),
        reverse=True,
    )
    if not matches:
        return None
    best = matches[0]
    required = [f.name for f in best.schema.fields if f.always_required]
    found_required = sum(1 for n in required if n in best.columns)
    # Store sheets keep few optional columns: most required columns found is as clear as half of all.
    most_required = bool(required) and found_required >= 0.75 * len(required)
    clear = (best.score >= 0.5 or most_required) and len(best.columns) >= 3 and found_required >= max(1, len(required) // 2)
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

    __slots__ = ("name", "index", "convert", "memo", "spec", "native", "bounded", "time_index", "time_memo")

    def __init__(self, spec: FieldSpec, index: int, epoch1904: bool, time_index: int | None = None):
        self.spec = spec
        self.name = spec.name
        self.index = index
        self.convert = spec.converter(epoch1904)
        self.memo: dict[str, Any] = {}
        # A cell that already has the field's Python type needs no conversion (numbers, booleans).
        self.bounded = spec.min is not None or spec.max is not None
        self.native = None if self.bounded else _NATIVE.get(spec.type)
        self.time_index = time_index  # the time column of a split date+time field
        self.time_memo: dict[str, Any] = {}


_NATIVE = {"bool": bool, "int": int}
_MEMO_KINDS = (dt.datetime, dt.date)  # hashable, never equal to a text; a date never equals a datetime
_INVALID = object()
_DATED = ("datetime", "date")
_KEY_TYPES = frozenset(("phone", "datetime", "date", "bool"))  # a number there may be a record's own value


class Invalid:
    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def _convert(cells: _Cells, value: Any) -> Any:
    try:
        out = cells.convert(value)
    except ValueError as exc:
        return Invalid(str(exc))
    except (OverflowError, TypeError, RecursionError, MemoryError):
        return Invalid("无法识别")
    if cells.bounded:
        spec = cells.spec
        if spec.min is not None and out < spec.min or spec.max is not None and out > spec.max:
            return Invalid(f"应在 {spec.min:g}–{spec.max:g} 之间")
    return out


def _cell(cells: _Cells, value: Any) -> Any:
    """The converted cell: None when empty (or a "not done" mark), an Invalid, or the value."""
    kind = type(value)
    if kind is str or kind in _MEMO_KINDS:
        out = cells.memo.get(value, _INVALID)
        if out is _INVALID:
            out = None if kind is str and not value.strip() else _convert(cells, value)
            if len(cells.memo) < _MEMO_LIMIT:
                cells.memo[value] = out
        return out
    if kind is cells.native:
        return value
    if value is None:
        return None
    return _convert(cells, value)


def _time_cell(cells: _Cells, value: Any) -> Any:
    if is_empty(value):
        return None
    memo = cells.time_memo if type(value) is str else None
    if memo is not None and value in memo:
        return memo[value]
    try:
        out = read_time(value)
    except (ValueError, OverflowError, TypeError):
        out = Invalid("不是时间（如 9:15）")
    if memo is not None and len(memo) < _MEMO_LIMIT:
        memo[value] = out
    return out


def _pair(cells: _Cells, date_value: Any, time_value: Any) -> tuple[Any, bool]:
    """A split date+time field's value and whether its findings point at the time cell.

    A time column holding a full date(-time) wins; the time of day joins the date column's day.
    """
    clock = _time_cell(cells, time_value)
    if clock is not None and not isinstance(clock, (dt.time, Invalid)):  # a full date-time in the time column
        if type(clock) is dt.date:
            clock = dt.datetime.combine(clock, dt.time())
        return clock, True
    day = _cell(cells, date_value)
    if day is None or isinstance(day, (Invalid, DoneMark)):
        if isinstance(clock, Invalid) and day is None and not is_empty(date_value):
            return clock, True
        return (clock, True) if isinstance(clock, Invalid) and day is None else (day, False)
    if isinstance(clock, Invalid):
        return clock, True
    if clock is None:
        return day, False
    if isinstance(day, Yearless):
        return Yearless(day.month, day.day, clock), False
    base = day.date() if isinstance(day, dt.datetime) else day
    return dt.datetime.combine(base, clock), False


@lru_cache(maxsize=4096)  # names and choices repeat down a log
def _header_key(text: str) -> str:
    keys = header_keys(text)
    return keys[-1] if keys else ""


_MIN_DAY = MIN_DATE.date()


def _plausible(value: Any, latest: dt.date | None) -> str | None:
    """Why a date cannot be right (before 2000, or more than 366 days after now), else None."""
    day = value.date() if type(value) is dt.datetime else value
    if day < _MIN_DAY:
        return "日期早于 2000 年，不合理"
    if latest is not None and day > latest:
        return "日期在一年以后，不合理"
    return None


class _Reader:
    """Reads the rows below a table's header into records (see ``read_records``)."""

    def __init__(self, table: Table, epoch1904: bool, now: dt.datetime | None):
        self.table = table
        schema = table.schema
        self.schema = schema
        self.cells = [
            _Cells(schema.field(name), c.index, epoch1904, table.times[name].index if name in table.times else None)
            for name, c in table.columns.items()
        ]
        self.need = max([c.index for c in self.cells] + [c.time_index or 0 for c in self.cells], default=-1) + 1
        self.today = now.date() if now is not None else None
        self.latest = self.today + dt.timedelta(days=366) if self.today is not None else None
        self.dated = [c.name for c in self.cells if c.spec.type in _DATED]
        self.datetimes = [c.name for c in self.cells if c.spec.type == "datetime"]
        anchor = schema.anchor
        self.anchor = anchor if anchor in table.columns else None
        if self.anchor is not None:
            self.dated = [self.anchor, *(n for n in self.dated if n != self.anchor)]
        self.defaults = [(c.name, c.spec.default) for c in self.cells if c.spec.default is not None]
        self.notes = [(c.name, c.spec.dates_field) for c in self.cells if c.spec.dates_field]
        self.derived = [f for f in schema.fields if f.derive is not None and f.name not in table.columns]
        self.has_declined_flag = "phone_declined" in schema.field_names
        self.marked = [c.name for c in self.cells if c.spec.done_mark]
        self.shared: dict[tuple[str, ...], frozenset[str]] = {}  # one frozenset per distinct date-only set
        mapped = {c.index: c.spec for c in self.cells}
        mapped.update({c.time_index: c.spec for c in self.cells if c.time_index is not None})
        self.mapped = mapped
        self.header_keys = {c.index: _header_key(c.header) for c in (*table.columns.values(), *table.times.values())
                            if _header_key(c.header)}
        # Columns of dates, numbers and phones first: in a record their cells are rarely texts, so the
        # misses that settle a row come at the cost of a type check (the count does not depend on order).
        typed = {c.index for c in self.cells if c.spec.type in _KEY_TYPES or c.spec.type in ("int", "float")}
        typed |= {c.time_index for c in self.cells if c.time_index is not None}
        self.key_checks = sorted(((i, key, 3 * len(key) + 12) for i, key in self.header_keys.items()),
                                 key=lambda item: item[0] not in typed)
        self.need_same = max(2, (len(self.key_checks) + 1) // 2)

    def is_header(self, values: Sequence[Any]) -> bool:
        """The row repeats the header (a sheet pasted under another): half its header cells, at least two."""
        need = self.need_same
        misses_left = len(self.key_checks) - need  # stop as soon as the row cannot reach ``need`` any more
        same = 0
        size = len(values)
        for index, key, longest in self.key_checks:
            value = values[index] if index < size else None
            if type(value) is str and value and len(value) <= longest and _header_key(value) == key:
                same += 1
                if same >= need:
                    return True
            else:
                misses_left -= 1
                if misses_left < 0:
                    return False
        return False

    def shape(self, values: Sequence[Any]) -> str | None:
        """"skip" for a totals or note row: first cell 合计/备注：…, or only numbers, none of them under a
        phone, date or yes/no column (a count under 客户姓名, a SUM under 年龄); "blank" for a row holding
        nothing but a row number (序号); "title" for a row of one text cell; else None."""
        first = None
        filled = 0
        numbers_only = True
        counted = False
        mapped = self.mapped
        for i, value in enumerate(values):
            if value is None or (type(value) is str and not value.strip()):
                continue
            filled += 1
            if first is None:
                first = value
                if type(value) is str and fold(value.strip()[:20]).startswith(_NOT_RECORD):
                    return "skip"
            if numbers_only:
                if type(value) not in (int, float):
                    numbers_only = False
                else:
                    spec = mapped.get(i)
                    if spec is not None and not spec.fallback_aliases:
                        if spec.type in _KEY_TYPES:
                            numbers_only = False
                        else:
                            counted = True
            elif filled > 1:
                break
        if numbers_only and filled:
            return "skip" if counted else "blank"
        if filled == 1 and type(first) is str:
            return "title"
        return None

    def read(self, rows: Iterable[Row]) -> None:
        table = self.table
        header_row = table.header_row
        pending: Row | None = None  # a one-cell title row: skipped if a repeated header follows it
        for number, values in rows:
            if number <= header_row:
                continue
            if pending is not None:
                if all(v is None or (type(v) is str and not v.strip()) for v in values):
                    continue  # blank rows between a title and the header it names
                held, pending = pending, None
                if self.is_header(values):
                    table.skipped_rows.extend((held[0], number))
                    continue
                self.row(*held)
            shape = self.shape(values)
            if shape == "title":
                pending = (number, values)
                continue
            if shape == "blank":
                continue
            if shape == "skip" or self.is_header(values):
                table.skipped_rows.append(number)
                continue
            self.row(number, values)
        if pending is not None:
            self.row(*pending)

    def row(self, number: int, values: Sequence[Any]) -> None:
        table = self.table
        if len(values) < self.need:  # ragged rows (CSV, openpyxl): pad once instead of checking every cell
            values = [*values, *([None] * (self.need - len(values)))]
        record = Record(number)
        invalid: list[tuple[str, Any, str]] | None = None  # lists made only for the rows that need them
        at_time: list[str] | None = None
        declined: list[str] | None = None
        for c in self.cells:
            value = values[c.index]
            if c.time_index is None:  # _cell inlined: this loop runs once per cell of the log
                kind = type(value)
                if kind is str or kind in _MEMO_KINDS:  # texts, and dates that repeat down a column
                    out = c.memo.get(value, _INVALID)
                    if out is _INVALID:
                        out = _cell(c, value)
                elif kind is c.native:
                    record[c.name] = value
                    continue
                elif value is None:
                    continue
                else:
                    out = _convert(c, value)
            else:
                out, on_time = _pair(c, value, values[c.time_index])
                if on_time:
                    if at_time is None:
                        at_time = []
                    at_time.append(c.name)
                    value = values[c.time_index]
            if out is None:
                continue
            if type(out) is Invalid:
                if invalid is None:
                    invalid = []
                invalid.append((c.name, value, out.reason))
            elif out is DECLINED:
                if declined is None:
                    declined = []
                declined.append(c.name)
            else:
                record[c.name] = out
        if not record and not invalid and not declined:
            return
        if declined:
            record.declined = frozenset(declined)
            if self.has_declined_flag:
                record["phone_declined"] = True
        if at_time:
            record.at_time = frozenset(at_time)
        if invalid is None:
            invalid = []
        self.dates(record, invalid, values)
        for name, default in self.defaults:  # e.g. an empty 跟进状态 means 跟进中
            if name not in record and not any(n == name for n, _, _ in invalid):
                record[name] = default
        for spec in self.derived:  # e.g. no 处理状态 column: 已解决 once resolved
            rule = spec.derive
            filled = any(record.get(n) is not None for n in rule["filled_any"])
            record[spec.name] = rule["then"] if filled else rule["else"]
        if invalid:
            record.invalid = frozenset(name for name, _, _ in invalid)
            for name, value, reason in invalid:  # after the row is read, so the finding has its assignee
                # Licence and ID numbers never leave the sheet, not even inside an error message.
                shown = "" if table.schema.field(name).confidential else f"「{_show(value)}」"
                label = display_header(table.times[name].header) if name in record.at_time else table.label_of(name)
                table.findings.append(table.finding(
                    "invalid_value", record, name, f"{label}{shown}无法识别：{reason}",
                ))
        for name in self.marked:  # only done columns hold marks
            value = record.get(name)
            if type(value) is DoneMark:
                table.done_unknown += 1
                if value.unclear:
                    table.findings.append(table.finding(
                        "unclear_done_mark", record, name,
                        f"{table.label_of(name)}「{_show(value.text)}」看不出是否已完成：按已完成（时间不详）处理，请核实",
                    ))
        table.records.append(record)

    def dates(self, record: Record, invalid: list[tuple[str, Any, str]], values: Sequence[Any]) -> None:
        """Years for dates written without one, implausible dates, dated notes, and date-only flags."""
        near = self.today
        latest = self.latest
        for name in self.dated:  # the anchor (the row's own start date) first
            value = record.get(name)
            if value is None:
                continue
            kind = type(value)
            if kind is DoneMark:
                continue
            if kind is Yearless:
                if near is None:
                    del record[name]
                    invalid.append((name, self.raw(name, record, values), "日期缺少年份"))
                    continue
                try:
                    value = record[name] = value.resolve(near)
                except ValueError as exc:  # 02-30, 11-31
                    del record[name]
                    invalid.append((name, self.raw(name, record, values), str(exc)))
                    continue
            day = value.date() if type(value) is dt.datetime else value
            if day < _MIN_DAY or (latest is not None and day > latest):  # _plausible, inlined for the hot path
                del record[name]
                invalid.append((name, self.raw(name, record, values), _plausible(value, latest)))
                continue
            if name == self.anchor:
                near = value.date() if isinstance(value, dt.datetime) else value
        for name, target in self.notes:  # "11/10已回访，已订车": a follow-up on 11-10
            text = record.get(name)
            led = date_prefix(text, as_date=True) if isinstance(text, str) else None
            if led is None or near is None or any(n == target for n, _, _ in invalid):
                continue
            try:
                day = led[0].resolve(near) if type(led[0]) is Yearless else led[0]
            except ValueError:
                continue
            day = day.date() if isinstance(day, dt.datetime) else day
            if _plausible(day, self.latest) is not None:
                continue
            current = record.get(target)
            if not isinstance(current, dt.date) or (current.date() if isinstance(current, dt.datetime) else current) < day:
                record[target] = day
        dateonly = None
        for n in self.datetimes:
            value = record.get(n)
            kind = type(value)
            if kind is dt.date or (kind is dt.datetime and not (value.hour or value.minute or value.second
                                                              or value.microsecond)):
                if dateonly is None:
                    dateonly = []
                dateonly.append(n)
        if dateonly:
            key = tuple(dateonly)
            shared = self.shared.get(key)
            if shared is None:
                shared = self.shared[key] = frozenset(dateonly)
            record.dateonly = shared

    def raw(self, name: str, record: Record, values: Sequence[Any]) -> Any:
        column = self.table.times[name] if name in record.at_time else self.table.columns[name]
        return values[column.index]


def read_records(table: Table, rows: Iterable[Row], epoch1904: bool = False, now: dt.datetime | None = None) -> None:
    """Fill ``table.records`` from the rows below the header; unreadable cells become findings.

    Totals, notes and repeated headers are skipped (``table.skipped_rows``); a split date+time field is
    read from both its cells; years missing from dates are taken near the row's own start date, else
    near ``now``; dates before 2000 or more than 366 days after ``now`` are unreadable.
    """
    _Reader(table, epoch1904, now).read(rows)


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
                     url: str | None = None, *, now: dt.datetime | None = None,
                     overrides: Mapping[str, str] | None = None,
                     heads: list[tuple[list[Row], int]] | None = None) -> Table | None:
    """Read one sheet as ``schema`` (or the schema its header clearly matches); None when it matches none.

    ``overrides`` maps folded header spellings to ``field``/``field.date``/``field.time`` (config ``columns``).
    ``heads``, when given, receives the rows that may hold the header (for the hints of ``check``).
    """
    grid = sheet.read()
    head, rows = split_head(grid.rows)
    if heads is not None:
        heads.append((head, grid.first_col))
    if schema is not None:
        match = match_header_row(schema, head, grid.first_col, overrides)
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
        match = detect_table(candidates, head, grid.first_col, overrides)
        if match is None:
            return None
    table = Table(source, sheet.title, match.schema, match.row, match.columns, url=url, times=dict(match.times),
                  headers=dict(match.headers))
    for spec in match.schema.fields:
        if spec.always_required and spec.name not in match.columns and spec.derive is None:
            table.findings.append(table.finding(
                "missing_column", None, spec.name, f"缺少必填列「{display_header(spec.header)}」",
            ))
    read_records(table, rows, sheet.epoch1904, now)
    return table
