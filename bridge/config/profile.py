"""The Sisumaker API profile (mappings/sisumaker.toml): paths, parameters, fields, formats."""

from __future__ import annotations

import tomllib
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

from bridge.domain.dates import format_problem
from bridge.domain.items import ListKind, field_rules
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

# The item fields, their dates and the required ones, as the domain's field rules declare them.
CANONICAL_FIELDS = {kind: tuple(field_rules(kind)) for kind in ListKind}
LETTER_FIELDS = CANONICAL_FIELDS[ListKind.SURAT]
DISPOSITION_FIELDS = CANONICAL_FIELDS[ListKind.DISPOSISI]
DATE_FIELDS = {kind: tuple(name for name, rule in field_rules(kind).items() if rule.is_date)
               for kind in ListKind}
REQUIRED_FIELDS = {kind: tuple(name for name, rule in field_rules(kind).items() if rule.required)
                   for kind in ListKind}


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
        for name, formats in value.items():
            if not formats:
                raise ValueError(f"{name}: give at least one format")
            for fmt in formats:
                problem = format_problem(fmt)
                if problem is not None:
                    raise ValueError(f"{name}: {problem}")
        return value


NOTE_FIELDS = ("status", "text")
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

    @field_validator("event_time_format")
    @classmethod
    def _event_time_works(cls, value: str) -> str:
        problem = format_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

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
    named: dict[str, str] = {}
    for name, source in spec.fields.items():
        if source in named:  # one JSON key read as two fields: a typo, and the parser's Struct refuses it
            raise ValueError(f"lists.{kind.value}.fields.{name} and .{named[source]} both name "
                             f"{source!r}; each field needs a key of its own")
        named[source] = name
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
