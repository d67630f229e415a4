"""The monthly complaint report (客户投诉情况及处理月报): figures (pure) and an Excel workbook with charts.

``month_stats`` computes every figure of one month from all complaint records (earlier months count for
repeat complainants and for complaints still open at month end). Times are judged as at the end of the
month, with what the log says now: a reply or work order whose deadline had not passed at month end and
that is not done yet is *pending*, never late. Hours are kept unrounded; they are rounded once, when shown.

A done column (first_reply_at, resolved_at, callback_at) may hold a moment, a bare date, or any other
truthy mark ("done, time unknown"). A bare date is judged by the day: on time when the day is not after
the deadline's day; it is left out of the hours figures. A done mark counts as done (closed, replied,
called back) but has no time: it is left out of the hours figures and out of on-time rates (neither on
time nor late), and counted as ``unknown`` beside them.

``write_report`` lays the figures out in a printable workbook (see ``_print_setup``).
"""

from __future__ import annotations

import datetime as dt
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from .findings import mask_phone
from .findings_book import put_text, save_atomic
from .tables import Record
from .textnorm import fold

REPLY_LIMIT = dt.timedelta(hours=24)
REPEAT_DAYS = 30
CALLBACK_WORKING_DAYS = 3
SATISFACTION = ("满意", "一般", "不满意")
CLOSED = ("已解决", "已关闭")
UNCATEGORISED = "未分类"
TREND_MONTHS = 6

# How an obligation stood at month end.
ON_TIME, LATE, PENDING, UNKNOWN = "on_time", "late", "pending", "unknown"
SHOWN = {ON_TIME: "是", LATE: "否", PENDING: "待定", UNKNOWN: "时间不详", None: "—"}


def month_span(month: str, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant of the next month) of ``YYYY-MM`` in ``tz``."""
    start = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=tz)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def previous_month(month: str) -> str:
    start = dt.datetime.strptime(month, "%Y-%m")
    return (start - dt.timedelta(days=1)).strftime("%Y-%m")


def default_month(now: dt.datetime) -> str:
    return (now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


def _local(value: Any, tz: ZoneInfo) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


@dataclass(frozen=True)
class Done:
    """A filled done column: the moment when known, else the day when known, else neither."""

    at: dt.datetime | None = None
    day: dt.date | None = None


def done_of(value: Any, tz: ZoneInfo) -> Done | None:
    """None when not done; a datetime, a bare date or any other truthy mark is done."""
    if isinstance(value, dt.datetime):
        at = _local(value, tz)
        return Done(at, at.date() if at else None)
    if isinstance(value, dt.date):
        return Done(None, value)
    return Done() if value else None


def judge(done: Done | None, deadline: dt.datetime, end: dt.datetime) -> str:
    """On time, late, pending (not done, deadline not passed at month end) or unknown (no time)."""
    if done is None:
        return LATE if deadline < end else PENDING
    if done.at is not None:
        return ON_TIME if done.at <= deadline else LATE
    if done.day is not None:
        return ON_TIME if done.day <= deadline.date() else LATE
    return UNKNOWN


def _before(done: Done | None, end: dt.datetime) -> bool:
    """Whether a done column says it was done before ``end`` (a mark without time: yes)."""
    if done is None:
        return False
    if done.at is not None:
        return done.at < end
    if done.day is not None:
        return done.day < end.date()
    return True


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def days_late(due: dt.datetime, until: dt.datetime) -> int:
    """Calendar days from the deadline's day to ``until``'s day; late on the same day counts as 1."""
    return max(1, (until.date() - due.date()).days)


@dataclass(frozen=True)
class ComplaintOutcome:
    """One complaint with how it stood at the end of the report's month."""

    complaint_id: str
    received_at: dt.datetime
    channel: str
    customer: str
    phone: str
    category: str
    severity: str
    department: str
    model: str
    owner: str  # as the staff list spells it (as typed when not on the list)
    owner_key: str  # folded: 赵敏, 趙敏 and "赵 敏" are one owner
    status: str
    content: str
    location: str  # sheet!row
    reply_hours: float | None  # unrounded; None: no reply with a moment
    reply: str  # ON_TIME | LATE | PENDING | UNKNOWN
    resolve_hours: float | None
    resolved_by_end: bool
    dept: str | None  # None: no work order
    callback: str | None  # None: not resolved; "done" | "missing"
    satisfaction: str
    repeat: bool


