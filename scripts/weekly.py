"""The weekly traffic and satisfaction summary (客流与满意度周报), sent on Monday for the week before.

Figures are pure (``week_stats``); the email draws its charts as HTML-table bars, which every mail
client shows without images, and the attached workbook carries native Excel charts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

from .brief import in_period, local_day, people_with_role, records_of, traffic
from .check import CheckResult
from .config import Config
from .findings_book import header_row, put_text, save_atomic
from .messages import Message
from .workcal import WorkCalendar

SATISFACTION = ("满意", "一般", "不满意")
_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class WeeklySettings:
    """``weekly:`` in the config."""

    to_roles: tuple[str, ...] = ("销售经理", "展厅经理")
    folder: str = "reports"
    file_name: str = "客流周报-{week}.xlsx"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> WeeklySettings:
        raw = raw or {}
        return cls(tuple(raw.get("to_roles", cls.to_roles)), raw.get("folder", cls.folder),
                   raw.get("file_name", cls.file_name))


def week_span(today: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the last complete week before ``today``."""
    monday = today - dt.timedelta(days=today.weekday())
    return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def week_stats(result: CheckResult, start: dt.date, end: dt.date, tz: ZoneInfo) -> dict[str, Any]:
    """Every figure of the summary for the days [start, end].

    Card rate: visitors with a card among those who left a readable phone. Test-drive and order rates: test
    drives and orders (by ``order_on``) per walk-in visitor (来店). Satisfaction: the callback log's
    results of callbacks made in the week. Complaints: by category, received in the week.
    """
    base = traffic(result, start, end, tz)
    totals = base["totals"]
    per_day: dict[dt.date, Counter] = {start + dt.timedelta(days=i): Counter() for i in range((end - start).days + 1)}
    with_phone = carded = 0
    for r in records_of(result, "visitor_log"):
        day = local_day(r.get("visit_at"), tz)
        if day in per_day:
            per_day[day][r.get("channel") or ""] += 1
            if r.get("phone"):
                with_phone += 1
                carded += r.get("card_created") is True
    satisfaction = Counter(r.get("result") for r in records_of(result, "callback_log")
                           if in_period(r.get("callback_at"), start, end, tz) and r.get("result"))
    categories = Counter((r.get("category") or "未分类") for r in records_of(result, "complaint_log")
                         if in_period(r.get("received_at"), start, end, tz))
    return {
        "start": start, "end": end,
        "days": [{"date": d, "store": c.get("来店", 0), "phone": c.get("来电", 0)} for d, c in per_day.items()],
        "visitors": totals["visitors"], "store": totals["store"], "phone": totals["phone"],
        "cards": totals["cards"], "with_phone": with_phone, "card_rate": _rate(carded, with_phone),
        "test_drives": totals["test_drives"], "test_drive_rate": _rate(totals["test_drives"], totals["store"]),
        "orders": totals["orders"], "order_rate": _rate(totals["orders"], totals["store"]),
        "sources": base["sources"],
        "satisfaction": [{"name": k, "count": satisfaction.get(k, 0)} for k in SATISFACTION],
        "complaints": sum(categories.values()),
        "categories": [{"name": k, "count": n} for k, n in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))],
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _scaled(rows: Sequence[dict[str, Any]], key: str = "count") -> list[dict[str, Any]]:
    top = max([r[key] for r in rows] + [1])
    return [{**r, "pct": round(100 * r[key] / top)} for r in rows]


