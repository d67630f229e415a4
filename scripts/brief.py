"""The morning brief (晨会简报) and the period figures the digest and the reports share.

Pure: takes the check result, the settings, ``now`` and the working-day calendar, and returns
messages; the jobs module delivers them. Consultants are keyed by their folded name, so 陳曉燕 in a
log and 陈晓燕 in the staff list are one person, shown as the staff list spells her.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence
from zoneinfo import ZoneInfo

from .check import CheckResult, StaffDirectory
from .config import Config, StaffMember
from .deadlines import localize
from .messages import Message, finding_id
from .tables import Record
from .textnorm import fold
from .workcal import WorkCalendar

LEVELS = ("H", "A", "B", "C")
ORDER_STATUSES = frozenset({fold("已成交"), fold("已订车")})
_WEEKDAYS = "一二三四五六日"
_LOOKBACK = 60  # days searched for the previous working day (the longest holiday is 8 days)


@dataclass(frozen=True)
class BriefSettings:
    """``morning_brief:`` in the config: who gets it and whose figures it shows."""

    to_roles: tuple[str, ...] = ("销售经理", "展厅经理")
    consultant_roles: tuple[str, ...] = ("销售顾问",)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> BriefSettings:
        raw = raw or {}
        return cls(tuple(raw.get("to_roles", cls.to_roles)), tuple(raw.get("consultant_roles", cls.consultant_roles)))


@dataclass(frozen=True)
class DigestSettings:
    """``digest:`` in the config: who sees the whole store, who else reads it, and the attachment."""

    store_scope: tuple[str, ...] = ()  # roles or names
    cc: tuple[str, ...] = ()  # staff names or email addresses
    attach_findings: bool = False
    folder: str | None = None  # where the attached workbooks are written
    member_days: int | None = None  # None: member coverage from the 1st of the month

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> DigestSettings:
        raw = raw or {}
        return cls(tuple(raw.get("store_scope", ())), tuple(raw.get("cc", ())), bool(raw.get("attach_findings", False)),
                   raw.get("folder"), raw.get("member_days"))


def local_day(value: Any, tz: ZoneInfo) -> dt.date | None:
    """The store-local calendar day of a cell value (a datetime or a date), else None."""
    if isinstance(value, dt.datetime):
        return localize(value, tz).date()
    if isinstance(value, dt.date):
        return value
    return None


def brief_period(today: dt.date, calendar: WorkCalendar) -> tuple[dt.date, dt.date]:
    """(first, last) day the brief on ``today`` covers: from the previous working day through yesterday.

    Monday covers Friday, Saturday and Sunday; the first day after a holiday covers the holiday too; a
    make-up working Saturday (调休) covers Friday alone.
    """
    day = today - dt.timedelta(days=1)
    for _ in range(_LOOKBACK):
        if calendar.is_workday(day):
            break
        day -= dt.timedelta(days=1)
    return day, today - dt.timedelta(days=1)


def records_of(result: CheckResult, table: str) -> Iterator[Record]:
    for t in result.tables:
        if t.schema.name == table:
            yield from t.records


def in_period(value: Any, start: dt.date, end: dt.date, tz: ZoneInfo) -> bool:
    day = local_day(value, tz)
    return day is not None and start <= day <= end


def order_day(record: Record, tz: ZoneInfo) -> dt.date | None:
    """The day an order was taken: ``order_on``; a 已成交/已订车 status without it has no known day."""
    return local_day(record.get("order_on"), tz)


def display_name(directory: StaffDirectory, name: str) -> str:
    member = directory.get(name)
    return member.name if member else name.strip()


def people_with_role(directory: StaffDirectory, roles: Iterable[str]) -> list[StaffMember]:
    wanted = {fold(r) for r in roles}
    return [m for m in directory.members if fold(m.role or "") in wanted]


def _share(counter: Counter, total: int) -> list[dict[str, Any]]:
    top = max(counter.values(), default=1)
    return [{"name": k, "count": n, "share": round(100 * n / total) if total else 0, "pct": round(100 * n / top)}
            for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def traffic(result: CheckResult, start: dt.date, end: dt.date, tz: ZoneInfo,
            consultants: Sequence[StaffMember] = ()) -> dict[str, Any]:
    """Visitors, cards, levels, test drives, deliveries, orders and follow-ups per consultant, with totals.

    ``consultants`` are listed even with nothing to show; anyone else who appears in the period is
    added after them; rows with an empty consultant cell count in the totals only.
    """
    rows: dict[str, Counter] = defaultdict(Counter)
    names: dict[str, str] = {fold(m.name): m.name for m in consultants}
    totals: Counter = Counter()
    sources: Counter = Counter()

    def add(who: Any, what: str) -> None:
        totals[what] += 1
        if who:
            key = fold(str(who))
            names.setdefault(key, display_name(result.staff, str(who)))
            rows[key][what] += 1

    for r in records_of(result, "visitor_log"):
        who = r.get("consultant")
        if in_period(r.get("visit_at"), start, end, tz):
            add(who, "store" if r.get("channel") == "来店" else "phone" if r.get("channel") == "来电" else "other")
            add(who, "visitors")
            sources[r.get("info_source") or "—"] += 1
            if r.get("card_created") is True:
                add(who, "cards")
            if r.get("intent_level") in LEVELS:
                add(who, r["intent_level"])
        day = order_day(r, tz)
        if day is not None and start <= day <= end:
            add(who, "orders")
        if in_period(r.get("last_followup_on"), start, end, tz):
            add(who, "followups")
    for r in records_of(result, "test_drive_log"):
        if in_period(r.get("test_drive_on"), start, end, tz):
            add(r.get("consultant"), "test_drives")
    for r in records_of(result, "delivery_log"):
        if in_period(r.get("delivered_at"), start, end, tz):
            add(r.get("consultant"), "deliveries")
    return {
        "people": [{"key": k, "name": names[k], **_figures(rows[k])} for k in names],
        "totals": _figures(totals),
        "sources": _share(sources, sum(sources.values())),
    }


def _figures(c: Counter) -> dict[str, int]:
    return {k: c.get(k, 0) for k in ("visitors", "store", "phone", "cards", *LEVELS, "test_drives", "deliveries",
                                     "orders", "followups")}


def overdue_by_person(result: CheckResult) -> dict[str, Counter]:
    """folded assignee -> Counter of base rule ids of their ``*_overdue`` findings."""
    out: dict[str, Counter] = defaultdict(Counter)
    for f in result.findings:
        if f.assignee and f.rule.endswith("_overdue"):
            out[fold(f.assignee)][f.rule.removesuffix("_overdue")] += 1
    return out


def build_morning_brief(result: CheckResult, config: Config, now: dt.datetime, calendar: WorkCalendar,
                        settings: BriefSettings | None = None) -> list[Message]:
    """One brief per active person whose role is in ``to_roles``; nothing on a day off."""
    settings = settings or BriefSettings()
    now = now.astimezone(config.timezone)
    today = now.date()
    if not calendar.is_workday(today):
        return []
    start, end = brief_period(today, calendar)
    figures = traffic(result, start, end, config.timezone, people_with_role(result.staff, settings.consultant_roles))
    overdue = overdue_by_person(result)
    shown = {p["key"] for p in figures["people"]}
    for person in figures["people"]:
        person["overdue"] = sum(overdue.get(person["key"], Counter()).values())
    overdue_rows = [
        {"name": p["name"], "total": p["overdue"],
         "rules": [{"rule": rule, "count": n} for rule, n in sorted(overdue[p["key"]].items(), key=lambda kv: (-kv[1], kv[0]))]}
        for p in figures["people"] if p["overdue"]
    ]
    others = sum(sum(c.values()) for k, c in overdue.items() if k not in shown)
    context = {
        "date": today.isoformat(),
        "weekday": _WEEKDAYS[today.weekday()],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": (end - start).days + 1,
        "start_weekday": _WEEKDAYS[start.weekday()],
        "end_weekday": _WEEKDAYS[end.weekday()],
        "people": figures["people"],
        "totals": figures["totals"],
        "sources": figures["sources"],
        "overdue": overdue_rows,
        "overdue_total": sum(p["overdue"] for p in figures["people"]),
        "overdue_others": others,
    }
    items = (f"morning_brief:{today.isoformat()}",
             *sorted(finding_id(f) for f in result.findings if f.rule.endswith("_overdue") and f.assignee
                     and fold(f.assignee) in shown))
    return [Message("morning_brief", member, today.isoformat(), {**context, "name": member.name}, items)
            for member in people_with_role(result.staff, settings.to_roles) if member.active and member.email]


def _phones_of_members(result: CheckResult) -> set[str]:
    return {r["phone"] for table in ("delivery_log", "callback_log") for r in records_of(result, table)
            if r.get("member") is True and r.get("phone")}


def _filled(value: Any) -> bool:
    return value is not None and value is not False and value != ""


def member_coverage(result: CheckResult, start: dt.date, end: dt.date, tz: ZoneInfo | None = None) -> dict[str, Any]:
    """How many member customers delivered or complained in [start, end] were called back (duty: 100 %).

    A member is a phone marked 会员 in the delivery or callback log (the complaint log has no member
    column). A customer counts once, by their latest delivery or complaint in the period; they are
    called back when that row's ``callback_at`` is filled or the callback log has a row for the phone
    on or after that day. Returns ``{"total", "called", "rate", "missing": [{name, phone, event, day,
    responsible}], "called_people": [same]}``; phones are full (mask them for supervisors).
    """
    tz = tz or result.now.tzinfo or ZoneInfo("Asia/Shanghai")
    members = _phones_of_members(result)
    events: dict[str, dict[str, Any]] = {}
    for table, when, who, kind in (("delivery_log", "delivered_at", "consultant", "delivery"),
                                   ("complaint_log", "received_at", "owner", "complaint")):
        for r in records_of(result, table):
            phone = r.get("phone")
            day = local_day(r.get(when), tz)
            is_member = r.get("member") is True if table == "delivery_log" else phone in members
            if not phone or not is_member or day is None or not (start <= day <= end):
                continue
            previous = events.get(phone)
            if previous is None or day >= previous["day"]:
                events[phone] = {"name": r.get("customer_name") or "", "phone": phone, "event": kind, "day": day,
                                 "responsible": display_name(result.staff, r.get(who) or "") if r.get(who) else "",
                                 "called": _filled(r.get("callback_at"))}
    calls: dict[str, list[dt.date]] = defaultdict(list)
    for r in records_of(result, "callback_log"):
        day = local_day(r.get("callback_at"), tz)
        if r.get("phone") and day is not None:
            calls[r["phone"]].append(day)
    called, missing = [], []
    for phone, event in sorted(events.items(), key=lambda kv: (kv[1]["day"], kv[1]["name"])):
        done = event.pop("called") or any(day >= event["day"] for day in calls.get(phone, ()))
        (called if done else missing).append({**event, "day": event["day"].isoformat()})
    total = len(called) + len(missing)
    return {"start": start.isoformat(), "end": end.isoformat(), "total": total, "called": len(called),
            "rate": round(100 * len(called) / total) if total else None, "missing": missing,
            "called_people": called}
