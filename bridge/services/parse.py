"""Turn raw list items into domain items, or into quarantine records with a reason.

The models accept Sisumaker's real quirks: ids as strings or numbers, nullable dates,
several date formats per field (from the profile), unknown extra fields. An item that
cannot be keyed or dated is not an error of the pass: it is quarantined and the rest
of the page goes on.

The pydantic models below are the rules. Every field's rule is a plain function (the
model's ``BeforeValidator``); a parser calls those same functions directly on each item
first, without the model's machinery, and only an item that one of them refuses goes
through the model, which then names every refused field with the same messages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo

from bridge import codec
from bridge.config.profile import DATE_FIELDS, ListSpec
from bridge.domain.items import Disposition, Item, Letter, ListKind
from bridge.domain.records import ItemRecord, QuarantineRecord

ISO_SECONDS = "%Y-%m-%d %H:%M:%S"
# MySQL writes "no date" as zeros; in an optional date it means "not yet", not garbage.
_ZERO_DATES = frozenset({"0000-00-00", "0000-00-00 00:00:00", "00-00-0000"})
# Exactly "YYYY-MM-DD HH:MM:SS": fromisoformat alone would also take week dates and offsets.
_ISO_SECONDS_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
# Control characters and lone surrogates cannot key an item: a database refuses some of them
# (PostgreSQL: NUL; any UTF-8 store: surrogates), and none belongs in an id.
_BAD_ID_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


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


# -- the rules of one field, as plain functions ---------------------------------------------


def _source_id(value: Any) -> str:
    if isinstance(value, str):  # the usual case first; a string is no bool, int or float
        stripped = value.strip()
        if not stripped:
            raise ValueError("is empty")
        if len(stripped) > 64:
            raise ValueError(f"is {len(stripped)} characters; an id has at most 64")
        if _BAD_ID_CHARACTER.search(stripped):
            raise ValueError(f"holds a control character or a lone surrogate: {stripped!a}")
        return stripped
    if isinstance(value, bool):
        raise ValueError(f"expected an id, got {value!r}")
    if isinstance(value, int):
        if not -(10**64) < value < 10**64:
            raise ValueError("is a number too long for an id; an id has at most 64 digits")
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        raise ValueError("is null")
    raise ValueError(f"expected a string or a number, got {type(value).__name__}")


def _optional_id(value: Any) -> str | None:
    return None if value in (None, "") else _source_id(value)


def _checked_text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > limit:
            raise ValueError(f"is {len(value)} characters; the limit is {limit}")
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__}")


# A date format made only of these fixed-width numeric directives and of literal characters
# is also read by slicing: see _Layout.
_WIDTHS: Final = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
_ORDER: Final = "YmdHMS"  # datetime's positional arguments
_LITERALS: Final = frozenset("-/:. T")
_COUNTED: Final = "-/:.T"  # characters no numeric directive of strptime ever matches


@dataclass(frozen=True, slots=True)
class _Layout:
    """A date format read with one regular expression, exactly as ``datetime.strptime`` reads it.

    ``read`` answers a datetime only for a value in the format's canonical shape (ASCII
    digits of each directive's full width, the literal characters in place), which strptime
    reads the same way; ``NO_MATCH`` when strptime certainly refuses the value (a literal
    character it needs is missing or extra: no numeric directive reads one); None when only
    strptime can tell.
    """

    pattern: re.Pattern[str]
    groups: tuple[int, ...]  # the group of each datetime argument, year first
    counts: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, fmt: str) -> _Layout | None:
        """The layout of ``fmt``, or None when it is not such a simple format."""
        order: list[str] = []
        literals: list[str] = []
        pattern = ""
        index = 0
        while index < len(fmt):
            char = fmt[index]
            if char == "%":
                directive = fmt[index + 1:index + 2]
                if directive not in _WIDTHS or directive in order:
                    return None
                order.append(directive)
                pattern += f"([0-9]{{{_WIDTHS[directive]}}})"
                index += 2
            elif char in _LITERALS and not (char == " " and fmt[index + 1:index + 2] == " "):
                literals.append(char)
                pattern += re.escape(char)
                index += 1
            else:
                return None
        present = "".join(d for d in _ORDER if d in order)
        if len(present) < 3 or present != _ORDER[:len(present)]:
            return None  # no full date, or e.g. minutes without hours: leave it to strptime
        counts = tuple((c, literals.count(c)) for c in _COUNTED)
        return cls(re.compile(pattern), tuple(order.index(d) + 1 for d in present), counts)

    def read(self, value: str) -> datetime | _NoMatch | None:
        """See the class: a datetime, ``NO_MATCH``, or None (ask strptime)."""
        found = self.pattern.fullmatch(value)
        if found is not None:
            numbers = [int(found.group(g)) for g in self.groups]
            year, month, day, hour, minute, second = (*numbers, 0, 0, 0)[:6]
            try:
                return datetime(year, month, day, hour, minute, second)
            except ValueError:
                return None  # out of range: strptime refuses it too, let it say so
        if value.isascii():
            upper = value.upper()
            for char, count in self.counts:
                if upper.count(char) != count:
                    return NO_MATCH
        return None


class _NoMatch:
    """The answer of a layout that knows strptime would refuse the value."""


NO_MATCH: Final = _NoMatch()
_LAYOUTS: dict[str, _Layout | None] = {}


def _layout(fmt: str) -> _Layout | None:
    if fmt not in _LAYOUTS:
        _LAYOUTS[fmt] = _Layout.of(fmt)
    return _LAYOUTS[fmt]


def _parse_datetime(value: str, formats: tuple[str, ...]) -> datetime | None:
    for fmt in formats:
        if fmt == ISO_SECONDS and _ISO_SECONDS_SHAPE.fullmatch(value):
            # fromisoformat is about ten times faster than strptime for the common case.
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                continue
        layout = _layout(fmt)
        if layout is not None:
            read = layout.read(value)
            if isinstance(read, datetime):
                return read
            if read is NO_MATCH:
                continue
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _local_time(value: Any, formats: tuple[str, ...], *, required: bool) -> datetime | None:
    """The naive local time a date field holds; None when it is empty (or a zero date)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError("is missing")
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {type(value).__name__}")
    text = value.strip()
    if not required and text in _ZERO_DATES:
        return None
    parsed = _parse_datetime(text, formats)
    if parsed is None:
        raise ValueError(f"{text[:40]!r} matches none of the formats {list(formats)}")
    return parsed


