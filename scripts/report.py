"""The monthly complaint report (客户投诉情况及处理月报): figures (pure) and an Excel workbook with charts.

``month_stats`` computes every figure from the complaint records; ``write_report`` lays them out in
a workbook: a summary sheet with native charts, one sheet per breakdown, and every complaint of the
month with its SLA outcome. Text from the staff's sheet is always written as text, never a formula.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from .findings import mask_phone
from .tables import Record

REPLY_LIMIT = dt.timedelta(hours=24)
REPEAT_WINDOW = dt.timedelta(days=30)
SATISFACTION = ("满意", "一般", "不满意")


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


def _hours(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class ComplaintOutcome:
    """One complaint of the month with its SLA outcome."""

    complaint_id: str
    received_at: dt.datetime
    channel: str
    customer: str
    phone: str
    category: str
    owner: str
    status: str
    content: str
    reply_hours: float | None
    reply_on_time: bool | None  # None: no reply yet and the 24 h are not over at the end of the month
    resolve_hours: float | None
    dept_on_time: bool | None  # None: no work order
    callback_done: bool | None  # None: not resolved yet
    satisfaction: str
    repeat: bool


@dataclass
class MonthStats:
    month: str
    total: int = 0
    by_channel: Counter = field(default_factory=Counter)
    by_category: Counter = field(default_factory=Counter)
    by_owner: Counter = field(default_factory=Counter)
    by_day: list[tuple[dt.date, int]] = field(default_factory=list)
    reply_on_time: int = 0
    reply_judged: int = 0
    median_reply_hours: float | None = None
    median_resolve_hours: float | None = None
    dept_orders: int = 0
    dept_on_time: int = 0
    resolved: int = 0
    callbacks: int = 0
    satisfaction: Counter = field(default_factory=Counter)
    repeats: list[ComplaintOutcome] = field(default_factory=list)
    open_at_end: list[tuple[ComplaintOutcome, int]] = field(default_factory=list)  # (complaint, age in days)
    complaints: list[ComplaintOutcome] = field(default_factory=list)

    @property
    def reply_rate(self) -> float | None:
        return _rate(self.reply_on_time, self.reply_judged)

    @property
    def dept_rate(self) -> float | None:
        return _rate(self.dept_on_time, self.dept_orders)

    @property
    def callback_rate(self) -> float | None:
        return _rate(self.callbacks, self.resolved)


def month_stats(records: Iterable[Record], month: str, tz: ZoneInfo, *, show_phone: bool = False) -> MonthStats:
    """Every figure of the report for ``month`` from complaint records (all of them: repeats look back)."""
    start, end = month_span(month, tz)
    records = [r for r in records if _local(r.get("received_at"), tz) is not None]
    records.sort(key=lambda r: (_local(r["received_at"], tz), r.row))
    stats = MonthStats(month)
    last_by_phone: dict[str, dt.datetime] = {}
    reply_times, resolve_times = [], []
    days = Counter()
    for record in records:
        received = _local(record["received_at"], tz)
        phone = record.get("phone")
        repeat = bool(phone and phone in last_by_phone and received - last_by_phone[phone] <= REPEAT_WINDOW)
        if phone:
            last_by_phone[phone] = received
        if received < start or received >= end:
            continue  # earlier months only count for finding repeat complainants
        first = _local(record.get("first_reply_at"), tz) or _local(record.get("resolved_at"), tz)
        resolved_at = _local(record.get("resolved_at"), tz)
        reply_hours = _hours(first - received) if first else None
        if first is not None:
            on_time: bool | None = first - received <= REPLY_LIMIT
        elif end - received > REPLY_LIMIT:
            on_time = False
        else:
            on_time = None
        due = _local(record.get("dept_due_at"), tz)
        dept = None
        if due is not None:
            dept = resolved_at is not None and resolved_at <= due
        callback = None if resolved_at is None else record.get("callback_at") is not None
        outcome = ComplaintOutcome(
            complaint_id=str(record.get("complaint_id") or ""), received_at=received,
            channel=record.get("channel") or "未填写", customer=record.get("customer_name") or "",
            phone=(phone or "") if show_phone else (mask_phone(phone) or ""),
            category=record.get("category") or "未分类", owner=record.get("owner") or "未填写",
            status=record.get("status") or "", content=record.get("content") or "",
            reply_hours=reply_hours, reply_on_time=on_time,
            resolve_hours=_hours(resolved_at - received) if resolved_at else None,
            dept_on_time=dept, callback_done=callback, satisfaction=record.get("satisfaction") or "", repeat=repeat,
        )
        stats.complaints.append(outcome)
        stats.total += 1
        stats.by_channel[outcome.channel] += 1
        stats.by_category[outcome.category] += 1
        stats.by_owner[outcome.owner] += 1
        days[received.date()] += 1
        if on_time is not None:
            stats.reply_judged += 1
            stats.reply_on_time += on_time
        if reply_hours is not None:
            reply_times.append(reply_hours)
        if outcome.resolve_hours is not None:
            resolve_times.append(outcome.resolve_hours)
        if dept is not None:
            stats.dept_orders += 1
            stats.dept_on_time += dept
        if resolved_at is not None:
            stats.resolved += 1
            stats.callbacks += bool(callback)
        if outcome.satisfaction:
            stats.satisfaction[outcome.satisfaction] += 1
        if repeat:
            stats.repeats.append(outcome)
        if resolved_at is None or resolved_at >= end:
            stats.open_at_end.append((outcome, (end - received).days))
    stats.median_reply_hours = round(statistics.median(reply_times), 1) if reply_times else None
    stats.median_resolve_hours = round(statistics.median(resolve_times), 1) if resolve_times else None
    day = start.date()
    while day < end.date():
        stats.by_day.append((day, days.get(day, 0)))
        day += dt.timedelta(days=1)
    return stats


# -- the workbook ---------------------------------------------------------------------------------


def _safe_text(value: Any) -> Any:
    """Strip characters XML cannot hold; strings stay strings (see _put)."""
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # noqa: PLC0415

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _put(ws: Any, row: int, col: int, value: Any, fmt: str | None = None) -> Any:
    cell = ws.cell(row=row, column=col, value=_safe_text(value))
    if isinstance(value, str):
        cell.data_type = "s"  # "=SUM(..)" typed by a customer stays text, never a formula
    if isinstance(value, dt.datetime):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = fmt or "yyyy-mm-dd hh:mm"
    elif fmt:
        cell.number_format = fmt
    return cell


def _table(ws: Any, top: int, headers: Sequence[str], rows: Iterable[Sequence[Any]], formats: Sequence[str | None] = ()) -> int:
    from openpyxl.styles import Font, PatternFill  # noqa: PLC0415

    for c, h in enumerate(headers, start=1):
        cell = _put(ws, top, c, h)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    r = top
    for r, values in enumerate(rows, start=top + 1):
        for c, v in enumerate(values, start=1):
            _put(ws, r, c, v, formats[c - 1] if c - 1 < len(formats) else None)
    return r


def _yes(value: bool | None, unknown: str = "—") -> str:
    return unknown if value is None else ("是" if value else "否")


def _breakdown(ws: Any, title: str, counter: Counter, total: int) -> None:
    ws.append([title])
    _table(ws, 2, [title, "件数", "占比"],
           [(k, n, n / total if total else 0) for k, n in counter.most_common()], (None, "0", "0.0%"))
    ws.column_dimensions["A"].width = 16


def write_report(stats: MonthStats, previous: MonthStats, path: Path, store: str = "") -> Path:
    """Write the report workbook atomically (a temporary name in the same folder, then renamed)."""
    import openpyxl  # noqa: PLC0415
    from openpyxl.chart import BarChart, LineChart, Reference  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "汇总"
    _put(ws, 1, 1, f"{store}客户投诉情况及处理月报 {stats.month}".strip()).font = Font(bold=True, size=14)
    rows = [
        ("投诉总数", stats.total, previous.total, "0"),
        ("24小时内首次答复率", stats.reply_rate, previous.reply_rate, "0.0%"),
        ("首次答复时间中位数（小时）", stats.median_reply_hours, previous.median_reply_hours, "0.0"),
        ("解决时间中位数（小时）", stats.median_resolve_hours, previous.median_resolve_hours, "0.0"),
        ("协办工单按时完成率", stats.dept_rate, previous.dept_rate, "0.0%"),
        ("处理后回访率（闭环）", stats.callback_rate, previous.callback_rate, "0.0%"),
        ("重复投诉件数", len(stats.repeats), len(previous.repeats), "0"),
        ("月末未结件数", len(stats.open_at_end), len(previous.open_at_end), "0"),
    ]
    _table(ws, 3, ["指标", stats.month, previous.month, "变化"],
           [(name, cur, prev, (cur - prev) if cur is not None and prev is not None else None) for name, cur, prev, _ in rows],
           ())
    for i, (_, _, _, fmt) in enumerate(rows, start=4):
        for col in (2, 3, 4):
            ws.cell(i, col).number_format = fmt
    sat_top = 4 + len(rows) + 1
    _table(ws, sat_top, ["客户满意度", "件数"], [(k, stats.satisfaction.get(k, 0)) for k in SATISFACTION])
    cat_top = sat_top + len(SATISFACTION) + 2
    cat_end = _table(ws, cat_top, ["投诉类别", "件数"], stats.by_category.most_common())
    day_top = cat_end + 2
    day_end = _table(ws, day_top, ["日期", "件数"], [(d.isoformat(), n) for d, n in stats.by_day])
    ws.column_dimensions["A"].width = 28
    for col in "BCD":
        ws.column_dimensions[col].width = 12
    if stats.by_category:
        bars = BarChart()
        bars.title = "按投诉类别"
        bars.y_axis.title = "件数"
        bars.add_data(Reference(ws, min_col=2, min_row=cat_top, max_row=cat_end), titles_from_data=True)
        bars.set_categories(Reference(ws, min_col=1, min_row=cat_top + 1, max_row=cat_end))
        bars.height, bars.width = 7, 14
        ws.add_chart(bars, "F3")
    line = LineChart()
    line.title = "每日投诉件数"
    line.add_data(Reference(ws, min_col=2, min_row=day_top, max_row=day_end), titles_from_data=True)
    line.set_categories(Reference(ws, min_col=1, min_row=day_top + 1, max_row=day_end))
    for series in line.series:
        series.smooth = False
    line.height, line.width = 7, 14
    ws.add_chart(line, "F19")

    _breakdown(wb.create_sheet("按渠道"), "投诉渠道", stats.by_channel, stats.total)
    _breakdown(wb.create_sheet("按类别"), "投诉类别", stats.by_category, stats.total)
    _breakdown(wb.create_sheet("按责任人"), "责任人", stats.by_owner, stats.total)

    rep = wb.create_sheet("重复投诉")
    _table(rep, 1, ["投诉编号", "受理时间", "客户姓名", "联系电话", "投诉内容"],
           [(c.complaint_id, c.received_at, c.customer, c.phone, c.content) for c in stats.repeats])
    opened = wb.create_sheet("月末未结")
    _table(opened, 1, ["投诉编号", "受理时间", "客户姓名", "联系电话", "责任人", "处理状态", "已过天数"],
           [(c.complaint_id, c.received_at, c.customer, c.phone, c.owner, c.status, age) for c, age in stats.open_at_end])
    detail = wb.create_sheet("投诉明细")
    _table(detail, 1, ["投诉编号", "受理时间", "投诉渠道", "客户姓名", "联系电话", "投诉类别", "责任人", "处理状态",
                       "投诉内容", "首次答复（小时）", "24小时内答复", "解决（小时）", "工单按时", "已回访", "客户满意度",
                       "重复投诉"],
           [(c.complaint_id, c.received_at, c.channel, c.customer, c.phone, c.category, c.owner, c.status, c.content,
             c.reply_hours, _yes(c.reply_on_time, "待定"), c.resolve_hours, _yes(c.dept_on_time), _yes(c.callback_done),
             c.satisfaction, _yes(c.repeat)) for c in stats.complaints])
    for sheet in (rep, opened, detail):
        sheet.column_dimensions["A"].width = 18
        sheet.column_dimensions["B"].width = 17
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".~" + path.stem, suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
