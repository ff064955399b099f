"""The Sisumaker API profile (mappings/sisumaker.toml): paths, parameters, fields, formats."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
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


def _dotted(value: str) -> str:
    if value and (value != value.strip() or not all(value.split("."))):
        raise ValueError(f"{value!r} is not a dotted path; e.g. 'data' or 'result.items'")
    return value


DottedPath = Annotated[str, AfterValidator(_dotted)]
"""Where a value sits in a JSON answer: ``"data"``, ``"result.items"``; ``""``: not sent."""


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path of a JSON answer; None when a step is missing."""
    value = body
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class HttpSpec(BaseModel):
    """How success and failure are told apart: the HTTP status, then the envelope's flag."""

    model_config = _FROZEN
    success_min: int = 200
    success_max: int = 208
    status_style: Literal["flag", "word", "none"] = "flag"
    status_path: DottedPath = "status"
    ok_words: tuple[str, ...] = ()
    message_path: DottedPath = "messages"

    @model_validator(mode="after")
    def _status_consistent(self) -> HttpSpec:
        if self.status_style != "none" and not self.status_path:
            raise ValueError(f"status_path: required with status_style = {self.status_style!r};"
                             " or status_style = 'none' (the HTTP status alone decides)")
        if self.status_style == "word" and not self.ok_words:
            raise ValueError("ok_words: give the words meaning success with status_style = "
                             "'word', e.g. ['success']")
        if self.status_style != "word" and self.ok_words:
            raise ValueError("ok_words: only with status_style = 'word'; valid styles: "
                             "flag, word, none")
        return self


class AuthSpec(BaseModel):
    """Where and how the bridge finds the year directories and logs in."""

    model_config = _FROZEN
    check_path: str = "/api/auth/cekApi"
    domain_path: str = "/api/auth/domain"
    domain_key_prefix: str = "dir"
    directory_template: str = "/surattangsel{yy}"
    login_path: str = "{dir}/api/auth"
    login_body: Literal["json", "form"] = "json"
    username_field: str = "username"
    password_field: str = "password"
    token_path: DottedPath = "id_token"
    header_name: str = Field("Authorization", min_length=1)
    header_format: str = "{token}"
    token_lifetime: Literal["jwt", "expires_in", "none"] = "jwt"
    expires_in_path: DottedPath = ""

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

    @model_validator(mode="after")
    def _lifetime_consistent(self) -> AuthSpec:
        if not self.token_path:
            raise ValueError("token_path: required, e.g. 'id_token' or 'data.access_token'")
        if (self.token_lifetime == "expires_in") != bool(self.expires_in_path):
            raise ValueError("expires_in_path: give it exactly when token_lifetime = "
                             "'expires_in'; valid lifetimes: jwt, expires_in, none")
        return self


class _Sized(BaseModel):
    """The page-size parameter, the size asked for and the most the server gives."""

    model_config = _FROZEN
    size_param: str = "per_page"  # "": the server's own fixed size, not sent
    size: int = Field(100, ge=1, le=1000)
    max_size: int = Field(100, ge=1, le=1000)

    @model_validator(mode="after")
    def _size_fits(self) -> _Sized:
        if self.size > self.max_size:
            raise ValueError(f"size: {self.size} is over max_size {self.max_size}; the server "
                             "would give shorter pages than asked")
        return self


class PagePaging(_Sized):
    """Page numbers: ``?page=1&per_page=100``, counted from 1 (or 0)."""

    style: Literal["page"]
    page_param: str = Field("page", min_length=1)
    first_page: Literal[0, 1] = 1


class OffsetPaging(_Sized):
    """An offset and a limit: ``?offset=200&limit=100``."""

    style: Literal["offset"]
    offset_param: str = Field("offset", min_length=1)
    size_param: str = "limit"


class CursorPaging(_Sized):
    """A cursor from each answer (at ``cursor_path``) sent back as ``cursor_param``."""

    style: Literal["cursor"]
    cursor_param: str = Field("cursor", min_length=1)
    cursor_path: DottedPath = Field(min_length=1)


class NextLinkPaging(_Sized):
    """A link to the next page: in the answer at ``next_path``, or a ``Link: <..>; rel=next``."""

    style: Literal["next_link"]
    next_path: DottedPath = ""
    link_header: bool = False

    @model_validator(mode="after")
    def _one_place(self) -> NextLinkPaging:
        if bool(self.next_path) == self.link_header:
            raise ValueError("give exactly one of next_path (a dotted path in the answer) and "
                             "link_header = true (the Link header)")
        return self


Paging = Annotated[PagePaging | OffsetPaging | CursorPaging | NextLinkPaging,
                   Field(discriminator="style")]
"""How a list is paged; ``style`` picks one of: page, offset, cursor, next_link."""

END_SIGNALS = ("total_pages", "total_items", "has_more", "no_next", "short_page")
EndSignal = Literal["total_pages", "total_items", "has_more", "no_next", "short_page"]
NUMBERED = ("page", "offset")  # styles that can ask for any page again by its number