def _checked_date(value: Any, formats: tuple[str, ...], zone: ZoneInfo, *,
                  required: bool) -> datetime | None:
    parsed = _local_time(value, formats, required=required)
    return parsed.replace(tzinfo=zone) if parsed is not None else None


def _checked_optional_date(value: Any, formats: tuple[str, ...], zone: ZoneInfo) -> datetime | None:
    try:
        return _checked_date(value, formats, zone, required=False)
    except ValueError:
        # An optional date in no known format leaves the item usable: keep it, drop the date.
        return None


def _checked_optional_day(value: Any, formats: tuple[str, ...], _zone: ZoneInfo) -> date | None:
    # A day has no time of day, so no zone either.
    try:
        parsed = _local_time(value, formats, required=False)
    except ValueError:
        return None
    return parsed.date() if parsed is not None else None


# -- the same rules as pydantic validators ---------------------------------------------------


def _text(value: Any, info: ValidationInfo) -> str | None:
    return _checked_text(value, _context(info).max_chars)


def _formats(info: ValidationInfo) -> tuple[str, ...]:
    return _context(info).formats.get(info.field_name or "", ())


def _required_date(value: Any, info: ValidationInfo) -> datetime:
    parsed = _checked_date(value, _formats(info), _context(info).zone, required=True)
    assert parsed is not None  # noqa: S101 - required=True never returns None
    return parsed


def _optional_date(value: Any, info: ValidationInfo) -> datetime | None:
    return _checked_optional_date(value, _formats(info), _context(info).zone)


def _optional_day(value: Any, info: ValidationInfo) -> date | None:
    return _checked_optional_day(value, _formats(info), _context(info).zone)


SourceId = Annotated[str, BeforeValidator(_source_id)]
OptionalId = Annotated[str | None, BeforeValidator(_optional_id)]
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
_DOMAIN: dict[ListKind, type[Letter] | type[Disposition]] = {
    ListKind.SURAT: Letter,
    ListKind.DISPOSISI: Disposition,
}

Check = Callable[[Any], Any]


def _field_check(validator: Callable[..., Any], name: str, ctx: ParseContext) -> Check:
    """The plain function behind a field's validator, bound to the profile's settings."""
    formats, zone, limit = ctx.formats.get(name, ()), ctx.zone, ctx.max_chars
    if validator is _source_id or validator is _optional_id:
        return validator
    if validator is _text:
        return lambda value: _checked_text(value, limit)
    if validator is _required_date:
        return lambda value: _checked_date(value, formats, zone, required=True)
    if validator is _optional_date:
        return lambda value: _checked_optional_date(value, formats, zone)
    if validator is _optional_day:
        return lambda value: _checked_optional_day(value, formats, zone)
    raise TypeError(f"field {name}: no plain check for its validator")  # pragma: no cover


