"""Turn raw list items into domain items, or into quarantine records with a reason.

The models accept Sisumaker's real quirks: ids as strings or numbers, nullable dates,
several date formats per field (from the profile), unknown extra fields. An item that
cannot be keyed or dated is not an error of the pass: it is quarantined and the rest
of the page goes on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo

from bridge.config.profile import DATE_FIELDS, ListSpec
from bridge.domain.items import Disposition, Item, Letter, ListKind, item_fields
from bridge.domain.records import ItemRecord, QuarantineRecord

ISO_SECONDS = "%Y-%m-%d %H:%M:%S"
# MySQL writes "no date" as zeros; in an optional date it means "not yet", not garbage.
_ZERO_DATES = frozenset({"0000-00-00", "0000-00-00 00:00:00", "00-00-0000"})


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What validation needs from the profile: formats, zone, size limit."""

    formats: Mapping[str, tuple[str, ...]]
    zone: ZoneInfo
    max_chars: int


def _context(info: ValidationInfo) -> ParseContext:
    ctx = info.context
    if not isinstance(ctx, ParseContext):  # pragma: no cover - programming error
        raise TypeError("parse context missing")
    return ctx


def _source_id(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(f"expected an id, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            raise ValueError("is empty")
        if len(stripped) > 64:
            raise ValueError(f"is {len(stripped)} characters; an id has at most 64")
        return stripped
    if value is None:
        raise ValueError("is null")
    raise ValueError(f"expected a string or a number, got {type(value).__name__}")


def _text(value: Any, info: ValidationInfo) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        limit = _context(info).max_chars
        if len(value) > limit:
            raise ValueError(f"is {len(value)} characters; the limit is {limit}")
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__}")


def _parse_datetime(value: str, formats: tuple[str, ...]) -> datetime | None:
    for fmt in formats:
        if fmt == ISO_SECONDS and len(value) == 19:
            # fromisoformat is about ten times faster than strptime for the common case.
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                continue
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _date_value(value: Any, info: ValidationInfo, *, required: bool) -> datetime | None:
    name = info.field_name or ""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError("is missing")
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {type(value).__name__}")
    text = value.strip()
    if not required and text in _ZERO_DATES:
        return None
    ctx = _context(info)
    formats = ctx.formats.get(name, ())
    parsed = _parse_datetime(text, formats)
    if parsed is None:
        raise ValueError(f"{text[:40]!r} matches none of the formats {list(formats)}")
    return parsed.replace(tzinfo=ctx.zone)


def _required_date(value: Any, info: ValidationInfo) -> datetime:
    parsed = _date_value(value, info, required=True)
    assert parsed is not None  # noqa: S101 - required=True never returns None
    return parsed


def _optional_date(value: Any, info: ValidationInfo) -> datetime | None:
    try:
        return _date_value(value, info, required=False)
    except ValueError:
        # An optional date in no known format leaves the item usable: keep it, drop the date.
        return None


def _optional_day(value: Any, info: ValidationInfo) -> date | None:
    parsed = _optional_date(value, info)
    return parsed.date() if parsed is not None else None


SourceId = Annotated[str, BeforeValidator(_source_id)]
OptionalId = Annotated[str | None, BeforeValidator(lambda v: None if v in (None, "") else _source_id(v))]
Text = Annotated[str | None, BeforeValidator(_text)]
RequiredDate = Annotated[datetime, BeforeValidator(_required_date)]
OptionalDate = Annotated[datetime | None, BeforeValidator(_optional_date)]
OptionalDay = Annotated[date | None, BeforeValidator(_optional_day)]

_MODEL_CONFIG = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)


