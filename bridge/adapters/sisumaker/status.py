"""The one place where HTTP status codes are classified."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any

from bridge.config.profile import HttpSpec, dig


class Outcome(Enum):
    """What the client does with a response."""

    SUCCESS = "success"
    RETRY = "retry"  # transient; a write may or may not have been taken
    RATE_LIMITED = "rate_limited"  # transient, and the server took nothing (429)
    UNAUTHORIZED = "unauthorized"
    FATAL = "fatal"  # refused: the server took nothing and would refuse the same again


# 408 (request timeout) and 425 (too early) are transient by definition, like 429.
_RETRIABLE_4XX = frozenset({408, 425})
# 429 says the request was not processed (RFC 6585): retry, with nothing to look up.
_RATE_LIMITED = 429


def classify(status_code: int, spec: HttpSpec) -> Outcome:
    """What a status means: success (the profile's range), retry, rate-limited, re-login or fatal.

    Success: 200-208 by default. Retry: 5xx, 408, 425. Rate-limited: 429. Re-login: 401.
    Fatal (refused): any other.
    """
    if spec.success_min <= status_code <= spec.success_max:
        return Outcome.SUCCESS
    if status_code == 401:
        return Outcome.UNAUTHORIZED
    if status_code == _RATE_LIMITED:
        return Outcome.RATE_LIMITED
    if status_code in _RETRIABLE_4XX or status_code >= 500:
        return Outcome.RETRY
    return Outcome.FATAL


_FAILED_FLAGS = (0, "0", False, "false")


def envelope_refused(body: Any, spec: HttpSpec) -> bool:
    """True when a 2xx answer's own status flag says the call failed.

    ``flag``: 0 or false is a failure; ``word``: any word but the profile's ``ok_words``;
    ``none``, or an answer without the flag: the HTTP status alone decides.
    """
    if spec.status_style == "none" or not isinstance(body, dict):
        return False
    value = dig(body, spec.status_path)
    if value is None:
        return False
    if spec.status_style == "flag":
        return value in _FAILED_FLAGS
    return not (isinstance(value, str) and value.strip().lower() in
                {word.lower() for word in spec.ok_words})


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
