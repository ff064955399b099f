"""Dates as the profile describes them: strptime formats, zone offsets, epoch seconds.

A format is any ``strptime`` format, plus:

* ``%z`` reads an offset (``+0700``, ``+07:00``, ``Z``); ``%:z`` is the same, and writes the
  offset with a colon (``+07:00``, as ISO 8601 has it);
* a format ending in a literal ``Z`` (``%Y-%m-%dT%H:%M:%SZ``) is UTC, read and written;
* ``epoch`` and ``epoch_ms`` are seconds (milliseconds) since 1970-01-01 UTC, as a JSON number
  or as a string of digits.

A value without an offset is local time of the profile's zone. Every date read is an aware
datetime in that zone (a value with an offset keeps its instant): the ledger stores and sorts
them as ISO text, which orders correctly only when all share one zone. ``%Z`` is refused: it
reads a zone's name and drops it, so a UTC time would be taken as local time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final
from zoneinfo import ZoneInfo

EPOCH_SCALES: Final = {"epoch": 1, "epoch_ms": 1000}
_EPOCH_TEXT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_DIRECTIVE = re.compile(r"%(?::z|.)")  # one directive; %:z is the offset with a colon


@dataclass(frozen=True, slots=True)
class DateFormat:
    """One format of the profile, prepared once for reading and writing."""

    text: str
    epoch_scale: int | None  # epoch formats: the units per second
    utc_literal: bool  # ends in a literal Z: the value is UTC
    read_format: str  # what strptime is given (%:z read as %z, which takes colons too)
    layout: _Layout | None  # the fast reading of a simple numeric format (see below)

    @classmethod
    def of(cls, text: str) -> DateFormat:
        """Prepare ``text``; see :func:`format_problem` for what is refused."""
        utc = _DIRECTIVE.sub("\0", text).endswith("Z")  # a Z that is no directive's
        epoch = EPOCH_SCALES.get(text)
        return cls(text, epoch, utc, text.replace("%:z", "%z"),
                   None if epoch else _Layout.of(text))

    def read(self, value: str, zone: ZoneInfo) -> datetime | None:
        """The moment ``value`` holds in this format, in ``zone``, or None when it does not fit.

        A value without an offset is local time of ``zone``.
        """
        if self.layout is not None:
            fast = self.layout.read(value, zone)
            if fast is not None:
                return fast if isinstance(fast, datetime) else None
        return self.read_slowly(value, zone)

    def read_slowly(self, value: str, zone: ZoneInfo) -> datetime | None:
        """``read`` without the layout: strptime, or the epoch."""
        if self.epoch_scale is not None:
            moment = _from_epoch(value, self.epoch_scale) if _EPOCH_TEXT.fullmatch(value) else None
        else:
            moment = _strptime(value, self.read_format)
            if moment is not None and self.utc_literal:
                moment = moment.replace(tzinfo=UTC)
        if moment is None:
            return None
        return in_zone(moment, zone) if moment.tzinfo is None else moment.astimezone(zone)

    def write(self, moment: datetime, zone: ZoneInfo) -> str:
        """``moment`` in this format: local time of ``zone`` (a naive one is taken as such)."""
        local = moment.astimezone(zone) if moment.tzinfo is not None else in_zone(moment, zone)
        if self.epoch_scale is not None:
            return str(round(local.timestamp() * self.epoch_scale))
        if self.utc_literal:
            local = local.astimezone(UTC)
        text = self.text
        if "%:z" in text:
            text = text.replace("%:z", _colon_offset(local))
        return local.strftime(text)


def in_zone(naive: datetime, zone: ZoneInfo) -> datetime:
    """A naive local time as an aware one in ``zone``.

    Built anew rather than with ``replace(tzinfo=zone)``, which takes four times as long
    (about 2 us against 0.5 us on the development machine): it runs for every date read.
    """
    return datetime(naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second,
                    naive.microsecond, zone)


def _colon_offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _from_epoch(value: str | float, scale: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value) / scale, tz=UTC)
    except (OverflowError, OSError, ValueError):  # out of datetime's range, or NaN
        return None


class DateReader:
    """Reads one field's values with its formats, in order; the first that fits wins."""

    def __init__(self, formats: tuple[str, ...], zone: ZoneInfo) -> None:
        """Prepare the formats for the profile's zone."""
        self.formats = formats
        self._formats = tuple(DateFormat.of(fmt) for fmt in formats)
        self._zone = zone
        self._epoch_scale = next((f.epoch_scale for f in self._formats if f.epoch_scale), None)

    @property
    def takes_numbers(self) -> bool:
        """An epoch format is among the formats: a JSON number is a date too."""
        return self._epoch_scale is not None

    def find(self, value: str | float) -> datetime | None:
        """An aware datetime in the profile's zone, or None when no format fits."""
        if isinstance(value, str):
            zone = self._zone
            # DateFormat.read, inlined: a first sync reads a quarter of a million dates.
            for fmt in self._formats:
                if fmt.layout is not None:
                    fast = fmt.layout.read(value, zone)
                    if fast is not None:
                        if isinstance(fast, datetime):
                            return fast
                        continue
                moment = fmt.read_slowly(value, zone)
                if moment is not None:
                    return moment
        elif self._epoch_scale is not None and not isinstance(value, bool):
            epoch = _from_epoch(value, self._epoch_scale)
            if epoch is not None:
                return epoch.astimezone(self._zone)
        return None

    def read(self, value: str | float) -> datetime:
        """As ``find``; ValueError names the formats tried."""
        moment = self.find(value)
        if moment is None:
            shown = value[:40] if isinstance(value, str) else value
            raise ValueError(f"{shown!r} matches none of the formats {list(self.formats)}")
        return moment

    def read_day(self, value: str | float) -> date:
        """The local calendar day of ``value``."""
        return self.read(value).date()


