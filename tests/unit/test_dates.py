"""Dates as the profile describes them: read and written in any strptime format, with offsets,
a literal Z and epoch seconds; the fast reading of simple formats is exactly strptime's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config.profile import PROFILE_FILE, load_profile
from bridge.domain import dates
from bridge.domain.dates import DateFormat, DateReader, format_problem, read_date, write_date
from bridge.errors import MappingError
from tests.conftest import MAPPINGS

WIB = ZoneInfo("Asia/Jakarta")
DERANDOMIZED = settings(derandomize=True, database=None, deadline=None, max_examples=400)


# -- reading ---------------------------------------------------------------------------------

ISO_OFFSET = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "epoch")


@pytest.mark.parametrize(("value", "expected"), [
    # With an offset: the same instant, in the profile's zone.
    ("2026-11-26T09:14:02+07:00", datetime(2026, 11, 26, 9, 14, 2, tzinfo=WIB)),
    ("2026-11-26T09:14:02+0700", datetime(2026, 11, 26, 9, 14, 2, tzinfo=WIB)),
    ("2026-11-26T02:14:02Z", datetime(2026, 11, 26, 9, 14, 2, tzinfo=WIB)),
    ("2026-11-26T02:14:02+00:00", datetime(2026, 11, 26, 9, 14, 2, tzinfo=WIB)),
    ("2026-11-25T21:14:02-05:00", datetime(2026, 11, 26, 9, 14, 2, tzinfo=WIB)),
    # Without a zone: local time of the profile's zone.
    ("2026-11-26 09:14:02", datetime(2026, 11, 26, 9, 14, 2, tzinfo=WIB)),
    ("2026-11-26", datetime(2026, 11, 26, tzinfo=WIB)),
    # Epoch seconds, as a number or as digits.
    (1795659842, datetime(2026, 11, 26, 9, 24, 2, tzinfo=WIB)),
    ("1795659842", datetime(2026, 11, 26, 9, 24, 2, tzinfo=WIB)),
    (1795659842.5, datetime(2026, 11, 26, 9, 24, 2, 500000, tzinfo=WIB)),
])
def test_offsets_zones_and_epochs_are_read_as_one_instant_in_the_profile_zone(
        value: str | float, expected: datetime) -> None:
    read = DateReader(ISO_OFFSET, WIB).read(value)
    assert read == expected
    assert read.tzinfo is WIB  # stored as ISO text, the ledger sorts them: one zone for all
    assert read.isoformat() == expected.isoformat()


def test_a_format_ending_in_a_literal_z_is_utc() -> None:
    reader = DateReader(("%Y-%m-%dT%H:%M:%SZ",), WIB)
    assert reader.read("2026-11-26T02:14:02Z") == datetime(2026, 11, 26, 9, 14, 2, tzinfo=WIB)
    with pytest.raises(ValueError, match="matches none of the formats"):
        reader.read("2026-11-26T02:14:02")


def test_epoch_milliseconds() -> None:
    reader = DateReader(("epoch_ms",), WIB)
    assert reader.read(1795659842123) == datetime(2026, 11, 26, 9, 24, 2, 123000, tzinfo=WIB)


@pytest.mark.parametrize("value", ["kemarin", "0000-00-00 00:00:00", "2026-13-01", "", "1e5",
                                   10**400, float("nan"), float("inf"), "2026-11-26T09:14:02+25:00"])
def test_what_no_format_reads_is_refused_naming_the_formats(value: str | float) -> None:
    with pytest.raises(ValueError, match="matches none of the formats") as caught:
        DateReader(ISO_OFFSET, WIB).read(value)
    assert "%Y-%m-%dT%H:%M:%S%z" in str(caught.value)


def test_numbers_are_dates_only_with_an_epoch_format() -> None:
    assert DateReader(ISO_OFFSET, WIB).takes_numbers
    plain = DateReader(("%Y-%m-%d",), WIB)
    assert not plain.takes_numbers
    with pytest.raises(ValueError, match="matches none"):
        plain.read(1795659842)


def test_a_day_is_the_local_calendar_day() -> None:
    # 20:00 UTC is 03:00 the next morning in Jakarta.
    assert DateReader(ISO_OFFSET, WIB).read_day("2026-11-26T20:00:00Z") == date(2026, 11, 27)


# -- writing ---------------------------------------------------------------------------------

MEETING = datetime(2026, 12, 1, 9, 30, tzinfo=WIB)


@pytest.mark.parametrize(("fmt", "written"), [
    ("%Y-%m-%d %H:%M", "2026-12-01 09:30"),
    ("%Y-%m-%dT%H:%M:%S%z", "2026-12-01T09:30:00+0700"),
    ("%Y-%m-%dT%H:%M:%S%:z", "2026-12-01T09:30:00+07:00"),
    ("%Y-%m-%dT%H:%M:%SZ", "2026-12-01T02:30:00Z"),
    ("%d/%m/%Y", "01/12/2026"),
    ("epoch", "1796092200"),
    ("epoch_ms", "1796092200000"),
])
def test_a_date_is_written_in_any_format_with_its_offset(fmt: str, written: str) -> None:
    assert write_date(MEETING, fmt, WIB) == written
    # The same instant given in another zone, or naive (local time), is written alike.
    assert write_date(MEETING.astimezone(UTC), fmt, WIB) == written
    assert write_date(MEETING.replace(tzinfo=None), fmt, WIB) == written
    if ("%d" in fmt and "%H" in fmt) or fmt.startswith("epoch"):
        assert read_date(written, fmt, WIB) == MEETING


# -- the profile's check of a format ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%:z",
                                 "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d", "%d %b %Y %H.%M", "epoch",
                                 "epoch_ms", "%Y-%m-%dT%H:%M:%S.%f%z"])
def test_formats_the_profile_accepts(fmt: str) -> None:
    assert format_problem(fmt) is None


@pytest.mark.parametrize(("fmt", "problem"), [
    ("dd-mm-YYYY", "has no % directive"),
    ("%Y-%m-%d %H:%M:%S %Z", "%Z reads a zone's name and drops it; use %z"),
    ("%Y-%m-%d %Y", "cannot read back its own output"),
    ("%Y-%m-%d %Q", "cannot read back its own output"),
])
def test_formats_the_profile_refuses_say_why(fmt: str, problem: str) -> None:
    assert problem in (format_problem(fmt) or "")


def profile_with(tmp_path: Path, old: str, new: str) -> Path:
    shipped = (MAPPINGS / PROFILE_FILE).read_text(encoding="utf-8")
    assert old in shipped, old
    (tmp_path / PROFILE_FILE).write_text(shipped.replace(old, new, 1), encoding="utf-8")
    return tmp_path


def test_a_profile_with_iso_8601_offsets_and_epochs_loads(tmp_path: Path) -> None:
    old = 'created_at = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]'
    profile_with(tmp_path, old, 'created_at = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ", "epoch"]')
    text = (tmp_path / PROFILE_FILE).read_text(encoding="utf-8").replace(
        'event_time_format = "%Y-%m-%d %H:%M"', 'event_time_format = "%Y-%m-%dT%H:%M:%S%:z"')
    (tmp_path / PROFILE_FILE).write_text(text, encoding="utf-8")
    profile = load_profile(tmp_path)
    from bridge.domain.items import ListKind

    assert profile.lists[ListKind.SURAT].date_formats["created_at"][0] == "%Y-%m-%dT%H:%M:%S%z"
    assert profile.push.event_time_format == "%Y-%m-%dT%H:%M:%S%:z"


def test_a_profile_with_a_zone_name_format_is_refused_naming_the_key(tmp_path: Path) -> None:
    old = 'created_at = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]'
    profile_with(tmp_path, old, 'created_at = ["%Y-%m-%d %H:%M:%S %Z"]')
    with pytest.raises(MappingError, match="use %z") as caught:
        load_profile(tmp_path)
    assert "lists.surat.date_formats" in str(caught.value)
    assert str(tmp_path / PROFILE_FILE) in str(caught.value)


def test_a_meeting_time_format_that_cannot_be_read_back_is_refused(tmp_path: Path) -> None:
    profile_with(tmp_path, 'event_time_format = "%Y-%m-%d %H:%M"', 'event_time_format = "jam 9"')
    with pytest.raises(MappingError, match=r"push\.event_time_format.*has no % directive"):
        load_profile(tmp_path)


# -- the fast reading of simple formats is strptime's ----------------------------------------

FORMAT_SETS = [
    ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"),
    ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"),
    ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y"),
    ("%m-%d-%Y", "%d-%m-%Y"),
    ("%d/%m/%Y %H:%M", "%Y%m%d", "%Y%m%d%H%M%S", "%H:%M %d.%m.%Y"),
    ("%d %m %Y", "%b %d %Y", "%Y-%m-%d  %H:%M", "%Y-%m-%d %M"),
]
ALL_FORMATS = sorted({fmt for formats in FORMAT_SETS for fmt in formats})


def fast(value: str, formats: tuple[str, ...]) -> datetime | None:
    """What the reader makes of a value, as local time without its zone."""
    found = next(filter(None, (DateFormat.of(fmt).read(value, WIB) for fmt in formats)), None)
    return None if found is None else found.replace(tzinfo=None)


def strptime_or_none(value: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(value, fmt)
    except ValueError:
        return None


def reference(value: str, formats: tuple[str, ...]) -> datetime | None:
    """strptime alone, format by format."""
    return next(filter(None, (strptime_or_none(value, fmt) for fmt in formats)), None)


@st.composite
def date_texts(draw: st.DrawFn) -> str:
    """A date in one of the formats, often damaged: a character changed, added or dropped."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
    text = list(moment.strftime(draw(st.sampled_from(ALL_FORMATS))))
    alphabet = "0123456789-/:. Tt\t\u0663+Zx"
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["change", "add", "drop"]))
        if action == "add" or not text:
            text.insert(at, draw(st.sampled_from(alphabet)))
        elif action == "change":
            text[min(at, len(text) - 1)] = draw(st.sampled_from(alphabet))
        else:
            del text[min(at, len(text) - 1)]
    return "".join(text)


