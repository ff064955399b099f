"""Working days (weekends, public holidays, cuti bersama, local extras) and deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.domain.calendar import DEFAULT_CATEGORIES, WorkingCalendar

WIB = ZoneInfo("Asia/Jakarta")


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


def wib(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def end_of(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 23, 59, 59, tzinfo=WIB)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 5, 5), True),  # Monday
        (date(2025, 5, 9), True),  # Friday
        (date(2025, 5, 10), False),  # Saturday
        (date(2025, 5, 11), False),  # Sunday
        (date(2025, 1, 1), False),  # New Year
        (date(2025, 3, 31), False),  # Idul Fitri 1446 H
        (date(2025, 4, 1), False),  # Idul Fitri, second day
        (date(2025, 4, 2), False),  # cuti bersama Idul Fitri
        (date(2025, 4, 3), False),
        (date(2025, 4, 4), False),
        (date(2025, 4, 7), False),
        (date(2025, 4, 8), True),  # back to work
        (date(2025, 3, 28), False),  # cuti bersama Nyepi
        (date(2025, 12, 26), False),  # cuti bersama Natal
        (date(2026, 3, 18), False),  # cuti bersama Nyepi
        (date(2026, 3, 19), False),  # Nyepi
        (date(2026, 3, 20), False),  # cuti bersama Idul Fitri 1447 H
        (date(2026, 3, 23), False),
        (date(2026, 3, 24), False),
        (date(2026, 3, 25), True),
        (date(2026, 12, 24), False),  # cuti bersama Natal
    ],
)
def test_working_days(calendar: WorkingCalendar, day: date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


def test_holiday_names(calendar: WorkingCalendar) -> None:
    assert calendar.holiday_name(date(2025, 4, 2)) == "Eid al-Fitr Joint Holiday"
    assert calendar.holiday_name(date(2025, 5, 5)) is None


def test_without_government_category_cuti_bersama_is_worked() -> None:
    public_only = WorkingCalendar(categories=("public",))
    assert public_only.is_working_day(date(2025, 4, 2))
    assert not public_only.is_working_day(date(2025, 3, 31))


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (wib(2025, 5, 5), 1, end_of(2025, 5, 6)),  # Monday -> end of Tuesday
        (wib(2025, 5, 5, 23, 50), 1, end_of(2025, 5, 6)),  # the hour does not matter
        (wib(2025, 5, 2), 1, end_of(2025, 5, 5)),  # Friday -> end of Monday
        (wib(2025, 5, 3), 1, end_of(2025, 5, 5)),  # Saturday -> end of Monday
        (wib(2025, 5, 4), 1, end_of(2025, 5, 5)),  # Sunday -> end of Monday
        (wib(2025, 5, 5), 7, end_of(2025, 5, 16)),  # 7 days skip Vesak and its cuti bersama
        (wib(2025, 5, 9), 1, end_of(2025, 5, 14)),  # Friday before Waisak's long weekend
        (wib(2025, 3, 27), 1, end_of(2025, 4, 8)),  # the day before Nyepi + Lebaran 2025
        (wib(2025, 3, 27), 3, end_of(2025, 4, 10)),
        (wib(2026, 3, 17), 1, end_of(2026, 3, 25)),  # Nyepi + Lebaran 2026
        (wib(2025, 12, 24), 1, end_of(2025, 12, 29)),  # Christmas + cuti bersama + weekend
        (wib(2025, 5, 5), 0, end_of(2025, 5, 5)),  # 0 days: the same day
        (wib(2025, 5, 3), 0, end_of(2025, 5, 5)),  # 0 days on Saturday: Monday
        (wib(2025, 5, 5), 14, end_of(2025, 5, 27)),
    ],
)
def test_add_working_days(calendar: WorkingCalendar, start: datetime, n: int, due: datetime) -> None:
    assert calendar.add_working_days(start, n) == due


def test_naive_datetimes_are_local_time(calendar: WorkingCalendar) -> None:
    due = calendar.add_working_days(datetime(2025, 5, 5, 9, 0), 1)
    assert due == end_of(2025, 5, 6)
    assert due.tzinfo == WIB


def test_aware_datetimes_are_converted_to_jakarta(calendar: WorkingCalendar) -> None:
    # 20:00 UTC on Monday is 03:00 WIB on Tuesday: counting starts from Tuesday.
    start = datetime(2025, 5, 5, 20, 0, tzinfo=UTC)
    assert calendar.local_date(start) == date(2025, 5, 6)
    assert calendar.add_working_days(start, 1) == end_of(2025, 5, 7)
    assert calendar.is_working_day(datetime(2025, 5, 9, 18, 0, tzinfo=UTC)) is False  # Sat WIB


def test_end_of_day_is_configurable() -> None:
    office = WorkingCalendar(end_of_day=time(16, 0))
    assert office.end_of_day == time(16, 0)
    assert office.add_working_days(wib(2025, 5, 5), 1) == datetime(2025, 5, 6, 16, 0, tzinfo=WIB)


def test_extra_holidays_and_extra_working_days() -> None:
    local = WorkingCalendar(
        extra_holidays=[date(2025, 11, 26)],  # a city anniversary, say
        extra_working_days=[date(2025, 5, 10), date(2025, 4, 7)],  # a Saturday, a cuti bersama
    )
    assert not local.is_working_day(date(2025, 11, 26))
    assert local.holiday_name(date(2025, 11, 26)) == "extra holiday (mapping file)"
    assert local.is_working_day(date(2025, 5, 10))
    assert local.is_working_day(date(2025, 4, 7))
    assert local.add_working_days(wib(2025, 5, 9), 1) == end_of(2025, 5, 10)
    assert local.add_working_days(wib(2025, 11, 25), 1) == end_of(2025, 11, 27)


def test_a_day_cannot_be_both_extra_holiday_and_extra_working_day() -> None:
    with pytest.raises(ValueError, match="2025-05-10"):
        WorkingCalendar(extra_holidays=[date(2025, 5, 10)], extra_working_days=[date(2025, 5, 10)])


@pytest.mark.parametrize("n", [-1, 10_000])
def test_absurd_day_counts_are_refused(calendar: WorkingCalendar, n: int) -> None:
    with pytest.raises(ValueError, match="working days"):
        calendar.add_working_days(wib(2025, 5, 5), n)


def test_working_days_between(calendar: WorkingCalendar) -> None:
    assert calendar.working_days_between(date(2025, 5, 5), date(2025, 5, 5)) == 0
    assert calendar.working_days_between(date(2025, 5, 5), date(2025, 5, 6)) == 1
    assert calendar.working_days_between(date(2025, 5, 9), date(2025, 5, 12)) == 0  # Waisak
    assert calendar.working_days_between(date(2025, 3, 27), date(2025, 4, 8)) == 1
    assert calendar.working_days_between(date(2025, 5, 6), date(2025, 5, 5)) == -1
    assert calendar.working_days_between(wib(2025, 5, 5), wib(2025, 5, 12)) == 4


def test_next_working_day(calendar: WorkingCalendar) -> None:
    assert calendar.next_working_day(date(2025, 3, 27)) == date(2025, 4, 8)
    assert calendar.next_working_day(date(2025, 4, 8), inclusive=True) == date(2025, 4, 8)


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=1, max_value=40),
)
def test_working_days_between_inverts_add_working_days(day: date, n: int) -> None:
    calendar = _SHARED
    start = datetime.combine(day, time(10, 0), tzinfo=WIB)
    due = calendar.add_working_days(start, n)
    assert calendar.is_working_day(due)
    assert calendar.working_days_between(start, due) == n
    assert calendar.working_days_between(start, due - timedelta(days=1)) == n - 1


_SHARED = WorkingCalendar()


def test_the_default_categories_are_the_libraries_own() -> None:
    # recognition.toml's categories are looked up in the holidays library only when they
    # differ from these defaults (the lookup imports its whole country table): so these
    # must be valid there, and each must give this year at least one day.
    from holidays.countries.indonesia import Indonesia

    assert set(DEFAULT_CATEGORIES) <= set(Indonesia.supported_categories)
    for category in DEFAULT_CATEGORIES:
        assert Indonesia(years=2026, categories=(category,))
