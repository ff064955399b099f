"""Item parsing: Sisumaker's quirks are accepted, what cannot be keyed or dated is quarantined."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bridge.domain.items import Disposition, Letter, ListKind
from bridge.domain.records import QuarantineRecord
from bridge.services.parse import Parsed
from tests.fakes import disposition, letter

HOSTILE = [
    "<script>alert('x')</script> Permohonan",
    "{{ 7*7 }} ${jndi:ldap://x} {% raw %}",
    "Permohonan\x1b[2J\x1b[31mmerah\x07",
    "\u202eDNEPP\u202c aplikasi \u200b\ufeff",
    "Permohonan 🚀🙏 aplikasi",
    "שלום مرحبا",
]


def parse(parsers, kind, raw):
    return parsers[kind].parse(2026, raw)


def test_a_contract_letter_parses_with_its_quirks(parsers) -> None:
    raw = letter(1, **{"Filter by ": "x", "photo": "p.jpg", "id_sifatsurat": "1"})
    raw["id_persuratan"] = 88121  # a number where a string id is expected
    result = parse(parsers, ListKind.SURAT, raw)
    assert isinstance(result, Parsed)
    item = result.item
    assert isinstance(item, Letter)
    assert item.id == "88121"
    assert item.received_at is None
    assert item.sent_on == date(2026, 11, 20)
    assert item.created_at.utcoffset().total_seconds() == 7 * 3600
    assert json.loads(result.record.payload) == raw


@pytest.mark.parametrize("value", ["2026-11-20 08:01:00", "2026-11-20 08:01", "2026-11-20T08:01:00"])
def test_each_profile_date_format_is_read(parsers, value) -> None:
    result = parse(parsers, ListKind.SURAT, {**letter(1), "tgl_dibuat": value})
    assert isinstance(result, Parsed)
    assert result.item.created_at.strftime("%H:%M") == "08:01"


def test_optional_dates_tolerate_zero_dates_and_fill_in_later(parsers) -> None:
    result = parse(parsers, ListKind.SURAT,
                   {**letter(1), "tgl_diterimaTU": "0000-00-00 00:00:00", "tgl_dikirim": ""})
    assert isinstance(result, Parsed)
    assert result.item.received_at is None and result.item.sent_on is None
    filled = parse(parsers, ListKind.SURAT, {**letter(1), "tgl_diterimaTU": "2026-11-21 09:00:00"})
    assert isinstance(filled, Parsed)
    assert filled.item.received_at is not None
    assert filled.item.received_at.isoformat() == "2026-11-21T09:00:00+07:00"
    assert filled.record.content_hash != result.record.content_hash


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id_persuratan": None}, "id_persuratan is null"),
        ({"id_persuratan": ""}, "id_persuratan is empty"),
        ({"id_persuratan": "   "}, "id_persuratan is empty"),
        ({"id_persuratan": True}, "id_persuratan expected an id"),
        ({"id_persuratan": ["1"]}, "id_persuratan expected a string or a number"),
        ({"tgl_dibuat": "0000-00-00 00:00:00"}, "tgl_dibuat '0000-00-00 00:00:00' matches none"),
        ({"tgl_dibuat": "kemarin"}, "tgl_dibuat 'kemarin' matches none"),
        ({"tgl_dibuat": None}, "tgl_dibuat is missing"),
        ({"tgl_dibuat": 20261120}, "tgl_dibuat expected a date string"),
        ({"perihal": "x" * 100_000}, "perihal is 100000 characters; the limit is 20000"),
        ({"perihal": {"nested": 1}}, "perihal expected text"),
    ],
)
def test_items_that_cannot_be_keyed_or_dated_are_quarantined(parsers, change, reason) -> None:
    raw = {**letter(1), **change}
    result = parse(parsers, ListKind.SURAT, raw)
    assert isinstance(result, QuarantineRecord)
    assert reason in result.reason
    assert json.loads(result.payload) == raw


def test_a_missing_id_key_is_named(parsers) -> None:
    raw = letter(1)
    del raw["id_persuratan"]
    result = parse(parsers, ListKind.SURAT, raw)
    assert isinstance(result, QuarantineRecord)
    assert result.reason == "id_persuratan is missing"
    assert result.source_id is None


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_kept_exactly_as_received(parsers, text) -> None:
    raw = {**letter(1), "perihal": text}
    result = parse(parsers, ListKind.SURAT, raw)
    assert isinstance(result, Parsed)
    assert result.item.perihal == text
    assert json.loads(result.record.payload)["perihal"] == text


def test_a_disposition_links_to_its_letter(parsers) -> None:
    raw = disposition(5, surat=1, **{"dari_pegawai_id": 77})
    result = parse(parsers, ListKind.DISPOSISI, raw)
    assert isinstance(result, Parsed)
    assert isinstance(result.item, Disposition)
    assert result.record.parent_id == "1001"
    assert result.item.dari_pegawai_id == "77"
    assert result.item.kepada_jabatan == "Kabid PTIKP"


def test_a_disposition_without_its_letter_id_is_quarantined(parsers) -> None:
    raw = disposition(5, surat=1)
    raw["id_persuratan"] = None
    result = parse(parsers, ListKind.DISPOSISI, raw)
    assert isinstance(result, QuarantineRecord)
    assert "id_persuratan is null" in result.reason
    assert result.source_id == "9005"


def test_the_same_item_always_hashes_the_same(parsers) -> None:
    one = parse(parsers, ListKind.SURAT, letter(3))
    two = parse(parsers, ListKind.SURAT, letter(3))
    assert isinstance(one, Parsed) and isinstance(two, Parsed)
    assert one.record.content_hash == two.record.content_hash
