"""Case derivation: steps, deadlines, anomalies, order independence, and case history."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config.sop_mapping import SopMappings, load_sop_mappings
from bridge.domain.cases import Case, ChangeKind, derive_case, diff_cases
from bridge.domain.items import Disposition, Letter

WIB = ZoneInfo("Asia/Jakarta")
MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
NOW = datetime(2025, 5, 5, 10, 0, tzinfo=WIB)

FRONT_OFFICE = "Subbag Umum dan Kepegawaian"
HEAD = "Kepala Dinas Komunikasi dan Informatika"
IT_HEAD = "Kabid PTIKP"
OTHER_HEAD = "Kabid IKP"
SECTION = "Kepala Seksi Aplikasi dan Integrasi Sistem Informasi"


@cache
def mappings() -> SopMappings:
    return load_sop_mappings(MAPPINGS)


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in May 2025 (1 May: Labour Day; 12-13 May: Vesak and its cuti bersama)."""
    return datetime(2025, 5, day, hour, minute)


def request(**changes: object) -> Letter:
    fields: dict[str, object] = {
        "id": "88121",
        "created_at": at(5, 8),
        "asal_surat": "Dinas Kesehatan",
        "perihal": "Permohonan Pengembangan Aplikasi SIMPEG",
        "received_at": at(5, 10),
    }
    fields.update(changes)
    return Letter(**fields)  # type: ignore[arg-type]


def disposition(
    ident: str, created: datetime, dari: str, kepada: str, isi: str = "Untuk ditindaklanjuti"
) -> Disposition:
    return Disposition(
        id=ident, surat_id="88121", created_at=created, dari_jabatan=dari, kepada_jabatan=kepada, isi=isi
    )


def derive(
    letter: Letter | None, dispositions: Sequence[Disposition] = (), now: datetime = NOW
) -> Case | None:
    m = mappings()
    return derive_case(
        2025, letter, dispositions, recogniser=m.recogniser, sop=m.sop, calendar=m.calendar, now=now
    )


def full_flow() -> list[Disposition]:
    return [
        disposition("5501", at(5, 11), FRONT_OFFICE, HEAD),
        disposition("5502", at(6, 9), HEAD, IT_HEAD),
        disposition("5503", at(6, 14), IT_HEAD, SECTION),
    ]


def test_a_request_letter_alone_reaches_step_1() -> None:
    case = derive(request())
    assert case is not None
    assert case.case_id == "2025-88121"
    assert (case.year, case.surat_id, case.step, case.next_step) == (2025, "88121", 1, 2)
    assert case.perihal == "Permohonan Pengembangan Aplikasi SIMPEG"
    assert case.asal_surat == "Dinas Kesehatan"
    assert case.registered_at == datetime(2025, 5, 5, 10, 0, tzinfo=WIB)
    step1 = case.steps[1]
    assert (step1.at, step1.actor, step1.source) == (
        datetime(2025, 5, 5, 8, 0, tzinfo=WIB),
        "Dinas Kesehatan",
        "surat:88121",
    )
    assert case.next_deadline == datetime(2025, 5, 6, 23, 59, 59, tzinfo=WIB)
    assert not case.overdue
    assert case.overdue_steps == ()
    assert case.anomalies == ()
    assert case.reason.startswith("request:")


def test_the_full_visible_flow_reaches_step_3() -> None:
    case = derive(request(), full_flow(), now=at(6, 15))
    assert case is not None
    assert case.step == 3
    assert {n: r.source for n, r in case.steps.items()} == {
        1: "surat:88121",
        2: "disposisi:5501",
        3: "disposisi:5502",
    }
    assert case.steps[2].actor == FRONT_OFFICE
    assert case.steps[3].actor == HEAD
    assert case.next_step == 4
    assert case.next_deadline == datetime(2025, 5, 7, 23, 59, 59, tzinfo=WIB)
    assert case.anomalies == ()


def test_a_non_request_gives_no_case() -> None:
    assert derive(request(perihal="Undangan Rapat Koordinasi"), full_flow()) is None
    assert derive(None, []) is None


def test_a_non_request_with_a_development_instruction_is_a_case() -> None:
    flow = [
        *full_flow(),
        disposition("5504", at(6, 10), HEAD, IT_HEAD, "Tindaklanjuti permohonan pembuatan aplikasinya"),
    ]
    case = derive(request(perihal="Surat dari Dinas Kesehatan"), flow)
    assert case is not None
    assert case.anomalies == ("recognised_from_disposition",)
    assert case.reason.startswith("disposisi:5504: instruction:")


