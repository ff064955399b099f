"""Letters (surat masuk) and dispositions (disposisi) as the bridge understands them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class PolledYear:
    """One year directory to poll, with the reason (shown by ``bridge status``)."""

    year_dir: YearDir
    reason: str


@dataclass(frozen=True, slots=True)
class Letter:
    """An incoming letter (surat masuk), parsed from one list item."""

    id: str
    created_at: datetime
    compose_id: str | None = None
    asal_surat: str | None = None
    pengirim: str | None = None
    perihal: str | None = None
    nomor_surat: str | None = None
    received_at: datetime | None = None
    sent_on: date | None = None
    sifat: str | None = None
    status_dibaca: str | None = None
    status_setujui: str | None = None


@dataclass(frozen=True, slots=True)
class Disposition:
    """A disposition: a superior forwards a letter down with an instruction."""

    id: str
    surat_id: str
    created_at: datetime
    dari_pegawai_id: str | None = None
    dari_jabatan: str | None = None
    kepada_pegawai_id: str | None = None
    kepada_jabatan: str | None = None
    isi: str | None = None
    status_baca: str | None = None


Item = Letter | Disposition

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
    cls = Letter if kind is ListKind.SURAT else Disposition
    return cls(**values)  # type: ignore[arg-type]
