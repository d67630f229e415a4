"""From a check result to the messages people get: plain data, ready for the templates.

Pure: takes the result, the staff directory, what the ledger already carried, and ``now``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from .check import CheckResult, StaffDirectory
from .config import Config, StaffMember
from .deadlines import due_later_today, due_on
from .findings import Finding, mask_phone
from .privacy import mask_phones_in_text
from .textnorm import fold
from .validation import format_windows
from .workcal import WorkCalendar

BLANK_RULES = ("missing_required", "invalid_value", "card_not_created", "test_drive_without_license", "missing_column")
BREACH_RULES = ("complaint_reply_overdue", "dept_order_overdue", "thank_you_call_overdue")
CALLBACK_RULES = ("followup", "callback", "complaint_callback", "delivery_callback")
_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class Message:
    kind: str  # reminder | digest | escalation
    recipient: StaffMember
    period: str  # the day (or month) the message is for
    context: Mapping[str, Any]
    items: tuple[str, ...] = ()  # identities of what the message carries
    once_per_period: bool = True  # a daily summary goes once a day, whatever changed since
    attachments: tuple[str, ...] = ()  # file paths

    @property
    def key(self) -> str:
        """Deterministic idempotency key: same kind, person, period and items give the same key."""
        payload = json.dumps([self.kind, self.recipient.email.lower(), self.period, sorted(self.items)], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def finding_id(f: Finding) -> str:
    """A finding's identity across runs: its rule, its record's business key and its field."""
    payload = json.dumps([f.rule, [_plain(v) for v in (f.key or (f.source, f.sheet, f.row))], f.column],
                         ensure_ascii=False, default=str)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:20]


def _ago(due: dt.datetime, now: dt.datetime) -> tuple[int, str]:
    late = now - due
    if late >= dt.timedelta(days=1):
        return late.days, "days"
    return max(1, int(late.total_seconds() // 3600)), "hours"


def describe_due(f: Finding, now: dt.datetime) -> dict[str, Any]:
    due = f.due.astimezone(now.tzinfo) if f.due else None
    day_deadline = due is not None and due.time() == dt.time(23, 59, 59)
    info: dict[str, Any] = {"due": None, "due_date": None, "weekday": None, "late": None, "late_unit": None}
    if due is not None:
        info["due"] = due.strftime("%m-%d") if day_deadline else due.strftime("%m-%d %H:%M")
        info["due_date"] = due.date().isoformat()
        info["weekday"] = _WEEKDAYS[due.weekday()]
        if now > due:
            info["late"], info["late_unit"] = _ago(due, now)
    return info


def item_of(f: Finding, now: dt.datetime, *, full_phone: bool) -> dict[str, Any]:
    """What a template needs of one finding. Phones are masked unless ``full_phone``: the phone column
    and any phone number typed into the customer's name or the finding's text."""
    phone = f.phone if full_phone else mask_phone(f.phone)
    shown = (lambda text: text) if full_phone else mask_phones_in_text
    return {
        "rule": f.rule,
        "base_rule": f.rule.removesuffix("_overdue").removesuffix("_due_soon"),
        "severity": f.severity,
        "message": shown(f.message),
        "customer": shown((f.customer or "").strip())[:40],
        "phone": phone or "",
        "source": f.source,
        "location": f.location,
        "header": f.header or "",
        "url": f.url,
        "assignee": f.assignee or "",
        **describe_due(f, now),
    }


def _active(member: StaffMember) -> bool:
    return member.active and bool(member.email)


def supervisors(directory: StaffDirectory) -> list[StaffMember]:
    """Everyone who is someone's supervisor in the staff list."""
    return [m for m in directory.members if directory.team_of(m)]


def unassigned_readers(result: CheckResult, config: Config) -> dict[str, list[StaffMember]]:
    """Per source, who gets the findings whose row names nobody: the source's `owner`, else the supervisors."""
    everyone_above = supervisors(result.staff)
    readers: dict[str, list[StaffMember]] = {}
    for source in config.sources:
        owner = result.staff.get(getattr(source, "owner", None))
        readers[source.name] = [owner] if owner is not None else everyone_above
    return readers


