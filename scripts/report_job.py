"""The monthly-report job: write the workbook, then one email per supervisor with it attached."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from .check import CheckResult
from .config import Config
from .errors import ConfigError
from .messages import Message
from .report import default_month, month_stats, previous_month, write_report


def report_path(config: Config, month: str) -> Path:
    folder = config.report.folder if config.report.folder.is_absolute() else config.base_dir / config.report.folder
    return folder / config.report.file_name.format(month=month)


def build_report(result: CheckResult, config: Config, now: dt.datetime, month: str | None) -> list[Message]:
    month = month or default_month(now.astimezone(config.timezone))
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ConfigError(f"--month: {month!r} is not a month such as 2026-11")
    show_phone = config.report.show_phone
    records = [r for t in result.tables if t.schema.name == "complaint_log" for r in t.records]
    stats = month_stats(records, month, config.timezone, show_phone=show_phone)
    previous = month_stats(records, previous_month(month), config.timezone, show_phone=show_phone)
    path = write_report(stats, previous, report_path(config, month), config.report.store)

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    def hours(value: float | None) -> str:
        return "—" if value is None else f"{value:g}"

    context = {
        "month": month,
        "previous": previous.month,
        "file_name": path.name,
        "rows": [
            {"name": "投诉总数", "en": "Complaints", "now": str(stats.total), "before": str(previous.total)},
            {"name": "24小时内首次答复率", "en": "First reply within 24 h", "now": pct(stats.reply_rate), "before": pct(previous.reply_rate)},
            {"name": "首次答复时间中位数（小时）", "en": "Median hours to first reply", "now": hours(stats.median_reply_hours), "before": hours(previous.median_reply_hours)},
            {"name": "解决时间中位数（小时）", "en": "Median hours to resolution", "now": hours(stats.median_resolve_hours), "before": hours(previous.median_resolve_hours)},
            {"name": "协办工单按时完成率", "en": "Work orders on time", "now": pct(stats.dept_rate), "before": pct(previous.dept_rate)},
            {"name": "处理后回访率", "en": "Callback after handling", "now": pct(stats.callback_rate), "before": pct(previous.callback_rate)},
            {"name": "重复投诉", "en": "Repeat complainants", "now": str(len(stats.repeats)), "before": str(len(previous.repeats))},
            {"name": "月末未结", "en": "Open at month end", "now": str(len(stats.open_at_end)), "before": str(len(previous.open_at_end))},
        ],
        "categories": [{"name": k, "count": n} for k, n in stats.by_category.most_common(5)],
        "satisfaction": [{"name": k, "count": stats.satisfaction.get(k, 0)} for k in ("满意", "一般", "不满意")],
    }
    recipients = [m for m in result.staff.members if m.active and m.email and result.staff.team_of(m)]
    return [Message("report", boss, month, {**context, "name": boss.name}, (f"report:{month}",),
                    attachments=(str(path),)) for boss in recipients]