def _validators(model: type[BaseModel], domain: type[Item]) -> dict[str, Callable[..., Any]]:
    """Each field's validator, read off the model (whose fields are the domain class's)."""
    found: dict[str, Callable[..., Any]] = {}
    for name, field in model.model_fields.items():
        validators = [m.func for m in field.metadata if isinstance(m, BeforeValidator)]
        if len(validators) != 1:  # pragma: no cover - programming error
            raise TypeError(f"field {name}: expected exactly one validator")
        found[name] = validators[0]
    if set(found) != set(domain.__slots__):  # pragma: no cover - programming error
        raise TypeError(f"{model.__name__} and {domain.__name__} have different fields")
    return found


@dataclass(frozen=True, slots=True)
class Parsed:
    """A usable item: the record to store, and its validated fields by canonical name."""

    record: ItemRecord
    values: Mapping[str, Any]
    domain: type[Item]

    @property
    def item(self) -> Item:
        """The domain object (built on demand: storing an item does not need it)."""
        return self.domain(**self.values)


def content_hash(payload: bytes) -> str:
    """A short, stable digest of an item's payload, to notice changes in place."""
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


class ItemParser:
    """Parses the items of one list with the profile's field names and date formats."""

    def __init__(self, kind: ListKind, spec: ListSpec, *, zone: ZoneInfo, max_chars: int) -> None:
        """Prepare the field renaming, the validation context and the field checks once."""
        self.kind = kind
        self._model = _MODELS[kind]
        self._domain = _DOMAIN[kind]
        self._renames = tuple(spec.fields.items())
        self._source_names = dict(spec.fields)
        formats = {name: spec.date_formats.get(name, ()) for name in DATE_FIELDS[kind]}
        self._context = ParseContext(formats=formats, zone=zone, max_chars=max_chars)
        # Each field's rule, read from the model: text fields are checked inline (the
        # commonest rule), every other field by its plain function. Fields the profile does
        # not name are never in a renamed item: they are checked as absent (None).
        validators = _validators(self._model, self._domain)
        self._texts = tuple((name, spec.fields.get(name)) for name, validator in validators.items()
                            if validator is _text)
        self._others = tuple((name, spec.fields.get(name), _field_check(validator, name, self._context))
                             for name, validator in validators.items() if validator is not _text)

    def parse(self, year: int, raw: Any) -> Parsed | QuarantineRecord:
        """One raw item → a Parsed item, or a QuarantineRecord saying why not."""
        data = codec.dumps_bytes(raw)
        payload = data.decode("utf-8")
        if not isinstance(raw, dict):
            return QuarantineRecord(
                self.kind, year, f"item is not a JSON object (got {type(raw).__name__})", payload
            )
        values = self._checked(raw)
        if values is None:
            renamed = {canon: raw[source] for canon, source in self._renames if source in raw}
            try:
                model = self._model.model_validate(renamed, context=self._context)
            except ValidationError as exc:
                return QuarantineRecord(
                    self.kind, year, self._reason(exc), payload, source_id=self._loose_id(renamed)
                )
            values = {name: value for name, value in model if value is not None}
        record = ItemRecord(
            kind=self.kind,
            year=year,
            source_id=values["id"],
            item_time=values["created_at"],
            content_hash=content_hash(data),
            payload=payload,
            parent_id=values.get("surat_id"),
            fields=codec.dumps(values),
        )
        return Parsed(record, values, self._domain)

    def _checked(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        """The fields set, when every field passes its rule; None sends the item to the model.

        Reads each field under its profile name, as the model reads the renamed item.
        """
        values: dict[str, Any] = {}
        limit = self._context.max_chars
        try:
            for name, source in self._texts:
                value = raw.get(source) if source is not None else None
                if value is None:
                    continue
                if value.__class__ is not str or len(value) > limit:
                    value = _checked_text(value, limit)
                values[name] = value
            for name, source, check in self._others:
                value = check(raw.get(source) if source is not None else None)
                if value is not None:
                    values[name] = value
        except ValueError:
            return None
        return values

    def domain_item(self, payload: str) -> Item:
        """Parse a stored payload again (for case derivation and replay)."""
        result = self.parse(0, codec.loads(payload))
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
            try:
                text = str(value).strip()[:64]
            except ValueError:  # an integer too long to print
                return None
            return text if text and not _BAD_ID_CHARACTER.search(text) else None
        return None
