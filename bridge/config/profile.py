"""The Sisumaker API profile (mappings/sisumaker.toml): paths, parameters, fields, formats."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bridge.domain.items import ListKind
from bridge.errors import MappingError

PROFILE_FILE = "sisumaker.toml"

_FROZEN = ConfigDict(extra="forbid", frozen=True)


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}, e.g. 'Asia/Jakarta'") from exc
    return value


ZoneName = Annotated[str, AfterValidator(_known_zone)]
"""A time zone name the zoneinfo database knows, e.g. ``Asia/Jakarta``."""

LETTER_FIELDS = (
    "id", "created_at", "compose_id", "asal_surat", "pengirim", "perihal", "nomor_surat",
    "received_at", "sent_on", "sifat", "status_dibaca", "status_setujui",
)  # fmt: skip
DISPOSITION_FIELDS = (
    "id", "surat_id", "created_at", "dari_pegawai_id", "dari_jabatan",
    "kepada_pegawai_id", "kepada_jabatan", "isi", "status_baca",
)  # fmt: skip
DATE_FIELDS = {
    ListKind.SURAT: ("created_at", "received_at", "sent_on"),
    ListKind.DISPOSISI: ("created_at",),
}
CANONICAL_FIELDS = {ListKind.SURAT: LETTER_FIELDS, ListKind.DISPOSISI: DISPOSITION_FIELDS}
REQUIRED_FIELDS = {ListKind.SURAT: ("id", "created_at"), ListKind.DISPOSISI: ("id", "surat_id", "created_at")}


class HttpSpec(BaseModel):
    """How success and failure are told apart."""

    model_config = _FROZEN
    success_min: int = 200
    success_max: int = 208
    status_key: str = "status"
    message_key: str = "messages"


class AuthSpec(BaseModel):
    """Where and how the bridge finds the year directories and logs in."""

    model_config = _FROZEN
    check_path: str = "/api/auth/cekApi"
    domain_path: str = "/api/auth/domain"
    domain_key_prefix: str = "dir"
    directory_template: str = "/surattangsel{yy}"
    login_path: str = "{dir}/api/auth"
    username_field: str = "username"
    password_field: str = "password"
    token_key: str = "id_token"
    header_name: str = "Authorization"
    header_format: str = "{token}"

    @field_validator("header_format")
    @classmethod
    def _has_token(cls, value: str) -> str:
        if "{token}" not in value:
            raise ValueError("must contain {token}, e.g. '{token}' or 'Bearer {token}'")
        return value

    @field_validator("login_path")
    @classmethod
    def _has_dir(cls, value: str) -> str:
        if "{dir}" not in value:
            raise ValueError("must contain {dir}, e.g. '{dir}/api/auth'")
        return value


class ListSpec(BaseModel):
    """One paged list: its path, paging parameters, envelope keys and item fields."""

    model_config = _FROZEN
    path: str
    page_param: str = "page"
    per_page_param: str = "per_page"
    per_page: int = Field(100, ge=1, le=1000)
    params: dict[str, str] = Field(default_factory=dict)
    data_key: str = "data"
    page_key: str = "page"
    total_pages_key: str = "total_page"
    total_items_key: str
    fields: dict[str, str]
    date_formats: dict[str, tuple[str, ...]]

    @field_validator("path")
    @classmethod
    def _path_has_dir(cls, value: str) -> str:
        if "{dir}" not in value:
            raise ValueError("must contain {dir}, e.g. '{dir}/api/suratmasuk/filter'")
        return value

    @field_validator("date_formats")
    @classmethod
    def _formats_work(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        sample = datetime(2024, 12, 31, 23, 59, 58)
        for name, formats in value.items():
            if not formats:
                raise ValueError(f"{name}: give at least one format")
            for fmt in formats:
                if "%" not in fmt:
                    raise ValueError(f"{name}: {fmt!r} has no % directive")
                try:
                    datetime.strptime(sample.strftime(fmt), fmt)
                except (ValueError, re.error) as exc:  # re.error: a directive given twice
                    raise ValueError(f"{name}: {fmt!r} cannot read back its own output") from exc
        return value


NOTE_FIELDS = ("status", "text")
DRAFT_FIELDS = ("status", "number", "signed_at", "reason")
DRAFT_STATUSES = ("waiting", "signed", "returned")
LETTER_PUSH_FIELDS = ("kind", "to", "subject", "body", "event_time", "place", "signer", "reference")


class PushSpec(BaseModel):
    """Where follow-up notes and draft letters are written, and how they are found again."""

    model_config = _FROZEN
    note_path: str = "{dir}/api/suratmasuk/{surat_id}/tindaklanjut"
    note_list_path: str = "{dir}/api/suratmasuk/{surat_id}/tindaklanjut"
    note_id_key: str = "id_tindaklanjut"
    letter_path: str = "{dir}/api/suratkeluar"
    letter_lookup_path: str = "{dir}/api/suratkeluar/filter"
    letter_lookup_param: str = "ref"
    letter_id_key: str = "id_compose"
    data_key: str = "data"
    ref_field: str = "ref"
    event_time_format: str = "%Y-%m-%d %H:%M"
    note_fields: dict[str, str] = Field(default_factory=lambda: {"status": "status",
                                                                 "text": "catatan"})
    letter_fields: dict[str, str] = Field(default_factory=lambda: {
        "kind": "jenis_surat", "to": "tujuan", "subject": "perihal", "body": "isi",
        "event_time": "tgl_acara", "place": "tempat", "signer": "penandatangan_jabatan",
        "reference": "id_persuratan_rujukan",
    })
    # What a draft shows once looked up by its ref: its status word and what comes with it.
    draft_fields: dict[str, str] = Field(default_factory=lambda: {
        "status": "status_surat", "number": "nomor_surat", "signed_at": "tgl_ditandatangani",
        "reason": "catatan_pengembalian",
    })
    draft_statuses: dict[str, str] = Field(default_factory=lambda: {
        "waiting": "Menunggu Tanda Tangan", "signed": "Ditandatangani", "returned": "Dikembalikan",
    })
    signed_at_formats: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
                                          "%Y-%m-%dT%H:%M:%S")

    @field_validator("note_path", "note_list_path")
    @classmethod
    def _note_placeholders(cls, value: str) -> str:
        if "{dir}" not in value or "{surat_id}" not in value:
            raise ValueError("must contain {dir} and {surat_id}")
        return value

    @field_validator("letter_path", "letter_lookup_path")
    @classmethod
    def _letter_placeholders(cls, value: str) -> str:
        if "{dir}" not in value:
            raise ValueError("must contain {dir}")
        return value

    @field_validator("note_fields")
    @classmethod
    def _known_note_fields(cls, value: dict[str, str]) -> dict[str, str]:
        return _exactly(value, NOTE_FIELDS)

    @field_validator("letter_fields")
    @classmethod
    def _known_letter_fields(cls, value: dict[str, str]) -> dict[str, str]:
        return _exactly(value, LETTER_PUSH_FIELDS)

    @field_validator("draft_fields")
    @classmethod
    def _known_draft_fields(cls, value: dict[str, str]) -> dict[str, str]:
        return _exactly(value, DRAFT_FIELDS)

    @field_validator("draft_statuses")
    @classmethod
    def _known_draft_statuses(cls, value: dict[str, str]) -> dict[str, str]:
        words = [word.strip().casefold() for word in value.values()]
        if any(not word for word in words) or len(set(words)) != len(words):
            raise ValueError("give three different, non-empty status words")
        return _exactly(value, DRAFT_STATUSES)

    @field_validator("signed_at_formats")
    @classmethod
    def _signed_formats_work(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one format")
        sample = datetime(2024, 12, 31, 23, 59, 58)
        for fmt in value:
            try:
                datetime.strptime(sample.strftime(fmt), fmt)
            except (ValueError, re.error) as exc:
                raise ValueError(f"{fmt!r} cannot read back its own output") from exc
        return value


def _exactly(value: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    unknown = sorted(set(value) - set(names))
    missing = sorted(set(names) - set(value))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; valid: {', '.join(names)}")
    if missing:
        raise ValueError(f"{missing[0]!r} is required; give all of: {', '.join(names)}")
    return value


class Profile(BaseModel):
    """The whole API profile, validated once at start-up."""

    model_config = _FROZEN
    timezone: ZoneName = "Asia/Jakarta"
    max_field_chars: int = Field(20000, ge=16)
    http: HttpSpec = HttpSpec()
    auth: AuthSpec = AuthSpec()
    lists: dict[ListKind, ListSpec]
    push: PushSpec = PushSpec()

    @model_validator(mode="after")
    def _lists_complete(self) -> Profile:
        for kind in ListKind:
            spec = self.lists.get(kind)
            if spec is None:
                raise ValueError(f"lists.{kind.value} is missing")
            _check_fields(kind, spec)
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The time zone Sisumaker's naive dates are read in."""
        return ZoneInfo(self.timezone)


