"""Deterministic, realistic-looking letters to Diskominfo Kota Tangerang Selatan, with dispositions.

The dispositions walk (or not quite walk) the SOP "Layanan Pengembangan Sistem / Aplikasi".

A share of the letters ask for an application to be developed; their dispositions go from the
front office to the Head (step 2) and from the Head to the IT division head (step 3), some stop
early, some go to another division, a few are dated before the letter was registered. The rest
is other business, including decoys that mention applications without asking for one. Text is
messy on purpose: doubled spaces, capitals, stray punctuation, an emoji, a ``<b>`` tag.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from bridge.simulator.state import SimState, local_now

# --------------------------------------------------------------------------------------------
# Vocabulary


@dataclass(frozen=True, slots=True)
class _Opd:
    """A sending agency: its name, the code in its letter numbers, its head, its systems."""

    name: str
    code: str
    head: str
    apps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Role:
    """A person in Diskominfo: one employee id, the titles people type for them."""

    pegawai_id: str
    titles: tuple[str, ...]


def _kepala(name: str) -> str:
    return f"Kepala {name}"


_OPDS: Final = (
    _Opd("Dinas Kesehatan", "Dinkes", _kepala("Dinas Kesehatan"),
         ("Puskesmas", "SIMPUS", "Pendaftaran Online Puskesmas",
          "Kesehatan Ibu dan Anak")),
    _Opd("Dinas Pendidikan dan Kebudayaan", "Dindikbud",
         _kepala("Dinas Pendidikan dan Kebudayaan"),
         ("PPDB Online", "Data Pokok Pendidikan", "Absensi Guru")),
    _Opd("Badan Kepegawaian dan Pengembangan Sumber Daya Manusia", "BKPSDM",
         _kepala("Badan Kepegawaian dan Pengembangan SDM"),
         ("SIMPEG", "e-Kinerja", "Layanan Kenaikan Pangkat")),
    _Opd("Kecamatan Serpong", "Kec.Srp", "Camat Serpong",
         ("Layanan Administrasi Kecamatan", "Dashboard Data Kelurahan")),
    _Opd("Kecamatan Pondok Aren", "Kec.PdA", "Camat Pondok Aren",
         ("Layanan Administrasi Kecamatan", "Pelaporan RT/RW")),
    _Opd("Kecamatan Pamulang", "Kec.Pml", "Camat Pamulang", ("Pelaporan RT/RW",)),
    _Opd("Kecamatan Ciputat", "Kec.Cpt", "Camat Ciputat", ("Dashboard Data Kelurahan",)),
    _Opd("RSU Kota Tangerang Selatan", "RSU", "Direktur RSU Kota Tangerang Selatan",
         ("SIMRS", "Antrean Online", "Rekam Medis Elektronik")),
    _Opd("Badan Perencanaan Pembangunan, Penelitian dan Pengembangan Daerah", "Bapelitbangda",
         _kepala("Bapelitbangda"), ("e-Planning", "Perencanaan Pembangunan Daerah")),
    _Opd("Satuan Polisi Pamong Praja", "Satpol PP", _kepala("Satuan Polisi Pamong Praja"),
         ("Pelaporan Penertiban", "Penegakan Perda")),
    _Opd("Dinas Kependudukan dan Pencatatan Sipil", "Disdukcapil",
         _kepala("Dinas Kependudukan dan Pencatatan Sipil"), ("Layanan Adminduk Online",)),
    _Opd("Dinas Perhubungan", "Dishub", _kepala("Dinas Perhubungan"),
         ("Informasi Parkir", "Uji KIR Online")),
    _Opd("Dinas Lingkungan Hidup", "DLH", _kepala("Dinas Lingkungan Hidup"),
         ("Bank Sampah", "Persampahan")),
    _Opd("Badan Pengelolaan Keuangan dan Aset Daerah", "BPKAD", _kepala("BPKAD"),
         ("Manajemen Aset", "e-Budgeting")),
    _Opd("Badan Pendapatan Daerah", "Bapenda", _kepala("Badan Pendapatan Daerah"),
         ("e-BPHTB", "Pajak Daerah")),
    _Opd("Dinas Sosial", "Dinsos", _kepala("Dinas Sosial"), ("Kesejahteraan Sosial",)),
    _Opd("Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu", "DPMPTSP",
         _kepala("DPMPTSP"), ("Perizinan Online",)),
    _Opd("Inspektorat", "Inspektorat", "Inspektur Kota Tangerang Selatan",
         ("Pengaduan dan Whistleblowing",)),
    _Opd("Sekretariat DPRD", "Setwan", "Sekretaris DPRD", ("e-Reses",)),
    _Opd("Badan Penanggulangan Bencana Daerah", "BPBD", _kepala("BPBD"),
         ("Pelaporan Kebencanaan",)),
)  # fmt: skip

_REQUEST_SUBJECTS: Final = (
    "Permohonan Pengembangan Aplikasi {app}",
    "Permohonan Pembuatan Sistem Informasi {app}",
    "Usulan pengembangan sistem {app}",
    "Permohonan Pembangunan Aplikasi {app}",
    "Permohonan pengembangan aplikasi {app} tahun {year}",
    "Permohonan Fasilitasi Pengembangan Aplikasi {app}",
    "Permohonan Pengembangan/Penyempurnaan Aplikasi {app}",
    "Pengajuan Pembuatan Aplikasi {app}",
    "PERMOHONAN PENGEMBANGAN SISTEM INFORMASI {app}",
    "Usulan Pembuatan Aplikasi {app} berbasis Android",
)
_DECOY_SUBJECTS: Final = (
    "Sosialisasi Aplikasi Srikandi",
    "Undangan Sosialisasi Aplikasi {app}",
    "Laporan penggunaan aplikasi {app}",
    "Laporan Evaluasi Penggunaan Aplikasi {app} Triwulan {quarter}",
    "Permohonan reset akun aplikasi {app}",
    "Permohonan data pengguna aplikasi {app}",
    "Pemberitahuan Pemeliharaan Aplikasi {app}",
    "Permohonan Narasumber Bimtek Aplikasi {app}",
)
_OTHER_SUBJECTS: Final = (
    "Undangan rapat koordinasi {topic}",
    "Permohonan data {data}",
    "Permohonan peliputan kegiatan {event}",
    "Permohonan penambahan bandwidth internet",
    "Laporan gangguan jaringan internet di {place}",
    "Permohonan pembuatan akun email dinas",
    "Penyampaian Laporan Kinerja Triwulan {quarter}",
    "Permohonan publikasi informasi pada website resmi Pemkot",
    "Undangan Apel Gabungan",
    "Permohonan pemasangan titik akses WiFi publik di {place}",
    "Permohonan Pendampingan Keamanan Informasi (Persandian)",
    "Surat Edaran Penggunaan Tanda Tangan Elektronik",
)
_SLOT_VALUES: Final = {
    "topic": ("Satu Data Indonesia", "persiapan HUT Kota Tangerang Selatan", "SPBE",
              "percepatan penurunan stunting", "Musrenbang Kecamatan"),
    "data": ("jumlah penduduk per kelurahan", "titik WiFi publik", "kunjungan website",
             "statistik sektoral", "menara telekomunikasi"),
    "event": ("Festival Kuliner", "Car Free Day", "Pelantikan Pejabat", "Bazar UMKM"),
    "place": ("Kelurahan Serpong", "Kantor Kecamatan Setu", "Puskesmas Pamulang",
              "Kelurahan Pondok Kacang Timur", "Gedung Pusat Pemerintahan lt. 3"),
    "quarter": ("I", "II", "III", "IV"),
}  # fmt: skip

_FRONT_OFFICE: Final = (
    _Role("198203142009012003", ("Subbag Umum dan Kepegawaian", "Kasubbag Umum dan Kepegawaian",
                                 "TU", "Tata Usaha", "Subbag Umum & Kepegawaian")),
    _Role("197511202000031002", ("Sekretaris Dinas", "Sekretaris", "Sekdis Kominfo")),
)  # fmt: skip
_HEAD: Final = _Role(
    "197004151995031001",
    ("Kepala Dinas Komunikasi dan Informatika", "Kadis Kominfo", "Kepala Dinas",
     "KEPALA DINAS KOMINFO", "Kadis Komunikasi dan Informatika"),
)  # fmt: skip
_IT_HEAD: Final = _Role(
    "197809082005011004",
    ("Kabid PTIKP", "Kepala Bidang Pengelolaan Teknologi Informasi, Komunikasi dan Persandian",
     "Kabid Pengelolaan TIK dan Persandian", "kabid ptikp", "Kepala Bidang PTIKP"),
)  # fmt: skip
_OTHER_DIVISIONS: Final = (
    _Role("198001172006042001", ("Kabid Informasi dan Komunikasi Publik", "Kabid IKP",
                                 "Kepala Bidang Informasi dan Komunikasi Publik")),
    _Role("198506302010011002", ("Kabid Statistik", "Kepala Bidang Statistik Sektoral")),
)  # fmt: skip
_STAFF: Final = (
    _Role("198711052011011003", ("Kasi Pengembangan Aplikasi", "Kasi Aplikasi dan Tata Kelola")),
    _Role("199002142015031001", ("Pranata Komputer Ahli Muda", "Pranata Komputer")),
    _Role("199304222019032002", ("Staf Bidang PTIKP", "Staf PTIKP")),
)  # fmt: skip

_ISI_TO_HEAD: Final = ("Mohon arahan Bapak.", "Dengan hormat, disampaikan untuk arahan",
                       "Mohon petunjuk", "Untuk diketahui dan arahan lebih lanjut",
                       "Disampaikan kepada Bapak Kepala Dinas")  # fmt: skip
_ISI_TO_IT: Final = ("Tindak lanjuti sesuai SOP", "Pelajari dan tindak lanjuti",
                     "Untuk ditindaklanjuti, koordinasikan dengan pemohon",
                     "Segera undang rapat pembahasan", "Proses sesuai ketentuan", "TL")  # fmt: skip
_ISI_TO_DIVISION: Final = ("Untuk diketahui", "Hadiri dan laporkan", "Wakili",
                           "Siapkan data yang diminta", "Untuk ditindaklanjuti",
                           "Koordinasikan dengan Bidang PTIKP")  # fmt: skip
_ISI_TO_STAFF: Final = ("Siapkan undangan rapat pembahasan", "Siapkan bahan paparan",
                        "Untuk dipelajari", "Koordinasikan dengan OPD pemohon",
                        "Cek kebutuhan server")  # fmt: skip

_FIRST_NAMES: Final = ("Ahmad", "Siti", "Budi", "Dewi", "Rizky", "Nur", "Agus", "Rina",
                       "Hendra", "Fitri", "Dedi", "Yuliani", "Andi", "Ratna")  # fmt: skip
_LAST_NAMES: Final = ("Suryana", "Rahmawati", "Hidayat", "Lestari", "Saputra", "Wijaya",
                      "Kurniawan", "Handayani", "Syarifudin", "Permana")  # fmt: skip
_PREFIXES: Final = ("", "", "Drs. ", "Dr. ", "H. ", "Hj. ", "dr. ", "Ir. ")
_SUFFIXES: Final = ("", ", S.Kom.", ", M.Si.", ", S.T., M.T.", ", M.Kes.", ", S.E.", ", M.M.")
_CLASSIFICATIONS: Final = ("005", "045", "555", "800", "027", "400", "060")
_ROMAN_MONTHS: Final = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_SIFAT: Final = ("Biasa", "Segera", "Sangat Segera", "Rahasia")
_SIFAT_WEIGHTS: Final = (80, 12, 5, 3)
_EMOJI: Final = ("🙏", "📌", "✅")
_PHOTO: Final = "assets/images/pegawai/default.png"

_OFFICE_OPEN: Final = (7, 30)
_OFFICE_SECONDS: Final = 9 * 3600  # 07:30 to 16:30
_HOUR: Final = 3600.0

# --------------------------------------------------------------------------------------------
# Public entry point


@dataclass(frozen=True, slots=True)
class GenerationSummary:
    """What :func:`generate` added: counts, and the ids of the letters that ask for an app."""

    letters: int
    dispositions: int
    by_year: dict[int, tuple[int, int]]
    request_ids: dict[int, tuple[str, ...]]

    @property
    def requests(self) -> int:
        """How many letters ask for an application to be developed."""
        return sum(len(ids) for ids in self.request_ids.values())


def generate(
    state: SimState,
    *,
    letters: int,
    dispositions: int | None = None,
    seed: int = 1,
    now: datetime | None = None,
    span_days: int = 42,
    request_share: float = 0.25,
) -> GenerationSummary:
    """Fill ``state`` with ``letters`` letters and their dispositions; deterministic per seed.

    Letters arrive over the ``span_days`` before ``now`` (naive WIB; default the state's clock)
    and go to the year directory of their ``tgl_dibuat``, which is added if missing; their
    dispositions go to the same directory. ``dispositions`` defaults to what the SOP walk gives
    (about two per letter); a number is met exactly by adding follow-ups or trimming chains.
    """
    if letters < 0 or (dispositions is not None and dispositions < 0):
        raise ValueError("counts must not be negative")
    if letters == 0 and dispositions:
        raise ValueError("dispositions need letters")
    rng = random.Random(seed)
    calendar = _Calendar(now if now is not None else local_now(), span_days)
    planned = sorted(
        (_plan_letter(rng, calendar, request_share) for _ in range(letters)),
        key=lambda letter: letter.created,
    )
    _add_ties(rng, planned)
    _store_letters(state, planned)
    chains = [_chain(rng, calendar, letter) for letter in planned]
    if dispositions is not None:
        _fit(rng, calendar, planned, chains, dispositions)
    stored = _store_dispositions(state, rng, planned, chains)
    return _summary(planned, stored)


# --------------------------------------------------------------------------------------------
# Time


class _Calendar:
    """Office-hour arithmetic on naive WIB datetimes, bounded by ``now``."""

    def __init__(self, now: datetime, span_days: int) -> None:
        self.now = now.replace(microsecond=0)
        self.span_seconds = max(span_days, 1) * 86_400
        self._slots = self._office_days(span_days)

    def _office_days(self, span_days: int) -> list[tuple[datetime, int]]:
        """List (opening time, seconds open before ``now``) for each working day in the span."""
        slots = []
        day = (self.now - timedelta(days=span_days)).replace(hour=0, minute=0, second=0)
        while day <= self.now:
            opening = day.replace(hour=_OFFICE_OPEN[0], minute=_OFFICE_OPEN[1])
            # Stop a minute before now, so nothing is stamped in the future.
            window = min(_OFFICE_SECONDS, int((self.now - opening).total_seconds()) - 60)
            if day.weekday() < 5 and window > 0:
                slots.append((opening, window))
            day += timedelta(days=1)
        return slots

    def arrival(self, rng: random.Random) -> datetime:
        """Draw a letter's ``tgl_dibuat``: mostly office hours on working days, at times not."""
        if not self._slots or rng.random() < 0.04:
            return self.now - timedelta(seconds=rng.randrange(60, self.span_seconds))
        opening, window = rng.choice(self._slots)
        return opening + timedelta(seconds=rng.randrange(window))

    def after(self, rng: random.Random, start: datetime, low_h: float, high_h: float) -> datetime:
        """Draw a time ``low_h``..``high_h`` hours after ``start``, mostly in office hours."""
        moment = start + timedelta(seconds=int(rng.uniform(low_h, high_h) * _HOUR))
        # One in ten is left where it fell: people dispose from the mobile app at night too.
        return moment if rng.random() < 0.1 else _into_office_hours(moment)


def _into_office_hours(moment: datetime) -> datetime:
    """Move a time to the next office hour: evenings to next morning, weekends to Monday."""
    if moment.hour >= 17:
        moment = (moment + timedelta(days=1)).replace(hour=8)
    elif moment.hour < 7:
        moment = moment.replace(hour=8)
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


def _stamp(moment: datetime) -> str:
    """Sisumaker's "YYYY-MM-DD HH:MM:SS"."""
    return moment.isoformat(sep=" ", timespec="seconds")


# --------------------------------------------------------------------------------------------
# Letters


@dataclass(slots=True)
class _Letter:
    """A letter being generated: its times, its kind, its fields, later its id."""

    created: datetime
    registered: datetime | None
    is_request: bool
    fields: dict[str, Any]
    letter_id: str = ""

    @property
    def year(self) -> int:
        """The year directory the letter lives in."""
        return self.created.year


class _Slots(dict[str, str]):
    """Fills a subject template's placeholders on demand, drawing only the ones it uses."""

    def __init__(self, rng: random.Random, opd: _Opd, year: int) -> None:
        super().__init__()
        self._rng = rng
        self._opd = opd
        self._year = year

    def __missing__(self, key: str) -> str:
        if key == "app":
            return self._rng.choice(self._opd.apps)
        if key == "year":
            return str(self._year)
        return self._rng.choice(_SLOT_VALUES[key])


def _plan_letter(rng: random.Random, calendar: _Calendar, request_share: float) -> _Letter:
    """Draw one letter: who sends it, about what, when it arrives and is registered."""
    opd = rng.choice(_OPDS)
    created = calendar.arrival(rng)
    is_request = rng.random() < request_share
    subjects = _REQUEST_SUBJECTS if is_request else _non_request_subjects(rng)
    perihal = rng.choice(subjects).format_map(_Slots(rng, opd, created.year))
    registered = _registration(rng, calendar, created)
    sifat = rng.choices(_SIFAT, _SIFAT_WEIGHTS)[0]
    fields = {
        "asal_surat": _messy(rng, opd.name, 0.08),
        "pengirim": opd.head if rng.random() < 0.6 else _person(rng),
        "perihal": _messy(rng, perihal, 0.2),
        "nomor_surat": _letter_number(rng, opd, created),
        "tgl_dibuat": _stamp(created),
        "tgl_diterimaTU": _stamp(registered) if registered else None,
        "tgl_dikirim": _sent_on(rng, calendar, created),
        "n_sifatsurat": sifat,
        "status_dibaca": "1" if registered and rng.random() < 0.85 else "0",
        "status_setujui": "1" if rng.random() < 0.3 else "0",
        "photo": _PHOTO,
    }
    return _Letter(created, registered, is_request, fields)


def _non_request_subjects(rng: random.Random) -> tuple[str, ...]:
    """Pick the subjects of a non-request: a third are decoys that talk about applications."""
    return _DECOY_SUBJECTS if rng.random() < 0.33 else _OTHER_SUBJECTS


def _registration(rng: random.Random, calendar: _Calendar, created: datetime) -> datetime | None:
    """When the front office registered the letter (tgl_diterimaTU); None if not yet."""
    if rng.random() < 0.03:
        return None  # forgotten in the tray
    registered = calendar.after(rng, created, 0.15, 26)
    return registered if registered <= calendar.now else None


def _sent_on(rng: random.Random, calendar: _Calendar, created: datetime) -> str:
    """``tgl_dikirim``: the day of creation, or the next one if that is not in the future."""
    sent = created + timedelta(days=1) if rng.random() < 0.3 else created
    return (sent if sent <= calendar.now else created).strftime("%d-%m-%Y")


def _person(rng: random.Random) -> str:
    """Make up an official's name with the usual titles."""
    return (
        f"{rng.choice(_PREFIXES)}{rng.choice(_FIRST_NAMES)} "
        f"{rng.choice(_LAST_NAMES)}{rng.choice(_SUFFIXES)}"
    )


def _letter_number(rng: random.Random, opd: _Opd, created: datetime) -> str:
    """Make up a letter number in one of the formats agencies use."""
    classification = rng.choice(_CLASSIFICATIONS)
    number = rng.randint(1, 2999)
    month = _ROMAN_MONTHS[created.month - 1]
    if rng.random() < 0.7:
        return f"{classification}/{number}-{opd.code}/{month}/{created.year}"
    return f"{classification}/ {number} /{opd.code.upper()}/{created.year}"


def _messy(rng: random.Random, text: str, rate: float) -> str:
    """Return ``text``, or with probability ``rate`` a version typed carelessly."""
    if rng.random() >= rate:
        return text
    roll = rng.randrange(7)
    if roll == 0:
        return text.upper()
    if roll == 1:
        return text.replace(" ", "  ", 1)
    if roll == 2:
        return text + rng.choice((".", "..", " .", ",", " -", ";"))
    if roll == 3:
        return f"{text} {rng.choice(_EMOJI)}"
    if roll == 4:
        return f"<b>{text}</b>"
    if roll == 5:
        return f"  {text} "
    return text.lower()


def _add_ties(rng: random.Random, letters: list[_Letter]) -> None:
    """Give about 2% of letters the timestamp of the one before: ids must break the tie."""
    for index in range(1, len(letters)):
        if rng.random() < 0.02:
            previous = letters[index - 1]
            letters[index].created = previous.created
            letters[index].fields["tgl_dibuat"] = previous.fields["tgl_dibuat"]


def _store_letters(state: SimState, letters: list[_Letter]) -> None:
    """Add the letters, oldest first so ids grow with time, and remember their ids."""
    by_year: dict[int, list[_Letter]] = defaultdict(list)
    for letter in letters:
        by_year[letter.year].append(letter)
    for year, group in by_year.items():
        state.add_year(year)
        ids = state.add_letters(year, [letter.fields for letter in group])
        for letter, letter_id in zip(group, ids, strict=True):
            letter.letter_id = letter_id


# --------------------------------------------------------------------------------------------
# Dispositions


@dataclass(frozen=True, slots=True)
class _Step:
    """One planned disposition."""

    when: datetime
    source: _Role
    target: _Role
    isi: str


def _chain(rng: random.Random, calendar: _Calendar, letter: _Letter) -> list[_Step]:
    """Plan the dispositions a letter got so far, following the SOP for requests."""
    if letter.registered is None:
        return []  # the front office disposes only what it has registered
    roll = rng.random()
    if roll < (0.08 if letter.is_request else 0.10):
        return []  # registered, not yet disposed
    steps = [_to_head(rng, calendar, letter.registered)]
    if roll < (0.23 if letter.is_request else 0.35):
        return _until_now(calendar, steps)  # stops at step 2
    if letter.is_request:
        # Step 3 goes to the IT division, except for a few sent to another division.
        to_it = roll >= 0.31
        target = _IT_HEAD if to_it else rng.choice(_OTHER_DIVISIONS)
    else:
        to_it = False
        target = _IT_HEAD if rng.random() < 0.3 else rng.choice(_OTHER_DIVISIONS)
    isi = _ISI_TO_IT if to_it else _ISI_TO_DIVISION
    steps.append(_step(rng, calendar, steps[-1], target, texts=isi, hours=(1, 40)))
    if rng.random() < (0.5 if to_it else 0.2):
        staff = rng.choice(_STAFF)
        steps.append(_step(rng, calendar, steps[-1], staff, texts=_ISI_TO_STAFF, hours=(0.5, 24)))
    return _until_now(calendar, steps)


def _to_head(rng: random.Random, calendar: _Calendar, registered: datetime) -> _Step:
    """Step 2: the front office disposes to the Head, a few hours after registering.

    About 3% are dated before the registration, as happens when it is backdated.
    """
    if rng.random() < 0.03:
        when = registered - timedelta(seconds=int(rng.uniform(0.5, 5) * _HOUR))
    else:
        when = calendar.after(rng, registered, 0.25, 5)
    return _Step(when, rng.choice(_FRONT_OFFICE), _HEAD, rng.choice(_ISI_TO_HEAD))


def _step(
    rng: random.Random,
    calendar: _Calendar,
    previous: _Step,
    target: _Role,
    *,
    texts: tuple[str, ...],
    hours: tuple[float, float],
) -> _Step:
    """Plan the next disposition: the previous receiver forwards to ``target`` later."""
    when = calendar.after(rng, previous.when, *hours)
    return _Step(when, previous.target, target, rng.choice(texts))


def _until_now(calendar: _Calendar, steps: list[_Step]) -> list[_Step]:
    """Cut the chain at the first step that would lie in the future: it has not happened."""
    for index, step in enumerate(steps):
        if step.when > calendar.now:
            return steps[:index]
    return steps


def _fit(
    rng: random.Random,
    calendar: _Calendar,
    letters: list[_Letter],
    chains: list[list[_Step]],
    target: int,
) -> None:
    """Add follow-ups to, or trim the tails of, random chains until there are ``target``."""
    total = sum(len(chain) for chain in chains)
    while total < target:
        index = rng.randrange(len(letters))
        chains[index].append(_follow_up(rng, calendar, letters[index], chains[index]))
        total += 1
    while total > target:
        chain = chains[rng.randrange(len(chains))]
        if chain:
            chain.pop()
            total -= 1


def _follow_up(
    rng: random.Random, calendar: _Calendar, letter: _Letter, chain: list[_Step]
) -> _Step:
    """One more disposition for a letter, never later than now."""
    if not chain:
        start = letter.registered or letter.created
        step = _to_head(rng, calendar, start)
    else:
        staff = rng.choice(_STAFF)
        step = _step(rng, calendar, chain[-1], staff, texts=_ISI_TO_STAFF, hours=(0.5, 30))
    if step.when <= calendar.now:
        return step
    latest = chain[-1].when if chain else letter.created
    span = max((calendar.now - latest).total_seconds(), 0)
    return replace(step, when=latest + timedelta(seconds=int(rng.random() * span)))


def _disposition_fields(rng: random.Random, letter: _Letter, step: _Step) -> dict[str, Any]:
    """Build the list item of one planned disposition."""
    return {
        "id_persuratan": letter.letter_id,
        "dari_pegawai_id": step.source.pegawai_id,
        "dari_jabatan": _messy(rng, rng.choice(step.source.titles), 0.05),
        "kepada_pegawai_id": step.target.pegawai_id,
        "kepada_jabatan": _messy(rng, rng.choice(step.target.titles), 0.05),
        "isi_disposisi": _messy(rng, step.isi, 0.1),
        "tgl_disposisi": _stamp(step.when),
        "status_baca": "1" if rng.random() < 0.85 else "0",
    }


def _store_dispositions(
    state: SimState, rng: random.Random, letters: list[_Letter], chains: list[list[_Step]]
) -> dict[int, int]:
    """Add the dispositions to their letters' directories, oldest first; count per year."""
    planned = sorted(
        ((step.when, letter, step) for letter, chain in zip(letters, chains, strict=True)
         for step in chain),
        key=lambda entry: entry[0],
    )  # fmt: skip
    by_year: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for _, letter, step in planned:
        by_year[letter.year].append(_disposition_fields(rng, letter, step))
    for year, items in by_year.items():
        state.add_dispositions(year, items)
    return {year: len(items) for year, items in by_year.items()}


def _summary(letters: list[_Letter], dispositions: Mapping[int, int]) -> GenerationSummary:
    counts: dict[int, int] = defaultdict(int)
    requests: dict[int, list[str]] = defaultdict(list)
    for letter in letters:
        counts[letter.year] += 1
        if letter.is_request:
            requests[letter.year].append(letter.letter_id)
    years = sorted(set(counts) | set(dispositions))
    return GenerationSummary(
        letters=len(letters),
        dispositions=sum(dispositions.values()),
        by_year={year: (counts.get(year, 0), dispositions.get(year, 0)) for year in years},
        request_ids={year: tuple(ids) for year, ids in sorted(requests.items())},
    )