class PagedSpec(BaseModel):
    """An answer holding a page of entries: where they are, and how the end is told."""

    model_config = _FROZEN
    items_path: DottedPath = "data"  # "": the answer is the list itself
    page_path: DottedPath = ""  # the page number (or offset) the server echoes
    total_pages_path: DottedPath = ""
    total_items_path: DottedPath = ""
    has_more_path: DottedPath = ""
    end: EndSignal = "total_pages"

    def check_paging(self, paging: PagePaging | OffsetPaging | CursorPaging | NextLinkPaging,
                     ) -> None:
        """Refuse combinations no server could answer (ValueError naming key and options)."""
        needs = {"total_pages": ("total_pages_path", self.total_pages_path),
                 "total_items": ("total_items_path", self.total_items_path),
                 "has_more": ("has_more_path", self.has_more_path)}
        if self.end in needs and not needs[self.end][1]:
            raise ValueError(f"{needs[self.end][0]}: required with end = {self.end!r}; "
                             f"valid ends: {', '.join(END_SIGNALS)}")
        if self.end == "no_next" and paging.style in NUMBERED:
            raise ValueError(f"end: 'no_next' needs paging.style 'cursor' or 'next_link'; "
                             f"with {paging.style!r} use one of: total_pages, total_items, "
                             "has_more, short_page")
        if self.page_path and paging.style not in NUMBERED:
            raise ValueError(f"page_path: a {paging.style!r} list has no page number to echo; "
                             "leave it out")
        if not self.items_path:
            in_body = [name for name, value in (
                ("page_path", self.page_path), ("total_pages_path", self.total_pages_path),
                ("total_items_path", self.total_items_path),
                ("has_more_path", self.has_more_path),
                ("paging.cursor_path", getattr(paging, "cursor_path", "")),
                ("paging.next_path", getattr(paging, "next_path", ""))) if value]
            if in_body:
                raise ValueError(f"{in_body[0]}: the answer is a bare list (items_path = ''), "
                                 "it has no keys; give items_path or leave the key out")


class ListSpec(PagedSpec):
    """One paged list: its path, paging, envelope and item fields."""

    path: str
    params: dict[str, str] = Field(default_factory=dict)
    paging: Paging
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

    @model_validator(mode="after")
    def _paging_consistent(self) -> ListSpec:
        self.check_paging(self.paging)
        return self


class LookupSpec(PagedSpec):
    """A GET that lists what the bridge wrote, to find a write again by its ref."""

    path: str
    ref_param: str = ""  # the ref as a query parameter; "" when {ref} is in the path
    id_field: str = Field(min_length=1)  # the entry's id, answered for a found ref
    paging: Paging | None = None  # None: one answer holds every entry
    max_pages: int = Field(50, ge=1, le=10_000)
    end: EndSignal = "short_page"

    @model_validator(mode="after")
    def _ref_once(self) -> LookupSpec:
        in_path = "{ref}" in self.path
        if in_path and self.ref_param:
            raise ValueError("ref_param: the path already holds {ref}; leave ref_param out")
        if "{dir}" not in self.path:
            raise ValueError("path: must contain {dir}")
        if self.paging is not None:
            self.check_paging(self.paging)
        return self


NOTE_FIELDS = ("status", "text")
DRAFT_FIELDS = ("status", "number", "signed_at", "reason")
DRAFT_STATUSES = ("waiting", "signed", "returned")
LETTER_PUSH_FIELDS = ("kind", "to", "subject", "body", "event_time", "place", "signer", "reference")


def _default_note_list() -> LookupSpec:
    return LookupSpec(path="{dir}/api/suratmasuk/{surat_id}/tindaklanjut",
                      id_field="id_tindaklanjut")


def _default_letter_lookup() -> LookupSpec:
    return LookupSpec(path="{dir}/api/suratkeluar/filter", ref_param="ref", id_field="id_compose")


class PushSpec(BaseModel):
    """Where follow-up notes and draft letters are written, and how they are found again."""

    model_config = _FROZEN
    note_path: str = "{dir}/api/suratmasuk/{surat_id}/tindaklanjut"
    note_id_path: DottedPath = Field("id_tindaklanjut", min_length=1)
    note_list: LookupSpec = Field(default_factory=_default_note_list)
    letter_path: str = "{dir}/api/suratkeluar"
    letter_id_path: DottedPath = Field("id_compose", min_length=1)
    letter_lookup: LookupSpec = Field(default_factory=_default_letter_lookup)
    ref_field: str = "ref"
    ids_as: Literal["string", "number"] = "string"
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

    @field_validator("event_time_format")
    @classmethod
    def _event_time_works(cls, value: str) -> str:
        problem = format_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("note_path")
    @classmethod
    def _note_placeholders(cls, value: str) -> str:
        if "{dir}" not in value or "{surat_id}" not in value:
            raise ValueError("must contain {dir} and {surat_id}")
        return value

    @field_validator("note_list")
    @classmethod
    def _note_list_placeholders(cls, value: LookupSpec) -> LookupSpec:
        if "{surat_id}" not in value.path:
            raise ValueError("path: must contain {dir} and {surat_id}")
        return value

    @field_validator("letter_lookup")
    @classmethod
    def _lookup_has_ref(cls, value: LookupSpec) -> LookupSpec:
        if "{ref}" not in value.path and not value.ref_param:
            raise ValueError("give ref_param (the ref as a query parameter) or put {ref} in "
                             "the path")
        return value

    @field_validator("letter_path")
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
        for fmt in value:
            problem = format_problem(fmt)
            if problem is not None:
                raise ValueError(problem)
        return value

    def written_id(self, value: str) -> str | int:
        """An id as the server wants it in a write: a string, or a number when it is one."""
        if self.ids_as == "number" and value.isascii() and value.isdigit():
            return int(value)
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
        elif err["type"] == "union_tag_not_found":
            message = "style is required; valid: page, offset, cursor, next_link"
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