@dataclass(frozen=True)
class Overdue:
    kind: str  # 首次答复 | 协办工单 | 处理后回访
    complaint: ComplaintOutcome
    due: dt.datetime
    late_days: int
    done: bool  # done late (True) or still not done at month end (False)


@dataclass
class MonthStats:
    month: str
    complaints: list[ComplaintOutcome] = field(default_factory=list)
    by_day: list[tuple[dt.date, int]] = field(default_factory=list)
    open_at_end: list[tuple[ComplaintOutcome, int]] = field(default_factory=list)  # (complaint, age in days), oldest first
    overdue: list[Overdue] = field(default_factory=list)

    # -- counts ---------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return len(self.complaints)

    def _count(self, key: Callable[[ComplaintOutcome], str]) -> Counter:
        return Counter(key(c) for c in self.complaints)

    @property
    def by_channel(self) -> Counter:
        return self._count(lambda c: c.channel)

    @property
    def by_category(self) -> Counter:
        return self._count(lambda c: c.category)

    @property
    def by_severity(self) -> Counter:
        return self._count(lambda c: c.severity)

    @property
    def by_model(self) -> Counter:
        return self._count(lambda c: c.model)

    @property
    def by_owner(self) -> Counter:
        return self._count(lambda c: c.owner)

    @property
    def satisfaction(self) -> Counter:
        return Counter(c.satisfaction for c in self.complaints if c.satisfaction)

    @property
    def repeats(self) -> list[ComplaintOutcome]:
        return [c for c in self.complaints if c.repeat]

    # -- rates ----------------------------------------------------------------------------------
    def _tally(self, values: Iterable[str | None]) -> tuple[int, int, int]:
        """(on time, judged, unknown): pending and none are not judged; unknown is counted apart."""
        counted = Counter(values)
        return counted[ON_TIME], counted[ON_TIME] + counted[LATE], counted[UNKNOWN]

    @property
    def reply_tally(self) -> tuple[int, int, int]:
        return self._tally(c.reply for c in self.complaints)

    @property
    def timeless(self) -> int:
        """Complaints whose reply or work order is marked done without a time (out of the on-time rates)."""
        return sum(UNKNOWN in (c.reply, c.dept) for c in self.complaints)

    @property
    def dept_tally(self) -> tuple[int, int, int]:
        return self._tally(c.dept for c in self.complaints)

    @property
    def reply_on_time(self) -> int:
        return self.reply_tally[0]

    @property
    def reply_judged(self) -> int:
        return self.reply_tally[1]

    @property
    def reply_rate(self) -> float | None:
        return _rate(*self.reply_tally[:2])

    @property
    def dept_orders(self) -> int:
        return sum(c.dept is not None for c in self.complaints)

    @property
    def dept_on_time(self) -> int:
        return self.dept_tally[0]

    @property
    def dept_rate(self) -> float | None:
        return _rate(*self.dept_tally[:2])

    @property
    def resolved(self) -> int:
        return sum(c.callback is not None for c in self.complaints)

    @property
    def callbacks(self) -> int:
        return sum(c.callback == "done" for c in self.complaints)

    @property
    def callback_rate(self) -> float | None:
        return _rate(self.callbacks, self.resolved)

    @property
    def resolve_rate(self) -> float | None:
        """结案率: complaints of the month resolved by the month's end."""
        return _rate(sum(c.resolved_by_end for c in self.complaints), self.total)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率: 满意 among the customers who answered."""
        answered = sum(self.satisfaction.values())
        return _rate(self.satisfaction.get("满意", 0), answered)

    @property
    def median_reply_hours(self) -> float | None:
        hours = [c.reply_hours for c in self.complaints if c.reply_hours is not None]
        return statistics.median(hours) if hours else None

    @property
    def median_resolve_hours(self) -> float | None:
        hours = [c.resolve_hours for c in self.complaints if c.resolve_hours is not None]
        return statistics.median(hours) if hours else None


def _hours(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds() / 3600


def month_stats(records: Iterable[Record], month: str, tz: ZoneInfo, *, show_phone: bool = False,
                repeat_days: int = REPEAT_DAYS, callback_due: Callable[[dt.date], dt.date] | None = None,
                owner_name: Callable[[str], str] | None = None,
                locate: Callable[[Record], str] = lambda r: str(r.row)) -> MonthStats:
    """Every figure of the report for ``month`` from complaint records (all of them: repeats look back,
    complaints of earlier months may still be open). Records without a readable received_at are left
    out here: ``unreadable`` lists them.

    ``callback_due(resolved day)`` is the day the callback is due by (default: 3 days later);
    ``owner_name(typed)`` spells an owner as the staff list does.
    """
    start, end = month_span(month, tz)
    window = dt.timedelta(days=repeat_days)
    callback_due = callback_due or (lambda day: day + dt.timedelta(days=CALLBACK_WORKING_DAYS))
    owner_name = owner_name or (lambda name: name)
    dated = [(received, r) for r in records if (received := _local(r.get("received_at"), tz)) is not None]
    dated.sort(key=lambda pair: (pair[0], pair[1].row))
    stats = MonthStats(month)
    last_by_phone: dict[str, dt.datetime] = {}
    days: Counter = Counter()
    open_at_end = []
    for received, record in dated:
        if received >= end:
            break
        phone = record.get("phone")
        key = str(phone) if phone else ""
        repeat = bool(key and key in last_by_phone and received - last_by_phone[key] <= window)
        if key:
            last_by_phone[key] = received
        replied = done_of(record.get("first_reply_at"), tz)
        resolved = done_of(record.get("resolved_at"), tz)
        if resolved is None and record.get("status") in CLOSED:
            resolved = Done()  # closed without a time: done, time unknown
        first = replied or resolved
        reply_deadline = received + REPLY_LIMIT
        due = _local(record.get("dept_due_at"), tz)
        called = done_of(record.get("callback_at"), tz)
        typed_owner = str(record.get("owner") or "").strip()
        outcome = ComplaintOutcome(
            complaint_id=str(record.get("complaint_id") or ""), received_at=received,
            channel=record.get("channel") or "未填写", customer=str(record.get("customer_name") or ""),
            phone=(str(phone or "")) if show_phone else (mask_phone(phone) or ""),
            category=str(record.get("category") or UNCATEGORISED), severity=str(record.get("severity") or "未填写"),
            department=str(record.get("department") or ""), model=str(record.get("model") or ""),
            owner=owner_name(typed_owner) if typed_owner else "未填写", owner_key=fold(typed_owner) if typed_owner else "",
            status=str(record.get("status") or ""), content=str(record.get("content") or ""), location=locate(record),
            reply_hours=_hours(first.at, received) if first and first.at else None,
            reply=judge(first, reply_deadline, end),
            resolve_hours=_hours(resolved.at, received) if resolved and resolved.at else None,
            resolved_by_end=_before(resolved, end),
            dept=judge(resolved, due, end) if due is not None else None,
            callback=None if resolved is None else ("done" if called else "missing"),
            satisfaction=str(record.get("satisfaction") or ""), repeat=repeat,
        )
        if not outcome.resolved_by_end:
            open_at_end.append((outcome, (end - received).days))
        stats.overdue.extend(_overdue(outcome, first, reply_deadline, resolved, due, called, callback_due, start, end))
        if received >= start:
            stats.complaints.append(outcome)
            days[received.date()] += 1
    stats.open_at_end = sorted(open_at_end, key=lambda pair: (-pair[1], pair[0].received_at))
    day = start.date()
    while day < end.date():
        stats.by_day.append((day, days.get(day, 0)))
        day += dt.timedelta(days=1)
    return stats


def _overdue(c: ComplaintOutcome, first: Done | None, reply_deadline: dt.datetime, resolved: Done | None,
             due: dt.datetime | None, called: Done | None, callback_due: Callable[[dt.date], dt.date],
             start: dt.datetime, end: dt.datetime) -> list[Overdue]:
    """What this complaint missed that matters this month: a deadline inside the month missed, or an
    earlier one still not done at the month's start."""
    out = []
    checks = [("首次答复", first, reply_deadline), ("协办工单", resolved, due)]
    if resolved is not None and (resolved.day is not None):
        day = callback_due(resolved.day)
        checks.append(("处理后回访", called, dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=start.tzinfo)))
    for kind, done, deadline in checks:
        if deadline is None or deadline >= end or judge(done, deadline, end) != LATE:
            continue
        if deadline < start and _before(done, start):
            continue  # missed in an earlier month and done before this one: that month's report said so
        last = end - dt.timedelta(microseconds=1)  # the month's last instant: not done by then, late until then
        until = done.at if done is not None and done.at is not None else (
            dt.datetime.combine(done.day, dt.time(12), tzinfo=start.tzinfo) if done and done.day else last)
        out.append(Overdue(kind, c, deadline, days_late(deadline, min(until, last)), _before(done, end)))
    return out


