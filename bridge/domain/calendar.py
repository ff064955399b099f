"""Working days of Kota Tangerang Selatan's government offices, and SOP deadlines.

A working day is Monday to Friday, except Indonesian public holidays and collective leave
days (cuti bersama), except the extra holidays of the mapping file, plus its extra working
days (an extra working day wins even on a weekend). Holidays come from the ``holidays``
library: its "public" category holds the national holidays, its "government" category the
cuti bersama decided each year by joint ministerial decree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Jakarta"
DEFAULT_CATEGORIES = ("public", "government")
DEFAULT_END_OF_DAY = time(23, 59, 59)
# No SOP step allows more than a few weeks; the bound turns a nonsense request (a corrupted
# figure) into an error instead of a loop over millions of days.
MAX_WORKING_DAYS = 3660
_SATURDAY = 5


class WorkingCalendar:
    """Which days are working days, and when a step with n working days allowed is due."""

    __slots__ = ("_categories", "_end_of_day", "_extra_holidays", "_extra_working", "_holidays", "_zone")

    def __init__(
        self,
        *,
        zone: ZoneInfo | str = DEFAULT_ZONE,
        end_of_day: time = DEFAULT_END_OF_DAY,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        categories: Iterable[str] = DEFAULT_CATEGORIES,
    ) -> None:
        """Build a calendar; holidays of each year are computed the first time it is used."""
        self._zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self._end_of_day = end_of_day.replace(tzinfo=None)
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_working = frozenset(extra_working_days)
        clash = self._extra_holidays & self._extra_working
        if clash:
            days = ", ".join(d.isoformat() for d in sorted(clash))
            raise ValueError(f"both an extra holiday and an extra working day: {days}")
        self._categories = tuple(categories)
        self._holidays: dict[int, dict[date, str]] = {}

    @property
    def zone(self) -> ZoneInfo:
        """The time zone deadlines are expressed in (Asia/Jakarta, WIB)."""
        return self._zone

    @property
    def end_of_day(self) -> time:
        """The local time at which a working day ends for deadlines."""
        return self._end_of_day

    def localise(self, moment: datetime) -> datetime:
        """``moment`` in the calendar's zone; a naive datetime is taken as local time already."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self._zone)
        return moment.astimezone(self._zone)

    def local_date(self, moment: date) -> date:
        """The local calendar date of a datetime (a plain date is returned as is)."""
        if isinstance(moment, datetime):
            return self.localise(moment).date()
        return moment

    def holiday_name(self, day: date) -> str | None:
        """Why ``day`` is a holiday (public holiday, cuti bersama, extra), or None."""
        if day in self._extra_holidays:
            return "extra holiday (mapping file)"
        return self._holidays_of(day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` (a date, or a datetime taken at its local date) is a working day."""
        day = self.local_date(day)
        if day in self._extra_working:
            return True
        if day in self._extra_holidays or day.weekday() >= _SATURDAY:
            return False
        return day not in self._holidays_of(day.year)

    def end_of(self, day: date) -> datetime:
        """The moment the working day ``day`` ends, in the calendar's zone."""
        return datetime.combine(day, self._end_of_day, tzinfo=self._zone)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The deadline of a step reached at ``start`` with ``n`` working days allowed.

        The rule: the step is due at the end (``end_of_day``, local time) of the n-th working
        day strictly after the local date of ``start``. The day a step is reached never
        counts, whatever the hour: reached on Monday with 1 day allowed, it is due at the end
        of Tuesday. Reached on a non-working day, counting starts from the next working day,
        which is the first one counted: reached on Saturday with 1 day allowed, it is due at
        the end of Monday, exactly as if it had been reached on Friday. ``n = 0`` means the
        end of the day it was reached, or of the next working day if that is not one.
        """
        if not 0 <= n <= MAX_WORKING_DAYS:
            raise ValueError(f"working days must be between 0 and {MAX_WORKING_DAYS}, got {n}")
        day = self.local_date(start)
        if n == 0:
            return self.end_of(self.next_working_day(day, inclusive=True))
        for _ in range(n):
            day = self.next_working_day(day)
        return self.end_of(day)

    def next_working_day(self, day: date, *, inclusive: bool = False) -> date:
        """The first working day after ``day`` (or on it, when ``inclusive``)."""
        day = self.local_date(day)
        if not inclusive:
            day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days lie after ``start`` up to and including ``end``.

        Datetimes are taken at their local date. This is the inverse of
        ``add_working_days``: ``working_days_between(t, add_working_days(t, n)) == n`` for
        every ``n >= 1``. Negative when ``end`` is before ``start``.
        """
        first, last = self.local_date(start), self.local_date(end)
        if last < first:
            return -self.working_days_between(last, first)
        return sum(1 for day in _days_after(first, last) if self.is_working_day(day))

    def _holidays_of(self, year: int) -> dict[date, str]:
        """Public holidays and cuti bersama of one year, computed once per year."""
        table = self._holidays.get(year)
        if table is None:
            # Imported on the first deadline: the library loads its whole country table
            # (about 0.2 s), which the commands that compute no deadline do not pay.
            import holidays  # noqa: PLC0415

            source = holidays.country_holidays("ID", years=year, categories=self._categories)
            table = {day: str(name) for day, name in source.items()}
            self._holidays[year] = table
        return table


def _days_after(first: date, last: date) -> Iterator[date]:
    """The dates after ``first`` up to and including ``last``."""
    day = first + timedelta(days=1)
    while day <= last:
        yield day
        day += timedelta(days=1)