def test_dispositions_before_their_letter() -> None:
    assert derive(None, full_flow()) is None  # wait for the letter
    flow = [disposition("5502", at(6, 9), HEAD, IT_HEAD, "Pelajari permohonan pengembangan aplikasi ini")]
    early = derive(None, flow)
    assert early is not None
    assert early.step == 3
    assert early.anomalies == ("letter_missing", "step2_missing")  # step 1: letter_missing says it
    assert early.perihal is None
    later = derive(request(), flow)
    assert later is not None
    assert "letter_missing" not in later.anomalies
    kinds = [(c.kind, c.subject) for c in diff_cases(early, later)]
    assert (ChangeKind.STEP_REACHED, "step 1") in kinds
    assert (ChangeKind.ANOMALY_CLEARED, "letter_missing") in kinds
    assert (ChangeKind.FIELD_CHANGED, "perihal") in kinds


def test_the_earliest_disposition_reaches_a_step() -> None:
    flow = [
        disposition("5510", at(6, 9), FRONT_OFFICE, HEAD),
        disposition("5509", at(5, 11), "Sekretaris Dinas", "Kadis"),
    ]
    case = derive(request(), flow)
    assert case is not None
    assert case.steps[2].source == "disposisi:5509"
    assert case.steps[2].actor == "Sekretaris Dinas"


def test_ties_in_time_are_broken_by_id() -> None:
    flow = [disposition("7", at(5, 11), FRONT_OFFICE, HEAD), disposition("10", at(5, 11), "TU", HEAD)]
    case = derive(request(), flow)
    assert case is not None
    assert case.steps[2].source == "disposisi:10"  # "10" < "7" as text: any fixed rule will do


@pytest.mark.parametrize(
    ("flow", "anomalies"),
    [
        ([disposition("1", at(6), HEAD, IT_HEAD)], ("step2_missing",)),
        ([disposition("1", at(6, 10), FRONT_OFFICE, HEAD), disposition("2", at(6, 9), HEAD, IT_HEAD)],
         ("step3_before_step2",)),
        ([disposition("1", at(5, 11), FRONT_OFFICE, HEAD), disposition("2", at(6), HEAD, OTHER_HEAD)],
         ("disposed_to_other_division",)),
        ([disposition("1", at(5, 11), FRONT_OFFICE, IT_HEAD)], ("head_bypassed",)),
        ([disposition("1", at(5, 7), FRONT_OFFICE, HEAD)], ("step2_before_step1",)),
        ([disposition("1", at(5, 11), FRONT_OFFICE, "Kepala Dinas Kesehatan")], ()),
    ],
)  # fmt: skip
def test_anomalies(flow: list[Disposition], anomalies: tuple[str, ...]) -> None:
    case = derive(request(), flow)
    assert case is not None
    assert case.anomalies == anomalies


def test_not_registered_when_disposed_without_tgl_diterima_tu() -> None:
    case = derive(request(received_at=None), full_flow())
    assert case is not None
    assert case.anomalies == ("not_registered",)
    assert case.registered_at is None
    # Registration alone (no disposition yet) does not reach step 2.
    only_registered = derive(request(), [])
    assert only_registered is not None
    assert only_registered.step == 1
    assert derive(request(received_at=None), []) is not None


def test_overdue_next_step_and_late_steps() -> None:
    # Letter on Friday 9 May; Vesak (12) and its cuti bersama (13) follow the weekend.
    letter = request(created_at=at(9, 8))
    assert derive(letter, now=at(14, 23)).overdue is False  # type: ignore[union-attr]
    case = derive(letter, now=at(15, 0, 1))
    assert case is not None
    assert case.overdue
    assert case.overdue_steps == (2,)
    # Step 2 reached late (due end of 14 May), step 3 on time after it.
    flow = [disposition("1", at(15, 9), FRONT_OFFICE, HEAD), disposition("2", at(16, 9), HEAD, IT_HEAD)]
    late = derive(letter, flow, now=at(16, 10))
    assert late is not None
    assert late.overdue_steps == (2,)
    assert not late.overdue


def test_steps_without_a_time_limit_have_no_deadline() -> None:
    m = mappings()
    assert m.sop.working_days(8) is None
    assert m.sop.next_step(17) is None


def test_a_letter_changed_in_place() -> None:
    before = derive(request(received_at=None), full_flow(), now=at(6, 15))
    after = derive(request(perihal="Permohonan Pengembangan Aplikasi SIMPEG v2"), full_flow(), now=at(6, 15))
    assert before is not None
    assert after is not None
    changes = diff_cases(before, after)
    assert [(c.kind, c.subject) for c in changes] == [
        (ChangeKind.FIELD_CHANGED, "perihal"),
        (ChangeKind.FIELD_CHANGED, "registered_at"),
        (ChangeKind.ANOMALY_CLEARED, "not_registered"),
    ]
    assert changes[0].old == "Permohonan Pengembangan Aplikasi SIMPEG"
    assert changes[0].new == "Permohonan Pengembangan Aplikasi SIMPEG v2"


