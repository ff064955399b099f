"""Recognition with the shipped rules: request letters, and the roles of job titles."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

import pytest

from bridge.config.sop_mapping import load_recognition
from bridge.domain.items import Letter
from bridge.domain.recognition import (
    ClauseSpec,
    Recogniser,
    RecognitionSpec,
    Role,
    RuleSpec,
)
from bridge.domain.text import NormaliseSettings

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


@cache
def shipped() -> Recogniser:
    return load_recognition(MAPPINGS / "recognition.toml")[0]


def letter(perihal: str | None) -> Letter:
    return Letter(id="88121", created_at=datetime(2025, 5, 5, 9, 0), perihal=perihal)


REQUESTS = [
    "Permohonan Pengembangan Aplikasi SIMPEG",
    "Permohonan Pembuatan Sistem Informasi Kepegawaian",
    "Usulan pengembangan sistem informasi retribusi daerah",
    "Usulan pengembangan sistem antrean terpadu",
    "PERMOHONAN  PEMBANGUNAN APLIKASI E-PARKIR",
    "Pengajuan pembuatan website Kelurahan Pondok Jagung",
    "permohonan pembuatan aplikasi 'SiCantik' .",
    "Permohonan: Pembuatan; Aplikasi -- Pelaporan Hasil Panen!!",
    "Surat Permohonan Perancangan Dashboard Data Stunting",
    "Pembuatan Aplikasi Pendaftaran Posyandu",
    "Pengembangan Website Kecamatan Setu",
    "Mohon dibuatkan sistem informasi arsip dinamis",
    "Permohonan Bantuan Pengembangan Aplikasi Kearsipan",
    "Permohonan Dukungan Pembuatan Portal UMKM Tangsel",
    "Usulan Rancang Bangun Aplikasi Mobile Pengaduan Warga",
    "Permohonan Penambahan Fitur Notifikasi pada Aplikasi e-Kinerja",
    "Permohonan Upgrade Aplikasi Pelayanan Kependudukan",
    "Permohonan Penyempurnaan Sistem Informasi Perizinan",
    "Usulan Kebutuhan Aplikasi Inventaris Gudang Farmasi",
    "Permohonan Pembuatan Aplikasi Pelatihan Kader Posyandu",
    "Permohonan Pembuatan Aplikasi Monitoring Banjir",
    "Permohonan Pembuatan Software Kasir Kantin Pegawai",
    "Permohonan Pembuatan WebGIS Sebaran Sekolah",
    "Permohonan Pembuatan Aplikasi dari Badan Kepegawaian dan Pengembangan SDM",
    "<p>PERMOHONAN&nbsp;PEMBUATAN&nbsp;E-KATALOG LOKAL</p>",
    "Permohonan Pengembangan Modul Cuti pada SIMPEG",
    "Permohonan Kerja Sama Pembuatan Aplikasi Bank Sampah",
]

DECOYS = [
    "Sosialisasi Aplikasi Srikandi",
    "Laporan penggunaan aplikasi Srikandi Triwulan II",
    "Undangan rapat koordinasi",
    "Undangan Rapat Pembahasan Pengembangan Aplikasi e-Retribusi",
    "Permohonan data jumlah penduduk untuk pengembangan aplikasi",
    "Permohonan narasumber pelatihan pembuatan website",
    "Pemeliharaan aplikasi SIMPEG",
    "Permohonan Pemeliharaan Server Aplikasi Pajak",
    "Permohonan Perbaikan Aplikasi Absensi yang Error",
    "Permohonan akun aplikasi SIPD",
    "Permohonan Pembuatan Akun Email Dinas",
    "Permohonan reset password aplikasi e-Kinerja",
    "Permohonan Hak Akses Aplikasi SIMDA",
    "Permohonan Hosting dan Subdomain Website Sekolah",
    "Pembangunan Gedung Puskesmas Pamulang",
    "Pengembangan Kompetensi Aparatur",
    "Penyusunan Sistem Pengendalian Intern Pemerintah",
    "Pembangunan Sistem Drainase Lingkungan",
    "Permohonan Pembuatan Video Profil Kecamatan",
    "Permohonan Rekomendasi Teknis Pengadaan Aplikasi",
    "Permohonan Pelatihan Penggunaan Aplikasi SIPD",
    "Permohonan Izin Penelitian Pengembangan Sistem Informasi",
    "Permohonan Tambahan Anggaran Pembuatan Aplikasi",
    "Hasil Rapat Pembahasan Pembuatan Aplikasi Antrian",
    "Ucapan Terima Kasih atas Pembuatan Website Kelurahan",
    "Penyusunan SOP Penggunaan Aplikasi Srikandi",
    "Permohonan Pembuatan Banner Website Dinas",
    "Permohonan Pemutakhiran Data Aplikasi Dapodik",
    "Permohonan Audiensi terkait Pengembangan Aplikasi",
    "Permohonan Pemulihan Website yang Diretas",
    "",
]


@pytest.mark.parametrize("perihal", REQUESTS)
def test_requests_are_recognised(perihal: str) -> None:
    verdict = shipped().request_verdict(letter(perihal))
    assert verdict.matched, verdict.reason
    assert shipped().is_request(letter(perihal))


@pytest.mark.parametrize("perihal", DECOYS)
def test_decoys_are_not_requests(perihal: str) -> None:
    verdict = shipped().request_verdict(letter(perihal))
    assert not verdict.matched, verdict.reason
    assert not shipped().is_request(letter(perihal))


def test_a_letter_without_subject_is_no_request() -> None:
    assert not shipped().is_request(letter(None))


def test_verdict_names_what_matched() -> None:
    verdict = shipped().request_verdict(letter("Permohonan Pembuatan Aplikasi SIMPEG"))
    assert verdict
    assert verdict.rule == "request"
    assert "act='pengembangan'" in verdict.reason
    assert "object='aplikasi'" in verdict.reason


def test_verdict_names_the_exclusion() -> None:
    verdict = shipped().subject_verdict("Permohonan Pembuatan Akun Aplikasi SIMPEG")
    assert not verdict
    assert "excluded by" in verdict.reason


ROLES = [
    # front office
    ("Subbag Umum dan Kepegawaian", Role.FRONT_OFFICE),
    ("Kasubbag Umum & Kepegawaian", Role.FRONT_OFFICE),
    ("Kepala Sub Bagian Umum dan Kepegawaian", Role.FRONT_OFFICE),
    ("Kasubag Umpeg", Role.FRONT_OFFICE),
    ("Sekretaris Dinas", Role.FRONT_OFFICE),
    ("SEKDIS", Role.FRONT_OFFICE),
    ("Plt. Sekretaris Dinas Komunikasi dan Informatika", Role.FRONT_OFFICE),
    ("Tata Usaha", Role.FRONT_OFFICE),
    ("TU", Role.FRONT_OFFICE),
    ("Sekretariat", Role.FRONT_OFFICE),
    ("Umum", Role.FRONT_OFFICE),
    ("Pengadministrasi Umum", Role.FRONT_OFFICE),
    ("Pengelola Surat Masuk", Role.FRONT_OFFICE),
    # the Head
    ("Kepala Dinas Komunikasi dan Informatika", Role.HEAD),
    ("Kadis Kominfo", Role.HEAD),
    ("Kadiskominfo", Role.HEAD),
    ("Plt. Kepala Dinas", Role.HEAD),
    ("Plh Kadis", Role.HEAD),
    ("Kepala Diskominfo", Role.HEAD),
    ("KEPALA DINAS KOMINFO KOTA TANGERANG SELATAN", Role.HEAD),
    ("Kepala Dinas Komunikasi dan Informatika (Plt)", Role.HEAD),
    ("Pelaksana Tugas Kepala Dinas", Role.HEAD),
    # the IT division head
    ("Kabid PTIKP", Role.IT_HEAD),
    ("Kepala Bidang PTIKP", Role.IT_HEAD),
    ("Kepala Bidang Pengelolaan Teknologi Informasi, Komunikasi dan Persandian", Role.IT_HEAD),
    ("Kepala Bidang Pengelolaan Teknologi Informasi", Role.IT_HEAD),
    ("Plt. Kabid PTIKP", Role.IT_HEAD),
    ("KABID P-TIKP", Role.IT_HEAD),
    ("Kabid Pengelolaan TIK dan Persandian", Role.IT_HEAD),
    ("Kepala Bidang TIK", Role.IT_HEAD),
    # other division heads
    ("Kepala Bidang Informasi dan Komunikasi Publik", Role.OTHER_DIVISION_HEAD),
    ("Kabid IKP", Role.OTHER_DIVISION_HEAD),
    ("Kepala Bidang Statistik", Role.OTHER_DIVISION_HEAD),
    ("Kepala Bidang Statistik dan Persandian", Role.OTHER_DIVISION_HEAD),
    ("Plt. Kabid Pengelolaan Informasi Publik", Role.OTHER_DIVISION_HEAD),
    # nobody the SOP names
    ("Kepala Dinas Kesehatan", Role.UNKNOWN),
    ("Kepala Dinas Pekerjaan Umum", Role.UNKNOWN),
    ("Sekretaris Daerah", Role.UNKNOWN),
    ("Sekretaris Kelurahan", Role.UNKNOWN),
    ("Fungsional Umum", Role.UNKNOWN),
    ("Kepala Seksi Aplikasi & Integrasi Sistem Informasi", Role.UNKNOWN),
    ("Staf PTIKP", Role.UNKNOWN),
    ("Pranata Komputer", Role.UNKNOWN),
    ("Kepala Bidang", Role.UNKNOWN),
    ("", Role.UNKNOWN),
]


@pytest.mark.parametrize(("jabatan", "role"), ROLES)
def test_roles_of_job_titles(jabatan: str, role: Role) -> None:
    got, why = shipped().role_verdict(jabatan)
    assert got is role, why
    assert shipped().role_of(jabatan) is role


def test_role_of_none_is_unknown() -> None:
    assert shipped().role_of(None) is Role.UNKNOWN


def test_instruction_rule() -> None:
    recogniser = shipped()
    assert recogniser.has_instruction_rule
    assert recogniser.instruction_verdict("Tindaklanjuti permohonan pembuatan aplikasi ini")
    assert not recogniser.instruction_verdict("Untuk ditindaklanjuti")
    assert not recogniser.instruction_verdict(None)


def test_shipped_rules_pass_their_own_examples() -> None:
    assert shipped().example_failures() == []


# --- a recogniser built from a hand-written spec -------------------------------------------


def small_spec(**changes: object) -> RecognitionSpec:
    request = RuleSpec(
        name="request",
        require={"act": ClauseSpec(words=("bikin",)), "object": ClauseSpec(patterns=(r"\bapp\b",))},
        exclude=ClauseSpec(words=("akun",)),
        hits=("Bikin App",),
        misses=("Bikin Akun App",),
    )
    roles = (
        (
            Role.HEAD,
            RuleSpec("head", {"t": ClauseSpec(patterns=("^bos$",))}, hits=("Bos",), misses=("Wakil Bos",)),
        ),
    )
    fields: dict[str, object] = {
        "normalise": NormaliseSettings(),
        "synonyms": {"bikin": ("buat",)},
        "request": request,
        "roles": roles,
    }
    fields.update(changes)
    return RecognitionSpec(**fields)  # type: ignore[arg-type]


def test_words_in_rules_go_through_the_synonyms() -> None:
    # The rule says "bikin"; the text says "buat", which the synonyms turn into "bikin".
    recogniser = Recogniser(small_spec(request=RuleSpec("request", {"act": ClauseSpec(words=("buat",))})))
    assert recogniser.subject_verdict("Buat sesuatu")


def test_example_failures_are_reported() -> None:
    bad = RuleSpec(
        "request",
        {"act": ClauseSpec(words=("bikin",))},
        hits=("Bikin App", "Tulis App"),
        misses=("Bikin Akun",),
    )
    failures = Recogniser(small_spec(request=bad)).example_failures()
    assert [(f.rule, f.kind, f.index) for f in failures] == [("request", "hit", 1), ("request", "miss", 0)]


def test_role_example_failures_consider_the_whole_order() -> None:
    roles = (
        (Role.OTHER_DIVISION_HEAD, RuleSpec("other_division_head", {"t": ClauseSpec(patterns=("kabid",))},
                                            hits=("Kabid IKP",), misses=("Kadis",))),
        (Role.IT_HEAD, RuleSpec("it_head", {"t": ClauseSpec(patterns=("ptikp",))},
                                hits=("Kabid PTIKP",), misses=("Kabid IKP",))),
    )  # fmt: skip
    failures = Recogniser(small_spec(roles=roles)).example_failures()
    assert [(f.rule, f.kind, f.index) for f in failures] == [("it_head", "hit", 0)]
    assert "got other_division_head" in failures[0].message


def test_without_instruction_rule_nothing_is_recognised_from_instructions() -> None:
    recogniser = Recogniser(small_spec())
    assert not recogniser.has_instruction_rule
    assert not recogniser.instruction_verdict("bikin app")


def test_role_memo_stays_bounded() -> None:
    recogniser = Recogniser(small_spec())
    for index in range(10_000):
        assert recogniser.role_of(f"Staf {index}") is Role.UNKNOWN
    assert recogniser.role_of("Bos") is Role.HEAD
