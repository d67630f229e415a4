"""When each job runs: the `schedule:` section of the config, in the store's time zone, on working days.

Pure: ``Plan.occurrences(start, end)`` lists the scheduled moments in a span; the service asks it
which ones passed since its last tick. Nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterator, Mapping
from zoneinfo import ZoneInfo

from .errors import ConfigError
from .workcal import WorkCalendar

DEFAULT_SCHEDULE = {
    "reminders": "09:00",
    "digest": "17:00",
    "escalations": "every 30 minutes from 09:00 to 18:00",
    "monthly_report": "1st 09:00",
    "morning_brief": "08:30",
    "weekly": "mon 09:00",
}
_TIME = r"([01]?\d|2[0-3]):([0-5]\d)"
_EVERY = re.compile(rf"^every\s+(\d+)\s+minutes?(?:\s+from\s+{_TIME}\s+to\s+{_TIME})?$")
_MONTHLY = re.compile(rf"^(\d{{1,2}})(?:st|nd|rd|th)?\s+{_TIME}$")
_DAILY = re.compile(rf"^{_TIME}$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY = re.compile(rf"^({'|'.join(_WEEKDAYS)})\w*\s+{_TIME}$")


@dataclass(frozen=True)
class JobTimes:
    """The times of day a job runs; ``month_day`` makes it monthly; ``workdays_only`` skips days off."""

    job: str
    times: tuple[dt.time, ...]
    month_day: int | None = None
    workdays_only: bool = True
    weekday: int | None = None  # 0 = Monday: a weekly job


def _t(hour: str, minute: str) -> dt.time:
    return dt.time(int(hour), int(minute))


def parse_times(job: str, text: str, where: str = "schedule") -> JobTimes:
    """One schedule entry: "09:00", "every 30 minutes from 09:00 to 18:00", "mon 09:00" or "1st 09:00"."""
    value = " ".join(str(text).strip().lower().split())
    if m := _DAILY.match(value):
        return JobTimes(job, (_t(*m.groups()),))
    if m := _EVERY.match(value):
        step = int(m.group(1))
        if not 1 <= step <= 720:
            raise ConfigError(f"{where}.{job}: every {step} minutes is out of range (1-720)")
        start = _t(m.group(2), m.group(3)) if m.group(2) else dt.time(0, 0)
        end = _t(m.group(4), m.group(5)) if m.group(4) else dt.time(23, 59)
        if end < start:
            raise ConfigError(f"{where}.{job}: {text!r} ends before it starts")
        times, minute = [], start.hour * 60 + start.minute
        while minute <= end.hour * 60 + end.minute:
            times.append(dt.time(minute // 60, minute % 60))
            minute += step
        return JobTimes(job, tuple(times))
    if m := _WEEKLY.match(value):
        return JobTimes(job, (_t(m.group(2), m.group(3)),), workdays_only=False, weekday=_WEEKDAYS.index(m.group(1)))
    if m := _MONTHLY.match(value):
        day = int(m.group(1))
        if not 1 <= day <= 28:
            raise ConfigError(f"{where}.{job}: day {day} of the month must be 1-28")
        return JobTimes(job, (_t(m.group(2), m.group(3)),), month_day=day, workdays_only=False)
    raise ConfigError(f'{where}.{job}: {text!r} is not a schedule such as "09:00", '
                      '"every 30 minutes from 09:00 to 18:00", "mon 09:00" or "1st 09:00"')


@dataclass(frozen=True)
class Plan:
    jobs: tuple[JobTimes, ...]
    calendar: WorkCalendar
    tz: ZoneInfo

    def runs_on(self, spec: JobTimes, day: dt.date) -> bool:
        if spec.month_day is not None:
            return day.day == spec.month_day
        if spec.weekday is not None:
            return day.weekday() == spec.weekday
        return not spec.workdays_only or self.calendar.is_workday(day)

    def occurrences(self, start: dt.datetime, end: dt.datetime) -> Iterator[tuple[dt.datetime, str]]:
        """(moment, job) for every scheduled run in (start, end], in order."""
        start, end = start.astimezone(self.tz), end.astimezone(self.tz)
        found = []
        day = start.date()
        while day <= end.date():
            for order, spec in enumerate(self.jobs):
                if not self.runs_on(spec, day):
                    continue
                for t in spec.times:
                    moment = dt.datetime.combine(day, t, tzinfo=self.tz)
                    if start < moment <= end:
                        found.append((moment, order, spec.job))
            day += dt.timedelta(days=1)
        for moment, _, job in sorted(found):  # same moment: in the order the config lists the jobs
            yield moment, job

    def last_today(self, job: str, now: dt.datetime) -> dt.datetime | None:
        """The latest scheduled moment of ``job`` today that is not after ``now`` (for catch-up)."""
        now = now.astimezone(self.tz)
        midnight = dt.datetime.combine(now.date(), dt.time(), tzinfo=self.tz) - dt.timedelta(microseconds=1)
        moments = [m for m, j in self.occurrences(midnight, now) if j == job]
        return moments[-1] if moments else None

    def upcoming(self, now: dt.datetime, days: int = 14) -> dict[str, dt.datetime]:
        """The next scheduled moment of each job (for `doctor`)."""
        nxt: dict[str, dt.datetime] = {}
        for moment, job in self.occurrences(now, now + dt.timedelta(days=days)):
            nxt.setdefault(job, moment)
        return nxt


def plan_from_config(raw: Mapping[str, object] | None, calendar: WorkCalendar, tz: ZoneInfo,
                     known_jobs: tuple[str, ...]) -> Plan:
    entries = dict(DEFAULT_SCHEDULE if raw is None else raw)
    jobs = []
    for job, text in entries.items():
        if job not in known_jobs:
            raise ConfigError(f"schedule.{job}: unknown job (jobs: {', '.join(known_jobs)})")
        if text in (None, "", "off"):
            continue
        jobs.append(parse_times(job, str(text)))
    return Plan(tuple(jobs), calendar, tz)


def working_hours_between(start: dt.datetime, end: dt.datetime, calendar: WorkCalendar, tz: ZoneInfo) -> float:
    """Hours of [start, end) that fall on working days: a quiet weekend is not a silent service."""
    start, end = start.astimezone(tz), end.astimezone(tz)
    total = 0.0
    day = start.date()
    while day <= end.date():
        if calendar.is_workday(day):
            lo = max(start, dt.datetime.combine(day, dt.time(), tzinfo=tz))
            hi = min(end, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz))
            if hi > lo:
                total += (hi - lo).total_seconds() / 3600
        day += dt.timedelta(days=1)
    return total
