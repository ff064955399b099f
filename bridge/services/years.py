"""Which year directories to poll: the current year's, and early in a year also the last."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from bridge.domain.items import YearDir


def choose_years(
    offered: Sequence[YearDir],
    today: date,
    *,
    wanted: Sequence[int] = (),
    previous_year_weeks: int = 6,
    template: str = "/surattangsel{yy}",
) -> list[YearDir]:
    """The year directories to poll.

    ``wanted`` (BRIDGE_YEARS) wins when given; a wanted year the server does not offer still
    gets its conventional directory. Otherwise: the current year, plus the previous one in
    the first ``previous_year_weeks`` weeks of January, since a letter of late December gets
    its dispositions in January. When the new year's directory is not offered yet, the
    newest offered year stands in for it.
    """
    by_year = {entry.year: entry for entry in offered}
    if wanted:
        return [by_year.get(year) or YearDir(year, template.format(yy=f"{year % 100:02d}"))
                for year in sorted(set(wanted))]
    years = [today.year]
    if today - date(today.year, 1, 1) < timedelta(weeks=previous_year_weeks):
        years.insert(0, today.year - 1)
    chosen = [by_year[year] for year in years if year in by_year]
    if today.year not in by_year:
        older = [entry for entry in offered if entry.year < today.year]
        if older and older[-1] not in chosen:
            chosen.append(max(older))
    return sorted(set(chosen))
