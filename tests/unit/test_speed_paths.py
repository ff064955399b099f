"""The fast paths of a first sync give exactly what the slow ones gave.

* dates: a profile format made of numeric directives is read with one regular expression,
  and strptime is skipped when it would certainly refuse the value: the result is always
  strptime's;
* items: the parser checks each field with the model's own rule functions and only sends
  refused items through the pydantic model; what it builds equals what the model builds;
* cases: a letter whose texts are recognised nowhere gives no case without being built;
  verdicts are memoised; the ledger reads several cases and records several breaches at once.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config.sop_mapping import load_sop_mappings
from bridge.domain.cases import derive_case, may_be_case
from bridge.domain.items import Disposition, Letter, ListKind
from bridge.domain.records import CaseRow, CaseWrite, HistoryRow, QuarantineRecord
from bridge.ports import Ledger
from bridge.services import parse as parse_module
from bridge.services.parse import ItemParser, Parsed
from tests.conftest import MAPPINGS
from tests.fakes import disposition, letter

DERANDOMIZED = settings(derandomize=True, database=None, deadline=None, max_examples=400)

FORMAT_SETS = [
    ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"),
    ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"),
    ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y"),
    ("%m-%d-%Y", "%d-%m-%Y"),
    ("%d/%m/%Y %H:%M", "%Y%m%d", "%Y%m%d%H%M%S", "%H:%M %d.%m.%Y"),
    ("%d %m %Y", "%b %d %Y", "%Y-%m-%d  %H:%M", "%Y-%m-%d %M"),
]
ALL_FORMATS = sorted({fmt for formats in FORMAT_SETS for fmt in formats})


def reference(value: str, formats: tuple[str, ...]) -> datetime | None:
    """The date reading without the layouts: strptime for every format (fromisoformat for
    the ISO one, as the parser has it)."""
    layout = parse_module._layout
    parse_module._layout = lambda fmt: None
    try:
        return parse_module._parse_datetime(value, formats)
    finally:
        parse_module._layout = layout


def strptime_or_none(value: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(value, fmt)
    except ValueError:
        return None


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
    assert parse_module._parse_datetime(text, formats) == reference(text, formats)


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
    ("kemarin", ("%Y-%m-%d %H:%M:%S", "%d-%m-%Y"), None),
])
def test_dates_the_fast_path_must_leave_to_strptime_or_read_alike(
        text: str, formats: tuple[str, ...], expected: datetime | None) -> None:
    assert parse_module._parse_datetime(text, formats) == expected == reference(text, formats)
    assert expected == next(filter(None, (strptime_or_none(text, fmt) for fmt in formats)), None)


def test_the_iso_fast_path_takes_only_the_exact_layout() -> None:
    # fromisoformat alone reads week dates and offsets that no profile format reads.
    formats = ("%Y-%m-%d %H:%M:%S",)
    for text in ("2026-W47-5 08:00:00", "2026-11-20 08:00-05"):
        assert parse_module._parse_datetime(text, formats) is None


def test_only_simple_numeric_formats_get_a_layout() -> None:
    assert parse_module._Layout.of("%d-%m-%Y") is not None
    assert parse_module._Layout.of("%Y-%m-%dT%H:%M:%S") is not None
    for fmt in ("%b %d %Y", "%Y-%m-%d %H:%M:%S %z", "%y-%m-%d", "%Y-%m", "%Y-%m-%d %M",
                "%Y-%m-%d %H:%M:%S %Y", "%Y-%m-%d  %H:%M", "%Y-%m-%d %I:%M %p"):
        assert parse_module._Layout.of(fmt) is None, fmt


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
]
ODD_DISPOSITIONS: list[dict[str, Any]] = [
    disposition(1, surat=1),
    disposition(2, surat=1, dari_pegawai_id=77, kepada_pegawai_id=""),
    {**disposition(3, surat=2), "id_persuratan": None},
    {**disposition(4, surat=2), "tgl_disposisi": "2026-11-20 08:01"},
    {**disposition(5, surat=3), "isi_disposisi": {"x": 1}},
]


def by_the_model(parser: ItemParser, raw: dict[str, Any]) -> Letter | Disposition | str:
    """What the pydantic model alone makes of an item: the domain item, or the reason."""
    renamed = {canon: raw[source] for canon, source in parser._renames if source in raw}
    result = parser.parse(2026, raw)
    try:
        model = parser._model.model_validate(renamed, context=parser._context)
    except parse_module.ValidationError:
        assert isinstance(result, QuarantineRecord)
        return result.reason
    return model.to_domain()


@pytest.mark.parametrize(("kind", "raw"), [(ListKind.SURAT, raw) for raw in ODD_LETTERS]
                         + [(ListKind.DISPOSISI, raw) for raw in ODD_DISPOSITIONS])
def test_the_field_checks_build_what_the_model_builds(parsers, kind: ListKind, raw: dict[str, Any]) -> None:
    parser = parsers[kind]
    result = parser.parse(2026, raw)
    expected = by_the_model(parser, raw)
    if isinstance(expected, str):
        assert isinstance(result, QuarantineRecord)
        assert result.reason == expected
    else:
        assert isinstance(result, Parsed)
        assert result.item == expected
        assert result.record.payload == json.dumps(raw, separators=(",", ":"))


def test_items_refused_by_a_check_get_the_models_reasons(parsers) -> None:
    parser = parsers[ListKind.SURAT]
    result = parser.parse(2026, {**letter(1), "id_persuratan": True, "tgl_dibuat": "kemarin"})
    assert isinstance(result, QuarantineRecord)
    assert result.reason == ("id_persuratan expected an id, got True; tgl_dibuat 'kemarin' matches "
                             "none of the formats ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', "
                             "'%Y-%m-%dT%H:%M:%S']")


def test_numbers_are_ids_and_a_whole_float_loses_its_point(parsers) -> None:
    result = parsers[ListKind.SURAT].parse(2026, {**letter(1), "id_persuratan": 7.0, "id_compose": 8})
    assert isinstance(result, Parsed)
    assert (result.item.id, result.item.compose_id) == ("7", "8")


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


def row(surat_id: str, *, step: int = 1, data: str = "{}") -> CaseRow:
    return CaseRow(f"2026-{surat_id}", 2026, surat_id, step, False, None, data, NOW)


def test_several_cases_are_read_at_once(ledger: Ledger) -> None:
    ledger.save_cases([CaseWrite(2026, str(n), row(str(n), step=n), ()) for n in range(1, 901)])
    wanted = [f"2026-{n}" for n in range(1, 905, 2)]  # more than one IN chunk, some unknown
    found = ledger.get_cases(wanted)
    assert sorted(found) == sorted(f"2026-{n}" for n in range(1, 901, 2))
    assert found["2026-7"] == ledger.get_case("2026-7") == row("7", step=7)
    assert ledger.get_cases([]) == {}


def test_saving_a_batch_keeps_history_in_order_and_removes_cases(ledger: Ledger) -> None:
    ledger.mark_cases_dirty([(2026, "1"), (2026, "2"), (2026, "3")])
    at = NOW
    ledger.save_cases([
        CaseWrite(2026, "1", row("1"), (HistoryRow(at, "opened", "a", "surat:1"),
                                         HistoryRow(at, "step_reached", "b", None))),
        CaseWrite(2026, "2", row("2"), (HistoryRow(at, "opened", "c", "surat:2"),)),
        CaseWrite(2026, "3", None, ()),
    ])
    ledger.save_cases([CaseWrite(2026, "2", None, (HistoryRow(at, "closed", "d", "surat:2"),)),
                       CaseWrite(2026, "1", row("1", step=2, data='{"x": 1}'), ())])
    assert [r.case_id for r in ledger.list_cases()] == ["2026-1"]
    assert ledger.get_case("2026-1") == row("1", step=2, data='{"x": 1}')
    assert [h.description for h in ledger.case_history("2026-1")] == ["a", "b"]
    assert [h.description for h in ledger.case_history("2026-2")] == ["c", "d"]
    assert ledger.dirty_cases() == []


def test_breaches_are_recorded_at_once_and_each_only_the_first_time(ledger: Ledger) -> None:
    due = datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC) + timedelta(hours=-7)
    assert ledger.record_breach("2026-1", 2, due)
    many = [("2026-1", 2, due), ("2026-1", 3, due), ("2026-2", 2, due), ("2026-1", 3, due)]
    many += [(f"2026-{n}", 2, due) for n in range(10, 460)]  # over one statement's worth
    first = ledger.record_breaches(many)
    assert first[:4] == [False, True, True, False]
    assert all(first[4:])
    assert not any(ledger.record_breaches(many))
    assert not ledger.record_breach("2026-2", 2, due)
    assert ledger.record_breaches([]) == []


def test_a_dated_letter_round_trips_through_its_fields(parsers) -> None:
    # The tracker builds items back from the canonical fields written when parsing.
    from bridge.domain.items import item_from_fields

    result = parsers[ListKind.SURAT].parse(2026, {**letter(1), "tgl_diterimaTU": "2026-11-21 09:00:00"})
    assert isinstance(result, Parsed)
    assert item_from_fields(ListKind.SURAT, json.loads(result.record.fields)) == result.item
    assert isinstance(result.item, Letter) and result.item.sent_on == date(2026, 11, 20)
