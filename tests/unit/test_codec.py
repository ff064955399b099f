"""The hot-path JSON codec: orjson's speed, the standard library's reach."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bridge import codec

JAKARTA = ZoneInfo("Asia/Jakarta")


def test_dates_are_written_in_iso_8601_as_isoformat_writes_them() -> None:
    moment = datetime(2026, 11, 20, 8, 1, 2, tzinfo=JAKARTA)
    text = codec.dumps({"at": moment, "day": date(2026, 11, 21), "n": 3})
    assert json.loads(text) == {"at": moment.isoformat(), "day": "2026-11-21", "n": 3}
    assert text == '{"at":"2026-11-20T08:01:02+07:00","day":"2026-11-21","n":3}'


def test_non_ascii_text_is_kept_as_text_and_control_characters_escaped() -> None:
    text = codec.dumps({"perihal": "Permohonan \u202e aplikasi é 🚀", "x": "a\x00b"})
    assert "é" in text and "\x00" not in text
    assert codec.loads(text) == {"perihal": "Permohonan \u202e aplikasi é 🚀", "x": "a\x00b"}


def test_a_lone_surrogate_falls_back_to_escaped_json_that_reads_back() -> None:
    value = {"perihal": "rusak \ud800 teks", "when": date(2026, 1, 2)}
    text = codec.dumps(value)
    assert text.isascii()
    assert codec.loads(text) == {"perihal": "rusak \ud800 teks", "when": "2026-01-02"}
    assert codec.dumps_bytes(value) == text.encode("ascii")


def test_an_integer_over_64_bits_is_written_exactly() -> None:
    big = 2**70 + 1
    assert json.loads(codec.dumps({"id": big})) == {"id": big}
    assert json.loads(codec.dumps_bytes([big, -(2**65)])) == [big, -(2**65)]


def test_nan_and_infinities_are_written_as_null_by_both_paths() -> None:
    fast = codec.dumps({"a": float("nan"), "b": [float("inf")]})
    slow = codec.dumps({"a": float("nan"), "b": [float("-inf")], "big": 2**80})
    assert json.loads(fast) == {"a": None, "b": [None]}
    assert json.loads(slow) == {"a": None, "b": [None], "big": 2**80}


@pytest.mark.parametrize("bad", ["{", "", "nul", '{"a": 1'])
def test_loads_refuses_what_is_not_json(bad: str) -> None:
    with pytest.raises(ValueError):
        codec.loads(bad)


@pytest.mark.parametrize("body", [
    b'{"id": 123456789012345678901234567890, "n": -99999999999999999999999, "x": 0.1}',
    b' {"a": 1e5, "b": 1E-7, "c": -0.0, "d": 12345678901234567890123.5, "e": [true, null]} ',
    b'{"a": 1, "a": 2}',  # the last of a repeated key wins, as in json.loads
    b'{"perihal": "Permohonan \\u00e9 \\ud83d\\ude80"}',
    b'{"perihal": "rusak \\ud800 teks"}',  # a lone surrogate: msgspec refuses, json reads it
    b'{"x": NaN, "y": Infinity}',  # not JSON, but json.loads reads it
    b'\xef\xbb\xbf{"a": 1}',  # a UTF-8 byte-order mark
    b'[1.5e400]',
])
def test_loads_exact_reads_a_server_body_as_json_loads_does(body: bytes) -> None:
    got, expected = codec.loads_exact(body), json.loads(body)
    assert repr(got) == repr(expected)  # repr: NaN is not equal to itself
    assert type(got) is type(expected)


@pytest.mark.parametrize("body", [b'{"a": 1}garbage', b'{"a": ', b'"\xff"', b""])
def test_loads_exact_refuses_what_json_loads_refuses(body: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(body)
    with pytest.raises(ValueError):
        codec.loads_exact(body)
