"""The one table of HTTP status codes, and the Retry-After header."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bridge.adapters.sisumaker.status import Outcome, classify, parse_retry_after
from bridge.config.profile import HttpSpec

SPEC = HttpSpec()
NOW = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SUCCESS),
        (201, Outcome.SUCCESS),
        (204, Outcome.SUCCESS),
        (208, Outcome.SUCCESS),
        (209, Outcome.FATAL),
        (300, Outcome.FATAL),
        (301, Outcome.FATAL),
        (401, Outcome.UNAUTHORIZED),
        (408, Outcome.RETRY),
        (425, Outcome.RETRY),
        (429, Outcome.RATE_LIMITED),
        (500, Outcome.RETRY),
        (502, Outcome.RETRY),
        (503, Outcome.RETRY),
        (504, Outcome.RETRY),
        (400, Outcome.FATAL),
        (403, Outcome.FATAL),
        (404, Outcome.FATAL),
        (422, Outcome.FATAL),
        (199, Outcome.FATAL),
    ],
)
def test_classify(status: int, outcome: Outcome) -> None:
    assert classify(status, SPEC) is outcome


def test_classify_follows_the_profile_success_range() -> None:
    narrow = HttpSpec(success_min=200, success_max=200)
    assert classify(200, narrow) is Outcome.SUCCESS
    assert classify(201, narrow) is Outcome.FATAL
    assert classify(503, narrow) is Outcome.RETRY


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("  30 ", 30.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("-0.25", 0.0),
    ],
)
def test_retry_after_seconds(header: str, seconds: float) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_http_date() -> None:
    header = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=NOW) == 90.0


def test_retry_after_http_date_in_the_real_clock() -> None:
    header = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    seconds = parse_retry_after(header)
    assert seconds is not None
    assert 58.0 <= seconds <= 60.0


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=NOW) == 0.0


def test_retry_after_http_date_without_zone_is_utc() -> None:
    # "-0000" means "no zone information": read as UTC.
    header = "Mon, 05 Jan 2026 08:00:10 -0000"
    assert parse_retry_after(header, now=NOW) == 10.0


def test_retry_after_http_date_with_an_offset() -> None:
    header = "Mon, 05 Jan 2026 15:01:00 +0700"  # 08:01 UTC
    assert parse_retry_after(header, now=NOW) == 60.0


@pytest.mark.parametrize("header", [None, "", "   ", "soon", "12 seconds", "abc, def", "1h"])
def test_retry_after_garbage_is_none(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


@pytest.mark.parametrize("header", ["inf", "Infinity", "1e999"])
def test_retry_after_non_finite_is_none(header: str) -> None:
    assert parse_retry_after(header, now=NOW) is None
