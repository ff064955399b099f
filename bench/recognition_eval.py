"""Measure request recognition and step assignment on generated, labelled letters.

The generator below was written from knowledge of how Indonesian agencies word their letters
and job titles, independently of mappings/recognition.toml: it never reads the rules nor
their examples, and its app names, agencies, templates and title spellings are its own. Each
letter is labelled by meaning (is it a request to develop a system?), each disposition by
the roles the writer meant, and the true steps follow from those labels alone.

The vocabulary grew in three rounds; each round was run once against the rules as they were
before the rules were changed for it. Those first-run figures (HELD_OUT_HISTORY, also in the
JSON) are the honest estimate on unseen wording; the current figures only show that the
rules now cover everything the generator knows.

Issue 13 added a typo model (one or two slips in a key word), abbreviations and letters that
only refer to a request (replies, follow-ups, decisions, progress, cancellations) to the
generator: the rules were tuned on it. Two sets written by hand (bench/heldout/set_a.tsv,
set_b.tsv; another method, other wording) were committed before any tuning and are never
tuned on; HELD_OUT_FIRST_RUNS records what they showed the first time each was run.

Run:  .venv/bin/python bench/recognition_eval.py [--sets tuning,a,b] [--letters N] [--seed S]
Writes bench/results-recognition.json and exits non-zero when a figure is below target
(the tuning set: 0.99 everywhere; a held-out set: precision >= 0.995, recall >= 0.99 and at
most 2% of letters for review).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bridge.config.sop_mapping import load_sop_mappings  # noqa: E402
from bridge.domain.cases import derive_case  # noqa: E402
from bridge.domain.items import Disposition, Letter  # noqa: E402
from bridge.domain.recognition import Outcome  # noqa: E402

TARGET = 0.99
RESULTS = ROOT / "bench" / "results-recognition.json"

# Each vocabulary round was added to the generator and run ONCE against the rules as they
# were, before the rules were changed for it: these first-run figures (default seed, 3,000
# letters) are the honest estimate of how the rules do on wording they were not tuned on.
HELD_OUT_HISTORY = [
    {"round": 1, "what": "initial vocabulary, against the first rules",
     "request": {"precision": 1.0, "recall": 0.995},
     "step2": {"precision": 1.0, "recall": 0.9979}, "step3": {"precision": 1.0, "recall": 0.9953}},
    {"round": 2, "what": "+16 request templates, +26 decoys, +21 job titles",
     "request": {"precision": 0.8989, "recall": 0.8663},
     "step2": {"precision": 0.9111, "recall": 0.781}, "step3": {"precision": 0.899, "recall": 0.8043}},
    {"round": 3, "what": "+14 request templates, +19 decoys, +15 job titles",
     "request": {"precision": 0.9626, "recall": 1.0},
     "step2": {"precision": 0.9566, "recall": 0.966}, "step3": {"precision": 0.9616, "recall": 0.9411}},
    {"round": 4, "what": "issue 13: +typo model, abbreviations, replies; first run against the "
                         "rules as they were",
     "request": {"precision": 0.9223, "recall": 0.7571}, "review_share": 0.043},
]  # fmt: skip

# The hand-written held-out sets (bench/heldout/), first runs. Set A was run once against the
# rules tuned on the generator: 2 false requests (money for a request already made), after
# which one exclusion was added; set B was then run for the first time, rules unchanged since.
HELD_OUT_FIRST_RUNS = [
    {"set": "a", "rules": "before issue 13", "request": {"precision": 0.7895, "recall": 0.7609},
     "review_share": 0.0394},
    {"set": "a", "rules": "tuned on the generator", "request": {"precision": 0.9857, "recall": 1.0},
     "review_share": 0.0, "errors": ["FP 'Permohonan Pembayaran Pengembangan Aplikasi Tahap I'",
                                     "FP 'Permohonan Pencairan Dana Pembuatan Aplikasi'"]},
    {"set": "b", "rules": "final (after the change for set A)",
     "request": {"precision": 1.0, "recall": 1.0}, "review_share": 0.0},
]  # fmt: skip

# --- vocabulary (written for this generator; not taken from the mapping rules) -------------

AGENCIES = [
    "Dinas Kesehatan", "Dinas Pendidikan dan Kebudayaan", "Badan Pendapatan Daerah",
    "Dinas Kependudukan dan Pencatatan Sipil", "Kecamatan Pondok Aren", "Kecamatan Ciputat Timur",
    "Kelurahan Rawa Buntu", "Dinas Perhubungan", "Badan Kepegawaian dan Pengembangan SDM",
    "Dinas Sosial", "Satuan Polisi Pamong Praja", "RSUD Kota Tangerang Selatan",
    "Dinas Lingkungan Hidup", "Dinas Koperasi dan UKM", "Badan Perencanaan Pembangunan Daerah",
    "Inspektorat", "Dinas Pemuda dan Olahraga", "Dinas Ketahanan Pangan, Pertanian dan Perikanan",
    "Badan Penanggulangan Bencana Daerah", "Dinas Pemadam Kebakaran dan Penyelamatan",
    "Dinas Perpustakaan dan Arsip Daerah", "Bagian Organisasi Setda", "DPMPTSP",
    "Dinas Tenaga Kerja", "Dinas Pariwisata", "Kecamatan Serpong Utara", "Kelurahan Jombang",
]  # fmt: skip

APP_NAMES = [
    "Manajemen Aset Daerah", "e-Retribusi Pasar", "SIPAKAR", "e-Posyandu",
    "Layanan Pengaduan Masyarakat", "Antrian Online Puskesmas", "Pendataan UMKM",
    "Perizinan Reklame", "Monitoring Proyek Fisik", "Absensi Pegawai Berbasis Lokasi",
    "Inventaris Barang Milik Daerah", "Pelaporan Kinerja Harian", "Bank Sampah Digital",
    "Ketersediaan Tempat Tidur RSUD", "Penerimaan Peserta Didik Baru", "Kelurahan Digital",
    "Arsip Digital", "Pengelolaan Zakat", "Pemetaan Rumah Tidak Layak Huni", "SI-JAGAD",
    "Pendaftaran Kartu Pencari Kerja", "Tanggap Darurat Bencana", "e-Surat Keterangan",
    "Pelayanan Adminduk Keliling", "Cek Kendaraan Dinas", "Penjadwalan Ruang Rapat",
    "Rekap Pajak Restoran", "Peta Sebaran Stunting", "Data Terpadu Kesejahteraan Sosial",
    "Layanan Konseling Online", "Sistem Antrean Samsat", "Jadwal Piket Damkar", "TANGSEL SIGAP",
]  # fmt: skip

INTENTS = [
    "Permohonan", "Permintaan", "Usulan", "Pengajuan", "Surat Permohonan", "Mohon",
    "Usul", "Pengusulan", "Permohonan Bantuan", "Permohonan Dukungan", "Permohonan Fasilitasi",
    "Permohonan Pendampingan", "Pengajuan Usulan",
]  # fmt: skip
ACTS = [
    "Pengembangan", "Pembuatan", "Pembangunan", "Perancangan", "Rancang Bangun",
    "Pengembangan dan Pembuatan", "Pembuatan dan Pengembangan",
]  # fmt: skip
OBJECTS = [
    "Aplikasi", "Sistem Informasi", "Aplikasi Berbasis Web", "Aplikasi Mobile",
    "Aplikasi Android", "Website", "Situs Web", "Portal", "Dashboard", "Sistem",
    "Sistem Aplikasi", "Aplikasi / Sistem Informasi", "Sistem / Aplikasi", "Web",
    "Software", "Perangkat Lunak",
]  # fmt: skip
SUFFIXES = [
    "", "", "", "pada {agency}", "di Lingkungan {agency}", "untuk {agency}",
    "{agency} Kota Tangerang Selatan", "Tahun Anggaran 2025", "TA. 2026", "Tahun 2025",
    "di {agency}", "bagi Masyarakat Kota Tangerang Selatan",
]  # fmt: skip

REQUEST_TEMPLATES = [
    "{intent} {act} {obj} {app} {suffix}",
    "{intent} {act} {obj} {app}",
    "{intent} {act} {obj} \"{app}\" {suffix}",
    "{intent} {act} {obj} ({app}) {suffix}",
    "{act} {obj} {app} {suffix}",
    "{intent} untuk {act} {obj} {app}",
    "Mohon dibuatkan {obj} {app} {suffix}",
    "Permohonan untuk dibuatkan {obj} {app}",
    "{intent} Penambahan Fitur pada {obj} {app}",
    "{intent} Penambahan Modul {app} pada Aplikasi Kepegawaian",
    "{intent} Bantuan Tenaga Ahli untuk {act} {obj} {app}",
    "Perihal : {intent} {act} {obj} {app}",
    "{intent} Kerjasama Teknis {act} {obj} {app}",
    "{intent} Upgrade {obj} {app}",
    "{intent} Pembaruan {obj} {app} {suffix}",
    "{intent} {act} {obj} {app} dan Integrasinya dengan Aplikasi Pusat",
    # round 2 (added after the first run, before looking at the rules again)
    "{intent} Kerja Sama {act} {obj} {app}",
    "{intent} Pengembangan Lanjutan {obj} {app}",
    "{intent} {act} {obj} {app} Versi 2.0",
    "{intent} Penyempurnaan {obj} {app}",
    "{intent} Digitalisasi Layanan {app} melalui Aplikasi",
    "Usulan Kebutuhan {obj} {app} {suffix}",
    "Mohon Bantuan {act} {obj} {app}",
    "{intent} {act} {obj} {app} (Lanjutan Surat Nomor 005/123-Dinkes/2025)",
    "{intent} {act} {obj} {app} Tahap II",
    "{intent} Pengembangan Fitur Pembayaran Non Tunai pada {obj} {app}",
    "{act} Sistem Informasi Geografis (SIG) {app}",
    "{intent} {act} Peta Digital / WebGIS {app}",
    "{intent} {act} Landing Page {app}",
    "{intent} {act} Aplikasi dan Website {app}",
    "{intent} {act} E-Katalog Produk UMKM",
    # round 3 (added after the second round of rule changes, before looking at the rules)
    "{intent} {act} Sistem Pendaftaran Online {app}",
    "{intent} {act} Aplikasi Pengelolaan {app}",
    "{intent} Pengembangan Modul {app} pada Sistem Informasi Kepegawaian Daerah",
    "{intent} Dibuatkan Website Resmi {agency}",
    "{intent} {act} Aplikasi Layanan {app} Berbasis Android dan iOS",
    "Usulan Program {act} Aplikasi {app}",
    "{intent} {act} Sistem Antrian Elektronik {agency}",
    "Pengajuan Rencana {act} {obj} {app}",
    "{intent} {act} {obj} {app} sebagai Tindak Lanjut Rapat Koordinasi",
    "{intent} {act} Aplikasi Survei Kepuasan Masyarakat",
    "{intent} {act} Aplikasi Pelatihan dan Uji Kompetensi",
    "Mohon Dikembangkan {obj} {app}",
    "{intent} {act} Aplikasi untuk Pendataan Warga Terdampak Banjir",
    "{intent} {act} Aplikasi Helpdesk / Ticketing Layanan TIK",
    # round 4 (issue 13): abbreviations and shortened words, as typed by hand
    "Mhn {act} {obj} {app}",
    "{intent} Pemb. Aplikasi {app}",
    "{intent} Pengemb. {obj} {app}",
    "{intent} {act} Apl. {app} {suffix}",
    "{intent} {act} Sist. Informasi {app}",
    "{intent}/{act}/{obj} {app}",
    "{intent} - {act} - {obj} {app}",
]  # fmt: skip

DECOY_TEMPLATES = [
    "Undangan Rapat Koordinasi {topic}",
    "Undangan Sosialisasi {obj} {app}",
    "Undangan Rapat Pembahasan {act} {obj} {app}",
    "Sosialisasi Penggunaan {obj} {app}",
    "Sosialisasi Aplikasi {app} kepada Perangkat Daerah",
    "Laporan Penggunaan {obj} {app} Bulan {month}",
    "Laporan Kemajuan Pembangunan Gedung {agency}",
    "Laporan Hasil {act} {obj} {app}",
    "Laporan Bulanan {agency}",
    "Permohonan Data Jumlah Pengguna {obj} {app}",
    "Permohonan Data Pendukung {act} {obj} {app}",
    "Permohonan Narasumber Workshop {act} {obj}",
    "Permohonan Narasumber Kegiatan Literasi Digital",
    "Pemeliharaan {obj} {app}",
    "Permohonan Pemeliharaan Server {obj} {app}",
    "Permohonan Perbaikan {obj} {app} yang Tidak Dapat Diakses",
    "Permohonan Akun {obj} {app}",
    "Permohonan Pembuatan Akun Email Dinas untuk Pegawai Baru",
    "Permohonan Reset Password {obj} {app}",
    "Permohonan Penambahan User {obj} {app}",
    "Permohonan Hak Akses {obj} {app} bagi Operator",
    "Permohonan Hosting dan Subdomain untuk {obj} {app}",
    "Permohonan Pembuatan Subdomain {agency}",
    "Permohonan Pemasangan Jaringan Internet di {agency}",
    "Permohonan Peningkatan Bandwidth Internet",
    "Pembangunan Gedung Kantor {agency}",
    "Pengembangan Kompetensi Aparatur Sipil Negara",
    "Penyusunan Laporan Keuangan Semester I",
    "Penyusunan Sistem Pengendalian Intern Pemerintah",
    "Pembangunan Sistem Drainase Perumahan",
    "Pengembangan Sistem Merit Manajemen ASN",
    "Permohonan Pembuatan Video Profil {agency}",
    "Permohonan Peliputan Kegiatan {agency}",
    "Permohonan Publikasi Kegiatan di Website Resmi Pemerintah Kota",
    "Pemberitahuan Pemadaman Listrik Gedung Pusat Pemerintahan",
    "Penyampaian Hasil Evaluasi SPBE Tahun {year}",
    "Permohonan Rekomendasi Teknis Pengadaan {obj} {app}",
    "Permohonan Pembuatan Sertifikat Elektronik (TTE) bagi Pejabat",
    "Permohonan Penerbitan TTE untuk Aplikasi Srikandi",
    "Permohonan Pelatihan Penggunaan {obj} {app}",
    "Permohonan Bimtek {obj} {app}",
    "Surat Edaran Penggunaan {obj} {app}",
    "Permohonan Izin Penelitian tentang {act} Sistem Informasi",
    "Permohonan Magang Mahasiswa Jurusan Sistem Informasi",
    "Nota Dinas Pengembangan SDM",
    "Permohonan Tambahan Anggaran untuk {act} {obj} {app}",
    "Permohonan Penghapusan {obj} {app}",
    "Penonaktifan Website {agency}",
    "Permohonan Uji Penetrasi (Pentest) {obj} {app}",
    "Permohonan Pendampingan Penyusunan Dokumen Arsitektur SPBE",
    "Undangan Bimtek Sistem Informasi Pemerintahan Daerah (SIPD)",
    "Permohonan Peminjaman Ruang Rapat",
    "Permohonan Peminjaman Proyektor dan Laptop",
    "Permohonan Pemasangan CCTV di {agency}",
    "Permohonan Penggunaan Videotron untuk Publikasi",
    "Ucapan Terima Kasih atas {act} {obj} {app}",
    "Surat Tugas Mengikuti Pelatihan {act} Aplikasi",
    "Permohonan Pembuatan Konten Media Sosial {agency}",
    "Permohonan Pemutakhiran Data pada {obj} {app}",
    "Permohonan Verifikasi Data Pegawai",
    "Undangan Workshop {act} {obj} Pemerintah Daerah",
    "Hasil Rapat {act} {obj} {app}",
    "Penyampaian Jadwal User Acceptance Test {obj} {app}",
    "Pemberitahuan Gangguan {obj} {app}",
    "Permohonan Penjelasan Tata Cara Penggunaan {obj} {app}",
    # round 2 (added after the first run, before looking at the rules again)
    "Permohonan Pendataan Aplikasi yang Dimiliki Perangkat Daerah",
    "Inventarisasi Aplikasi dan Sistem Informasi di Lingkungan Pemerintah Kota",
    "Permohonan Dukungan Jaringan untuk {act} {obj} {app}",
    "Permohonan Penyediaan Server untuk {obj} {app}",
    "Permohonan Pemindahan Server {obj} {app}",
    "Permohonan Backup Data {obj} {app}",
    "Laporan Gangguan {obj} {app}",
    "Permohonan Penggunaan {obj} {app}",
    "Kuesioner Survei Kepuasan Pengguna {obj} {app}",
    "Pengembangan Karir Pegawai {agency}",
    "Pembangunan Zona Integritas {agency}",
    "Pembangunan Sistem Penyediaan Air Minum (SPAM)",
    "Penyusunan Standar Pelayanan Sistem Online Single Submission",
    "Penyusunan Standar Operasional Prosedur {obj} {app}",
    "Permohonan Penyusunan Kajian {act} {obj} {app}",
    "Penyusunan Rencana Induk (Masterplan) Smart City",
    "Permohonan Pembuatan Banner Website {agency}",
    "Permohonan Pembuatan Logo {obj} {app}",
    "Permohonan Pembuatan Email Resmi untuk {obj} {app}",
    "Permohonan Penggunaan Aplikasi Srikandi untuk Pembuatan Surat Dinas",
    "Permohonan Dokumentasi Kegiatan Peluncuran {obj} {app}",
    "Permohonan Peluncuran (Launching) {obj} {app}",
    "Undangan Launching {obj} {app}",
    "Permohonan Pengisian Data pada {obj} {app}",
    "Permohonan Tenaga Operator {obj} {app}",
    "Permohonan Penambahan Kuota Akun Zoom",
    # round 3 (added after the second round of rule changes, before looking at the rules)
    "Permohonan Pembuatan Akun Pengguna {obj} {app}",
    "Pemberitahuan Perubahan Alamat Website {agency}",
    "Permohonan Pembuatan Surat Rekomendasi {obj} {app}",
    "Permohonan Penambahan Kapasitas Penyimpanan Server {obj} {app}",
    "Permohonan Pemulihan Website {agency} yang Terkena Peretasan",
    "Laporan Insiden Keamanan Siber pada {obj} {app}",
    "Permohonan Penilaian Mandiri SPBE {agency}",
    "Permohonan Pembuatan Nota Kesepahaman {act} {obj} {app}",
    "Pembangunan Menara Telekomunikasi di {agency}",
    "Permohonan Audiensi terkait {act} {obj} {app}",
    "Permohonan Daftar Aplikasi yang Dikembangkan Diskominfo",
    "Permohonan Salinan Source Code {obj} {app}",
    "Penyampaian Dokumen {act} {obj} {app}",
    "Permohonan Perpanjangan Lisensi Perangkat Lunak {app}",
    "Pengembangan Ekonomi Kreatif Berbasis Digital",
    "Permohonan Bantuan Pembangunan Rumah Ibadah",
    "Permohonan Pemasangan {obj} {app} pada Komputer Kantor",
    "Permohonan Instalasi Ulang {obj} {app}",
    "Permohonan Tindak Lanjut Pengaduan {obj} {app} Error",
    # round 4 (issue 13): letters that only refer to a request or an application
    "Tanggapan Surat {intent} {act} {obj} {app}",
    "Jawaban atas {intent} {act} {obj} {app}",
    "Balasan Surat Saudara perihal {intent} {act} {obj} {app}",
    "Tindak Lanjut {intent} {act} {obj} {app}",
    "Menindaklanjuti {intent} {act} {obj} {app}",
    "Konfirmasi Kehadiran Rapat {act} {obj} {app}",
    "Undangan Diskusi {act} {obj} {app}",
    "Undangan Pembahasan Kebutuhan {obj} {app}",
    "Progres {act} {obj} {app} Minggu ke-3",
    "Laporan Perkembangan {act} {obj} {app}",
    "Pembatalan {intent} {act} {obj} {app}",
    "Pencabutan Surat {intent} {act} {obj} {app}",
    "Permohonan Akun Admin {obj} {app}",
    "Permohonan Reset Kata Sandi {obj} {app}",
    "Permohonan Perpanjangan Hosting {obj} {app}",
    "Permohonan Data Transaksi {obj} {app}",
    "Permohonan Aktivasi Kembali Akun {obj} {app}",
    "Penolakan {intent} {act} {obj} {app}",
    "Persetujuan {intent} {act} {obj} {app}",
    "Serah Terima Hasil {act} {obj} {app}",
    "Re: {intent} {act} {obj} {app}",
    "Pemberitahuan Penundaan {act} {obj} {app}",
]  # fmt: skip

TOPICS = [
    "Persiapan HUT Kota", "Pelaksanaan SPBE", "Penanganan Stunting", "Evaluasi Kinerja Triwulan",
    "Percepatan Transformasi Digital", "Keamanan Informasi",
]  # fmt: skip
MONTHS = ["Januari", "Maret", "Mei", "Agustus", "Oktober", "Desember"]

FRONT_OFFICE_TITLES = [
    "Subbag Umum dan Kepegawaian", "Kasubbag Umum & Kepegawaian",
    "Kepala Sub Bagian Umum dan Kepegawaian", "SEKRETARIS DINAS", "Sekretaris",
    "Tata Usaha", "TU", "Sekretariat Diskominfo", "Staf Umum", "Pengadministrasi Umum",
    "Umum", "Kasubag Umpeg", "Bagian Umum", "Sekretaris Dinas Komunikasi dan Informatika",
    "Plt. Sekretaris Dinas", "Kepala Subbagian Umum", "Sub Bagian Umum & Kepegawaian",
    "Admin TU Diskominfo", "Pengelola Surat Masuk",
    "Kasubbag Umum", "Staf Subbagian Umum", "Pelaksana pada Subbag Umum dan Kepegawaian",
    "Sekretaris Diskominfo", "Sekretaris Dinas Kominfo", "Plh. Sekretaris Dinas",
    "Pengelola Persuratan",
    "Kasubag Umum dan Kepegawaian Diskominfo", "Kepala Sub Bagian Tata Usaha",
    "Petugas Persuratan", "Staf Tata Usaha", "SEKDIS", "Sekretaris Dinas Kominfo Kota Tangsel",
]  # fmt: skip
HEAD_TITLES = [
    "Kepala Dinas Komunikasi dan Informatika", "Kadis Kominfo", "KEPALA DINAS",
    "Plt. Kepala Dinas Komunikasi dan Informatika", "Kepala Diskominfo", "Kadiskominfo",
    "Plh. Kadis", "Kepala Dinas Kominfo Kota Tangerang Selatan",
    "Kepala Dinas Komunikasi & Informatika Kota Tangsel", "Pelaksana Tugas Kepala Dinas",
    "Kadis", "kepala dinas kominfo",
    "Kepala Dinas Komunikasi dan Informatika Kota Tangerang Selatan", "Plt Kadis Kominfo",
    "Pj. Kepala Dinas", "KADISKOMINFO TANGSEL", "Kepala Dinas Komunikasi dan Informatika (Plt)",
    "Kepala Dinas Kominfo Tangsel", "PLT KEPALA DINAS KOMINFO",
    "Kepala Dinas Komunikasi dan Informatika Tangerang Selatan",
]  # fmt: skip
IT_HEAD_TITLES = [
    "Kepala Bidang PTIKP", "Kabid PTIKP", "Plt. Kabid PTIKP",
    "Kepala Bidang Pengelolaan Teknologi Informasi, Komunikasi dan Persandian",
    "Kepala Bidang Pengelolaan Teknologi Informasi", "KABID P-TIKP",
    "Kepala Bidang Pengelolaan Teknologi Informasi Komunikasi & Persandian",
    "Kabid Pengelolaan TIK dan Persandian", "Plh. Kepala Bidang PTIKP",
    "kabid ptikp diskominfo",
    "Kabid TIK dan Persandian", "Kabid PTIKP (Plt)",
    "Kepala Bidang Pengelolaan Teknologi Informasi dan Komunikasi dan Persandian",
    "Plt. Kepala Bidang Pengelolaan Teknologi Informasi, Komunikasi dan Persandian",
    "Kepala Bidang P.TIKP", "Kepala Bidang TIK",
    "Kabid Pengelolaan Teknologi Informasi Komunikasi dan Persandian Diskominfo",
]  # fmt: skip
OTHER_HEAD_TITLES = [
    "Kepala Bidang Informasi dan Komunikasi Publik", "Kabid IKP",
    "Kepala Bidang Statistik", "Kabid Statistik Sektoral",
    "Kepala Bidang Pengelolaan Informasi dan Komunikasi Publik", "Plt. Kabid IKP",
    "KEPALA BIDANG STATISTIK DAN PERSANDIAN",
    "Kepala Bidang Pengelolaan Informasi Publik", "Kabid Komunikasi Publik",
    "Kepala Bidang Informasi Komunikasi Publik", "Kepala Bidang Statistik dan Data",
]  # fmt: skip
STAFF_TITLES = [
    "Kepala Seksi Aplikasi dan Integrasi Sistem Informasi", "Kasi Infrastruktur TIK",
    "Staf PTIKP", "Pranata Komputer Ahli Pertama", "Kepala Seksi Persandian",
    "Kasi Pengelolaan Informasi Publik", "Analis Sistem Informasi", "Programmer",
    "Tenaga Ahli Aplikasi",
    "Kepala Seksi Pengembangan Aplikasi", "Kasi Aplikasi Informatika", "Staf Bidang PTIKP",
    "Pengelola Sistem Informasi", "Sub Koordinator Aplikasi", "Ketua Tim Kerja Aplikasi",
    "Sekretaris Kelurahan", "Kepala Subbagian Perencanaan dan Keuangan",
    "Kepala UPT Data Center", "Kepala Seksi Keamanan Informasi dan Persandian",
]  # fmt: skip

ROLE_TITLES = {
    "front_office": FRONT_OFFICE_TITLES,
    "head": HEAD_TITLES,
    "it_head": IT_HEAD_TITLES,
    "other_division_head": OTHER_HEAD_TITLES,
    "staff": STAFF_TITLES,
}

# --- messiness ------------------------------------------------------------------------------


def messy(rng: random.Random, text: str) -> str:
    """Casing, spacing and punctuation as people type them into Sisumaker."""
    text = " ".join(text.split())
    roll = rng.random()
    if roll < 0.2:
        text = text.upper()
    elif roll < 0.3:
        text = text.lower()
    elif roll < 0.35:
        text = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)
    if rng.random() < 0.25:
        text = text.replace(" ", "  ", rng.randint(1, 3))
    if rng.random() < 0.1:
        text = text.replace(" ", "\u00a0", 1)
    if rng.random() < 0.05:
        text = text.replace(" ", " \u200b", 1)
    if rng.random() < 0.1:
        text = text + rng.choice([".", " .", ";", " -", ".."])
    if rng.random() < 0.05:
        text = f"<b>{text}</b>"
    if rng.random() < 0.05:
        text = "\t" + text + " \n"
    if rng.random() < 0.1:
        text = text.replace(" ", ", ", 1)
    return text


# Key words of subjects that people mistype (the typo model below picks from these only, so
# that app names stay as written and the label stays true).
TYPO_WORDS = (
    "permohonan", "pembuatan", "pengembangan", "pembangunan", "aplikasi", "sistem",
    "informasi", "website", "usulan", "pengajuan", "perancangan", "undangan", "tanggapan",
    "laporan", "sosialisasi", "pemeliharaan", "password", "jawaban", "pembatalan",
)


def typo(rng: random.Random, text: str) -> str:
    """One or two slips of the hand in one key word: a letter swapped, dropped, doubled, wrong."""
    words = text.split(" ")
    keys = [i for i, w in enumerate(words) if w.lower().strip(".,") in TYPO_WORDS]
    if not keys:
        return text
    index = rng.choice(keys)
    word = words[index]
    for _ in range(1 if rng.random() < 0.75 else 2):
        pos = rng.randrange(1, len(word) - 1)
        kind = rng.choice(["swap", "drop", "double", "wrong"])
        if kind == "swap":
            word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2:]
        elif kind == "drop":
            word = word[:pos] + word[pos + 1:]
        elif kind == "double":
            word = word[:pos] + word[pos] + word[pos:]
        else:
            word = word[:pos] + rng.choice("aeiounrstmkp") + word[pos + 1:]
    words[index] = word
    return " ".join(words)


def _app(rng: random.Random) -> str:
    name = rng.choice(APP_NAMES)
    if rng.random() < 0.15:
        name = name.replace("e-", rng.choice(["e - ", "E-", "e"]))
    return name


def _fill(rng: random.Random, template: str) -> str:
    agency = rng.choice(AGENCIES)
    return template.format(
        intent=rng.choice(INTENTS),
        act=rng.choice(ACTS),
        obj=rng.choice(OBJECTS),
        app=_app(rng),
        agency=agency,
        suffix=rng.choice(SUFFIXES).format(agency=agency),
        topic=rng.choice(TOPICS),
        month=rng.choice(MONTHS),
        year=rng.choice(["2024", "2025"]),
    )


# --- letters and their flows ----------------------------------------------------------------


@dataclass
class Sample:
    """One labelled letter with its dispositions and true steps (by disposition id)."""

    letter: Letter
    is_request: bool
    dispositions: list[Disposition] = field(default_factory=list)
    true_steps: dict[int, str] = field(default_factory=dict)


FLOWS = [
    # (weight, list of (from_role, to_role) in time order)
    (30, [("front_office", "head"), ("head", "it_head"), ("it_head", "staff")]),
    (10, [("head", "it_head"), ("it_head", "staff")]),
    (8, [("front_office", "head")]),
    (6, [("front_office", "head"), ("head", "other_division_head")]),
    (6, [("front_office", "head"), ("head", "it_head"), ("head", "other_division_head")]),
    (4, [("front_office", "it_head")]),
    (4, [("front_office", "other_division_head"), ("other_division_head", "staff")]),
    (6, [("front_office", "head"), ("front_office", "head"), ("head", "it_head")]),
    (4, [("front_office", "head"), ("head", "staff")]),
    (10, []),
]


def _pick_flow(rng: random.Random) -> list[tuple[str, str]]:
    weights = [w for w, _ in FLOWS]
    return rng.choices([f for _, f in FLOWS], weights=weights)[0]


def make_sample(rng: random.Random, index: int, request: bool, subject: str | None = None) -> Sample:
    """One letter (a request or a decoy), its dispositions, and its true steps.

    ``subject`` given (a held-out set): used as written; else generated from the templates.
    """
    created = datetime(2025, 1, 2, 8, 0) + timedelta(minutes=rng.randint(0, 60 * 24 * 700))
    if subject is None:
        template = rng.choice(REQUEST_TEMPLATES if request else DECOY_TEMPLATES)
        filled = _fill(rng, template)
        if rng.random() < 0.3:
            filled = typo(rng, filled)
        subject = messy(rng, filled)
    letter = Letter(
        id=str(100000 + index), created_at=created, asal_surat=rng.choice(AGENCIES),
        perihal=subject, received_at=created + timedelta(hours=3) if rng.random() < 0.8 else None,
    )  # fmt: skip
    sample = Sample(letter, request)
    moment = created
    for number, (sender, receiver) in enumerate(_pick_flow(rng)):
        moment += timedelta(minutes=rng.randint(5, 60 * 48))
        disposition = Disposition(
            id=f"{letter.id}{number:02d}", surat_id=letter.id, created_at=moment,
            dari_jabatan=messy(rng, rng.choice(ROLE_TITLES[sender])),
            kepada_jabatan=messy(rng, rng.choice(ROLE_TITLES[receiver])),
            isi=rng.choice(["Untuk ditindaklanjuti", "Pelajari dan laporkan", "Mohon koordinasi",
                            "Hadiri", "Untuk diketahui", "Proses sesuai ketentuan"]),
        )  # fmt: skip
        sample.dispositions.append(disposition)
        if request:
            _label_step(sample, disposition.id, sender, receiver)
    rng.shuffle(sample.dispositions)  # the bridge sees them in any order
    return sample


def _label_step(sample: Sample, disposition_id: str, sender: str, receiver: str) -> None:
    """The first front office -> head disposition is step 2, the first head -> IT head step 3."""
    step = {("front_office", "head"): 2, ("head", "it_head"): 3}.get((sender, receiver))
    if step is not None and step not in sample.true_steps:
        sample.true_steps[step] = f"disposisi:{disposition_id}"


def held_out(path: Path, seed: int) -> list[Sample]:
    """A hand-written held-out set (LABEL<TAB>subject), each letter with generated dispositions."""
    rng = random.Random(seed)
    samples = []
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t", 1) for line in lines if line.strip() and not line.startswith("#")]
    for index, (label, subject) in enumerate(rows):
        if label not in ("R", "N"):
            raise SystemExit(f"{path}: bad label {label!r} on {subject!r}")
        sample = make_sample(rng, index, request=label == "R", subject=subject)
        if sample.is_request:
            sample.true_steps[1] = f"surat:{sample.letter.id}"
        samples.append(sample)
    return samples


def generate(count: int, seed: int) -> list[Sample]:
    """``count`` labelled letters, about 45 % of them requests."""
    rng = random.Random(seed)
    samples = []
    for index in range(count):
        sample = make_sample(rng, index, request=rng.random() < 0.45)
        if sample.is_request:
            sample.true_steps[1] = f"surat:{sample.letter.id}"
        samples.append(sample)
    return samples


# --- scoring --------------------------------------------------------------------------------


@dataclass
class Score:
    """Counts for precision and recall."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float | int]:
        """Precision, recall and the counts."""
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return {"precision": round(precision, 4), "recall": round(recall, 4),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}  # fmt: skip


