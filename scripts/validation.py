"""Validation rules over a table's records: blanks, expectations, staff names, duplicates, repeats."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator

from .findings import Finding, mask_phone
from .tables import Record, Table
from .textnorm import fold

QuietWindow = tuple[dt.time, dt.time]
DEFAULT_QUIET_HOURS: tuple[QuietWindow, ...] = ((dt.time(12), dt.time(14)), (dt.time(21), dt.time(9)))


@dataclass(frozen=True)
class Rules:
    """What validation needs besides the table: who the staff are and when customers rest."""

    staff: frozenset[str] | None = None  # folded names; None: no directory, so no unknown_staff check
    quiet_hours: tuple[QuietWindow, ...] = DEFAULT_QUIET_HOURS


def in_window(moment: dt.time, window: QuietWindow) -> bool:
    start, end = window
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # wraps past midnight


def format_windows(windows: tuple[QuietWindow, ...]) -> str:
    return "、".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in windows)


def validate(table: Table, rules: Rules) -> list[Finding]:
    """Every validation finding of the table (deadlines are decided elsewhere)."""
    findings: list[Finding] = []
    findings.extend(_row_findings(table, rules))
    findings.extend(_duplicates(table))
    findings.extend(_repeats(table))
    return findings


def _row_findings(table: Table, rules: Rules) -> Iterator[Finding]:
    # Sort the fields by check once per table: a 100k-row log runs this loop a million times.
    present = [spec for spec in table.schema.fields if spec.name in table.columns]
    required = [s for s in present if s.required]
    conditional = [s for s in present if s.required_when is not None or s.required_unless is not None]
    expects = [s for s in present if s.expect is not None]
    staff = [s.name for s in present if s.type == "staff"] if rules.staff is not None else []
    quiet = [s.name for s in present if s.quiet_hours]
    for record in table.records:
        invalid = record.invalid
        if record.declined:  # 不留 in the phone cell: the customer declined, nothing is missing
            invalid = invalid | record.declined
        for spec in required:
            if record.get(spec.name) is None and spec.name not in invalid:
                yield table.finding(spec.missing_rule, record, spec.name, _missing_message(table, spec.name, spec.missing_rule))
        for spec in conditional:
            if record.get(spec.name) is not None or spec.name in invalid:
                continue
            if (spec.required_when is not None and spec.required_when.holds(record)) or (
                    spec.required_unless is not None and not spec.required_unless.holds(record)):
                yield table.finding(spec.missing_rule, record, spec.name, _missing_message(table, spec.name, spec.missing_rule))
        for spec in expects:
            expect = spec.expect
            # An unreadable cell on either side is already a finding: no card_not_created for a bad phone.
            if (spec.name not in invalid and expect.when.field not in invalid and expect.when.holds(record)
                    and record.get(spec.name) != expect.value):
                yield table.finding(expect.rule, record, spec.name, expect.message)
        for name in staff:
            value = record.get(name)
            if value is not None and fold(value) not in rules.staff:
                yield table.finding("unknown_staff", record, name, f"{table.label_of(name)}「{value}」不在员工名单中")
        for name in quiet:
            value = record.get(name)
            if isinstance(value, dt.datetime):
                moment = value.time()
                if moment != dt.time() and any(in_window(moment, w) for w in rules.quiet_hours):
                    yield table.finding(
                        "callback_in_quiet_hours", record, name,
                        f"{table.label_of(name)} {value:%H:%M} 在客户休息时段（{format_windows(rules.quiet_hours)}）",
                    )


def _missing_message(table: Table, name: str, rule: str) -> str:
    if rule == "test_drive_without_license":
        return f"{table.label_of(name)}未登记：没有驾照不能试驾"
    return f"{table.label_of(name)}未填写（必填）"


def _duplicates(table: Table) -> Iterator[Finding]:
    for spec in table.schema.fields:
        if not spec.unique or spec.name not in table.columns:
            continue
        first_row: dict[str, int] = {}
        for record in table.records:
            value = record.get(spec.name)
            if value is None:
                continue
            key = fold(str(value))
            if key in first_row:
                yield table.finding(
                    "duplicate_id", record, spec.name,
                    f"{table.label_of(spec.name)}「{value}」与第 {first_row[key]} 行重复",
                )
            else:
                first_row[key] = record.row


def _repeats(table: Table) -> Iterator[Finding]:
    repeat = table.schema.repeat
    if repeat is None or repeat.key not in table.columns or repeat.time not in table.columns:
        return
    window = dt.timedelta(days=repeat.days)
    dated = sorted(
        (r for r in table.records if r.get(repeat.key) is not None and isinstance(r.get(repeat.time), dt.datetime)),
        key=lambda r: (r[repeat.time], r.row),
    )
    last_seen: dict[object, Record] = {}
    for record in dated:
        key, at = record[repeat.key], record[repeat.time]
        earlier = last_seen.get(key)
        if earlier is not None and at - earlier[repeat.time] <= window:
            yield table.finding(
                repeat.rule, record, repeat.key,
                f"该客户（{mask_phone(str(key))}）{repeat.days:g} 天内已投诉过："
                f"第 {earlier.row} 行，{earlier[repeat.time]:%Y-%m-%d %H:%M}",
            )
        last_seen[key] = record
