"""The one place where HTTP status codes are classified."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

from bridge.config.profile import HttpSpec


class Outcome(Enum):
    """What the client does with a response."""

    SUCCESS = "success"
    RETRY = "retry"
    UNAUTHORIZED = "unauthorized"
    FATAL = "fatal"


# 408 (request timeout) and 425 (too early) are transient by definition, like 429.
_RETRIABLE_4XX = frozenset({408, 425, 429})


def classify(status_code: int, spec: HttpSpec) -> Outcome:
    """Success (the profile's range, 200-208), retry (429, 5xx), re-login (401) or fatal."""
    if spec.success_min <= status_code <= spec.success_max:
        return Outcome.SUCCESS
    if status_code == 401:
        return Outcome.UNAUTHORIZED
    if status_code in _RETRIABLE_4XX or status_code >= 500:
        return Outcome.RETRY
    return Outcome.FATAL


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # "inf", "nan" or "1e999" are not delta-seconds; a server that sends them is ignored.
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