def unreadable(records: Iterable[Record], locate: Callable[[Record], str] = lambda r: str(r.row)) -> list[str]:
    """Where the rows are whose received time cannot be read (they are in no month's figures)."""
    return [locate(r) for r in records if not isinstance(r.get("received_at"), dt.datetime)]


# -- figures against the previous month ---------------------------------------------------------

COUNT, RATE, HOURS = "count", "rate", "hours"
HEADLINES: tuple[tuple[str, str, str, str, Callable[[MonthStats], Any]], ...] = (
    ("total", "投诉总数", "Complaints", COUNT, lambda s: s.total),
    ("reply_rate", "24小时内首次答复率", "First reply within 24 h", RATE, lambda s: s.reply_rate),
    ("median_reply_hours", "首次答复时间中位数（小时）", "Median hours to first reply", HOURS, lambda s: s.median_reply_hours),
    ("median_resolve_hours", "解决时间中位数（小时）", "Median hours to resolution", HOURS, lambda s: s.median_resolve_hours),
    ("resolve_rate", "结案率", "Resolved by month end", RATE, lambda s: s.resolve_rate),
    ("dept_rate", "协办工单按时完成率", "Work orders on time", RATE, lambda s: s.dept_rate),
    ("callback_rate", "处理后回访率（闭环）", "Callback after handling", RATE, lambda s: s.callback_rate),
    ("satisfaction_rate", "满意率", "Satisfied", RATE, lambda s: s.satisfaction_rate),
    ("repeats", "重复投诉件数", "Repeat complaints", COUNT, lambda s: len(s.repeats)),
    ("open_at_end", "月末未结件数", "Open at month end", COUNT, lambda s: len(s.open_at_end)),
)
# A rise is good news for these (the arrow alone does not say it: the words beside it do).
HIGHER_IS_BETTER = {"reply_rate", "resolve_rate", "dept_rate", "callback_rate", "satisfaction_rate"}
FORMATS = {COUNT: "0", RATE: "0.0%", HOURS: "0.0"}


