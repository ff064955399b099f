"""The fast paths of a first sync give exactly what the plain ones give.

* items: one parser per list, built from the field rules and the profile: checking one field
  alone (what the probe does) and parsing the whole item agree, every path of a stored item
  (its fields, its payload parsed again) gives the same item, and a profile of another shape
  (other names, ISO 8601 offsets, epoch seconds, number ids) needs no code;
* cases: a letter whose texts are recognised nowhere gives no case without being built;
  verdicts are memoised; the ledger reads several cases and records several breaches at once.

The fast reading of simple date formats is checked against strptime in test_dates.py.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bridge.config.profile import ListSpec, OffsetPaging
from bridge.config.sop_mapping import load_sop_mappings
from bridge.domain.cases import Case, derive_case, may_be_case
from bridge.domain.items import Disposition, Letter, ListKind, item_from_fields
from bridge.domain.records import CaseWrite, HistoryRow, QuarantineRecord
from bridge.ports import Ledger
from bridge.services.parse import ItemParser, Parsed
from tests.conftest import MAPPINGS
from tests.fakes import disposition, letter

# -- items -----------------------------------------------------------------------------------

ODD_LETTERS: list[dict[str, Any]] = [
    letter(1),
    {**letter(2), "id_persuratan": 88121, "id_compose": 7.0},
    {**letter(3), "id_persuratan": "  4411  ", "id_compose": ""},
    {**letter(4), "tgl_dibuat": "2026-11-20 08:01", "tgl_diterimaTU": "2026-11-21",
     "tgl_dikirim": "2026-11-20"},
    {**letter(5), "tgl_dibuat": "2026-11-20T08:01:00", "tgl_diterimaTU": "0000-00-00 00:00:00",
     "tgl_dikirim": "00-00-0000"},
    {**letter(6), "tgl_diterimaTU": "kemarin", "tgl_dikirim": "31-02-2026"},
    {**letter(7), "perihal": 12, "asal_surat": True, "pengirim": 1.5, "nomor_surat": None},
    {**letter(8), "tgl_dikirim": "20/11/2026", "tgl_diterimaTU": "  2026-11-21 09:00:00  "},
    {**letter(9), "perihal": "x" * 20_000, "status_setujui": "1"},
    {key: value for key, value in letter(10).items() if key not in ("perihal", "tgl_dikirim")},
    {**letter(11), "tgl_dibuat": "5-1-2026 8:01:00"},
    {**letter(12), "id_persuratan": True},
    {**letter(13), "id_persuratan": 1.5},
    {**letter(14), "id_compose": "   "},
    {**letter(15), "tgl_dibuat": "0000-00-00 00:00:00"},
    {**letter(16), "perihal": "x" * 20_001, "pengirim": ["a"]},
    {**letter(17), "id_persuratan": "9" * 65},
    {**letter(18), "id_persuratan": 12345678901234567890123, "tgl_diterimaTU": 5},
    {**letter(19), "id_persuratan": "12\x0034", "tgl_dibuat": ["2026-11-20"]},
    {key: value for key, value in letter(20).items() if key != "tgl_dibuat"},
]
ODD_DISPOSITIONS: list[dict[str, Any]] = [
    disposition(1, surat=1),
    disposition(2, surat=1, dari_pegawai_id=77, kepada_pegawai_id=""),
    {**disposition(3, surat=2), "id_persuratan": None},
    {**disposition(4, surat=2), "tgl_disposisi": "2026-11-20 08:01"},
    {**disposition(5, surat=3), "isi_disposisi": {"x": 1}},
]
ODD = [(ListKind.SURAT, raw) for raw in ODD_LETTERS] + [(ListKind.DISPOSISI, raw) for raw in ODD_DISPOSITIONS]


def field_by_field(parser: ItemParser, raw: dict[str, Any]) -> dict[str, Any] | list[str]:
    """What checking each field alone makes of an item: its values, or the refused fields."""
    values: dict[str, Any] = {}
    refused: list[str] = []
    for field in parser.fields:
        if field.source not in raw and field.rule.required:
            refused.append(f"{field.source} is missing")
            continue
        try:
            value = parser.check_field(field.name, raw.get(field.source))
        except ValueError as exc:
            refused.append(f"{field.source} {exc}")
            continue
        if value is not None:
            values[field.name] = value
    return refused or values


@pytest.mark.parametrize(("kind", "raw"), ODD)
def test_one_field_alone_and_the_whole_item_are_checked_alike(parsers, kind: ListKind,
                                                             raw: dict[str, Any]) -> None:
    parser = parsers[kind]
    result = parser.parse(2026, raw)
    expected = field_by_field(parser, raw)
    if isinstance(expected, list):
        assert isinstance(result, QuarantineRecord)
        assert result.reason == "; ".join(expected)
    else:
        assert isinstance(result, Parsed), result
        assert dict(result.values) == expected
        assert result.record.payload == json.dumps(raw, separators=(",", ":"))


@pytest.mark.parametrize(("kind", "raw"), ODD)
def test_a_stored_item_gives_the_same_item_on_every_path(parsers, kind: ListKind,
                                                         raw: dict[str, Any]) -> None:
    # Poll stores the fields, case derivation reads them back; replay and resync parse the
    # stored payload again.
    result = parsers[kind].parse(2026, raw)
    if isinstance(result, QuarantineRecord):
        with pytest.raises(ValueError, match="^" + result.reason.split(" ")[0]):
            parsers[kind].domain_item(result.payload)
        return
    assert item_from_fields(kind, json.loads(result.record.fields)) == result.item
    assert parsers[kind].domain_item(result.record.payload) == result.item
    assert result.record.item_time == result.item.created_at
    assert result.record.source_id == result.item.id


def test_items_refused_name_every_refused_field(parsers) -> None:
    parser = parsers[ListKind.SURAT]
    result = parser.parse(2026, {**letter(1), "id_persuratan": True, "tgl_dibuat": "kemarin",
                                 "perihal": ["x"]})
    assert isinstance(result, QuarantineRecord)
    assert result.reason == ("id_persuratan expected an id, got True; tgl_dibuat 'kemarin' matches "
                             "none of the formats ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', "
                             "'%Y-%m-%dT%H:%M:%S']; perihal expected text, got a list")
    assert result.source_id is None


def test_numbers_are_ids_exactly_and_a_whole_float_loses_its_point(parsers) -> None:
    result = parsers[ListKind.SURAT].parse(2026, {**letter(1), "id_persuratan": 12345678901234567890,
                                                  "id_compose": 8.0})
    assert isinstance(result, Parsed)
    assert (result.item.id, result.item.compose_id) == ("12345678901234567890", "8")


SECOND_SHAPE = ListSpec(
    path="{dir}/v2/letters",
    items_path="items",
    total_items_path="total",
    end="total_items",
    paging=OffsetPaging(style="offset"),
    fields={"id": "uuid", "created_at": "createdAt", "perihal": "subject", "received_at": "receivedAt",
            "sent_on": "sentOn"},
    date_formats={"created_at": ("%Y-%m-%dT%H:%M:%S%z", "epoch"),
                  "received_at": ("%Y-%m-%dT%H:%M:%SZ",), "sent_on": ("%Y-%m-%d",)},
)


def test_a_profile_of_another_shape_needs_no_code() -> None:
    wib = ZoneInfo("Asia/Jakarta")
    parser = ItemParser(ListKind.SURAT, SECOND_SHAPE, zone=wib, max_chars=100)
    raw = {"uuid": 4411, "createdAt": "2026-11-26T02:14:02Z", "subject": "Permohonan",
           "receivedAt": "2026-11-26T03:00:00Z", "sentOn": "2026-11-25", "perihal": "ignored"}
    result = parser.parse(2026, raw)
    assert isinstance(result, Parsed)
    assert result.item == Letter(id="4411", created_at=datetime(2026, 11, 26, 9, 14, 2, tzinfo=wib),
                                 perihal="Permohonan",
                                 received_at=datetime(2026, 11, 26, 10, 0, tzinfo=wib),
                                 sent_on=date(2026, 11, 25))
    assert json.loads(result.record.fields) == {
        "id": "4411", "created_at": "2026-11-26T09:14:02+07:00", "perihal": "Permohonan",
        "received_at": "2026-11-26T10:00:00+07:00", "sent_on": "2026-11-25"}
    epoch = parser.parse(2026, {"uuid": "x1", "createdAt": 1795659842})
    assert isinstance(epoch, Parsed)
    assert epoch.item.created_at == datetime(2026, 11, 26, 9, 24, 2, tzinfo=wib)
    assert epoch.item.perihal is None  # not named by this profile's item, or absent: None
    long = parser.parse(2026, {"uuid": "x2", "createdAt": 1795659842, "subject": "x" * 101})
    assert isinstance(long, QuarantineRecord)
    assert long.reason == "subject is 101 characters; the limit is 100"
    missing = parser.parse(2026, {"createdAt": "2026-11-26T02:14:02+00:00"})
    assert isinstance(missing, QuarantineRecord)
    assert missing.reason == "uuid is missing"


def test_a_date_with_an_offset_is_stored_in_the_profile_zone(parsers) -> None:
    # The ledger sorts item_time as ISO text: every item's time is in the profile's zone.
    wib = ZoneInfo("Asia/Jakarta")
    parser = ItemParser(ListKind.DISPOSISI, ListSpec(
        path="{dir}/d", items_path="items", total_items_path="t", end="total_items",
        paging=OffsetPaging(style="offset"),
        fields={"id": "id", "surat_id": "letter", "created_at": "at"},
        date_formats={"created_at": ("%Y-%m-%dT%H:%M:%S%z",)}), zone=wib, max_chars=100)
    result = parser.parse(2026, {"id": 1, "letter": 2, "at": "2026-11-26T09:14:02-05:00"})
    assert isinstance(result, Parsed) and isinstance(result.item, Disposition)
    assert result.record.item_time.isoformat() == "2026-11-26T21:14:02+07:00"
    assert result.record.parent_id == "2"


# -- cases -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mappings():
    return load_sop_mappings(MAPPINGS)


def test_a_letter_recognised_nowhere_is_no_case_and_the_check_says_so(mappings, parsers) -> None:
    rec = mappings.recogniser
    parser = parsers[ListKind.SURAT]
    request = parser.parse(2026, {**letter(1), "perihal": "Permohonan Pembuatan Aplikasi SIMPEG"})
    invitation = parser.parse(2026, {**letter(1), "perihal": "Undangan Rapat"})
    assert isinstance(request, Parsed) and isinstance(invitation, Parsed)
    for parsed, expected in ((request, True), (invitation, False)):
        assert isinstance(parsed.item, Letter)
        assert may_be_case(parsed.item.perihal, (), has_letter=True, recogniser=rec) is expected
        case = derive_case(2026, parsed.item, [], recogniser=rec, sop=mappings.sop,
                           calendar=mappings.calendar, now=datetime(2026, 11, 25, tzinfo=UTC))
        assert (case is not None) is expected
    # No letter, an instruction that is a request: a case (letter_missing) may be.
    assert may_be_case(None, ["Tindaklanjuti permohonan pembuatan aplikasi ini"], has_letter=False,
                       recogniser=rec) is rec.has_instruction_rule
    assert not may_be_case(None, ["Untuk ditindaklanjuti", None], has_letter=False, recogniser=rec)


def test_derive_case_leaves_the_shortcut_to_its_caller(mappings, parsers, monkeypatch) -> None:
    # The tracker asks may_be_case before building the items; derive_case asking it again
    # recognised every case's texts twice.
    from bridge.domain import cases

    def asked(*_args: object, **_kwargs: object) -> bool:
        raise AssertionError("derive_case asked may_be_case")

    monkeypatch.setattr(cases, "may_be_case", asked)
    parsed = parsers[ListKind.SURAT].parse(
        2026, {**letter(1), "perihal": "Permohonan Pembuatan Aplikasi SIMPEG"})
    assert isinstance(parsed, Parsed) and isinstance(parsed.item, Letter)
    case = derive_case(2026, parsed.item, [], recogniser=mappings.recogniser, sop=mappings.sop,
                       calendar=mappings.calendar, now=datetime(2026, 11, 25, tzinfo=UTC))
    assert case is not None and case.step == 1


def test_verdicts_are_memoised_and_the_memo_is_bounded() -> None:
    from bridge.services.memo import MemoisedRecognition

    # The memo lives outside the recogniser, in functools.lru_cache (issue 13).
    rec = MemoisedRecognition(load_sop_mappings(MAPPINGS).recogniser, size=3)
    first = rec.subject_verdict("Permohonan Pembuatan Aplikasi SIMPEG")
    assert rec.subject_verdict("Permohonan Pembuatan Aplikasi SIMPEG") is first
    for n in range(10):
        assert not rec.subject_verdict(f"Undangan {n}")
    assert rec._subject.cache_info().currsize <= 3
    assert rec.subject_verdict("Permohonan Pembuatan Aplikasi SIMPEG") == first


# -- ledger ----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def case(surat_id: str, *, step: int = 1, perihal: str | None = None) -> Case:
    return Case(f"2026-{surat_id}", 2026, surat_id, perihal, None, None, step, {}, None, None,
                False, (), (), "test")


def test_several_cases_are_read_at_once(ledger: Ledger) -> None:
    ledger.save_cases([CaseWrite(2026, str(n), case(str(n), step=n), (), NOW)
                       for n in range(1, 901)])
    wanted = [(2026, str(n)) for n in range(1, 905, 2)]  # more than one IN chunk, some unknown
    found = ledger.case_inputs(wanted)
    assert sorted(found) == sorted(wanted)
    assert sorted(k for k, i in found.items() if i.case is not None) == sorted(
        (2026, str(n)) for n in range(1, 901, 2))
    assert found[(2026, "7")].case == case("7", step=7)
    stored = ledger.get_case("2026-7")
    assert stored is not None and (stored.step, stored.document["step"]) == (7, 7)
    assert ledger.case_inputs([]) == {}


def test_saving_a_batch_keeps_history_in_order_and_removes_cases(ledger: Ledger) -> None:
    ledger.mark_cases_dirty([(2026, "1"), (2026, "2"), (2026, "3")])
    at = NOW
    ledger.save_cases([
        CaseWrite(2026, "1", case("1"), (HistoryRow(at, "opened", "a", "surat:1"),
                                          HistoryRow(at, "step_reached", "b", None)), at),
        CaseWrite(2026, "2", case("2"), (HistoryRow(at, "opened", "c", "surat:2"),), at),
        CaseWrite(2026, "3", None, (), at),
    ])
    ledger.save_cases([CaseWrite(2026, "2", None, (HistoryRow(at, "closed", "d", "surat:2"),), at),
                       CaseWrite(2026, "1", case("1", step=2, perihal="x"), (), at)])
    assert [r.case_id for r in ledger.list_cases()] == ["2026-1"]
    assert ledger.case_inputs([(2026, "1")])[(2026, "1")].case == case("1", step=2, perihal="x")
    assert [h.description for h in ledger.case_history("2026-1")] == ["a", "b"]
    assert [h.description for h in ledger.case_history("2026-2")] == ["c", "d"]
    assert ledger.dirty_cases() == []


def test_breaches_are_recorded_at_once_and_each_only_the_first_time(ledger: Ledger) -> None:
    due = datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC) + timedelta(hours=-7)
    assert ledger.record_breaches([("2026-1", 2, due)]) == [True]
    many = [("2026-1", 2, due), ("2026-1", 3, due), ("2026-2", 2, due), ("2026-1", 3, due)]
    many += [(f"2026-{n}", 2, due) for n in range(10, 460)]  # over one statement's worth
    first = ledger.record_breaches(many)
    assert first[:4] == [False, True, True, False]
    assert all(first[4:])
    assert not any(ledger.record_breaches(many))
    assert ledger.record_breaches([]) == []


def test_only_overdue_cases_without_their_breach_recorded_are_read_back(ledger: Ledger) -> None:
    wib = ZoneInfo("Asia/Jakarta")
    due = datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=wib)  # an end of day, local time

    def overdue(surat_id: str, deadline: datetime) -> Case:
        return Case(f"2026-{surat_id}", 2026, surat_id, None, None, None, 2, {}, 3, deadline,
                    True, (3,), (), "test")

    ledger.save_cases([CaseWrite(2026, n, overdue(n, due), (), NOW) for n in ("1", "2", "3")]
                      + [CaseWrite(2026, "4", case("4"), (), NOW)])  # not overdue
    # Recorded with the case's own offset, stored beside a deadline kept in UTC: the same moment.
    ledger.record_breaches([("2026-1", 3, due), ("2026-3", 3, due - timedelta(days=1))])

    found = ledger.unlogged_breaches()

    # 2: none recorded; 3: only an earlier deadline's breach (a crash before this one's).
    assert [(c.case_id, c.next_deadline) for c in found] == [("2026-2", due), ("2026-3", due)]


def test_a_dated_letter_round_trips_through_its_fields(parsers) -> None:
    # The tracker builds items back from the canonical fields written when parsing.
    from bridge.domain.items import item_from_fields

    result = parsers[ListKind.SURAT].parse(2026, {**letter(1), "tgl_diterimaTU": "2026-11-21 09:00:00"})
    assert isinstance(result, Parsed)
    assert item_from_fields(ListKind.SURAT, json.loads(result.record.fields)) == result.item
    assert isinstance(result.item, Letter) and result.item.sent_on == date(2026, 11, 20)