@dataclass
class Evaluation:
    """The scores of one run."""

    samples: list[Sample]
    request: Score
    steps: dict[int, Score]
    seconds: float
    review: list[str] = field(default_factory=list)  # subjects left for a person (with truth)
    after_review: Score = field(default_factory=Score)  # a person decides the review band right

    @property
    def review_share(self) -> float:
        """The share of all letters sent to review."""
        return round(len(self.review) / len(self.samples), 4) if self.samples else 0.0

    def scores(self) -> dict[str, Score]:
        """Every score by name: request recognition, then step assignment per step."""
        return {"request recognition": self.request} | {
            f"step {n} assignment": score for n, score in self.steps.items()
        }

    def to_json(self) -> dict[str, object]:
        """The figures, the first errors of each kind, and the held-out history."""
        return {
            "letters": len(self.samples),
            "requests": sum(s.is_request for s in self.samples),
            "dispositions": sum(len(s.dispositions) for s in self.samples),
            "seconds": round(self.seconds, 3),
            "target": TARGET,
            "request_recognition": self.request.figures(),
            "review_share": self.review_share,
            "review": self.review[:40],
            "request_recognition_after_review": self.after_review.figures(),
            "step_assignment": {str(n): s.figures() for n, s in self.steps.items()},
            "errors": {name: score.errors[:40] for name, score in self.scores().items()},
                "held_out_history": HELD_OUT_HISTORY,
            "held_out_first_runs": HELD_OUT_FIRST_RUNS,
        }