def change(now: float | None, before: float | None, kind: str = COUNT) -> float | None:
    """now − before, rounded to what is shown (no float noise); None when either is missing."""
    if now is None or before is None:
        return None
    diff = now - before
    return int(diff) if kind == COUNT and float(diff).is_integer() else round(diff, 4 if kind == RATE else 2)


def arrow(diff: float | None) -> str:
    return "" if diff is None else ("↑" if diff > 0 else "↓" if diff < 0 else "→")


@dataclass(frozen=True)
class Figure:
    key: str
    zh: str
    en: str
    kind: str
    now: Any
    before: Any

    @property
    def change(self) -> float | None:
        return change(self.now, self.before, self.kind)

    @property
    def arrow(self) -> str:
        return arrow(self.change)

    def shown(self, value: Any) -> str:
        if value is None:
            return "—"
        return f"{value:.0%}" if self.kind == RATE else f"{value:.1f}" if self.kind == HOURS else str(value)

    def shown_change(self, points: str = " pp") -> str:
        """The change as shown: rates in percentage points (``points``: " pp", "个百分点")."""
        diff = self.change
        if diff is None:
            return ""
        if self.kind == RATE:
            return f"{diff * 100:+.0f}{points}"
        return f"{diff:+.1f}" if self.kind == HOURS else f"{diff:+d}"


def headline(stats: MonthStats, previous: MonthStats) -> list[Figure]:
    return [Figure(key, zh, en, kind, get(stats), get(previous)) for key, zh, en, kind, get in HEADLINES]