def route_unassigned(result: CheckResult, config: Config, findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings that name nobody (an empty consultant/owner cell, a missing column), by the folded name
    of each person who must see them. None is dropped: with no owner and no supervisor, nobody is a
    reader only when the staff list is empty."""
    readers = unassigned_readers(result, config)
    fallback = supervisors(result.staff)
    routed: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.assignee and not f.unassigned:
            continue
        for member in readers.get(f.source, fallback):
            routed[fold(member.name)].append(f)
    return routed


def build_reminders(result: CheckResult, config: Config, now: dt.datetime,
                    calendar: WorkCalendar | None = None) -> list[Message]:
    """One message per active staff member with something to do: overdue, due today, cells to fix, and
    (for a source's owner or the supervisors) what rows that name nobody need."""
    by_person: dict[str, list[Finding]] = defaultdict(list)
    later_today = [f for table in result.tables
                   for f in due_later_today(table, calendar, config.timezone, now)] if calendar else []
    for f in [*result.findings, *later_today]:
        if f.assignee and not f.unassigned:
            by_person[fold(f.assignee)].append(f)
    nobody = route_unassigned(result, config, [*result.findings, *later_today])
    messages = []
    for member in result.staff.members:
        mine = by_person.get(fold(member.name), [])
        unassigned = sorted(nobody.get(fold(member.name), []), key=lambda f: (f.source, f.location))
        if not (mine or unassigned) or not _active(member):
            continue
        overdue = sorted((f for f in mine if f.rule.endswith("_overdue")), key=lambda f: (f.due, f.location))
        due_soon = sorted((f for f in mine if f.rule.endswith("_due_soon")), key=lambda f: (f.due, f.location))
        blanks = [f for f in mine if f.rule in BLANK_RULES]
        notes = [f for f in mine if f.rule in ("callback_in_quiet_hours", "repeat_complainant")]
        if not (overdue or due_soon or blanks or notes or unassigned):
            continue
        context = {
            "name": member.name,
            "date": now.date().isoformat(),
            "weekday": _WEEKDAYS[now.weekday()],
            "call_window": format_windows((config.call_window,)),
            "quiet_hours": format_windows(config.quiet_hours),
            "overdue": [item_of(f, now, full_phone=True) for f in overdue],
            "due_soon": [item_of(f, now, full_phone=True) for f in due_soon],
            "blanks": [item_of(f, now, full_phone=True) for f in blanks],
            "notes": [item_of(f, now, full_phone=True) for f in notes],
            # Read by a supervisor or the source's owner, not the customer's consultant: phones masked.
            "unassigned": [item_of(f, now, full_phone=False) for f in unassigned],
        }
        items = tuple(finding_id(f) for f in overdue + due_soon + blanks + notes + unassigned)
        messages.append(Message("reminder", member, now.date().isoformat(), context, items))
    return messages


def subtree(directory: StaffDirectory, supervisor: StaffMember) -> list[StaffMember]:
    """Everyone who reports to ``supervisor``, directly or through another supervisor."""
    seen: dict[str, StaffMember] = {}
    queue = [supervisor]
    while queue:
        for member in directory.team_of(queue.pop()):
            key = fold(member.name)
            if key not in seen and key != fold(supervisor.name):
                seen[key] = member
                queue.append(member)
    return list(seen.values())


def _bars(counts: Mapping[str, int], people: Sequence[str]) -> list[dict[str, Any]]:
    top = max([counts.get(p, 0) for p in people] + [1])
    return [{"name": p, "count": counts.get(p, 0), "pct": round(100 * counts.get(p, 0) / top)} for p in people]


def build_digests(result: CheckResult, config: Config, now: dt.datetime, calendar: WorkCalendar,
                  failures: Iterable[Mapping[str, Any]] = (), run_failures: Iterable[Mapping[str, Any]] = (),
                  settings: Any = None, new_recipients: Iterable[str] = ()) -> list[Message]:
    """One end-of-day digest per supervisor, about their team; customers' phones masked.

    ``new_recipients``: addresses that appeared in the staff list since the last digest, shown so that
    an outside address added to the sheet does not go unnoticed. Rows that name nobody are counted in
    the digest of whoever they were routed to (the source's owner, else the supervisors).

    ``settings`` (scripts.brief.DigestSettings, None for the defaults): people or roles in
    ``store_scope`` get the whole store grouped by team instead of their own team; ``cc`` adds readers
    of that whole-store digest; ``attach_findings`` attaches the findings workbook of the digest's scope.
    Every digest shows the member customers' callback coverage of its scope when there are any.
    """
    from .brief import DigestSettings, member_coverage  # noqa: PLC0415 (brief builds on this module)
    from .findings_book import write_findings_workbook  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    settings = settings or DigestSettings()
    new_recipients = list(new_recipients)
    nobody = route_unassigned(result, config, result.findings)
    today = now.date()
    failures = list(failures)
    run_failures = list(run_failures)
    unknown = Counter(f.assignee or "" for f in result.findings if f.rule == "unknown_staff")
    unreadable = [{"name": s.name, "path": s.path, "error": s.error} for s in result.sources if s.error]
    due_today = [(item, table.schema.name) for table in result.tables
                 for item in due_on(table, calendar, config.timezone, today) if item.rule in CALLBACK_RULES]
    visits = Counter()
    complaints = Counter()
    for table in result.tables:
        owner = table.schema.owner
        time_field = {"visitor_log": "visit_at", "complaint_log": "received_at"}.get(table.schema.name)
        if not time_field or not owner:
            continue
        counter = visits if table.schema.name == "visitor_log" else complaints
        for record in table.records:
            at = record.get(time_field)
            if isinstance(at, dt.datetime) and at.date() == today:
                counter[fold(record.get(owner) or "")] += 1
    member_start = (today.replace(day=1) if settings.member_days is None
                    else today - dt.timedelta(days=max(1, settings.member_days) - 1))
    coverage = member_coverage(result, member_start, today, config.timezone)

    def figures(names: Sequence[str]) -> dict[str, Any]:
        """Counts and items of the people ``names`` (folded keys match every script)."""
        keys = {fold(n) for n in names}
        mine = [f for f in result.findings if f.assignee and not f.unassigned and fold(f.assignee) in keys]
        overdue = Counter(f.assignee for f in mine if f.rule.endswith("_overdue"))
        blanks = Counter(f.assignee for f in mine if f.rule in BLANK_RULES)
        # counted by folded name, shown as the staff list spells it
        overdue, blanks = ({fold(k): v for k, v in c.items()} for c in (overdue, blanks))
        done = Counter(fold(i.assignee) for i, _ in due_today if i.assignee and fold(i.assignee) in keys and i.done)
        due = Counter(fold(i.assignee) for i, _ in due_today if i.assignee and fold(i.assignee) in keys)
        missing = [m for m in coverage["missing"] if m["responsible"] and fold(m["responsible"]) in keys]
        called = [m for m in coverage["called_people"] if m["responsible"] and fold(m["responsible"]) in keys]
        total = len(missing) + len(called)
        return {
            "mine": mine,
            "visitors_today": sum(visits[k] for k in keys),
            "complaints_today": sum(complaints[k] for k in keys),
            "callbacks_due": sum(due.values()),
            "callbacks_done": sum(done.values()),
            "people": [
                {"name": n, "overdue": overdue.get(fold(n), 0), "blanks": blanks.get(fold(n), 0),
                 "due": due.get(fold(n), 0), "done": done.get(fold(n), 0)} for n in names
            ],
            "overdue_bars": _bars({n: overdue.get(fold(n), 0) for n in names}, names),
            "blank_bars": _bars({n: blanks.get(fold(n), 0) for n in names}, names),
            "overdue_total": sum(overdue.values()),
            "blank_total": sum(blanks.values()),
            "complaints_near": [item_of(f, now, full_phone=False)
                                for f in sorted((f for f in mine if f.rule.startswith("complaint_reply")), key=lambda f: f.due)],
            "repeats": [item_of(f, now, full_phone=False) for f in mine if f.rule == "repeat_complainant"],
            "members": {
                "start": coverage["start"], "end": coverage["end"], "total": total, "called": len(called),
                "rate": round(100 * len(called) / total) if total else None,
                "missing": [{**m, "phone": mask_phone(m["phone"]) or ""} for m in missing],
            },
        }

    leaders = [m for m in result.staff.members if result.staff.team_of(m)]
    leader_keys = {fold(m.name) for m in leaders}
    grouped = [(leader.name, [m.name for m in result.staff.team_of(leader) if fold(m.name) not in leader_keys])
               for leader in leaders]
    grouped = [(leader, people) for leader, people in grouped if people]
    placed = {fold(n) for _, people in grouped for n in people}
    others: dict[str, str] = {}  # supervisors, managers and names not in the staff list who have findings
    for f in result.findings:
        if f.assignee and fold(f.assignee) not in placed:
            member = result.staff.get(f.assignee)
            others.setdefault(fold(f.assignee), member.name if member else f.assignee.strip())
    if others:
        grouped.append(("", list(others.values())))

    def wanted(member: StaffMember) -> bool:
        scope = {fold(s) for s in settings.store_scope}
        return fold(member.name) in scope or bool(member.role and fold(member.role) in scope)

    store_readers = [m for m in result.staff.members if _active(m) and wanted(m)]
    for entry in settings.cc:
        reader = result.staff.get(entry) if "@" not in entry else next(
            (m for m in result.staff.members if m.email.lower() == entry.lower()), None)
        if reader is None and "@" in entry:
            reader = StaffMember(name=entry.split("@")[0], email=entry)
        if reader is not None and reader.email and all(r.email.lower() != reader.email.lower() for r in store_readers):
            store_readers.append(reader)
    store_keys = {r.email.lower() for r in store_readers}
    everyone = [m.name for m in result.staff.members if m.active]
    store_teams = [{"leader": leader, **figures(people)} for leader, people in grouped] if store_readers else []
    messages = []
    readers = [(m, False) for m in result.staff.members
               if _active(m) and result.staff.team_of(m) and m.email.lower() not in store_keys]
    readers += [(m, True) for m in store_readers]
    for boss, whole_store in readers:
        if whole_store:
            names = list(dict.fromkeys([*everyone, *others.values()]))
        else:
            names = [m.name for m in subtree(result.staff, boss)]
        found = figures(names)
        mine = found.pop("mine")
        # The whole store's digest counts every row that names nobody; a team's, those routed to its lead.
        unassigned = ([f for f in result.findings if not f.assignee or f.unassigned] if whole_store
                      else nobody.get(fold(boss.name), []))
        context = {
            "name": boss.name,
            "date": today.isoformat(),
            "weekday": _WEEKDAYS[today.weekday()],
            "scope": "store" if whole_store else "team",
            "team": names,
            **found,
            "teams": [{k: v for k, v in t.items() if k != "mine"} for t in store_teams] if whole_store else [],
            "unknown_staff": [{"name": n, "count": c} for n, c in sorted(unknown.items())],
            "unreadable": unreadable,
            "failed_sends": failures,
            "failed_runs": run_failures,
            "new_recipients": new_recipients,
            "unassigned_total": len(unassigned),
        }
        interesting = (mine or unassigned or unknown or unreadable or failures or run_failures or new_recipients
                       or context["visitors_today"] or context["complaints_today"] or context["callbacks_due"]
                       or found["members"]["total"])
        if not interesting:
            continue
        items = tuple(sorted(finding_id(f) for f in [*mine, *unassigned]))
        attachments: tuple[str, ...] = ()
        if settings.attach_findings and mine:
            folder = Path(settings.folder or config.outbox)
            folder = folder if folder.is_absolute() else config.base_dir / folder
            book = folder / f"问题清单-{boss.name}-{today.isoformat()}.xlsx"
            attachments = (str(write_findings_workbook(result, book, now, findings=mine)),)
        messages.append(Message("digest", boss, today.isoformat(), context, items, attachments=attachments))
    return messages


@dataclass(frozen=True)
class Breach:
    finding: Finding
    level: int

    @property
    def item(self) -> str:
        return f"{self.level}:{finding_id(self.finding)}"


def escalation_level(f: Finding, now: dt.datetime, calendar: WorkCalendar) -> int:
    """1 once the deadline has passed; 2 when it is still open a working day later."""
    if f.due is None or now <= f.due:
        return 0
    due = f.due.astimezone(now.tzinfo)
    second = dt.datetime.combine(calendar.add_working_days(due.date(), 1), due.timetz())
    return 2 if now >= second else 1


def escalation_targets(f: Finding, level: int, directory: StaffDirectory, escalate_to: str | None) -> list[StaffMember]:
    owner = directory.get(f.assignee)
    boss = directory.get(owner.supervisor) if owner and owner.supervisor else None
    if level == 1 and boss is not None:
        return [boss]
    if escalate_to:
        role = fold(escalate_to)
        by_role = [m for m in directory.members if fold(m.role or "") == role]
        if by_role:
            return by_role
    if boss is not None:  # no role configured: the supervisor's supervisor, else the supervisor again
        higher = directory.get(boss.supervisor) if boss.supervisor else None
        return [higher or boss]
    tops = [m for m in directory.members if not m.supervisor and directory.team_of(m)]
    return tops


def build_escalations(result: CheckResult, config: Config, now: dt.datetime, calendar: WorkCalendar,
                      already: set[str]) -> list[Message]:
    """New breaches (and second-level ones) per recipient; ``already`` holds items sent before."""
    escalate_to = config.escalate_to
    per_person: dict[str, tuple[StaffMember, list[Breach]]] = {}
    for f in result.findings:
        if f.rule not in BREACH_RULES:
            continue
        level = escalation_level(f, now, calendar)
        for lvl in range(1, level + 1):
            breach = Breach(f, lvl)
            if breach.item in already:
                continue
            for target in escalation_targets(f, lvl, result.staff, escalate_to):
                if not _active(target):
                    continue
                per_person.setdefault(fold(target.name), (target, []))[1].append(breach)
    messages = []
    for target, breaches in per_person.values():
        breaches.sort(key=lambda b: (b.finding.due, b.level))
        context = {
            "name": target.name,
            "date": now.date().isoformat(),
            "time": now.strftime("%H:%M"),
            "breaches": [{**item_of(b.finding, now, full_phone=False), "level": b.level} for b in breaches],
            "second_level": any(b.level == 2 for b in breaches),
        }
        items = tuple(b.item for b in breaches)
        messages.append(Message("escalation", target, now.isoformat(timespec="minutes"), context, items,
                                once_per_period=False))
    return messages
