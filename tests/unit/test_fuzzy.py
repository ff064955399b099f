"""Reading key words through typos and abbreviations, scoring, and explaining verdicts.

The corrector alone on small vocabularies, then the shipped rules: mistyped and shortened
requests recognised, replies and other letters about a request refused, the review band,
and the document ``bridge case explain`` prints.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from bridge.config.sop_mapping import load_recognition
from bridge.domain.fuzzy import CorrectionKind, Corrector, FuzzySettings, words_of
from bridge.domain.recognition import Outcome, Recogniser
from bridge.services.explain import verdict_document
from bridge.services.memo import MemoisedRecognition

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
VOCABULARY = ("permohonan", "pembuatan", "pembangunan", "pengembangan", "aplikasi", "sistem", "undangan")


@cache
def shipped() -> Recogniser:
    return load_recognition(MAPPINGS / "recognition.toml")[0]


def corrector(**settings: object) -> Corrector:
    return Corrector(FuzzySettings(vocabulary=VOCABULARY, **settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(("written", "read_as", "distance"), [
    ("pembuatn", "pembuatan", 1),  # a letter missing
    ("pembuattan", "pembuatan", 1),  # a letter doubled
    ("pmebuatan", "pembuatan", 1),  # two letters swapped
    ("pembuaton", "pembuatan", 1),  # a wrong letter
    ("aplikais", "aplikasi", 1),
    ("permohnana", "permohonan", 2),  # two slips in a long word
    ("sistim", "sistem", 1),
])
def test_a_typo_in_a_key_word_is_read_as_the_key_word(written: str, read_as: str,
                                                      distance: int) -> None:
    text, (correction,) = corrector().correct(f"mohon {written} baru")
    assert text == f"mohon {read_as} baru"
    assert (correction.written, correction.read_as, correction.kind, correction.distance) == (
        written, read_as, CorrectionKind.TYPO, distance)


@pytest.mark.parametrize(("text", "expected", "kind"), [
    ("pengemb sistem", "pengembangan sistem", CorrectionKind.ABBREVIATION),
    ("permoh pembuatan", "permohonan pembuatan", CorrectionKind.ABBREVIATION),
    ("aplikasisurat", "aplikasi surat", CorrectionKind.JOINED),
    ("permohonanpembuatan aplikasi", "permohonan pembuatan aplikasi", CorrectionKind.JOINED),
    ("apli kasi antrian", "aplikasi antrian", CorrectionKind.SPLIT),
])
def test_shortened_joined_and_split_words(text: str, expected: str, kind: CorrectionKind) -> None:
    read, corrections = corrector().correct(text)
    assert read == expected
    assert [c.kind for c in corrections] == [kind]


@pytest.mark.parametrize("text", [
    "sisa",  # four letters: one edit from too many words to guess
    "pemb",  # the start of several key words: no way to tell which
    "pengembalian",  # a known real word two edits from "pengembangan"
    "undang",  # protected, although "undangan" starts with it
    "permohonan",  # a key word as written
    "pembuatan2",  # not letters only
    "xyzzyplugh",  # nothing near
])
def test_short_known_ambiguous_and_distant_words_are_left_alone(text: str) -> None:
    fuzzy = corrector(known=("pengembalian", "undang"))
    assert fuzzy.correct(text) == (text, ())


def test_two_key_words_equally_close_leave_the_word_alone() -> None:
    fuzzy = Corrector(FuzzySettings(vocabulary=("balasan", "batasan")))
    assert fuzzy.correct("bagasan") == ("bagasan", ())


def test_the_rules_own_words_are_found_in_their_patterns() -> None:
    found = words_of([r"\bpenambahan (?:\w+ )?(?:fitur|modul)\b", r"^(?:undangan|rapat)\b"],
                     shortest=4)
    assert found == {"penambahan", "fitur", "modul", "undangan", "rapat"}


# --- the shipped rules ---------------------------------------------------------------------

TYPED_BY_HAND = [
    "Permohonan Pembutan Aplikasi Antrian Puskesmas",
    "PERMOHONAN PENGEMBANGNA SISTIM INFORMASI GIZI",
    "Permohonan Pembuatan Aplikaso Inventaris Sekolah",
    "Permohnan Pengembangan Website Dinas",
    "permohonan pembuatan apl. pendataan PKL",
    "Mohon pengemb. sistem antrian loket",
    "Mhn pembuatan aplikasi pendaftaran UMKM",
    "Permohonan Pemb. Aplikasi Kios Informasi",
    "PermohonanPembuatan Aplikasi Kartu Identitas Anak",
    "Permohonan/Pembuatan/Aplikasi-Reservasi Gedung",
    "permohonan   pembuatan    aplikasi   pendaftaran",
]
ABOUT_A_REQUEST = [
    "Tanggapan atas Surat Permohonan Pembuatan Aplikasi Pendataan UMKM",
    "Jawaban Surat Permohonan Pengembangan Sistem Informasi Kearsipan",
    "Balasan Surat Saudara perihal Permohonan Pembuatan Aplikasi",
    "Re: Permohonan Pembuatan Aplikasi Pelayanan",
    "Tindak Lanjut Permohonan Pembuatan Aplikasi Posyandu",
    "Menindaklanjuti Surat Permohonan Pembuatan Aplikasi Pengaduan",
    "Undangan Rapat Pembahasan Pembuatan Aplikasi Monitoring Banjir",
    "Undagan Rapat Pembahasan Pengembangan Website Kecamatan",
    "Progres Pengembangan Aplikasi SIMRS Bulan Juni",
    "Laporan Kemajuan Pengembangan Sistem Informasi Kepegawaian",
    "Pembatalan Permohonan Pembuatan Aplikasi Absensi Kader",
    "Penolakan Usulan Pengembangan Aplikasi",
    "Permohonan Reset Pasword Aplikasi Absensi",
    "Permohonan Hosting Aplikasi Pelayanan Perizinan",
    "Permohonan Data Pengguna Aplikasi Pengaduan",
    "Permohonan Pembuatan Akun Aplikasi SIMPEG",
    "Permohonan Pencairan Dana Pembuatan Aplikasi",
    "Permohonan Pengembalian Dana Kelebihan Bayar",
]


@pytest.mark.parametrize("perihal", TYPED_BY_HAND)
def test_requests_typed_by_hand_are_requests(perihal: str) -> None:
    verdict = shipped().subject_verdict(perihal)
    assert verdict.outcome is Outcome.REQUEST, verdict.reason
    assert verdict.matched and verdict.score >= 0.8


@pytest.mark.parametrize("perihal", ABOUT_A_REQUEST)
def test_letters_about_a_request_are_refused(perihal: str) -> None:
    verdict = shipped().subject_verdict(perihal)
    assert verdict.outcome is Outcome.NONE, verdict.reason
    assert not verdict.matched and verdict.score == 0


def test_each_fuzzy_reading_costs_score() -> None:
    clean = shipped().subject_verdict("Permohonan Pembuatan Aplikasi Antrian")
    one = shipped().subject_verdict("Permohonan Pembutan Aplikasi Antrian")
    two = shipped().subject_verdict("Permohonan Pembutan Aplikaso Antrian")
    assert (clean.score, one.score, two.score) == (1.0, 0.9, 0.8)
    assert two.outcome is Outcome.REQUEST
    three = shipped().subject_verdict("Permohnan Pembutan Aplikaso Antrian")
    assert (three.score, three.outcome) == (0.7, Outcome.REVIEW)
    assert "matched only through words read fuzzily" in three.reason


def test_an_act_and_an_object_without_a_request_word_go_to_review() -> None:
    verdict = shipped().subject_verdict("Dinas Sosial - Pembuatan Aplikasi Pendataan Lansia")
    assert (verdict.outcome, verdict.score) == (Outcome.REVIEW, 0.6)
    assert not verdict.matched
    assert "nothing for 'intent'" in verdict.reason


def test_an_instruction_is_a_request_or_not_never_for_review() -> None:
    verdict = shipped().instruction_verdict("Pembuatan aplikasi ini agar dicatat")
    assert verdict.outcome is Outcome.NONE


def test_the_explanation_names_each_rule_word_and_fuzzy_reading() -> None:
    doc = verdict_document(shipped().subject_verdict("Permohonan Pembutan Apl. Antrian", full=True))
    assert doc["normalised"] == "permohonan pengembangan aplikasi antrian"
    assert doc["verdict"] == "request" and doc["score"] == 0.9
    clauses = {c["clause"]: c for c in doc["clauses"]}
    assert clauses["act"]["matched"] == "pengembangan"
    assert clauses["act"]["fuzzy"] == [{"written": "pembutan", "read_as": "pembuatan",
                                        "kind": "typo", "distance": 1}]
    assert clauses["object"]["matched"] == "aplikasi" and clauses["object"]["fuzzy"] == []
    assert clauses["intent"]["matched"] == "permohonan"
    assert doc["excluded_by"] is None
    refused = verdict_document(shipped().subject_verdict("Tanggapn Permohonan Pembuatan Aplikasi",
                                                        full=True))
    assert refused["verdict"] == "none"
    assert refused["excluded_by"]["matched"] == "tanggapan"
    assert refused["excluded_by"]["fuzzy"][0]["written"] == "tanggapn"


def test_verdicts_are_memoised_outside_the_recogniser() -> None:
    memo = MemoisedRecognition(shipped(), size=2)
    first = memo.subject_verdict("Permohonan Pembuatan Aplikasi Antrian")
    assert memo.subject_verdict("Permohonan Pembuatan Aplikasi Antrian") is first
    for other in ("a", "b", "c"):
        memo.subject_verdict(other)
    assert memo.subject_verdict("Permohonan Pembuatan Aplikasi Antrian") is not first  # bounded
    assert not hasattr(shipped(), "_subject_memo")