def write_weekly_workbook(now_week: dict[str, Any], before: dict[str, Any], path: Path, store: str = "") -> Path:
    """The summary as a workbook with native charts (daily traffic, sources, satisfaction, complaints)."""
    import openpyxl  # noqa: PLC0415
    from openpyxl.chart import BarChart, PieChart, Reference  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "汇总"
    header_row(ws, ["指标", "本周", "上周"], [22, 12, 12])
    figures = [("来店批次", "store", "0"), ("来电批次", "phone", "0"), ("留电话人数", "with_phone", "0"),
               ("建卡数", "cards", "0"), ("建卡率", "card_rate", "0.0%"), ("试驾数", "test_drives", "0"),
               ("试驾率（试驾/来店）", "test_drive_rate", "0.0%"), ("订车数", "orders", "0"),
               ("成交率（订车/来店）", "order_rate", "0.0%"), ("投诉件数", "complaints", "0")]
    for r, (label, key, fmt) in enumerate(figures, start=2):
        put_text(ws, r, 1, label)
        put_text(ws, r, 2, now_week[key], fmt)
        put_text(ws, r, 3, before[key], fmt)
    put_text(ws, len(figures) + 3, 1,
             f"{store}客流与满意度周报 {now_week['start']:%Y-%m-%d} 至 {now_week['end']:%Y-%m-%d}".strip()).font = Font(bold=True)

    daily = wb.create_sheet("每日客流")
    header_row(daily, ["日期", "星期", "来店", "来电", "上周来店", "上周来电"], [12, 6, 8, 8, 10, 10])
    for r, (day, prev) in enumerate(zip(now_week["days"], before["days"]), start=2):
        for c, value in enumerate((day["date"].isoformat(), "周" + _WEEKDAYS[day["date"].weekday()], day["store"],
                                   day["phone"], prev["store"], prev["phone"]), start=1):
            put_text(daily, r, c, value)
    last = len(now_week["days"]) + 1
    chart = BarChart()
    chart.title = "每日来店/来电（本周与上周）"
    chart.add_data(Reference(daily, min_col=3, max_col=6, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(daily, min_col=1, min_row=2, max_row=last))
    chart.height, chart.width = 8, 16
    daily.add_chart(chart, "H2")

    def breakdown(title: str, label: str, rows: Sequence[dict[str, Any]], pie: bool) -> None:
        sheet = wb.create_sheet(title)
        header_row(sheet, [label, "数量"], [18, 8])
        for r, row in enumerate(rows, start=2):
            put_text(sheet, r, 1, row["name"])
            put_text(sheet, r, 2, row["count"])
        if not rows:
            return
        graph = PieChart() if pie else BarChart()
        graph.title = title
        graph.add_data(Reference(sheet, min_col=2, min_row=1, max_row=len(rows) + 1), titles_from_data=True)
        graph.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(rows) + 1))
        graph.height, graph.width = 7, 12
        sheet.add_chart(graph, "D2")

    breakdown("信息来源", "信息来源", now_week["sources"], pie=True)
    breakdown("回访满意度", "回访结果", now_week["satisfaction"], pie=False)
    breakdown("投诉类别", "投诉类别", now_week["categories"], pie=False)
    return save_atomic(wb, path)


def build_weekly(result: CheckResult, config: Config, now: dt.datetime, calendar: WorkCalendar | None = None,
                 settings: WeeklySettings | None = None) -> list[Message]:
    """The summary of the last complete week to the roles in ``to_roles``, with the workbook attached."""
    settings = settings or WeeklySettings()
    tz = config.timezone
    today = now.astimezone(tz).date()
    start, end = week_span(today)
    this = week_stats(result, start, end, tz)
    before = week_stats(result, start - dt.timedelta(days=7), start - dt.timedelta(days=1), tz)
    year, week, _ = start.isocalendar()
    label = f"{year}-W{week:02d}"
    folder = Path(settings.folder)
    folder = folder if folder.is_absolute() else config.base_dir / folder
    path = write_weekly_workbook(this, before, folder / settings.file_name.format(week=label), config.report.store)
    top = max([d["store"] + d["phone"] for w in (this, before) for d in w["days"]] + [1])
    days = [{"date": d["date"].isoformat(), "weekday": _WEEKDAYS[d["date"].weekday()], "store": d["store"],
             "phone": d["phone"], "total": d["store"] + d["phone"], "prev": p["store"] + p["phone"],
             "pct": round(100 * (d["store"] + d["phone"]) / top), "prev_pct": round(100 * (p["store"] + p["phone"]) / top)}
            for d, p in zip(this["days"], before["days"])]
    context = {
        "week": label, "start": start.isoformat(), "end": end.isoformat(), "file_name": path.name,
        "days": days,
        "rows": [
            {"key": key, "now": fmt(this[key]), "before": fmt(before[key])}
            for key, fmt in (("store", str), ("phone", str), ("cards", str), ("card_rate", _pct),
                             ("test_drives", str), ("test_drive_rate", _pct), ("orders", str), ("order_rate", _pct),
                             ("complaints", str))
        ],
        "sources": this["sources"],
        "satisfaction": _scaled(this["satisfaction"]),
        "satisfied_rate": _pct(_rate(this["satisfaction"][0]["count"], sum(s["count"] for s in this["satisfaction"]))),
        "categories": _scaled(this["categories"]),
    }
    return [Message("weekly", member, label, {**context, "name": member.name}, (f"weekly:{label}",),
                    attachments=(str(path),))
            for member in people_with_role(result.staff, settings.to_roles) if member.active and member.email]
