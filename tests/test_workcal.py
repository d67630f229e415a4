"""The Chinese working calendar: weekends, public holidays, make-up working days and store closures."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scripts.workcal import WorkCalendar

d = dt.date.fromisoformat
CAL = WorkCalendar()


@pytest.mark.parametrize("day, working", [
    ("2026-11-27", True),   # Friday
    ("2026-11-28", False),  # Saturday
    ("2026-02-14", True),   # Saturday, made up for Spring Festival
    ("2026-02-17", False),  # Spring Festival
    ("2026-02-23", False),  # Monday inside the Spring Festival break
    ("2026-02-28", True),   # Saturday, made up
    ("2026-09-20", True),   # Sunday, made up for National Day
    ("2026-10-01", False),
    ("2026-10-07", False),
    ("2026-10-08", True),
    ("2026-10-10", True),   # Saturday, made up
    ("2026-10-11", False),
])
def test_working_days_of_2026(day, working):
    assert CAL.is_workday(d(day)) is working


@pytest.mark.parametrize("start, days, due", [
    ("2026-11-25", 3, "2026-11-30"),  # Wed -> Thu, Fri, Mon
    ("2026-11-27", 3, "2026-12-02"),  # Fri -> Mon, Tue, Wed
    ("2026-11-28", 3, "2026-12-02"),  # Saturday counts from Monday
    ("2026-09-18", 1, "2026-09-20"),  # Fri -> the make-up Sunday
    ("2026-09-30", 3, "2026-10-10"),  # National Day: Oct 8, 9 and the make-up Saturday
    ("2026-10-09", 1, "2026-10-10"),
    ("2026-02-13", 3, "2026-02-25"),  # Spring Festival: Feb 14 (make-up), then Feb 24, 25
    ("2026-11-25", 0, "2026-11-25"),
])
def test_n_working_days_after(start, days, due):
    assert CAL.add_working_days(d(start), days) == d(due)


def test_store_closures_and_extra_working_days_from_config():
    cal = WorkCalendar(extra_holidays=frozenset({d("2026-11-26")}), extra_workdays=frozenset({d("2026-11-28")}))
    assert cal.add_working_days(d("2026-11-25"), 3) == d("2026-11-30")
    assert cal.is_workday(d("2026-11-28")) and not cal.is_workday(d("2026-11-26"))


def test_a_day_cannot_be_both():
    with pytest.raises(ValueError):
        WorkCalendar(extra_holidays=frozenset({d("2026-11-26")}), extra_workdays=frozenset({d("2026-11-26")}))


def test_years_without_official_data_fall_back_to_weekends_and_say_so():
    cal = WorkCalendar(extra_holidays=frozenset({d("2031-01-01")}))
    assert cal.is_workday(d("2031-01-02")) and not cal.is_workday(d("2031-01-04"))
    assert not cal.is_workday(d("2031-01-01"))
    assert cal.uncovered == {2031}
    assert WorkCalendar().add_working_days(d("2026-11-25"), 3) and CAL.uncovered <= {2031, 2027}


def test_other_countries_come_from_the_holidays_package():
    fr = WorkCalendar(country="FR")
    assert not fr.is_workday(d("2026-07-14")) and fr.is_workday(d("2026-07-15"))
    assert fr.uncovered == set()


dates_2026 = st.dates(min_value=d("2026-01-01"), max_value=d("2026-12-20"))


@settings(max_examples=200, deadline=None)
@given(start=dates_2026, days=st.integers(min_value=1, max_value=10))
def test_a_working_day_deadline_is_never_a_day_off(start, days):
    due = CAL.add_working_days(start, days)
    assert CAL.is_workday(due) and due > start
    assert sum(1 for _ in CAL.workdays_between(start + dt.timedelta(days=1), due)) == days


@settings(max_examples=200, deadline=None)
@given(start=dates_2026, days=st.integers(min_value=1, max_value=10), extra=dates_2026)
def test_adding_a_holiday_never_makes_a_deadline_earlier(start, days, extra):
    base = CAL.add_working_days(start, days)
    closed = WorkCalendar(extra_holidays=frozenset({extra})).add_working_days(start, days)
    assert closed >= base


def test_precomputed_table_equals_the_holidays_package():
    """The table a run uses instead of importing `holidays` is the package's own data, year by year."""
    from importlib.metadata import version

    from scripts import calendar_table

    package_version, table = calendar_table.compute()
    if package_version != calendar_table.HOLIDAYS_VERSION:
        pytest.skip(f"holidays {package_version} installed; the table (made from "
                    f"{calendar_table.HOLIDAYS_VERSION}) is bypassed: regenerate with python -m scripts.calendar_table")
    assert table == calendar_table.CN
    assert version("holidays") == calendar_table.HOLIDAYS_VERSION


def test_a_newer_holidays_package_is_asked_directly(monkeypatch):
    """When the installed package is not the one the table came from, its own data decides."""
    from scripts import calendar_table, workcal

    monkeypatch.setattr(calendar_table, "HOLIDAYS_VERSION", "0.0-other")
    workcal._table_usable.cache_clear()
    try:
        cal = WorkCalendar()
        assert cal.is_workday(d("2026-10-10")) and not cal.is_workday(d("2026-10-01"))
        assert cal._covered == workcal._covered_years("CN", __import__("holidays").country_holidays("CN"))
    finally:
        workcal._table_usable.cache_clear()
