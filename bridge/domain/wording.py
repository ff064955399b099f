"""Indonesian dates and safe substitution for what the bridge writes into Sisumaker."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date, datetime
from string import Template

from bridge.domain.text import printable

_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
           "September", "Oktober", "November", "Desember")


def tanggal(day: date) -> str:
    """``Senin, 30 November 2026``."""
    return f"{_DAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def tanggal_singkat(day: date) -> str:
    """``30 November 2026``."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def waktu(moment: datetime) -> str:
    """``Senin, 30 November 2026 pukul 09.14 WIB`` (the moment in its own zone)."""
    return f"{tanggal(moment.date())} pukul {moment:%H.%M} WIB"


def inert(value: str) -> str:
    """A value from Sisumaker made inert: no markup, no control or bidi characters."""
    return printable(html.escape(value, quote=False))


def render(template: str, values: Mapping[str, str | None]) -> str:
    """Fill ``${name}`` placeholders with inert values; the result is never parsed again."""
    return Template(template).substitute({k: inert(v or "-") for k, v in values.items()})