@DERANDOMIZED
@given(text=date_texts() | st.text(alphabet="0123456789-/:. T", max_size=22),
       formats=st.sampled_from(FORMAT_SETS))
def test_a_date_is_read_exactly_as_strptime_reads_it(text: str, formats: tuple[str, ...]) -> None:
    assert fast(text, formats) == reference(text, formats)


@pytest.mark.parametrize(("text", "formats", "expected"), [
    ("28-11-2026", ("%d-%m-%Y",), datetime(2026, 11, 28)),
    ("2026-11-28", ("%d-%m-%Y", "%Y-%m-%d"), datetime(2026, 11, 28)),
    ("28/11/2026", ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y"), datetime(2026, 11, 28)),
    ("31-02-2026", ("%d-%m-%Y",), None),
    ("00-00-0000", ("%d-%m-%Y",), None),
    ("5-1-2026", ("%d-%m-%Y",), datetime(2026, 1, 5)),  # strptime's lenient widths
    ("2026-11-20 08:01", ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"), datetime(2026, 11, 20, 8, 1)),
    ("2026-11-20t08:01:00", ("%Y-%m-%dT%H:%M:%S",), datetime(2026, 11, 20, 8, 1)),
    ("\u0662\u0660\u0662\u0666-11-20", ("%Y-%m-%d",), datetime(2026, 11, 20)),  # Arabic-Indic digits
    ("\u0662\u0660\u0662\u0666-11-20 08:01:00", ("%Y-%m-%d %H:%M:%S",), datetime(2026, 11, 20, 8, 1)),
    ("2026-W47-5 08:00:00", ("%Y-%m-%d %H:%M:%S",), None),  # fromisoformat alone reads these
    ("2026-11-20 08:00-05", ("%Y-%m-%d %H:%M:%S",), None),
    ("kemarin", ("%Y-%m-%d %H:%M:%S", "%d-%m-%Y"), None),
])
def test_dates_the_fast_path_must_leave_to_strptime_or_read_alike(
        text: str, formats: tuple[str, ...], expected: datetime | None) -> None:
    assert fast(text, formats) == expected == reference(text, formats)


def test_only_simple_numeric_formats_get_a_layout() -> None:
    assert dates._Layout.of("%d-%m-%Y") is not None
    assert dates._Layout.of("%Y-%m-%dT%H:%M:%S") is not None
    for fmt in ("%b %d %Y", "%Y-%m-%d %H:%M:%S %z", "%y-%m-%d", "%Y-%m", "%Y-%m-%d %M",
                "%Y-%m-%d %H:%M:%S %Y", "%Y-%m-%d  %H:%M", "%Y-%m-%d %I:%M %p"):
        assert dates._Layout.of(fmt) is None, fmt


def test_a_fixed_offset_value_keeps_its_instant() -> None:
    moment = DateReader(("%Y-%m-%d %H:%M:%S%z",), WIB).read("2026-11-26 09:14:02+05:30")
    assert moment == datetime(2026, 11, 26, 9, 14, 2, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert moment.utcoffset() == timedelta(hours=7)


# -- the meeting time the bridge writes ------------------------------------------------------


@pytest.mark.parametrize(("fmt", "written"), [
    ("%Y-%m-%d %H:%M", "2026-12-29 09:00"),
    ("%Y-%m-%dT%H:%M:%S%:z", "2026-12-29T09:00:00+07:00"),
    ("%Y-%m-%dT%H:%M:%S%z", "2026-12-29T09:00:00+0700"),
    ("%Y-%m-%dT%H:%M:%SZ", "2026-12-29T02:00:00Z"),
    ("epoch", "1798509600"),
])
def test_the_invitation_writes_the_meeting_time_in_the_profile_format_and_reads_it_back(
        profile, fmt: str, written: str) -> None:
    from bridge.config.push_mapping import load_push_mapping
    from bridge.config.sop_mapping import load_sop_mappings
    from bridge.services.intents import IntentBuilder
    from tests.unit.test_push import DRAFTED_TUESDAY, make_case, make_letter, the_invitation

    sop = load_sop_mappings(MAPPINGS)
    push = load_push_mapping(MAPPINGS, max_meeting_days=sop.sop.working_days(5))
    spec = profile.push.model_copy(update={"event_time_format": fmt})
    builder = IntentBuilder(push, spec, sop.sop, sop.calendar, zone=WIB, now=lambda: DRAFTED_TUESDAY)
    case, letter = make_case(), make_letter()
    invitation = the_invitation(builder.for_case(case, letter))
    assert invitation.body["tgl_acara"] == written
    # Read back as written: the invitation the watcher follows has the meeting's instant.
    from bridge.domain.outbox import OutboxEntry, OutboxState

    entry = OutboxEntry(1, invitation, OutboxState.SENT, 1, "50017", None, DRAFTED_TUESDAY,
                        DRAFTED_TUESDAY, DRAFTED_TUESDAY)
    record = builder.invitation_record(entry, "50017")
    assert record.meeting_at == datetime(2026, 12, 29, 9, 0, tzinfo=WIB)


def test_two_fields_naming_one_json_key_are_refused(tmp_path: Path) -> None:
    profile_with(tmp_path, 'nomor_surat = "nomor_surat"', 'nomor_surat = "perihal"')
    with pytest.raises(MappingError, match=r"lists\.surat\.fields\.nomor_surat and \.perihal both "
                                           r"name 'perihal'"):
        load_profile(tmp_path)