def evaluate(samples: list[Sample]) -> Evaluation:
    """Run recognition and case derivation on every sample and score them."""
    mappings = load_sop_mappings(ROOT / "mappings")
    now = datetime(2027, 1, 1)
    request = Score()
    after_review = Score()
    review: list[str] = []
    steps = {n: Score() for n in (1, 2, 3)}
    started = time.perf_counter()
    for sample in samples:
        verdict = mappings.recogniser.subject_verdict(sample.letter.perihal)
        predicted = verdict.outcome is Outcome.REQUEST
        label = repr(sample.letter.perihal)
        _count(request, predicted, sample.is_request, label)
        if verdict.outcome is Outcome.REVIEW:
            review.append(f"{'R' if sample.is_request else 'N'} {label} ({verdict.reason})")
        _count(after_review, predicted or (verdict.outcome is Outcome.REVIEW and sample.is_request),
               sample.is_request, label)
        case = derive_case(
            2025,
            sample.letter,
            sample.dispositions,
            recogniser=mappings.recogniser,
            sop=mappings.sop,
            calendar=mappings.calendar,
            now=now,
        )
        got = {n: r.source for n, r in case.steps.items()} if case else {}
        for number, score in steps.items():
            _count_step(score, got.get(number), sample.true_steps.get(number), sample)
    return Evaluation(samples, request, steps, time.perf_counter() - started, review, after_review)