def compare(now: Counter, before: Counter, total: int, total_before: int) -> list[tuple[Any, ...]]:
    """(name, count, share, previous count, previous share, change in count, change in share), most first."""
    names = sorted(set(now) | set(before), key=lambda k: (-now.get(k, 0), -before.get(k, 0), str(k)))
    rows = []
    for k in names:
        n, p = now.get(k, 0), before.get(k, 0)
        share, share_before = _rate(n, total), _rate(p, total_before)
        rows.append((k, n, share, p, share_before, n - p, change(share, share_before, RATE)))
    return rows


def biggest_changes(stats: MonthStats, previous: MonthStats, count: int = 3) -> list[dict[str, str]]:
    """The largest moves in complaint categories and channels, in words (zh and en)."""
    moves = []
    for what, zh, en, now, before in (("category", "{}类投诉", "{} complaints", stats.by_category, previous.by_category),
                                      ("channel", "{}渠道投诉", "complaints by {}", stats.by_channel, previous.by_channel)):
        for name, _n, share, _p, share_before, diff, _ in compare(now, before, stats.total, previous.total):
            if diff:
                said = f"{name}投诉" if what == "category" and str(name).endswith("类") else zh.format(name)
                moves.append((abs(diff), what == "category", name, said, en.format(name), diff,
                              share or 0.0, share_before or 0.0))
    moves.sort(key=lambda m: (-m[0], not m[1], str(m[2])))
    out = []
    for _, _, _, zh, en, diff, share, share_before in moves[:count]:
        shown, shown_before = f"{share:.0%}", f"{share_before:.0%}"
        went_zh, went_en = (("持平", "unchanged at") if shown == shown_before else
                            ("升至", "up to") if share > share_before else ("降至", "down to"))
        out.append({"zh": f"{zh} {diff:+d}，占比{went_zh} {shown}",
                    "en": f"{en} {diff:+d}, share {went_en} {shown}"})
    return out


def trend(records: Sequence[Record], month: str, tz: ZoneInfo, **kwargs: Any) -> list[MonthStats]:
    """Up to six months ending with ``month``, from the first month the log has complaints in."""
    months = [month]
    while len(months) < TREND_MONTHS:
        months.insert(0, previous_month(months[0]))
    received = [t for r in records if (t := _local(r.get("received_at"), tz)) is not None]
    if not received:
        return []
    first = min(received).strftime("%Y-%m")
    return [month_stats(records, m, tz, **kwargs) for m in months if m >= first]


# -- the workbook ---------------------------------------------------------------------------------


def text_width(text: str) -> int:
    """Columns a text takes: a Chinese (wide) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# One cell written as text when it is text (a customer's "=SUM(..)" never becomes a formula), a
# datetime without its zone: the same rule as every workbook Huifang writes.
_put = put_text


def _shown_width(value: Any, fmt: str | None) -> int:
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, float) and fmt and "%" in fmt:
        return 7
    if isinstance(value, float):
        return 8
    return text_width(str(value if value is not None else ""))


def _table(ws: Any, top: int, headers: Sequence[str], rows: Iterable[Sequence[Any]],
           formats: Sequence[str | None] = (), widths: dict[int, int] | None = None) -> int:
    """Headers at ``top``, rows below; returns the last row. ``widths`` collects each column's need."""
    from openpyxl.styles import Font, PatternFill  # noqa: PLC0415

    need = widths if widths is not None else {}
    for c, h in enumerate(headers, start=1):
        cell = _put(ws, top, c, h)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        need[c] = max(need.get(c, 0), text_width(h))
    r = top
    for r, values in enumerate(rows, start=top + 1):
        for c, v in enumerate(values, start=1):
            fmt = formats[c - 1] if c - 1 < len(formats) else None
            _put(ws, r, c, v, fmt)
            need[c] = max(need.get(c, 0), _shown_width(v, fmt))
    return r


def _fit_columns(ws: Any, widths: Mapping[int, int], cap: int = 40) -> None:
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    for c, w in widths.items():
        ws.column_dimensions[get_column_letter(c)].width = min(cap, max(6, w + 2))


