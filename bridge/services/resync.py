"""Manual resync: read one letter, a date range or everything again, cursors left alone."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog

from bridge.domain.items import ListKind, YearDir
from bridge.domain.records import PassMode
from bridge.errors import BridgeError
from bridge.ports import ItemLookup
from bridge.services.poll import ListPoller
from bridge.services.sync import SyncReport, SyncService

log = structlog.get_logger("bridge.resync")

Progress = Callable[[str, int, int | None, int], None]
"""``progress(label, page, total_pages, items)`` after each page."""

# Dispositions follow their letter; a letter's own date may be a few minutes off its listing.
_MARGIN = timedelta(hours=1)


class Resync:
    """Builds the reading step of a manual resync round (see Cycle.run_with)."""

    def __init__(self, ledger: ItemLookup, poller: ListPoller, sync: SyncService, zone: ZoneInfo,
                 *, progress: Progress | None = None) -> None:
        """Wire the poller and the year directories."""
        self._ledger = ledger
        self._poller = poller
        self._sync = sync
        self._zone = zone
        self._progress = progress

    def letter(self, surat_id: str, year: int | None) -> SyncReport:
        """Read one letter and its dispositions again; its case is derived again after."""
        report = SyncReport(pass_id=_pass_id())
        years = [self._sync.year_dir(year)] if year else self._sync.years()
        found_in: list[int] = []
        for directory in years:
            known = self._ledger.get_item(ListKind.SURAT, directory.year, surat_id)
            floor = known.item_time - _MARGIN if known else None
            self._pass(report, ListKind.SURAT, directory, floor)
            again = self._ledger.get_item(ListKind.SURAT, directory.year, surat_id)
            if again is None:
                continue
            found_in.append(directory.year)
            self._pass(report, ListKind.DISPOSISI, directory, again.item_time - _MARGIN)
            self._ledger.mark_cases_dirty([(directory.year, surat_id)])
        if not found_in:
            where = ", ".join(d.path for d in years)
            report.failures.append(f"letter {surat_id} was not found in {where}")
        return report

    def between(self, since: date, until: date | None) -> SyncReport:
        """Read every list down to ``since`` in each year directory the range touches."""
        last = until or datetime.now(self._zone).date()
        if last < since:
            raise BridgeError(f"--until {last} is before --since {since}")
        report = SyncReport(pass_id=_pass_id())
        floor = datetime.combine(since, time.min, tzinfo=self._zone)
        for year in range(since.year, last.year + 1):
            directory = self._sync.year_dir(year)
            for kind in ListKind:
                self._pass(report, kind, directory, floor)
        return report

    def full(self) -> SyncReport:
        """A full reconciliation pass now, as the nightly one."""
        return self._sync.run_once(mode=PassMode.FULL)

    def _pass(self, report: SyncReport, kind: ListKind, directory: YearDir,
              floor: datetime | None) -> None:
        label = f"{kind.value} {directory.path}"

        def progress(page: int, total: int | None, items: int) -> None:
            if self._progress is not None:
                self._progress(label, page, total, items)

        try:
            summary = self._poller.run_pass(kind, directory, PassMode.RESYNC, report.pass_id,
                                            floor=floor, progress=progress)
        except BridgeError as exc:
            report.failures.append(f"{label}: {exc}")
            log.error("resync.failed", list=kind.value, year_dir=directory.path, reason=str(exc),
                      next="the other lists go on; run the resync again later")
            return
        report.passes.append(summary)


def _pass_id() -> str:
    return "resync-" + uuid.uuid4().hex[:8]