def _count(score: Score, predicted: bool, truth: bool, label: str) -> None:
    if predicted and truth:
        score.tp += 1
    elif predicted:
        score.fp += 1
        score.errors.append(f"FP {label}")
    elif truth:
        score.fn += 1
        score.errors.append(f"FN {label}")


def _count_step(score: Score, got: str | None, truth: str | None, sample: Sample) -> None:
    if got is not None and got == truth:
        score.tp += 1
        return
    detail = f"{sample.letter.perihal!r} got={got} truth={truth} " + "; ".join(
        f"{d.id}:{d.dari_jabatan!r}->{d.kepada_jabatan!r}" for d in sample.dispositions
    )
    if got is not None:
        score.fp += 1
        score.errors.append(f"FP {detail}")
    if truth is not None:
        score.fn += 1
        score.errors.append(f"FN {detail}")


SETS = {
    "tuning": "the generator above (the rules were tuned on it)",
    "a": "bench/heldout/set_a.tsv (hand-written, never tuned on)",
    "b": "bench/heldout/set_b.tsv (hand-written, sealed until the rules were final)",
    "a-typos": "set A with one or two slips put in a key word of every subject (the typo model)",
    "b-typos": "set B likewise",
}
HELD_OUT_TARGET = {"precision": 0.995, "recall": 0.99, "review_share": 0.02}