def format_problem(text: str) -> str | None:
    """What is wrong with a profile's date format, or None when it reads back its own output."""
    if text in EPOCH_SCALES:
        return None
    if "%" not in text:
        return (f"{text!r} has no % directive; give a strptime format such as "
                f"'%Y-%m-%d %H:%M:%S', or one of {', '.join(EPOCH_SCALES)}")
    if "%Z" in text.replace("%%", ""):
        return f"{text!r}: %Z reads a zone's name and drops it; use %z (an offset such as +07:00)"
    fmt = DateFormat.of(text)
    sample = datetime(2024, 12, 31, 23, 59, 58, tzinfo=timezone(timedelta(hours=7)))
    try:
        zone = ZoneInfo("Asia/Jakarta")
        read = fmt.read(fmt.write(sample, zone), zone)
    except (ValueError, re.error):  # re.error: a directive given twice
        read = None
    if read is None:
        return f"{text!r} cannot read back its own output"
    return None


def write_date(moment: datetime, fmt: str, zone: ZoneInfo) -> str:
    """``moment`` written in a profile format, in the profile's zone."""
    return DateFormat.of(fmt).write(moment, zone)


def read_date(value: str, fmt: str, zone: ZoneInfo) -> datetime:
    """``value`` read in one profile format; ValueError when it does not fit."""
    return DateReader((fmt,), zone).read(value)


# -- reading a format fast ------------------------------------------------------------------
# strptime takes about 6 us a value on the development machine; a first sync reads 250,000
# dates (three per letter, one per disposition): 1.5 s of CPU. A format of fixed-width numeric
# directives is read instead by one regular expression that builds the aware datetime at once
# (about 1 us; an ISO 8601 layout, once matched, by fromisoformat: half that). It gives exactly
# what strptime gives (tests/unit/test_dates.py checks it over generated values); anything else
# goes to strptime.


def _strptime(value: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(value, fmt)
    except ValueError:
        return None


# A date format made only of these fixed-width numeric directives and of literal characters
# is also read by slicing: see _Layout.
_WIDTHS: Final = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
_ORDER: Final = "YmdHMS"  # datetime's positional arguments
_LITERALS: Final = frozenset("-/:. T")
_COUNTED: Final = "-/:.T"  # characters no numeric directive of strptime ever matches
# Layouts fromisoformat reads exactly as strptime does, once the value has their shape.
_ISO_LAYOUTS: Final = frozenset({"%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S",
                                 "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"})


class _NoMatch:
    """The answer of a layout that knows strptime would refuse the value."""


NO_MATCH: Final = _NoMatch()


@dataclass(frozen=True, slots=True)
class _Layout:
    """A date format read with one regular expression, exactly as ``datetime.strptime`` reads it.

    ``read`` answers a datetime only for a value in the format's canonical shape (ASCII
    digits of each directive's full width, the literal characters in place), which strptime
    reads the same way; ``NO_MATCH`` when strptime certainly refuses the value (a literal
    character it needs is missing or extra: no numeric directive reads one); None when only
    strptime can tell.
    """

    pattern: re.Pattern[str]
    groups: tuple[int, ...]  # the group of each datetime argument (from 0), year first
    counts: tuple[tuple[str, int], ...]
    iso: bool  # an ISO 8601 layout: read by fromisoformat once matched
    padding: tuple[int, ...]  # zeros for the datetime arguments after the last one given

    @classmethod
    def of(cls, fmt: str) -> _Layout | None:
        """The layout of ``fmt``, or None when it is not such a simple format."""
        order: list[str] = []
        literals: list[str] = []
        pattern = ""
        index = 0
        while index < len(fmt):
            char = fmt[index]
            if char == "%":
                directive = fmt[index + 1:index + 2]
                if directive not in _WIDTHS or directive in order:
                    return None
                order.append(directive)
                pattern += f"([0-9]{{{_WIDTHS[directive]}}})"
                index += 2
            elif char in _LITERALS and not (char == " " and fmt[index + 1:index + 2] == " "):
                literals.append(char)
                pattern += re.escape(char)
                index += 1
            else:
                return None
        present = "".join(d for d in _ORDER if d in order)
        if len(present) < 3 or present != _ORDER[:len(present)]:
            return None  # no full date, or e.g. minutes without hours: leave it to strptime
        counts = tuple((c, literals.count(c)) for c in _COUNTED)
        return cls(re.compile(pattern), tuple(order.index(d) for d in present), counts,
                   fmt in _ISO_LAYOUTS, (0,) * (7 - len(present)))

    def read(self, value: str, zone: ZoneInfo) -> datetime | _NoMatch | None:
        """See the class: a datetime in ``zone``, ``NO_MATCH``, or None (ask strptime)."""
        found = self.pattern.fullmatch(value)
        if found is not None:
            try:
                if self.iso:
                    return in_zone(datetime.fromisoformat(value), zone)
                numbers = found.groups()
                arguments: list[Any] = [*(int(numbers[g]) for g in self.groups), *self.padding,
                                        zone]
                return datetime(*arguments)
            except ValueError:
                return None  # out of range: strptime refuses it too, let it say so
        if value.isascii():
            upper = value.upper()
            for char, count in self.counts:
                if upper.count(char) != count:
                    return NO_MATCH
        return None