class LetterModel(BaseModel):
    """A surat masuk item, fields already renamed from the profile's names."""

    model_config = _MODEL_CONFIG
    id: SourceId
    created_at: RequiredDate
    compose_id: OptionalId = None
    asal_surat: Text = None
    pengirim: Text = None
    perihal: Text = None
    nomor_surat: Text = None
    received_at: OptionalDate = None
    sent_on: OptionalDay = None
    sifat: Text = None
    status_dibaca: Text = None
    status_setujui: Text = None

    def to_domain(self) -> Letter:
        """The domain letter."""
        return Letter(**dict(self))


class DispositionModel(BaseModel):
    """A disposisi item, fields already renamed from the profile's names."""

    model_config = _MODEL_CONFIG
    id: SourceId
    surat_id: SourceId
    created_at: RequiredDate
    dari_pegawai_id: OptionalId = None
    dari_jabatan: Text = None
    kepada_pegawai_id: OptionalId = None
    kepada_jabatan: Text = None
    isi: Text = None
    status_baca: Text = None

    def to_domain(self) -> Disposition:
        """The domain disposition."""
        return Disposition(**dict(self))


_MODELS: dict[ListKind, type[LetterModel] | type[DispositionModel]] = {
    ListKind.SURAT: LetterModel,
    ListKind.DISPOSISI: DispositionModel,
}


@dataclass(frozen=True, slots=True)
class Parsed:
    """A usable item: the record to store and the domain object."""

    record: ItemRecord
    item: Item


def content_hash(payload: str) -> str:
    """A short, stable digest of an item's payload, to notice changes in place."""
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()


def dump_payload(raw: Any) -> str:
    """The item as received, as compact JSON (non-ASCII escaped, so any text is storable)."""
    return json.dumps(raw, separators=(",", ":"))


class ItemParser:
    """Parses the items of one list with the profile's field names and date formats."""

    def __init__(self, kind: ListKind, spec: ListSpec, *, zone: ZoneInfo, max_chars: int) -> None:
        """Prepare the field renaming and the validation context once."""
        self.kind = kind
        self._model = _MODELS[kind]
        self._renames = tuple(spec.fields.items())
        self._source_names = dict(spec.fields)
        formats = {name: spec.date_formats.get(name, ()) for name in DATE_FIELDS[kind]}
        self._context = ParseContext(formats=formats, zone=zone, max_chars=max_chars)

    def parse(self, year: int, raw: Any) -> Parsed | QuarantineRecord:
        """One raw item → a Parsed item, or a QuarantineRecord saying why not."""
        payload = dump_payload(raw)
        if not isinstance(raw, dict):
            return QuarantineRecord(
                self.kind, year, f"item is not a JSON object (got {type(raw).__name__})", payload
            )
        renamed = {canon: raw[source] for canon, source in self._renames if source in raw}
        try:
            model = self._model.model_validate(renamed, context=self._context)
        except ValidationError as exc:
            return QuarantineRecord(
                self.kind, year, self._reason(exc), payload, source_id=self._loose_id(renamed)
            )
        item = model.to_domain()
        parent = item.surat_id if isinstance(item, Disposition) else None
        record = ItemRecord(
            kind=self.kind,
            year=year,
            source_id=item.id,
            item_time=item.created_at,
            content_hash=content_hash(payload),
            payload=payload,
            parent_id=parent,
            fields=json.dumps(item_fields(item)),
        )
        return Parsed(record, item)

    def domain_item(self, payload: str) -> Item:
        """Parse a stored payload again (for case derivation and replay)."""
        result = self.parse(0, json.loads(payload))
        if isinstance(result, QuarantineRecord):
            raise ValueError(result.reason)
        return result.item

    def _reason(self, exc: ValidationError) -> str:
        parts = []
        for err in exc.errors(include_url=False):
            canon = str(err["loc"][0]) if err["loc"] else "item"
            source = self._source_names.get(canon, canon)
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                message = "is missing"
            parts.append(f"{source} {message}")
        return "; ".join(parts)

    @staticmethod
    def _loose_id(renamed: Mapping[str, Any]) -> str | None:
        value = renamed.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value).strip()
            return text[:64] or None
        return None
