"""The simulated Sisumaker's memory: year directories, lists, pushed items, tokens, faults.

Everything lives behind one lock, so the HTTP handler threads and the test code driving the
simulator never see half an update. Each year directory keeps its letters and dispositions
sorted by (timestamp, numeric id), so a newest-first page is a slice counted from the end, and
caches each item's JSON, so a page response is a join of ready-made bytes.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final, Literal

WIB: Final = timezone(timedelta(hours=7), "WIB")
"""Kota Tangerang Selatan's zone: a fixed offset, Indonesia has no daylight saving time."""

TIMESTAMP_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
SENT_ON_FORMAT: Final = "%d-%m-%Y"
EVENT_FORMAT: Final = "%Y-%m-%d %H:%M"

DEFAULT_USERNAME: Final = "diskominfo.tu"
DEFAULT_PASSWORD: Final = "rahasia-sim"
DEFAULT_TOKEN_TTL: Final = 30 * 24 * 3600.0

LETTER_FIELDS: Final = (
    "id_persuratan", "id_compose", "asal_surat", "pengirim", "perihal", "nomor_surat",
    "tgl_dibuat", "tgl_diterimaTU", "tgl_dikirim", "n_sifatsurat", "id_sifatsurat",
    "status_dibaca", "status_setujui", "photo", "filter_by",
)  # fmt: skip
DISPOSITION_FIELDS: Final = (
    "id_disposisi", "id_persuratan", "dari_pegawai_id", "dari_jabatan", "kepada_pegawai_id",
    "kepada_jabatan", "isi_disposisi", "tgl_disposisi", "status_baca",
)  # fmt: skip
DRAFT_FIELDS: Final = (
    "jenis_surat", "tujuan", "perihal", "isi", "tgl_acara", "tempat",
    "penandatangan_jabatan", "id_persuratan_rujukan", "ref",
)  # fmt: skip
DRAFT_WAITING: Final = "Menunggu Tanda Tangan"
DRAFT_SIGNED: Final = "Ditandatangani"
DRAFT_RETURNED: Final = "Dikembalikan"
DRAFT_REQUIRED: Final = ("jenis_surat", "tujuan", "perihal", "isi", "penandatangan_jabatan")
INVITATION_REQUIRED: Final = ("tgl_acara", "tempat")

# The contract says every id is a string; integers given by Python callers are converted.
ID_FIELDS: Final = frozenset(
    {"id_persuratan", "id_compose", "id_sifatsurat", "id_disposisi", "dari_pegawai_id",
     "kepada_pegawai_id"}
)  # fmt: skip
SIFAT_IDS: Final = {"Biasa": "1", "Segera": "2", "Sangat Segera": "3", "Rahasia": "4"}

LETTER_NOT_FOUND: Final = "Surat tidak ditemukan"
DISPOSITION_NOT_FOUND: Final = "Disposisi tidak ditemukan"

Item = dict[str, Any]

# Compact separators, as PHP's json_encode writes; ASCII escapes, as PHP does by default.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"))


class NotFoundError(LookupError):
    """A year, letter or disposition the state does not hold."""


class InvalidInputError(ValueError):
    """Input the simulator refuses: unknown field, bad id, missing required field."""


# --------------------------------------------------------------------------------------------
# Small helpers


def full_year(year: int | str) -> int:
    """Return the four-digit year for 2026, "2026", 26 or "26" (Sisumaker speaks two digits)."""
    try:
        value = int(year)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"not a year: {year!r}") from exc
    if 0 <= value < 100:
        value += 2000
    if not 2000 <= value <= 2099:
        raise InvalidInputError(f"year out of range: {year!r}")
    return value


def year_dir(year: int) -> str:
    """Return the directory of a year's application, e.g. ``/surattangsel26`` for 2026."""
    return f"/surattangsel{year % 100:02d}"


def local_now(clock: Callable[[], float] = time.time) -> datetime:
    """Return the current WIB wall-clock time, naive, to the second, as Sisumaker stores it."""
    return datetime.fromtimestamp(int(clock()), WIB).replace(tzinfo=None)


def _numeric_id(value: object) -> int:
    """Return an item id as an int; ids must be decimal digits so they order numerically."""
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        raise InvalidInputError(f"an id must be decimal digits, not {value!r}")
    return int(text)


def _normalise(name: str, value: Any) -> Any:
    """Format datetimes and dates the way the field carries them; turn integer ids into strings."""
    if value is None or type(value) is str:
        return value  # the common case, first: bulk loads pass strings
    if isinstance(value, datetime):
        return value.strftime(SENT_ON_FORMAT if name == "tgl_dikirim" else TIMESTAMP_FORMAT)
    if isinstance(value, date):
        return value.strftime(SENT_ON_FORMAT if name == "tgl_dikirim" else "%Y-%m-%d")
    if name in ID_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _check_fields(given: Iterable[str], allowed: tuple[str, ...]) -> None:
    """Refuse unknown field names, so a typo in a test cannot pass unnoticed."""
    unknown = set(given) - set(allowed)
    if unknown:
        raise InvalidInputError(f"unknown field(s): {', '.join(sorted(unknown))}")


def _sent_on(created: object) -> str:
    """Derive ``tgl_dikirim`` (DD-MM-YYYY) from a ``tgl_dibuat`` string, if it parses."""
    try:
        return datetime.strptime(str(created), TIMESTAMP_FORMAT).strftime(SENT_ON_FORMAT)
    except ValueError:
        return ""


