"""The working-day calendar: weekends and public holidays off, make-up working days (調休) on.

Holiday data comes from the maintained ``holidays`` package. China's official schedule (which days
are swapped) is announced each winter for the next year; for a year the data does not cover yet, the
calendar falls back to plain weekends plus the store's own configured days and reports that year in
``uncovered`` so the run can say so once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from . import calendar_table
from .installed import installed_version


@lru_cache(maxsize=None)
def _table_usable(country: str) -> bool:
    """Whether the precomputed table stands for the installed `holidays` (same version, country CN)."""
    if country.upper() not in ("CN", "CHN"):
        return False
    installed = installed_version("holidays")
    return installed is None or installed == calendar_table.HOLIDAYS_VERSION  # None: the table is all we have


@dataclass
class WorkCalendar:
    country: str = "CN"
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    uncovered: set[int] = field(default_factory=set)  # years looked up without official data

    def __post_init__(self) -> None:
        both = self.extra_holidays & self.extra_workdays
        if both:
            raise ValueError(f"{min(both)} is listed both as a holiday and as a working day")
        self._years: dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]] = {}
        if _table_usable(self.country):
            self._weekend = frozenset({5, 6})
            self._covered = frozenset(calendar_table.CN)
        else:  # another country, or a newer `holidays` that may know more years: ask the package
            import holidays  # noqa: PLC0415

            lib = holidays.country_holidays(self.country)
            self._weekend = frozenset(getattr(lib, "weekend", {5, 6}))
            self._covered = _covered_years(self.country, lib)
        self._added: dict[tuple[dt.date, int], dt.date] = {}  # a log has hundreds of rows per date

    def covers(self, year: int) -> bool:
        return year in self._covered

    def _year(self, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
        cached = self._years.get(year)
        if cached is None:
            table = calendar_table.cn_year(year) if _table_usable(self.country) else None
            if table is not None:
                off, on = table
            elif self.covers(year):
                import holidays  # noqa: PLC0415

                lib = holidays.country_holidays(self.country, years=year)
                off = frozenset(d for d in lib if d.year == year)
                on = frozenset(d for d in getattr(lib, "weekend_workdays", ()) if d.year == year)
            else:
                off = on = frozenset()
            cached = self._years[year] = (off, on)
        return cached

    def is_workday(self, day: dt.date) -> bool:
        """Whether staff work on ``day``; the store's own additions win over the national data."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        off, on = self._year(day.year)
        if not self.covers(day.year):
            self.uncovered.add(day.year)
        if day in on:
            return True
        if day in off:
            return False
        return day.weekday() not in self._weekend

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``start`` (counting from the next day); 0 gives ``start``."""
        cached = self._added.get((start, count))
        if cached is not None:
            return cached
        day = start
        remaining = count
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        self._added[(start, count)] = day
        return day

    def workdays_between(self, start: dt.date, end: dt.date) -> Iterable[dt.date]:
        day = start
        while day <= end:
            if self.is_workday(day):
                yield day
            day += dt.timedelta(days=1)


def _covered_years(country: str, lib: Any) -> frozenset[int]:
    if country.upper() in ("CN", "CHN"):
        # China's day swaps are published year by year; the rules alone cannot predict them.
        from holidays.countries.china import ChinaStaticHolidays  # noqa: PLC0415

        return frozenset(y for y in ChinaStaticHolidays.special_public_holidays if y >= 2008)
    return frozenset(range(lib.start_year, lib.end_year + 1))