def _print_setup(ws: Any, header_row: int | None, columns: int, last_row: int, *, list_sheet: bool = True) -> None:
    """Landscape A4, fit to one page wide, the header frozen and repeated on every page, a filter on the list."""
    from openpyxl.utils import get_column_letter  # noqa: PLC0415
    from openpyxl.worksheet.properties import PageSetupProperties  # noqa: PLC0415

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    if header_row is not None and list_sheet:
        ws.freeze_panes = f"A{header_row + 1}"
        ws.print_title_rows = f"{header_row}:{header_row}"
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(max(1, columns))}{max(header_row, last_row)}"


def _list_sheet(wb: Any, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
                formats: Sequence[str | None] = (), note: str | None = None) -> Any:
    """A sheet holding one list: an optional note row above, the header frozen, filtered and repeated."""
    ws = wb.create_sheet(title)
    top = 1
    if note:
        _put(ws, 1, 1, note)
        top = 2
    widths: dict[int, int] = {}
    last = _table(ws, top, headers, rows, formats, widths)
    _fit_columns(ws, widths)
    _print_setup(ws, top, len(headers), last)
    return ws


def _compare_sheet(wb: Any, title: str, label: str, now: Counter, before: Counter, stats: MonthStats,
                   previous: MonthStats) -> Any:
    return _list_sheet(wb, title, [label, stats.month, "占比", previous.month, "上月占比", "件数变化", "占比变化"],
                       compare(now, before, stats.total, previous.total),
                       (None, "0", "0.0%", "0", "0.0%", "+0;-0;0", "+0.0%;-0.0%;0.0%"))


def _on_time_share(values: Iterable[str | None]) -> float | None:
    counted = Counter(values)
    return _rate(counted[ON_TIME], counted[ON_TIME] + counted[LATE])


def department_rows(stats: MonthStats, previous: MonthStats) -> list[tuple[Any, ...]]:
    """(协办部门, work orders, judged, on time, on-time share, previous work orders, previous share, change)."""
    def by_dept(s: MonthStats) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for c in s.complaints:
            if c.dept is not None:
                out.setdefault(c.department or "未填写", []).append(c.dept)
        return out

    now, before = by_dept(stats), by_dept(previous)
    rows = []
    for name in sorted(set(now) | set(before), key=lambda k: (-len(now.get(k, [])), k)):
        mine, theirs = now.get(name, []), before.get(name, [])
        share, share_before = _on_time_share(mine), _on_time_share(theirs)
        rows.append((name, len(mine), sum(v in (ON_TIME, LATE) for v in mine), mine.count(ON_TIME), share,
                     len(theirs), share_before, change(share, share_before, RATE)))
    return rows


def owner_rows(stats: MonthStats, previous: MonthStats) -> list[tuple[Any, ...]]:
    """(责任人, complaints, previous, change, 24 h reply on-time share, work orders on-time share, open at month end).

    Owners are matched by their folded name; shown as the staff list spells them."""
    names: dict[str, str] = {}
    mine: dict[str, list[ComplaintOutcome]] = {}
    before: Counter = Counter()
    for c in stats.complaints:
        names.setdefault(c.owner_key, c.owner)
        mine.setdefault(c.owner_key, []).append(c)
    for c in previous.complaints:
        names.setdefault(c.owner_key, c.owner)
        before[c.owner_key] += 1
    still_open = Counter(c.owner_key for c, _ in stats.open_at_end)
    for c, _ in stats.open_at_end:
        names.setdefault(c.owner_key, c.owner)
    rows = []
    for key in sorted(names, key=lambda k: (-len(mine.get(k, [])), -still_open[k], names[k])):
        cs = mine.get(key, [])
        rows.append((names[key], len(cs), before[key], len(cs) - before[key], _on_time_share(c.reply for c in cs),
                     _on_time_share(c.dept for c in cs), still_open[key]))
    return rows


@dataclass(frozen=True)
class ReportNotes:
    """What the first page says before the figures."""

    correction: bool = False  # this report replaces one sent earlier for the month
    unreadable: tuple[str, ...] = ()  # sheet!row of rows without a readable received time
    repeat_days: int = REPEAT_DAYS