def _blank(value: object) -> bool:
    """Tell whether a required field counts as missing: absent, null or only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------------------------
# JWT (HS256), enough of it to issue and check the simulator's own tokens


def _b64encode(data: bytes) -> str:
    """Base64url without padding, as JWT wants it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Reverse :func:`_b64encode`, restoring the padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims: Mapping[str, Any], secret: bytes) -> str:
    """Sign ``claims`` as an HS256 JWT."""
    header = _b64encode(_ENCODER.encode({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64encode(_ENCODER.encode(dict(claims)).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64encode(signature)}"


def decode_jwt(token: str, secret: bytes) -> dict[str, Any] | None:
    """Return the claims of an HS256 JWT signed with ``secret``; None if malformed or forged."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64decode(parts[0]))
        expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256)
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        if not hmac.compare_digest(expected.digest(), _b64decode(parts[2])):
            return None
        claims = json.loads(_b64decode(parts[1]))
    except (ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


# --------------------------------------------------------------------------------------------
# Faults


def _check_number(name: str, value: object, low: float, high: float) -> None:
    """Refuse a fault option that is not a number within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInputError(f"{name} must be a number from {low} to {high}, not {value!r}")


_RATE_OPTIONS: Final = (
    "error_rate", "rate_limit_rate", "drop_rate", "truncate_rate",
    "post_timeout_after_create_rate",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Which failures the contract endpoints inject, each with a probability per request.

    All off by default. The ``/_sim/`` admin API is never affected.
    """

    error_rate: float = 0.0
    error_codes: tuple[int, ...] = (500, 502, 503)
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    latency_ms: float = 0.0
    post_timeout_after_create_rate: float = 0.0
    post_timeout_action: Literal["drop", "sleep"] = "drop"
    post_timeout_sleep_ms: float = 5000.0
    seed: int | None = None

    def __post_init__(self) -> None:
        """Validate, so a bad ``/_sim/faults`` body fails there and not inside a request."""
        for name in _RATE_OPTIONS:
            _check_number(name, getattr(self, name), 0.0, 1.0)
        _check_number("latency_ms", self.latency_ms, 0, 600_000)
        _check_number("post_timeout_sleep_ms", self.post_timeout_sleep_ms, 0, 600_000)
        if isinstance(self.retry_after, bool) or not isinstance(self.retry_after, int):
            raise InvalidInputError("retry_after must be whole seconds")
        _check_number("retry_after", self.retry_after, 0, 86_400)
        codes_ok = all(type(code) is int and 400 <= code <= 599 for code in self.error_codes)
        if not self.error_codes or not codes_ok:
            raise InvalidInputError("error_codes must be HTTP error statuses (400-599)")
        if self.post_timeout_action not in ("drop", "sleep"):
            raise InvalidInputError('post_timeout_action must be "drop" or "sleep"')
        if self.seed is not None and (isinstance(self.seed, bool) or type(self.seed) is not int):
            raise InvalidInputError("seed must be an integer")

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> FaultConfig:
        """Build from JSON-like options; absent options are off, unknown ones are refused."""
        _check_fields(options, tuple(item.name for item in fields(cls)))
        values = dict(options)
        if "error_codes" in values:
            codes = values["error_codes"]
            if not isinstance(codes, list | tuple):
                raise InvalidInputError("error_codes must be a list")
            values["error_codes"] = tuple(codes)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Return the options as JSON-ready values."""
        data = asdict(self)
        data["error_codes"] = list(self.error_codes)
        return data


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What goes wrong with one contract request, drawn before the request is served."""

    latency_s: float = 0.0
    drop: bool = False
    error_status: int | None = None
    retry_after: int | None = None
    truncate: bool = False
    post_timeout: Literal["drop", "sleep"] | None = None
    post_timeout_s: float = 0.0


# --------------------------------------------------------------------------------------------
# The signer


RETURN_REASONS: Final = (
    "Mohon perbaiki tanggal rapat, bertepatan dengan agenda Kepala Dinas",
    "Tujuan surat kurang lengkap, mohon sebutkan jabatan kepala OPD",
    "Mohon tambahkan narahubung dan nomor telepon pada isi undangan",
    "Tempat rapat dipindah ke Ruang Rapat Bidang PTIKP lantai 3",
)


@dataclass(frozen=True, slots=True)
class SignerConfig:
    """How the simulated signer (the IT division head) answers each draft.

    Deterministic: each draft's answer is drawn from ``seed`` and its ``id_compose``, and
    comes when the state's clock reaches it (signing happens in office hours, Monday to
    Friday, 08:00-16:00 WIB). Most drafts are signed within a day, some late, a few returned.
    """

    seed: int = 0
    returned_rate: float = 0.08
    late_rate: float = 0.12
    on_time_hours: tuple[float, float] = (0.5, 6.0)  # office hours after the draft
    late_hours: tuple[float, float] = (18.0, 40.0)
    return_hours: tuple[float, float] = (0.5, 8.0)

    def __post_init__(self) -> None:
        """Refuse rates outside 0..1 and hour ranges that run backwards."""
        _check_number("returned_rate", self.returned_rate, 0.0, 1.0)
        _check_number("late_rate", self.late_rate, 0.0, 1.0)
        for name in ("on_time_hours", "late_hours", "return_hours"):
            low, high = getattr(self, name)
            _check_number(f"{name}[0]", low, 0.0, 10_000.0)
            _check_number(f"{name}[1]", high, low, 10_000.0)

    def answer(self, id_compose: str, drafted: datetime) -> tuple[datetime, bool]:
        """When the signer answers a draft made at ``drafted`` (naive WIB), and if it signs."""
        rng = random.Random(f"{self.seed}:{id_compose}")
        draw = rng.random()
        if draw < self.returned_rate:
            hours, signs = self.return_hours, False
        elif draw < self.returned_rate + self.late_rate:
            hours, signs = self.late_hours, True
        else:
            hours, signs = self.on_time_hours, True
        return _office_hours_after(drafted, rng.uniform(*hours)), signs


_OFFICE_OPEN: Final = 8
_OFFICE_CLOSE: Final = 16


def _office_hours_after(start: datetime, hours: float) -> datetime:
    """The moment ``hours`` office hours (Mon-Fri 08:00-16:00) after ``start``."""
    left = timedelta(hours=hours)
    moment = start
    while True:
        if moment.weekday() >= 5 or moment.hour >= _OFFICE_CLOSE:
            moment = (moment + timedelta(days=1)).replace(hour=_OFFICE_OPEN, minute=0, second=0)
            continue
        if moment.hour < _OFFICE_OPEN:
            moment = moment.replace(hour=_OFFICE_OPEN, minute=0, second=0)
        closing = moment.replace(hour=_OFFICE_CLOSE, minute=0, second=0)
        if moment + left <= closing:
            return (moment + left).replace(microsecond=0)
        left -= closing - moment
        moment = closing


# --------------------------------------------------------------------------------------------
# Per-year storage


class _Table:
    """One list (letters or dispositions) of one year, ordered for newest-first offset pages.

    ``_keys`` stays sorted ascending by (timestamp string, numeric id): "YYYY-MM-DD HH:MM:SS"
    sorts like the time it names, and the id breaks ties. The newest item is last, so a page is
    a slice counted from the end and costs O(per_page) whatever the table's size.
    """

    def __init__(self, id_field: str, date_field: str) -> None:
        self.id_field = id_field
        self.date_field = date_field
        self._keys: list[tuple[str, int]] = []
        self._items: dict[int, Item] = {}
        self._json: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, item_id: int, missing: str) -> Item:
        """Return the stored item (not a copy); NotFoundError with ``missing`` if absent."""
        try:
            return self._items[item_id]
        except KeyError:
            raise NotFoundError(missing) from None

    def insert(self, items: list[Item]) -> None:
        """Add items with new ids; a batch is appended and sorted once instead of bisected."""
        keys = [self._key(item) for item in items]
        new_ids = {key[1] for key in keys}
        if len(new_ids) != len(keys) or not new_ids.isdisjoint(self._items):
            raise InvalidInputError(f"duplicate {self.id_field}")
        for key, item in zip(keys, items, strict=True):
            self._items[key[1]] = item
        if len(keys) > 16:
            # Timsort merges the already sorted list and the new run in about linear time.
            self._keys.extend(keys)
            self._keys.sort()
        else:
            for key in keys:
                bisect.insort(self._keys, key)

    def replace(self, item: Item) -> None:
        """Swap in a changed version of a stored item (same id), moving it if its date moved."""
        new_key = self._key(item)
        old_key = self._key(self._items[new_key[1]])
        if old_key != new_key:
            del self._keys[bisect.bisect_left(self._keys, old_key)]
            bisect.insort(self._keys, new_key)
        self._items[new_key[1]] = item
        self._json.pop(new_key[1], None)

    def remove(self, item_id: int, missing: str) -> None:
        """Delete an item; NotFoundError with ``missing`` if absent."""
        key = self._key(self.get(item_id, missing))
        del self._keys[bisect.bisect_left(self._keys, key)]
        del self._items[item_id]
        self._json.pop(item_id, None)

    def page(self, offset: int, limit: int) -> list[bytes]:
        """Return the JSON of items ``offset`` to ``offset + limit`` counted from the newest."""
        end = len(self._keys) - offset
        if end <= 0 or limit <= 0:
            return []
        window = self._keys[max(0, end - limit) : end]
        return [self._fragment(item_id) for _, item_id in reversed(window)]

    def page_before(self, key: tuple[str, int] | None,
                    limit: int) -> tuple[list[bytes], tuple[str, int] | None]:
        """Up to ``limit`` items older than ``key`` (None: from the newest), newest first.

        Also the key to continue from, None at the end: a keyset cursor, which an item added
        or removed above it does not move.
        """
        end = len(self._keys) if key is None else bisect.bisect_left(self._keys, key)
        start = max(0, end - max(limit, 0))
        window = self._keys[start:end]
        items = [self._fragment(item_id) for _, item_id in reversed(window)]
        return items, (window[0] if window and start > 0 else None)

    def newest_first(self) -> Iterator[Item]:
        """Iterate the stored items from the newest."""
        for _, item_id in reversed(self._keys):
            yield self._items[item_id]

    def fragment(self, item: Item) -> bytes:
        """Return the cached JSON of a stored item."""
        return self._fragment(int(item[self.id_field]))

    def warm(self) -> None:
        """Serialise every item now rather than on its first page."""
        for item_id in self._items:
            self._fragment(item_id)

    def _fragment(self, item_id: int) -> bytes:
        cached = self._json.get(item_id)
        if cached is None:
            cached = _ENCODER.encode(self._items[item_id]).encode("ascii")
            self._json[item_id] = cached
        return cached

    def _key(self, item: Item) -> tuple[str, int]:
        stamp = item[self.date_field]
        if not isinstance(stamp, str):
            raise InvalidInputError(f"{self.date_field} must be a string")
        return stamp, _numeric_id(item[self.id_field])


@dataclass(slots=True)
class _Year:
    """Everything one year directory holds."""

    year: int
    letters: _Table = field(default_factory=lambda: _Table("id_persuratan", "tgl_dibuat"))
    dispositions: _Table = field(default_factory=lambda: _Table("id_disposisi", "tgl_disposisi"))
    notes: dict[str, list[Item]] = field(default_factory=dict)
    drafts: list[Item] = field(default_factory=list)
    # id_compose -> (when the signer answers, whether it signs), for drafts still waiting.
    answers: dict[str, tuple[datetime, bool]] = field(default_factory=dict)
    signed: int = 0  # letters signed so far: the sequence in their numbers

    @property
    def dir(self) -> str:
        """The year directory, e.g. ``/surattangsel26``."""
        return year_dir(self.year)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: the items' cached JSON, and the total the envelope reports."""

    fragments: list[bytes]
    total: int


# --------------------------------------------------------------------------------------------
# The state


class SimState:
    """All the simulated Sisumaker holds, safe to use from many threads at once.

    ``years`` defaults to the previous and the current year (WIB). ``token_ttl`` is in seconds;
    0 issues tokens that are already expired. ``clock`` returns Unix time and drives token
    expiry and the timestamps of created notes, drafts and defaulted items.
    """

    def __init__(
        self,
        *,
        years: Iterable[int | str] | None = None,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        secret: bytes | None = None,
        fractional_total_page: bool = False,
        clock: Callable[[], float] = time.time,
        signer: SignerConfig | None = None,
    ) -> None:
        # ``signer`` None: the default signer (seed 0); give SignerConfig(returned_rate=0,
        # ...) to shape it, or call sign_draft / return_draft for an exact script.
        self._signer = signer if signer is not None else SignerConfig()
        self._lock = threading.Lock()
        self._clock = clock
        self._username = username
        self._password = password
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._token_ttl = float(token_ttl)
        self._fractional_total_page = fractional_total_page
        self._years: dict[int, _Year] = {}
        # Ids are unique across years: simpler to follow in logs than per-year sequences.
        self._next_ids = {"letter": 80001, "disposition": 300001, "compose": 50001, "note": 9001}
        self._live_tokens: set[str] = set()
        self._tokens_issued = 0
        self._requests: Counter[str] = Counter()
        self._responses: Counter[str] = Counter()
        self._faults_applied: Counter[str] = Counter()
        self._posts_by_ref: Counter[str] = Counter()
        self._errors: list[str] = []
        self._faults = FaultConfig()
        self._fault_rng = random.Random()
        current = local_now(clock).year
        for year in years if years is not None else (current - 1, current):
            self.add_year(year)

    # -- settings ------------------------------------------------------------------------------

    @property
    def username(self) -> str:
        """The one account's user name."""
        return self._username

    @property
    def password(self) -> str:
        """The one account's password."""
        return self._password

    @property
    def token_ttl(self) -> float:
        """Seconds between a token's ``iat`` and ``exp``."""
        return self._token_ttl

    @property
    def fractional_total_page(self) -> bool:
        """Whether ``total_page`` is sent as ``total / per_page`` (e.g. 2.5) instead of ceil."""
        return self._fractional_total_page

    def configure(
        self, *, token_ttl: float | None = None, fractional_total_page: bool | None = None
    ) -> dict[str, Any]:
        """Change settings at run time; return them all."""
        with self._lock:
            if token_ttl is not None:
                _check_number("token_ttl", token_ttl, 0, 10 * 365 * 86_400)
                self._token_ttl = float(token_ttl)
            if fractional_total_page is not None:
                self._fractional_total_page = bool(fractional_total_page)
            return {
                "token_ttl": self._token_ttl,
                "fractional_total_page": self._fractional_total_page,
            }

    def now(self) -> datetime:
        """Return the current WIB wall-clock time, naive, from the state's clock."""
        return local_now(self._clock)

    # -- years ---------------------------------------------------------------------------------

    @property
    def years(self) -> list[int]:
        """The years held, ascending."""
        with self._lock:
            return sorted(self._years)

    def add_year(self, year: int | str) -> str:
        """Hold a year's directory (no-op if held); return its path."""
        number = full_year(year)
        with self._lock:
            self._years.setdefault(number, _Year(number))
        return year_dir(number)

    def directories(self) -> dict[str, str]:
        """Return the ``/api/auth/domain`` answer: ``{"dir25": "/surattangsel25", ...}``."""
        with self._lock:
            return {f"dir{year % 100:02d}": year_dir(year) for year in sorted(self._years)}

    def year_of_dir(self, path: str) -> int | None:
        """Return the year a directory path belongs to, or None if no held year has it."""
        with self._lock:
            for year in self._years:
                if year_dir(year) == path:
                    return year
        return None

    # -- letters and dispositions ----------------------------------------------------------------

    def add_letter(self, year: int | str, **fields: Any) -> str:
        """Add one letter; absent fields get defaults (``tgl_dibuat`` = now); return its id."""
        return self.add_letters(year, [fields])[0]

    def add_letters(self, year: int | str, items: Iterable[Mapping[str, Any]]) -> list[str]:
        """Add many letters at once (much faster than one by one); return their ids in order."""
        with self._lock:
            data = self._year(year)
            now = local_now(self._clock).strftime(TIMESTAMP_FORMAT)
            built = [self._letter_item(fields, now) for fields in items]
            data.letters.insert(built)
        return [item["id_persuratan"] for item in built]

    def add_disposition(self, year: int | str, **fields: Any) -> str:
        """Add one disposition (``id_persuratan`` required); return its id."""
        return self.add_dispositions(year, [fields])[0]

    def add_dispositions(self, year: int | str, items: Iterable[Mapping[str, Any]]) -> list[str]:
        """Add many dispositions at once; return their ids in order."""
        with self._lock:
            data = self._year(year)
            now = local_now(self._clock).strftime(TIMESTAMP_FORMAT)
            built = [self._disposition_item(fields, now) for fields in items]
            data.dispositions.insert(built)
        return [item["id_disposisi"] for item in built]

    def update_letter(self, year: int | str, letter_id: str | int, **changes: Any) -> Item:
        """Change a letter in place (e.g. fill ``tgl_diterimaTU``); return the new version."""
        return self._update(year, letter_id, changes, kind="letters")

    def update_disposition(
        self, year: int | str, disposition_id: str | int, **changes: Any
    ) -> Item:
        """Change a disposition in place (e.g. ``status_baca``); return the new version."""
        return self._update(year, disposition_id, changes, kind="dispositions")

    def remove_letter(self, year: int | str, letter_id: str | int) -> None:
        """Delete a letter (its notes stay); NotFoundError if absent."""
        with self._lock:
            table = self._year(year).letters
            table.remove(_numeric_id(letter_id), LETTER_NOT_FOUND)

    def remove_disposition(self, year: int | str, disposition_id: str | int) -> None:
        """Delete a disposition; NotFoundError if absent."""
        with self._lock:
            table = self._year(year).dispositions
            table.remove(_numeric_id(disposition_id), DISPOSITION_NOT_FOUND)

    def letter(self, year: int | str, letter_id: str | int) -> Item:
        """Return a copy of one letter; NotFoundError if absent."""
        with self._lock:
            return dict(self._year(year).letters.get(_numeric_id(letter_id), LETTER_NOT_FOUND))

    def disposition(self, year: int | str, disposition_id: str | int) -> Item:
        """Return a copy of one disposition; NotFoundError if absent."""
        with self._lock:
            table = self._year(year).dispositions
            return dict(table.get(_numeric_id(disposition_id), DISPOSITION_NOT_FOUND))

    def letters(self, year: int | str) -> list[Item]:
        """Return copies of a year's letters, newest first."""
        with self._lock:
            return [dict(item) for item in self._year(year).letters.newest_first()]

    def dispositions(self, year: int | str) -> list[Item]:
        """Return copies of a year's dispositions, newest first."""
        with self._lock:
            return [dict(item) for item in self._year(year).dispositions.newest_first()]

    def letter_page(
        self, year: int | str, *, offset: int, limit: int, search: str | None = None
    ) -> Page:
        """Return a newest-first page of letters, filtered by the ``search`` parameter.

        No search lists all (cheap slice). "1" lists the unread, "2" the read (the mobile
        client's use of the parameter); any other text matches perihal, asal_surat, pengirim
        or nomor_surat, case-insensitively. Filtered pages scan the whole list.
        """
        keep = _letter_filter(search)
        with self._lock:
            table = self._year(year).letters
            if keep is None:
                return Page(table.page(offset, limit), len(table))
            matches = [item for item in table.newest_first() if keep(item)]
            chosen = matches[offset : offset + limit] if limit > 0 else []
            return Page([table.fragment(item) for item in chosen], len(matches))

    def disposition_page(self, year: int | str, *, offset: int, limit: int) -> Page:
        """Return a newest-first page of dispositions."""
        with self._lock:
            table = self._year(year).dispositions
            return Page(table.page(offset, limit), len(table))

    def letter_page_before(self, year: int | str, key: tuple[str, int] | None,
                           limit: int) -> tuple[Page, tuple[str, int] | None]:
        """A newest-first page of letters older than ``key``, and the key to go on from."""
        with self._lock:
            table = self._year(year).letters
            fragments, next_key = table.page_before(key, limit)
            return Page(fragments, len(table)), next_key

    def warm(self) -> None:
        """Serialise every item now, so the first scan is as fast as the next ones."""
        with self._lock:
            for data in self._years.values():
                data.letters.warm()
                data.dispositions.warm()

    # -- pushed notes and drafts ---------------------------------------------------------------

    def add_note(self, year: int | str, letter_id: str, body: Mapping[str, Any]) -> str:
        """Record a follow-up note (tindak lanjut) on a letter; return its id. Not idempotent.

        NotFoundError if the letter is unknown, InvalidInputError if ``status`` is missing.
        Unknown body fields are ignored, as a lenient PHP endpoint would.
        """
        with self._lock:
            data = self._year(year)
            data.letters.get(_numeric_id(letter_id), LETTER_NOT_FOUND)
            if _blank(body.get("status")):
                raise InvalidInputError("Field status wajib diisi")
            note = {
                "id_tindaklanjut": self._take_id("note", None),
                "status": body.get("status"),
                "catatan": body.get("catatan", ""),
                "ref": body.get("ref"),
                "tgl_dibuat": local_now(self._clock).strftime(TIMESTAMP_FORMAT),
            }
            data.notes.setdefault(str(letter_id), []).append(note)
            self._posts_by_ref[str(note["ref"] or "")] += 1
            return str(note["id_tindaklanjut"])

    def notes(self, year: int | str, letter_id: str | int) -> list[Item]:
        """Return copies of a letter's notes, oldest first."""
        with self._lock:
            return [dict(note) for note in self._year(year).notes.get(str(letter_id), [])]

    def add_draft(self, year: int | str, body: Mapping[str, Any]) -> str:
        """Record a draft outgoing letter (surat keluar); return its ``id_compose``.

        Not idempotent. InvalidInputError (Indonesian message, the 422 text) if a required field
        is missing or empty, or ``tgl_acara`` is not "YYYY-MM-DD HH:MM". Unknown fields are
        ignored.
        """
        _validate_draft(body)
        with self._lock:
            data = self._year(year)
            draft: Item = {"id_compose": self._take_id("compose", None)}
            draft.update({name: body.get(name) for name in DRAFT_FIELDS})
            drafted = local_now(self._clock)
            draft["tgl_dibuat"] = drafted.strftime(TIMESTAMP_FORMAT)
            draft.update(status_surat=DRAFT_WAITING, nomor_surat=None, tgl_ditandatangani=None,
                         catatan_pengembalian=None)
            data.drafts.append(draft)
            data.answers[draft["id_compose"]] = self._signer.answer(draft["id_compose"], drafted)
            self._posts_by_ref[str(draft["ref"] or "")] += 1
            return str(draft["id_compose"])

    def drafts(self, year: int | str, ref: str | None = None) -> list[Item]:
        """Return copies of a year's drafts, oldest first; only those with ``ref`` if given.

        The signer's answers due by the state's clock are given first (the status changes
        in place, as in Sisumaker).
        """
        with self._lock:
            data = self._year(year)
            self._settle(data)
            return [dict(d) for d in data.drafts if ref is None or str(d.get("ref")) == ref]

    def sign_draft(self, year: int | str, id_compose: str, *, at: datetime | None = None,
                   nomor_surat: str | None = None) -> Item:
        """The signer signs a waiting draft now (or ``at``, naive WIB); return it."""
        with self._lock:
            data = self._year(year)
            draft = self._waiting_draft(data, id_compose)
            self._sign(data, draft, at or local_now(self._clock), nomor_surat)
            return dict(draft)

    def return_draft(self, year: int | str, id_compose: str, reason: str) -> Item:
        """The signer returns a waiting draft for correction, with ``reason``; return it."""
        with self._lock:
            data = self._year(year)
            draft = self._waiting_draft(data, id_compose)
            data.answers.pop(str(id_compose), None)
            draft.update(status_surat=DRAFT_RETURNED, catatan_pengembalian=reason)
            return dict(draft)

    def _waiting_draft(self, data: _Year, id_compose: str) -> Item:
        for draft in data.drafts:
            if draft["id_compose"] == str(id_compose):
                if draft["status_surat"] != DRAFT_WAITING:
                    raise InvalidInputError(f"draft {id_compose} is {draft['status_surat']}")
                return draft
        raise NotFoundError("Surat tidak ditemukan")

    def _settle(self, data: _Year) -> None:
        """Apply the signer's answers whose time has come (lock held)."""
        if not data.answers:
            return
        now = local_now(self._clock)
        for draft in data.drafts:
            planned = data.answers.get(draft["id_compose"])
            if planned is None or planned[0] > now:
                continue
            del data.answers[draft["id_compose"]]
            when, signs = planned
            if signs:
                self._sign(data, draft, when, None)
            else:
                rng = random.Random(f"{self._signer.seed}:{draft['id_compose']}:reason")
                draft.update(status_surat=DRAFT_RETURNED,
                             catatan_pengembalian=rng.choice(RETURN_REASONS))

    @staticmethod
    def _sign(data: _Year, draft: Item, when: datetime, nomor: str | None) -> None:
        data.answers.pop(draft["id_compose"], None)
        data.signed += 1
        draft.update(status_surat=DRAFT_SIGNED,
                     nomor_surat=nomor or f"005/{data.signed:03d}-PTIKP/{data.year}",
                     tgl_ditandatangani=when.strftime(TIMESTAMP_FORMAT))

    def post_counts(self) -> dict[str, int]:
        """How many notes and drafts were created per ``ref`` ("" for none), since the start."""
        with self._lock:
            return dict(self._posts_by_ref)

    def pushed(self) -> dict[str, Any]:
        """Every note and draft with its year and directory, plus the counts by ref."""
        with self._lock:
            notes = [
                {"year": data.year, "dir": data.dir, "id_persuratan": letter_id, **note}
                for data in self._years.values()
                for letter_id, letter_notes in data.notes.items()
                for note in letter_notes
            ]
            drafts = [
                {"year": data.year, "dir": data.dir, **draft}
                for data in self._years.values()
                for draft in data.drafts
            ]
            return {"notes": notes, "drafts": drafts, "counts_by_ref": dict(self._posts_by_ref)}

    # -- tokens --------------------------------------------------------------------------------

    def login(self, dir_path: str, username: str, password: str) -> str | None:
        """Issue a token for one year directory, or None for wrong credentials."""
        user_ok = hmac.compare_digest(username.encode(), self._username.encode())
        password_ok = hmac.compare_digest(password.encode(), self._password.encode())
        if not (user_ok and password_ok):
            return None
        issued = int(self._clock())
        with self._lock:
            token_id = secrets.token_hex(8)
            self._live_tokens.add(token_id)
            self._tokens_issued += 1
            claims = self._claims(dir_path, issued, token_id)
        return encode_jwt(claims, self._secret)

    def token_valid(self, dir_path: str, token: str | None) -> bool:
        """Whether a raw ``Authorization`` value is a live token for this directory."""
        if not token:
            return False
        claims = decode_jwt(token, self._secret)
        if claims is None or claims.get("dir") != dir_path:
            return False
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires <= self._clock():
            return False
        with self._lock:
            return claims.get("jti") in self._live_tokens

    def revoke_tokens(self) -> int:
        """Make every token issued so far answer 401; return how many were live."""
        with self._lock:
            count = len(self._live_tokens)
            self._live_tokens.clear()
            return count

    # -- faults --------------------------------------------------------------------------------

    @property
    def faults(self) -> FaultConfig:
        """The current fault configuration."""
        with self._lock:
            return self._faults

    def set_faults(self, config: FaultConfig | None = None, **options: Any) -> FaultConfig:
        """Replace the fault configuration: a FaultConfig, or options (absent ones are off)."""
        new = config if config is not None else FaultConfig.from_mapping(options)
        with self._lock:
            self._faults = new
            self._fault_rng = random.Random(new.seed)
        return new

    def plan_faults(self, *, creates: bool) -> FaultPlan:
        """Draw the faults of one contract request; ``creates`` for the two creating POSTs."""
        with self._lock:
            config, rng = self._faults, self._fault_rng

            def hit(rate: float) -> bool:
                # No draw when a fault is off, so one seed gives the same sequence for a fault
                # whatever else is configured.
                return rate > 0 and rng.random() < rate

            latency = config.latency_ms / 1000
            if hit(config.drop_rate):
                return FaultPlan(latency_s=latency, drop=True)
            if hit(config.error_rate):
                return FaultPlan(latency_s=latency, error_status=rng.choice(config.error_codes))
            if hit(config.rate_limit_rate):
                return FaultPlan(latency_s=latency, retry_after=config.retry_after)
            if creates and hit(config.post_timeout_after_create_rate):
                return FaultPlan(
                    latency_s=latency,
                    post_timeout=config.post_timeout_action,
                    post_timeout_s=config.post_timeout_sleep_ms / 1000,
                )
            return FaultPlan(latency_s=latency, truncate=hit(config.truncate_rate))

    # -- statistics ----------------------------------------------------------------------------

    def count_request(self, endpoint: str) -> None:
        """Count one request to an endpoint pattern, e.g. ``GET {dir}/api/disposisi/filter``."""
        with self._lock:
            self._requests[endpoint] += 1

    def count_response(self, status: int) -> None:
        """Count one contract response by status code."""
        with self._lock:
            self._responses[str(status)] += 1

    def count_fault(self, kind: str) -> None:
        """Count one injected fault (drop, error, rate_limit, truncate, post_timeout)."""
        with self._lock:
            self._faults_applied[kind] += 1

    def record_error(self, text: str) -> None:
        """Keep the traceback of a simulator bug (the last 20), so tests can see it in stats."""
        with self._lock:
            self._errors = [*self._errors[-19:], text]

    def request_counts(self) -> dict[str, int]:
        """Return the requests per endpoint pattern since the last reset."""
        with self._lock:
            return dict(self._requests)

    def stats(self) -> dict[str, Any]:
        """Counters since the last reset, and what each year holds."""
        with self._lock:
            years = {
                str(data.year): {
                    "dir": data.dir,
                    "letters": len(data.letters),
                    "dispositions": len(data.dispositions),
                    "notes": sum(len(notes) for notes in data.notes.values()),
                    "drafts": len(data.drafts),
                }
                for data in sorted(self._years.values(), key=lambda data: data.year)
            }
            return {
                "requests": dict(self._requests),
                "responses": dict(self._responses),
                "faults": dict(self._faults_applied),
                "years": years,
                "posts_by_ref": dict(self._posts_by_ref),
                "tokens_issued": self._tokens_issued,
                "live_tokens": len(self._live_tokens),
                "internal_errors": list(self._errors),
            }

    def reset_stats(self) -> None:
        """Zero the request, response and fault counters (data and posts stay)."""
        with self._lock:
            self._requests.clear()
            self._responses.clear()
            self._faults_applied.clear()
            self._errors.clear()

    # -- internals (called with the lock held) -------------------------------------------------

    def _year(self, year: int | str) -> _Year:
        number = full_year(year)
        try:
            return self._years[number]
        except KeyError:
            raise NotFoundError(f"year {number} is not held; add it first") from None

    def _take_id(self, kind: str, given: object) -> str:
        """Return the next id of a kind, or accept a given one and move the sequence past it."""
        if given is None:
            value = self._next_ids[kind]
            self._next_ids[kind] = value + 1
            return str(value)
        number = _numeric_id(given)
        self._next_ids[kind] = max(self._next_ids[kind], number + 1)
        return str(given)

    def _letter_item(self, fields: Mapping[str, Any], now: str) -> Item:
        _check_fields(fields, LETTER_FIELDS)
        item: Item = {name: _normalise(name, value) for name, value in fields.items()}
        created = item.get("tgl_dibuat", now)
        sifat = item.get("n_sifatsurat", "Biasa")
        return {
            "id_persuratan": self._take_id("letter", item.get("id_persuratan")),
            "id_compose": (
                item["id_compose"] if "id_compose" in item else self._take_id("compose", None)
            ),
            "asal_surat": item.get("asal_surat", ""),
            "pengirim": item.get("pengirim", ""),
            "perihal": item.get("perihal", ""),
            "nomor_surat": item.get("nomor_surat", ""),
            "tgl_dibuat": created,
            "tgl_diterimaTU": item.get("tgl_diterimaTU"),
            "tgl_dikirim": item["tgl_dikirim"] if "tgl_dikirim" in item else _sent_on(created),
            "n_sifatsurat": sifat,
            "id_sifatsurat": item.get("id_sifatsurat", SIFAT_IDS.get(str(sifat), "1")),
            "status_dibaca": item.get("status_dibaca", "0"),
            "status_setujui": item.get("status_setujui", "0"),
            "photo": item.get("photo", ""),
            "filter_by": item.get("filter_by", "semua"),
        }

    def _disposition_item(self, fields: Mapping[str, Any], now: str) -> Item:
        _check_fields(fields, DISPOSITION_FIELDS)
        if "id_persuratan" not in fields:
            # No check that the letter exists: a December letter's dispositions may be
            # looked up across years, and tests may want dangling references.
            raise InvalidInputError("a disposition needs id_persuratan")
        item: Item = {name: _normalise(name, value) for name, value in fields.items()}
        return {
            "id_disposisi": self._take_id("disposition", item.get("id_disposisi")),
            "id_persuratan": item["id_persuratan"],
            "dari_pegawai_id": item.get("dari_pegawai_id", ""),
            "dari_jabatan": item.get("dari_jabatan", ""),
            "kepada_pegawai_id": item.get("kepada_pegawai_id", ""),
            "kepada_jabatan": item.get("kepada_jabatan", ""),
            "isi_disposisi": item.get("isi_disposisi", ""),
            "tgl_disposisi": item.get("tgl_disposisi", now),
            "status_baca": item.get("status_baca", "0"),
        }

    def _update(
        self,
        year: int | str,
        item_id: str | int,
        changes: Mapping[str, Any],
        *,
        kind: Literal["letters", "dispositions"],
    ) -> Item:
        allowed = LETTER_FIELDS if kind == "letters" else DISPOSITION_FIELDS
        _check_fields(changes, allowed)
        number = _numeric_id(item_id)
        with self._lock:
            data = self._year(year)
            table = data.letters if kind == "letters" else data.dispositions
            missing = LETTER_NOT_FOUND if kind == "letters" else DISPOSITION_NOT_FOUND
            current = table.get(number, missing)
            if table.id_field in changes and str(changes[table.id_field]) != str(item_id):
                raise InvalidInputError(f"{table.id_field} cannot change")
            updated = {**current, **{k: _normalise(k, v) for k, v in changes.items()}}
            table.replace(updated)
            return dict(updated)

    def _claims(self, dir_path: str, issued: int, token_id: str) -> dict[str, Any]:
        """Return the claims real tokens carry, plus ``dir`` and ``jti`` for the checks."""
        return {
            "auth_id": "1021",
            "pegawai_id": "4417",
            "username": self._username,
            "username_p": self._username,
            "skpd_id": "27",
            "tmunitkerja_id": "271",
            "realname": "Petugas TU Diskominfo",
            "iat": issued,
            "exp": issued + int(self._token_ttl),
            "dir": dir_path,
            "jti": token_id,
        }


def _letter_filter(search: str | None) -> Callable[[Item], bool] | None:
    """Turn the ``search`` parameter into a predicate; None lists everything."""
    if search is None or not search.strip():
        return None
    if search == "1":
        return lambda item: item.get("status_dibaca") == "0"
    if search == "2":
        return lambda item: item.get("status_dibaca") == "1"
    needle = search.casefold()
    searched = ("perihal", "asal_surat", "pengirim", "nomor_surat")
    return lambda item: any(needle in str(item.get(name) or "").casefold() for name in searched)


def _validate_draft(body: Mapping[str, Any]) -> None:
    """Raise InvalidInputError, with the 422 message, for a draft the server would refuse."""
    required = list(DRAFT_REQUIRED)
    # An invitation without a date and a place cannot be sent, so the server insists on them.
    if str(body.get("jenis_surat", "")).strip().lower() == "undangan":
        required.extend(INVITATION_REQUIRED)
    missing = [name for name in required if _blank(body.get(name))]
    if missing:
        raise InvalidInputError(f"Field {', '.join(missing)} wajib diisi")
    event = body.get("tgl_acara")
    if not _blank(event):
        try:
            datetime.strptime(str(event), EVENT_FORMAT)
        except ValueError:
            raise InvalidInputError("Format tgl_acara harus YYYY-MM-DD HH:MM") from None
