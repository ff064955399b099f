"""Which year directories to poll, and why: the current year's, and older ones while needed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from bridge.domain.items import PolledYear, YearDir

__all__ = ["PolledYear", "plan_years"]


def plan_years(
    offered: Sequence[YearDir],
    today: date,
    *,
    wanted: Sequence[int] = (),
    previous_year_weeks: int = 6,
    open_cases: Mapping[int, int] | None = None,
    template: str = "/surattangsel{yy}",
) -> list[PolledYear]:
    """The year directories to poll, oldest first, each with why.

    ``wanted`` (BRIDGE_YEARS) wins when given; a wanted year the server does not offer still
    gets its conventional directory. Otherwise: the current year; the previous one in the
    first ``previous_year_weeks`` weeks of January, since a letter of late December gets its
    dispositions in January; and any older year whose ledger still holds open cases
    (``open_cases``: year -> cases not yet at the invitation step), since their next
    disposition comes in that year's directory. When the new year's directory is not offered
    yet, the newest offered year stands in for it.
    """
    by_year = {entry.year: entry for entry in offered}

    def directory(year: int) -> YearDir:
        return by_year.get(year) or YearDir(year, template.format(yy=f"{year % 100:02d}"))

    if wanted:
        return [PolledYear(directory(year), "BRIDGE_YEARS") for year in sorted(set(wanted))]
    chosen: dict[int, PolledYear] = {}
    if today.year in by_year:
        chosen[today.year] = PolledYear(by_year[today.year], "current year")
    else:
        older = [entry for entry in offered if entry.year < today.year]
        if older:
            newest = max(older)
            chosen[newest.year] = PolledYear(
                newest, f"current year {today.year} not offered yet; newest offered")
    previous = today.year - 1
    if (today - date(today.year, 1, 1) < timedelta(weeks=previous_year_weeks)
            and previous in by_year and previous not in chosen):
        chosen[previous] = PolledYear(
            by_year[previous], f"first {previous_year_weeks} weeks of January")
    for year, count in sorted((open_cases or {}).items()):
        if year < today.year and count > 0 and year not in chosen:
            chosen[year] = PolledYear(
                directory(year), f"{count} open case(s) not yet at the invitation step")
    return [chosen[year] for year in sorted(chosen)]

