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
    return Wording(template).fill(values)


class Wording:
    """A template of the mapping files, read once: filled many times, each value made inert.

    Only the values the template names are made inert (a note names 5 of its 10 values; a
    first sync of 30,000 items renders 11,000 texts, and escaping every value took 0.27 s).
    """

    __slots__ = ("_names", "_template")

    def __init__(self, text: str) -> None:
        """Read ``text``'s ``${name}`` placeholders."""
        self._template = Template(text)
        self._names = tuple(dict.fromkeys(self._template.get_identifiers()))

    def fill(self, values: Mapping[str, str | None]) -> str:
        """The text with its placeholders filled; KeyError names one that ``values`` lacks."""
        return self._template.substitute({name: inert(values[name] or "-")
                                          for name in self._names if name in values})
