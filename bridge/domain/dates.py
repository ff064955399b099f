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
from typing import Final
from zoneinfo import ZoneInfo

EPOCH_SCALES: Final = {"epoch": 1, "epoch_ms": 1000}
_EPOCH_TEXT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_DIRECTIVE = re.compile(r"%(?::z|.)")  # one directive; %:z is the offset with a colon
ISO_SECONDS = "%Y-%m-%d %H:%M:%S"
# Exactly "YYYY-MM-DD HH:MM:SS": fromisoformat alone would also take week dates and offsets.
_ISO_SECONDS_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


@dataclass(frozen=True, slots=True)
class DateFormat:
    """One format of the profile, prepared once for reading and writing."""

    text: str
    epoch_scale: int | None  # epoch formats: the units per second
    utc_literal: bool  # ends in a literal Z: the value is UTC
    read_format: str  # what strptime is given (%:z read as %z, which takes colons too)

    @classmethod
    def of(cls, text: str) -> DateFormat:
        """Prepare ``text``; see :func:`format_problem` for what is refused."""
        utc = _DIRECTIVE.sub("\0", text).endswith("Z")  # a Z that is no directive's
        return cls(text, EPOCH_SCALES.get(text), utc, text.replace("%:z", "%z"))

    def read(self, value: str) -> datetime | None:
        """The datetime ``value`` holds in this format (naive: local time), or None."""
        if self.epoch_scale is not None:
            return _from_epoch(value, self.epoch_scale) if _EPOCH_TEXT.fullmatch(value) else None
        parsed = _strptime(value, self.read_format)
        if parsed is not None and self.utc_literal:
            return parsed.replace(tzinfo=UTC)
        return parsed

    def write(self, moment: datetime, zone: ZoneInfo) -> str:
        """``moment`` in this format: local time of ``zone`` (a naive one is taken as such)."""
        local = moment.astimezone(zone) if moment.tzinfo is not None else moment.replace(tzinfo=zone)
        if self.epoch_scale is not None:
            return str(round(local.timestamp() * self.epoch_scale))
        if self.utc_literal:
            local = local.astimezone(UTC)
        text = self.text
        if "%:z" in text:
            text = text.replace("%:z", _colon_offset(local))
        return local.strftime(text)


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

    def read(self, value: str | float) -> datetime:
        """An aware datetime in the profile's zone; ValueError names the formats tried."""
        moment: datetime | None = None
        if isinstance(value, str):
            for fmt in self._formats:
                moment = fmt.read(value)
                if moment is not None:
                    break
        elif self._epoch_scale is not None:
            moment = _from_epoch(value, self._epoch_scale)
        if moment is None:
            shown = value[:40] if isinstance(value, str) else value
            raise ValueError(f"{shown!r} matches none of the formats {list(self.formats)}")
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self._zone)
        return moment.astimezone(self._zone)

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
        written = fmt.write(sample, ZoneInfo("Asia/Jakarta"))
        read = fmt.read(written)
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
# directives is read instead by one regular expression (about 1 us), and the exact
# "YYYY-MM-DD HH:MM:SS" by fromisoformat (0.15 us). Both give exactly what strptime gives
# (tests/unit/test_dates.py checks it over generated values); anything else goes to strptime.


def _strptime(value: str, fmt: str) -> datetime | None:
    if fmt == ISO_SECONDS and _ISO_SECONDS_SHAPE.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # out of range: strptime refuses it too
    layout = _layout(fmt)
    if layout is not None:
        read = layout.read(value)
        if isinstance(read, datetime):
            return read
        if read is NO_MATCH:
            return None
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
    groups: tuple[int, ...]  # the group of each datetime argument, year first
    counts: tuple[tuple[str, int], ...]

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
        return cls(re.compile(pattern), tuple(order.index(d) + 1 for d in present), counts)

    def read(self, value: str) -> datetime | _NoMatch | None:
        """See the class: a datetime, ``NO_MATCH``, or None (ask strptime)."""
        found = self.pattern.fullmatch(value)
        if found is not None:
            numbers = [int(found.group(g)) for g in self.groups]
            year, month, day, hour, minute, second = (*numbers, 0, 0, 0)[:6]
            try:
                return datetime(year, month, day, hour, minute, second)
            except ValueError:
                return None  # out of range: strptime refuses it too, let it say so
        if value.isascii():
            upper = value.upper()
            for char, count in self.counts:
                if upper.count(char) != count:
                    return NO_MATCH
        return None


_LAYOUTS: dict[str, _Layout | None] = {}


def _layout(fmt: str) -> _Layout | None:
    if fmt not in _LAYOUTS:
        _LAYOUTS[fmt] = _Layout.of(fmt)
    return _LAYOUTS[fmt]
