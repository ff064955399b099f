"""Letters (surat masuk) and dispositions (disposisi) as the bridge understands them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class ListKind(StrEnum):
    """The Sisumaker lists the bridge polls."""

    SURAT = "surat"
    DISPOSISI = "disposisi"


@dataclass(frozen=True, slots=True, order=True)
class YearDir:
    """One year's Sisumaker application, e.g. year 2026 at ``/surattangsel26``."""

    year: int
    path: str

    @property
    def short(self) -> str:
        """The two-digit year, as Sisumaker names its directories (``26``)."""
        return f"{self.year % 100:02d}"


class Rule(StrEnum):
    """What one field of a list item must hold: the parser is built from these alone."""

    KEY = "key"  # an id that keys the item: a non-empty string or a whole number
    REF = "ref"  # an id of something else, or nothing
    TEXT = "text"  # text (a number or a boolean is taken as its text), or nothing
    TIME = "time"  # a date and time in one of the profile's formats
    OPTIONAL_TIME = "optional_time"  # the same, or nothing (an unreadable one counts as nothing)
    DAY = "day"  # a calendar date, or nothing (an unreadable one counts as nothing)

    @property
    def required(self) -> bool:
        """An item without this field cannot be stored (it goes to quarantine)."""
        return self in (Rule.KEY, Rule.TIME)

    @property
    def is_date(self) -> bool:
        """The field is read with the profile's date formats."""
        return self in (Rule.TIME, Rule.OPTIONAL_TIME, Rule.DAY)


def _rule(rule: Rule) -> Any:
    """A dataclass field carrying its rule; optional fields default to None."""
    if rule.required:
        return field(metadata={"rule": rule})
    return field(default=None, metadata={"rule": rule})


@dataclass(frozen=True, slots=True)
class PolledYear:
    """One year directory to poll, with the reason (shown by ``bridge status``)."""

    year_dir: YearDir
    reason: str


@dataclass(frozen=True, slots=True)
class Letter:
    """An incoming letter (surat masuk), parsed from one list item."""

    id: str = _rule(Rule.KEY)
    created_at: datetime = _rule(Rule.TIME)
    compose_id: str | None = _rule(Rule.REF)
    asal_surat: str | None = _rule(Rule.TEXT)
    pengirim: str | None = _rule(Rule.TEXT)
    perihal: str | None = _rule(Rule.TEXT)
    nomor_surat: str | None = _rule(Rule.TEXT)
    received_at: datetime | None = _rule(Rule.OPTIONAL_TIME)
    sent_on: date | None = _rule(Rule.DAY)
    sifat: str | None = _rule(Rule.TEXT)
    status_dibaca: str | None = _rule(Rule.TEXT)
    status_setujui: str | None = _rule(Rule.TEXT)


@dataclass(frozen=True, slots=True)
class Disposition:
    """A disposition: a superior forwards a letter down with an instruction."""

    id: str = _rule(Rule.KEY)
    surat_id: str = _rule(Rule.KEY)
    created_at: datetime = _rule(Rule.TIME)
    dari_pegawai_id: str | None = _rule(Rule.REF)
    dari_jabatan: str | None = _rule(Rule.TEXT)
    kepada_pegawai_id: str | None = _rule(Rule.REF)
    kepada_jabatan: str | None = _rule(Rule.TEXT)
    isi: str | None = _rule(Rule.TEXT)
    status_baca: str | None = _rule(Rule.TEXT)


Item = Letter | Disposition
ITEM_CLASSES: dict[ListKind, type[Letter] | type[Disposition]] = {
    ListKind.SURAT: Letter,
    ListKind.DISPOSISI: Disposition,
}


def field_rules(kind: ListKind) -> Mapping[str, Rule]:
    """The fields of an item of this list, in order, with the rule of each.

    The one place a field is named, typed and checked: the profile's field names, the
    parser and the stored fields all follow it.
    """
    return {f.name: f.metadata["rule"] for f in fields(ITEM_CLASSES[kind])}

_DATETIMES = frozenset({"created_at", "received_at"})


def item_from_fields(kind: ListKind, fields: dict[str, object]) -> Item:
    """The item from its canonical fields as stored (JSON values; dates in ISO 8601)."""
    values: dict[str, object] = {}
    for name, value in fields.items():
        if isinstance(value, str) and name in _DATETIMES:
            values[name] = datetime.fromisoformat(value)
        elif isinstance(value, str) and name == "sent_on":
            values[name] = date.fromisoformat(value)
        else:
            values[name] = value
    return ITEM_CLASSES[kind](**values)  # type: ignore[arg-type]