def _check_fields(kind: ListKind, spec: ListSpec) -> None:
    valid = CANONICAL_FIELDS[kind]
    for name in spec.fields:
        if name not in valid:
            raise ValueError(
                f"lists.{kind.value}.fields.{name} is not a known field; valid: {', '.join(valid)}"
            )
    for name in REQUIRED_FIELDS[kind]:
        if name not in spec.fields:
            raise ValueError(f"lists.{kind.value}.fields.{name} is required")
    for name in spec.date_formats:
        if name not in DATE_FIELDS[kind]:
            raise ValueError(
                f"lists.{kind.value}.date_formats.{name} is not a date field; "
                f"valid: {', '.join(DATE_FIELDS[kind])}"
            )
    for name in DATE_FIELDS[kind]:
        if name in spec.fields and name not in spec.date_formats:
            raise ValueError(f"lists.{kind.value}.date_formats.{name} is required")


def read_toml(path: Path) -> dict[str, Any]:
    """Read one TOML mapping file, naming the file in any error."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise MappingError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise MappingError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read: {exc.strerror}") from exc


def describe_validation_error(path: Path, exc: ValidationError) -> str:
    """One line per problem: the file, the dotted key and what is wrong with it."""
    lines = []
    for err in exc.errors(include_url=False):
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        elif err["type"] == "enum":
            message = f"unknown name; valid: {err.get('ctx', {}).get('expected', '')}"
        lines.append(f"{path}: {key}: {message}")
    return "; ".join(lines)


def load_profile(mappings_dir: Path) -> Profile:
    """Load and validate ``sisumaker.toml`` from the mappings directory."""
    path = mappings_dir / PROFILE_FILE
    data = read_toml(path)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise MappingError(describe_validation_error(path, exc)) from exc