def write_report(stats: MonthStats, previous: MonthStats, path: Path, store: str = "", *,
                 history: Sequence[MonthStats] = (), notes: ReportNotes = ReportNotes()) -> Path:
    """Write the report workbook atomically (a temporary name in the same folder, then renamed), with the
    permissions the umask gives a new file."""
    import openpyxl  # noqa: PLC0415
    from openpyxl.chart import BarChart, LineChart, Reference  # noqa: PLC0415
    from openpyxl.styles import Alignment, Font  # noqa: PLC0415
    from openpyxl.worksheet.pagebreak import Break  # noqa: PLC0415

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "汇总"
    title = f"{store}客户投诉情况及处理月报 {stats.month}".strip()
    if notes.correction:
        title += "（更正版）"
    _put(ws, 1, 1, title).font = Font(bold=True, size=14)
    row = 2
    lines = []
    if notes.correction:
        lines.append("本报表为更正版，替代本月早先发出的报表。")
    if notes.unreadable:
        lines.append(f"有 {len(notes.unreadable)} 行受理时间无法读取，未计入：{'、'.join(notes.unreadable[:10])}"
                     + ("等" if len(notes.unreadable) > 10 else "") + "（见“无法读取”表）")
    if stats.timeless:
        lines.append(f"有 {stats.timeless} 件的答复或工单只标记已办、没有时间：计为已办，不计入时长和按时率。")
    for line in lines:
        _put(ws, row, 1, line).font = Font(bold=True, color="C00000")
        row += 1
    widths: dict[int, int] = {1: 28}
    figures = headline(stats, previous)
    head_top = row + 1
    head_end = _table(ws, head_top, ["指标", f"本月 {stats.month}", f"上月 {previous.month}", "变化", "趋势"],
                      [(f.zh, f.now, f.before, f.change, f.arrow) for f in figures], (), widths)
    for i, f in enumerate(figures, start=head_top + 1):
        for col in (2, 3):
            ws.cell(i, col).number_format = FORMATS[f.kind]
        ws.cell(i, 4).number_format = {COUNT: "+0;-0;0", RATE: "+0.0%;-0.0%;0.0%", HOURS: "+0.0;-0.0;0.0"}[f.kind]
    row = head_end + 2
    _put(ws, row, 1, "三大变化").font = Font(bold=True, size=12)
    changes = biggest_changes(stats, previous)
    for i, item in enumerate(changes or [{"zh": "与上月相比没有变化"}], start=1):
        _put(ws, row + i, 1, f"{i}. {item['zh']}" if changes else item["zh"])
    row += len(changes or [1]) + 2
    _put(ws, row, 1, "最久未结的投诉").font = Font(bold=True, size=12)
    oldest = stats.open_at_end[:5]
    old_end = _table(ws, row + 1, ["投诉编号", "受理时间", "责任人", "处理状态", "已过天数"],
                     [(c.complaint_id, c.received_at, c.owner, c.status or "未填写", age) for c, age in oldest] or
                     [("月末没有未结的投诉", None, None, None, None)], (), widths)
    for r_ in range(head_top + 1, head_end + 1):
        ws.cell(r_, 1).alignment = Alignment(wrap_text=False)
    _fit_columns(ws, widths)
    _print_setup(ws, None, 5, old_end, list_sheet=False)
    ws.row_breaks.append(Break(id=old_end + 1))  # page 1 is the manager's summary; the charts print on page 2
    anchor_row = old_end + 3

    _compare_sheet(wb, "按渠道", "投诉渠道", stats.by_channel, previous.by_channel, stats, previous)
    categories = _compare_sheet(wb, "按类别", "投诉类别", stats.by_category, previous.by_category, stats, previous)
    kinds = len(compare(stats.by_category, previous.by_category, stats.total, previous.total))
    if kinds:
        bars = BarChart()
        bars.title = "按投诉类别（本月与上月）"
        bars.y_axis.title = "件数"
        for col in (2, 4):  # this month's and last month's counts
            bars.add_data(Reference(categories, min_col=col, min_row=1, max_row=1 + kinds), titles_from_data=True)
        bars.set_categories(Reference(categories, min_col=1, min_row=2, max_row=1 + kinds))
        bars.height, bars.width = 6.5, 16
        ws.add_chart(bars, f"A{anchor_row}")
        anchor_row += 14

    if len(history) >= 2:
        rates = [(k, zh, get) for k, zh, _en, kind, get in HEADLINES if kind == RATE]
        tr = _list_sheet(wb, "趋势", ["月份", "投诉总数", *[zh for _, zh, _ in rates]],
                         [(s.month, s.total, *[get(s) for _, _, get in rates]) for s in history],
                         (None, "0", *["0.0%"] * len(rates)))
        wb.move_sheet(tr, offset=1 - wb.sheetnames.index(tr.title))  # right after the summary
        line = LineChart()
        line.title = f"近{len(history)}个月各项比率"
        line.y_axis.number_format = "0%"
        line.add_data(Reference(tr, min_col=3, max_col=2 + len(rates), min_row=1, max_row=1 + len(history)),
                      titles_from_data=True)
        line.set_categories(Reference(tr, min_col=1, min_row=2, max_row=1 + len(history)))
        for series in line.series:
            series.smooth = False
        line.height, line.width = 6.5, 16
        ws.add_chart(line, f"A{anchor_row}")

    _compare_sheet(wb, "按紧急程度", "紧急程度", stats.by_severity, previous.by_severity, stats, previous)
    if any(c.model for c in [*stats.complaints, *previous.complaints]):
        _compare_sheet(wb, "按车型", "车型", Counter(c.model or "未填写" for c in stats.complaints),
                       Counter(c.model or "未填写" for c in previous.complaints), stats, previous)
    _list_sheet(wb, "按协办部门", ["协办部门", "工单数", "已到期", "按时", "按时率", "上月工单数", "上月按时率", "按时率变化"],
                department_rows(stats, previous), (None, "0", "0", "0", "0.0%", "0", "0.0%", "+0.0%;-0.0%;0.0%"))
    _list_sheet(wb, "按责任人", ["责任人", stats.month, previous.month, "件数变化", "24小时答复按时率", "工单按时率",
                               "月末未结"],
                owner_rows(stats, previous), (None, "0", "0", "+0;-0;0", "0.0%", "0.0%", "0"))
    _compare_sheet(wb, "满意度", "客户满意度",
                   Counter({k: stats.satisfaction.get(k, 0) for k in SATISFACTION}),
                   Counter({k: previous.satisfaction.get(k, 0) for k in SATISFACTION}), stats, previous)
    _list_sheet(wb, "超时未办", ["类型", "投诉编号", "受理时间", "客户姓名", "责任人", "时限", "超时天数", "月末状态"],
                [(o.kind, o.complaint.complaint_id, o.complaint.received_at, o.complaint.customer, o.complaint.owner,
                  o.due, o.late_days, "已补办" if o.done else "未办") for o in stats.overdue])
    _list_sheet(wb, "重复投诉", ["投诉编号", "受理时间", "客户姓名", "联系电话", "责任人", "投诉内容"],
                [(c.complaint_id, c.received_at, c.customer, c.phone, c.owner, c.content) for c in stats.repeats],
                note=f"同一电话 {notes.repeat_days} 天内再次投诉")
    _list_sheet(wb, "月末未结", ["投诉编号", "受理时间", "客户姓名", "联系电话", "责任人", "处理状态", "已过天数"],
                [(c.complaint_id, c.received_at, c.customer, c.phone, c.owner, c.status, age)
                 for c, age in stats.open_at_end])
    _list_sheet(wb, "投诉明细", ["投诉编号", "受理时间", "投诉渠道", "客户姓名", "联系电话", "投诉类别", "紧急程度", "责任人",
                               "处理状态", "投诉内容", "首次答复（小时）", "24小时内答复", "解决（小时）", "工单按时", "已回访",
                               "客户满意度", "重复投诉"],
                [(c.complaint_id, c.received_at, c.channel, c.customer, c.phone, c.category, c.severity, c.owner,
                  c.status, c.content, c.reply_hours, SHOWN[c.reply], c.resolve_hours, SHOWN[c.dept],
                  {"done": "是", "missing": "否", None: "—"}[c.callback], c.satisfaction, "是" if c.repeat else "否")
                 for c in stats.complaints],
                (None, None, None, None, None, None, None, None, None, None, "0.0", None, "0.0"))
    if notes.unreadable:
        _list_sheet(wb, "无法读取", ["位置（工作表!行）"], [(where,) for where in notes.unreadable])
    save_atomic(wb, path, follow_umask=True)  # colleagues sharing the reports folder open it
    return path