def _samples(name: str, letters: int, seed: int) -> list[Sample]:
    if name == "tuning":
        return generate(letters, seed)
    base, _, typos = name.partition("-")
    samples = held_out(ROOT / "bench" / "heldout" / f"set_{base}.tsv", seed)
    if typos:
        # Slips of the hand do not change what a letter asks for: the labels stay true.
        rng = random.Random(seed)
        for sample in samples:
            perihal = sample.letter.perihal or ""
            sample.letter = Letter(id=sample.letter.id, created_at=sample.letter.created_at,
                                   asal_surat=sample.letter.asal_surat,
                                   perihal=typo(rng, perihal),
                                   received_at=sample.letter.received_at)
    return samples


def _print(name: str, run: Evaluation, errors: int) -> bool:
    report = run.to_json()
    print(f"== {name}: {SETS[name]}")
    print(f"   letters={report['letters']} requests={report['requests']} "
          f"dispositions={report['dispositions']} time={report['seconds']}s "
          f"review={len(run.review)} ({run.review_share:.2%})")
    for label, score in run.scores().items():
        figures = score.figures()
        print(f"   {label}: precision={figures['precision']} recall={figures['recall']} "
              f"(tp={figures['tp']} fp={figures['fp']} fn={figures['fn']})")
    after = run.after_review.figures()
    print(f"   request recognition once the review band is decided: precision={after['precision']} "
          f"recall={after['recall']}")
    for line in run.review[:errors]:
        print(f"   [review] {line}")
    for label, score in run.scores().items():
        for line in score.errors[:errors]:
            print(f"   [{label}] {line}")
    request = run.request.figures()
    if name == "tuning":
        return all(min(s.figures()["precision"], s.figures()["recall"]) >= TARGET
                   for s in run.scores().values())
    return (float(request["precision"]) >= HELD_OUT_TARGET["precision"]
            and float(request["recall"]) >= HELD_OUT_TARGET["recall"]
            and run.review_share <= HELD_OUT_TARGET["review_share"])


def main() -> int:
    """Evaluate each set, print and save the figures; non-zero when one is below target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--letters", type=int, default=3000, help="letters of the tuning set")
    parser.add_argument("--seed", type=int, default=20250817)
    parser.add_argument("--sets", default="tuning,a", help="comma-separated: tuning, a, b")
    parser.add_argument("--errors", type=int, default=10, help="errors to print per score")
    args = parser.parse_args()
    results: dict[str, object] = {}
    ok = True
    for name in args.sets.split(","):
        if name not in SETS:
            parser.error(f"unknown set {name!r}; valid: {', '.join(SETS)}")
        run = evaluate(_samples(name, args.letters, args.seed))
        results[name] = {"set": SETS[name], **run.to_json()}
        ok = _print(name, run, args.errors) and ok
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("OK" if ok else "BELOW TARGET")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
