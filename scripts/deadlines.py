"""Deadline rules: what is overdue or due soon, for whom, by when.

A rule (declared in the table's YAML) gives the start field and a length in hours or working days,
or a field holding the due date itself; its warning window; what makes the task done; and who must
do it. "N working days after D" counts from D+1 and ends at the end of that day.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from .coerce import DoneMark
from .findings import Finding
from .schema import Condition, DeadlineRule, LaterRow, comparable
from .tables import Record, Table
from .workcal import WorkCalendar

_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class Due:
    """When a task falls due. ``day`` is set for day deadlines, which end at the end of that day."""

    at: dt.datetime  # aware; for a day deadline the last second of the day
    day: dt.date | None = None

    def is_overdue(self, now: dt.datetime) -> bool:
        if self.day is not None:
            return now.astimezone(self.at.tzinfo).date() > self.day
        return now > self.at

    def is_due_soon(self, now: dt.datetime, warn: dt.timedelta | None) -> bool:
        if self.is_overdue(now):
            return False
        if warn is None:  # the due day itself
            return now.astimezone(self.at.tzinfo).date() == (self.day or self.at.date())
        if self.day is not None and warn.days and not warn.seconds:  # whole days before a day deadline
            return now.astimezone(self.at.tzinfo).date() >= self.day - warn
        return self.at - warn <= now

    def describe(self) -> str:
        if self.day is not None:
            return f"{self.day:%m-%d}（周{_WEEKDAYS[self.day.weekday()]}）"
        return f"{self.at:%m-%d %H:%M}"


def localize(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A cell's datetime in the store's zone: naive values are local wall-clock time."""
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def end_of_day(day: dt.date, tz: ZoneInfo) -> Due:
    return Due(dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=tz), day)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months later; a day the target month lacks becomes its last day (05-31 + 6 = 11-30)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def compute_due(rule: DeadlineRule, record: Record, calendar: WorkCalendar, tz: ZoneInfo) -> Due | None:
    """The deadline of ``rule`` for one record, or None when the row's dates do not allow one.

    A due date given without a time ends with its day. An hour deadline whose start has no time of
    day is due at the end of the day hours // 24 days after the start's date (1 h: the same day;
    24 h: the next day), never counted from 00:00. An unreadable due date falls back to the
    start-based deadline when the rule has one.
    """
    dateonly = getattr(record, "dateonly", ())
    if rule.due_field is not None and rule.due_field not in record.invalid:
        value = record.get(rule.due_field)
        if isinstance(value, dt.datetime):
            if rule.due_field in dateonly:
                return end_of_day(value.date(), tz)
            return Due(localize(value, tz))
        if isinstance(value, dt.date):
            return end_of_day(value, tz)
    if rule.start is None or rule.after is None:
        return None
    start = record.get(rule.start)
    if not isinstance(start, dt.date):
        return None
    after = rule.after
    start_day = localize(start, tz).date() if isinstance(start, dt.datetime) else start
    if after.working_days is not None:
        return end_of_day(calendar.add_working_days(start_day, after.working_days), tz)
    if after.months is not None:
        return end_of_day(add_months(start_day, after.months), tz)
    if after.days is not None:
        return end_of_day(start_day + dt.timedelta(days=after.days), tz)
    if not isinstance(start, dt.datetime) or rule.start in dateonly:
        return end_of_day(start_day + dt.timedelta(days=int((after.hours or 0) // 24)), tz)
    return Due(localize(start, tz) + after.delta)


class _LaterRows:
    """Per (same-field value), the values of ``field`` on every row: answers LaterRow conditions."""

    def __init__(self, table: Table):
        self.table = table
        self.index: dict[tuple[str, str], dict[Any, list[tuple[int, Any]]]] = {}

    def done(self, cond: LaterRow, record: Record) -> bool:
        key = record.get(cond.same)
        threshold = record.get(cond.gte_field)
        if key is None or threshold is None:
            return False
        by_key = self.index.get((cond.same, cond.field))
        if by_key is None:
            by_key = defaultdict(list)
            for other in self.table.records:
                if other.get(cond.same) is not None and other.get(cond.field) is not None:
                    by_key[other[cond.same]].append((other.row, other[cond.field]))
            self.index[(cond.same, cond.field)] = by_key
        limit = comparable(threshold)
        # A later row marked done without a time (已回访) counts; a date alone counts for its whole day.
        return any(row != record.row and (type(value) is DoneMark or _at_or_after(value, limit))
                   for row, value in by_key.get(key, ()))


def _at_or_after(value: dt.date, limit: dt.datetime) -> bool:
    if type(value) is dt.date:
        return value >= limit.date()
    return comparable(value) >= limit


def applies(rule: DeadlineRule, record: Record) -> bool:
    """The task exists: every field the rule requires holds a readable value (a phone to call)."""
    return all(record.get(name) is not None for name in rule.requires)


def is_done(rule: DeadlineRule, record: Record, later: _LaterRows) -> bool:
    for cond in rule.done_when:
        if isinstance(cond, Condition):
            if cond.holds(record):
                return True
        elif later.done(cond, record):
            return True
    return False


def _open_tasks(table: Table, calendar: WorkCalendar, tz: ZoneInfo
                ) -> Iterator[tuple[DeadlineRule, Record, Due, str | None]]:
    """(rule, record, due, cell field) of every task not done yet that has a deadline."""
    later = _LaterRows(table)
    for rule in table.schema.deadlines:
        # Point at the cell that completes the task, else the one the deadline comes from.
        point = next((f for f in (rule.fill, rule.due_field, rule.start) if f and f in table.columns), None)
        for record in table.records:
            if is_done(rule, record, later) or not applies(rule, record):  # most rows are done: ask that first
                continue
            due = compute_due(rule, record, calendar, tz)
            if due is not None:
                yield rule, record, due, point


def _finding(table: Table, rule: DeadlineRule, record: Record, due: Due, point: str | None, overdue: bool) -> Finding:
    who = record.get(table.schema.customer) if table.schema.customer else None
    said = [who] if who else []
    for name in rule.mention:  # e.g. the car model and the delivery date of a service reminder
        value = record.get(name)
        if isinstance(value, dt.datetime):
            said.append(f"{value:%Y-%m-%d} {table.label_of(name).removesuffix('时间').removesuffix('日期')}")
        elif value is not None:
            said.append(str(value))
    suffix = f"（{'，'.join(said)}）" if said else ""
    if overdue:
        rule_id, text = f"{rule.rule}_overdue", f"{rule.label}已逾期：应于 {due.describe()} 前完成{suffix}"
    else:
        rule_id, text = f"{rule.rule}_due_soon", f"{rule.label}即将到期：请于 {due.describe()} 前完成{suffix}"
    return table.finding(rule_id, record, point, text, assignee=record.get(rule.assignee), due=due.at)


def deadline_findings(table: Table, calendar: WorkCalendar, tz: ZoneInfo, now: dt.datetime) -> Iterator[Finding]:
    """``X_overdue`` and ``X_due_soon`` findings of every deadline rule of the table at ``now``."""
    for rule, record, due, point in _open_tasks(table, calendar, tz):
        overdue = due.is_overdue(now)
        if overdue or due.is_due_soon(now, rule.warn.delta if rule.warn is not None else None):
            yield _finding(table, rule, record, due, point, overdue)


def due_later_today(table: Table, calendar: WorkCalendar, tz: ZoneInfo, now: dt.datetime) -> Iterator[Finding]:
    """Open tasks due later today but not yet inside their warning window: the morning reminder lists
    them with today's other tasks (a complaint received at 15:00 yesterday is due at 15:00 today)."""
    today = now.astimezone(tz).date()
    for rule, record, due, point in _open_tasks(table, calendar, tz):
        warn = rule.warn.delta if rule.warn is not None else None
        if due.at.date() == today and not due.is_overdue(now) and not due.is_due_soon(now, warn):
            yield _finding(table, rule, record, due, point, overdue=False)


@dataclass(frozen=True)
class DueItem:
    rule: str
    assignee: str | None
    done: bool


def due_on(table: Table, calendar: WorkCalendar, tz: ZoneInfo, day: dt.date) -> Iterator[DueItem]:
    """Every task of the table whose deadline falls on ``day``, done or not (for "done vs due" counts)."""
    later = _LaterRows(table)
    for rule in table.schema.deadlines:
        for record in table.records:
            if not applies(rule, record):
                continue
            due = compute_due(rule, record, calendar, tz)
            if due is not None and (due.day or due.at.date()) == day:
                yield DueItem(rule.rule, record.get(rule.assignee), is_done(rule, record, later))
