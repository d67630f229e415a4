"""The monthly-report job: write the workbook, then one email per supervisor with it attached.

A report is never sent from incomplete sources: when a source could not be read, or no complaint
table was found, ``build_report`` raises ``ReportIncomplete`` and nothing is written or emailed. The
messages' key carries a hash of the figures, so a rerun with the same data is skipped by the ledger
while a rerun after the data changed (a source is back, a row was corrected) sends the new report,
marked as a correction (更正版) when one was sent for the month before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Collection

from .check import CheckResult
from .config import Config
from .errors import ConfigError, HuifangError
from .ledger import Ledger
from .messages import Message
from .report import (
    REPEAT_DAYS, MonthStats, ReportNotes, biggest_changes, default_month, headline, month_stats, previous_month,
    trend, unreadable, write_report,
)
from .workcal import WorkCalendar

FILE_NAMES = {"zh-CN": "投诉月报-{month}.xlsx", "en": "complaint-report-{month}.xlsx",
              "zh-TW": "投訴月報-{month}.xlsx", "zh-HK": "投訴月報-{month}.xlsx"}
DEFAULT_FILE_NAME = "投訴月報-{month}.xlsx"  # ReportConfig's default: taken as "follow the language"


class ReportIncomplete(HuifangError):
    """A source of the report could not be read: no report is written or sent."""

    exit_code = 2

    def __init__(self, month: str, missing: list[str]):
        super().__init__(f"the {month} complaint report was not sent: these sources could not be read: "
                         f"{'; '.join(missing)}. Fix them and run monthly-report again.")
        self.month = month
        self.missing = missing


def report_month(config: Config, now: dt.datetime, month: str | None) -> str:
    """The month a run reports on: ``month`` (checked) or the one before ``now``'s."""
    month = month or default_month(now.astimezone(config.timezone))
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ConfigError(f"--month: {month!r} is not a month such as 2026-11")
    return month


def reports_sent(ledger: Ledger | None) -> set[str]:
    """The items of the reports already sent (or being sent): which months, which figures."""
    return ledger.items_done("report") if ledger is not None else set()


def file_name(config: Config, month: str) -> str:
    """The report's file name: the config's when it names one, else in the run's language."""
    name = config.report.file_name
    if not name or name == DEFAULT_FILE_NAME:
        name = FILE_NAMES.get(config.language, FILE_NAMES["zh-CN"])
    return name.format(month=month)


def report_path(config: Config, month: str) -> Path:
    folder = config.report.folder if config.report.folder.is_absolute() else config.base_dir / config.report.folder
    return folder / file_name(config, month)


def missing_sources(result: CheckResult) -> list[str]:
    missing = [f"{s.name} ({s.error})" for s in result.sources if s.error]
    if not any(t.schema.name == "complaint_log" for t in result.tables):
        missing.append("no complaint log (客户投诉登记表) was found in any source")
    return missing


def _figures_hash(context: dict[str, Any], stats: MonthStats, previous: MonthStats, history: list[MonthStats]) -> str:
    """Changes when anything the workbook shows changes (a figure, a listed complaint, a row read or not)."""
    payload = json.dumps([context, repr(stats.complaints), repr(stats.open_at_end), repr(stats.overdue),
                          repr(previous.complaints), [[f.now for f in headline(s, s)] for s in history]],
                         ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def build_report(result: CheckResult, config: Config, now: dt.datetime, month: str | None, *,
                 resend: bool = False, sent_items: Collection[str] = ()) -> list[Message]:
    """The report workbook for ``month`` and one message per supervisor carrying it.

    ``sent_items``: the items of reports sent before (``reports_sent(ledger)``). When a report for the
    month went out with other figures, this one is a correction and says it replaces it (and stays
    marked so when rebuilt); with the same figures the ledger skips it, unless ``resend`` (then it goes
    again, marked as a correction only if other figures went out before).
    """
    month = report_month(config, now, month)
    missing = missing_sources(result)
    if missing:
        raise ReportIncomplete(month, missing)
    tables = [t for t in result.tables if t.schema.name == "complaint_log"]
    repeat = next((t.schema.repeat for t in tables if t.schema.repeat is not None), None)
    repeat_days = repeat.days if repeat is not None else REPEAT_DAYS
    where = {id(r): t.sheet for t in tables for r in t.records}
    records = [r for t in tables for r in t.records]
    calendar = WorkCalendar(config.calendar.country, config.calendar.extra_holidays, config.calendar.extra_workdays)

    def owner_name(typed: str) -> str:
        member = result.staff.get(typed)
        return member.name if member is not None else typed

    options: dict[str, Any] = {
        "show_phone": config.report.show_phone, "repeat_days": repeat_days, "owner_name": owner_name,
        "callback_due": lambda day: calendar.add_working_days(day, 3),
        "locate": lambda r: f"{where[id(r)]}!{r.row}",
    }
    stats = month_stats(records, month, config.timezone, **options)
    previous = month_stats(records, previous_month(month), config.timezone, **options)
    history = trend(records, month, config.timezone, **options)
    lost = tuple(unreadable(records, options["locate"]))
    context = summary(stats, previous, lost)
    digest = _figures_hash(context, stats, previous, history)
    figures = f"figures:{month}:{digest}"
    correction = any(i.startswith(f"figures:{month}:") and i != figures for i in sent_items)
    path = write_report(stats, previous, report_path(config, month), config.report.store, history=history,
                        notes=ReportNotes(correction=correction, unreadable=lost, repeat_days=repeat_days))
    context.update({"file_name": path.name, "correction": correction})
    items = [f"report:{month}", figures]
    if resend:
        items.append(f"resend:{now.isoformat()}")
    recipients = [m for m in result.staff.members if m.active and m.email and result.staff.team_of(m)]
    return [Message("report", boss, month, {**context, "name": boss.name}, tuple(items), once_per_period=False,
                    attachments=(str(path),)) for boss in recipients]


def summary(stats: MonthStats, previous: MonthStats, lost: tuple[str, ...] = ()) -> dict[str, Any]:
    """What the email says: the first page's figures, changes in words and oldest open complaints."""
    return {
        "month": stats.month,
        "previous": previous.month,
        "rows": [{"name": f.zh, "en": f.en, "now": f.shown(f.now), "before": f.shown(f.before),
                  "arrow": f.arrow, "change": f.shown_change(), "change_zh": f.shown_change("个百分点")} for f in headline(stats, previous)],
        "changes": biggest_changes(stats, previous),
        "oldest": [{"id": c.complaint_id, "received": c.received_at.strftime("%Y-%m-%d"), "owner": c.owner,
                    "age": age} for c, age in stats.open_at_end[:5]],
        "categories": [{"name": k, "count": n} for k, n in stats.by_category.most_common(5)],
        "satisfaction": [{"name": k, "count": stats.satisfaction.get(k, 0)} for k in ("满意", "一般", "不满意")],
        "unreadable": list(lost),
        "timeless": stats.timeless,
    }