def test_items_of_several_letters_are_refused() -> None:
    other = dataclasses.replace(full_flow()[0], surat_id="99999")
    with pytest.raises(ValueError, match="several letters"):
        derive(request(), [other])


# --- order independence -----------------------------------------------------------------

MESSY_FLOW = [
    disposition("5501", at(5, 11), FRONT_OFFICE, HEAD),
    disposition("5502", at(6, 9), HEAD, IT_HEAD),
    disposition("5503", at(6, 9), "Kadis", "Kepala Bidang PTIKP"),  # same time as 5502
    disposition("5504", at(5, 11), "Sekretaris Dinas", "Kepala Dinas"),  # same time as 5501
    disposition("5505", at(6, 10), HEAD, OTHER_HEAD),
    disposition("5506", at(7, 8), IT_HEAD, SECTION),
    disposition("5502", at(6, 9), HEAD, IT_HEAD, "Segera"),  # the same disposition, changed
]


@settings(max_examples=200, deadline=None)
@given(st.permutations(MESSY_FLOW), st.booleans())
def test_derivation_depends_only_on_the_set_of_items(flow: list[Disposition], with_letter: bool) -> None:
    letter = request() if with_letter else None
    assert derive(letter, flow) == derive(letter, MESSY_FLOW)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(MESSY_FLOW), min_size=1))
def test_duplicates_do_not_matter(flow: list[Disposition]) -> None:
    assert derive(request(), flow) == derive(request(), list(dict.fromkeys(flow)))


# --- history ------------------------------------------------------------------------------


def test_opening_a_case_lists_everything() -> None:
    case = derive(request(), full_flow()[:1])
    assert case is not None
    changes = diff_cases(None, case)
    assert [(c.kind, c.subject) for c in changes] == [
        (ChangeKind.OPENED, "2025-88121"),
        (ChangeKind.STEP_REACHED, "step 1"),
        (ChangeKind.STEP_REACHED, "step 2"),
    ]
    assert "disposisi:5501" in (changes[2].new or "")
    assert changes[2].describe().startswith("step_reached step 2: - -> 2025-05-05T11:00:00+07:00")


def test_nothing_changed_gives_no_change() -> None:
    case = derive(request(), full_flow())
    assert case is not None
    assert diff_cases(case, case) == []


def test_steps_reached_moved_and_withdrawn() -> None:
    one = derive(request(), [disposition("1", at(6), FRONT_OFFICE, HEAD)], now=at(6, 10))
    two = derive(request(), [disposition("0", at(5, 11), FRONT_OFFICE, HEAD),
                             disposition("2", at(7, 11), HEAD, IT_HEAD)], now=at(7, 12))  # fmt: skip
    assert one is not None
    assert two is not None
    forward = [(c.kind, c.subject) for c in diff_cases(one, two)]
    assert forward == [
        (ChangeKind.FIELD_CHANGED, "overdue_steps"),  # step 3 came a day late
        (ChangeKind.STEP_CHANGED, "step 2"),
        (ChangeKind.STEP_REACHED, "step 3"),
        (ChangeKind.DEADLINE_CHANGED, "next_deadline"),
    ]
    backward = [(c.kind, c.subject) for c in diff_cases(two, one)]
    assert (ChangeKind.STEP_WITHDRAWN, "step 3") in backward


def test_becoming_and_ceasing_to_be_overdue() -> None:
    letter = request(created_at=at(9, 8))
    on_time = derive(letter, now=at(14, 12))
    overdue = derive(letter, now=at(15, 12))
    caught_up = derive(letter, [disposition("1", at(15, 13), FRONT_OFFICE, HEAD)], now=at(15, 14))
    assert on_time is not None
    assert overdue is not None
    assert caught_up is not None
    became = diff_cases(on_time, overdue)
    assert [(c.kind, c.subject) for c in became] == [
        (ChangeKind.FIELD_CHANGED, "overdue_steps"),
        (ChangeKind.BECAME_OVERDUE, "step 2"),
    ]
    ceased = [(c.kind, c.subject) for c in diff_cases(overdue, caught_up)]
    assert (ChangeKind.NO_LONGER_OVERDUE, "step 2") in ceased
    assert (ChangeKind.STEP_REACHED, "step 2") in ceased


def test_cases_of_different_letters_cannot_be_compared() -> None:
    case = derive(request())
    other = derive(request(id="1"))
    assert case is not None
    assert other is not None
    with pytest.raises(ValueError, match="cannot compare"):
        diff_cases(case, other)
