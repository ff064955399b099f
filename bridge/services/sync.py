"""A sync: one pass over each list of each year directory, and the daemon loop around it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from bridge.domain.items import ListKind, YearDir
from bridge.domain.records import Cursor, PassMode, PassSummary, StoreResult
from bridge.errors import ApiError, AuthenticationError, BridgeError
from bridge.ports import SisumakerApi, YearPlans
from bridge.services.poll import ListPoller
from bridge.services.stop import StopSignal
from bridge.services.years import PolledYear, plan_years

log = structlog.get_logger("bridge.sync")


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """When to run full passes, and which years to poll."""

    zone: ZoneInfo
    years: tuple[int, ...] = ()
    previous_year_weeks: int = 6
    full_sync_hour: int | None = 2
    directory_template: str = "/surattangsel{yy}"
    domain_refresh: timedelta = timedelta(hours=1)
    # An older year's directory is polled while its ledger holds cases below this step
    # (the invitation step: what comes after it is not read from the lists). None: never.
    open_below_step: int | None = None


@dataclass
class SyncReport:
    """What one sync did, over every list and year directory."""

    pass_id: str
    passes: list[PassSummary] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    error_kinds: list[str] = field(default_factory=list)
    stopped: bool = False

    @property
    def result(self) -> StoreResult:
        """The store counts added up."""
        total = StoreResult()
        for summary in self.passes:
            total = total + summary.result
        return total

    @property
    def requests(self) -> int:
        """Requests sent by the passes."""
        return sum(summary.requests for summary in self.passes)

    @property
    def ok(self) -> bool:
        """True when every pass completed."""
        return not self.failures and not self.stopped


def full_pass_due(cursor: Cursor, now: datetime, zone: ZoneInfo, hour: int | None) -> bool:
    """A full pass is due on the first pass, and once a day after ``hour`` (local time)."""
    if cursor.watermark is None or cursor.last_full_pass_at is None:
        return True
    if hour is None:
        return False
    local = now.astimezone(zone)
    slot = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if local < slot:
        slot -= timedelta(days=1)
    return cursor.last_full_pass_at < slot


class SyncService:
    """Runs the passes of one sync; the daemon calls it every poll interval."""

    def __init__(
        self,
        api: SisumakerApi,
        ledger: YearPlans,
        poller: ListPoller,
        config: SyncConfig,
        *,
        stop: StopSignal | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Wire the ports."""
        self._api = api
        self._ledger = ledger
        self._poller = poller
        self._config = config
        self._stop = stop or StopSignal()
        self._now = now
        self._offered: list[YearDir] | None = None
        self._offered_at: datetime | None = None
        self._polled: list[PolledYear] | None = None

    def years(self) -> list[YearDir]:
        """The year directories to poll now (the domain list is cached for an hour)."""
        plan = self.plan()
        if plan != self._polled:
            # Logged when the choice changes: a previous year taken up or dropped.
            log.info("years.polled", years=[f"{p.year_dir.path} ({p.reason})" for p in plan],
                     dropped=[p.year_dir.path for p in self._polled or () if p not in plan],
                     next="these directories are polled each round")
            self._ledger.record_polled_years(plan, self._now())
            self._polled = plan
        return [entry.year_dir for entry in plan]

    def plan(self) -> list[PolledYear]:
        """The year directories to poll now, each with the reason."""
        now = self._now()
        if self._needs_domain(now):
            try:
                self._offered = self._api.year_dirs()
                self._offered_at = now
            except ApiError as exc:
                if self._offered is None and not self._config.years:
                    raise
                log.warning("years.domain_failed", reason=str(exc),
                            next="using the year directories known before")
        below = self._config.open_below_step
        return plan_years(
            self._offered or [],
            now.astimezone(self._config.zone).date(),
            wanted=self._config.years,
            previous_year_weeks=self._config.previous_year_weeks,
            open_cases=self._ledger.open_case_years(below) if below is not None else None,
            template=self._config.directory_template,
        )

    def year_dir(self, year: int) -> YearDir:
        """The directory of a year: as the server offers it, else by the profile's template."""
        for entry in self._offered or ():
            if entry.year == year:
                return entry
        return YearDir(year, self._config.directory_template.format(yy=f"{year % 100:02d}"))

    def _needs_domain(self, now: datetime) -> bool:
        if self._offered is None or self._offered_at is None:
            return True
        return now - self._offered_at >= self._config.domain_refresh

    def run_once(self, *, mode: PassMode | None = None,
                 kinds: Sequence[ListKind] = tuple(ListKind)) -> SyncReport:
        """One pass of each list in each year directory; a failing list does not stop the rest."""
        report = SyncReport(pass_id=uuid.uuid4().hex[:12])
        bound = log.bind(pass_id=report.pass_id)
        try:
            years = self.years()
        except BridgeError as exc:
            report.failures.append(f"year directories: {exc}")
            report.error_kinds.append(type(exc).__name__)
            bound.error("sync.failed", reason=str(exc), next="the next pass tries again")
            return report
        for year in years:
            for kind in kinds:
                if self._stop.is_set():
                    report.stopped = True
                    return report
                if not self._run_list(kind, year, mode, report, bound):
                    return report
        return report

    def _run_list(self, kind: ListKind, year: YearDir, mode: PassMode | None,
                  report: SyncReport, bound: structlog.BoundLogger) -> bool:
        cursor = self._ledger.cursor(kind, year.year)
        chosen = mode or (
            PassMode.FULL
            if full_pass_due(cursor, self._now(), self._config.zone, self._config.full_sync_hour)
            else PassMode.INCREMENTAL
        )
        try:
            summary = self._poller.run_pass(kind, year, chosen, report.pass_id)
        except AuthenticationError as exc:
            report.failures.append(f"{kind.value} {year.path}: {exc}")
            report.error_kinds.append(type(exc).__name__)
            bound.error("pass.failed", list=kind.value, year_dir=year.path, reason=str(exc),
                        next="stopping this sync; the next one logs in again")
            return False
        except BridgeError as exc:
            report.failures.append(f"{kind.value} {year.path}: {exc}")
            report.error_kinds.append(type(exc).__name__)
            bound.error("pass.failed", list=kind.value, year_dir=year.path, reason=str(exc),
                        next="the watermark stays; the next pass reads this list again")
            return True
        report.passes.append(summary)
        if not summary.complete:
            report.stopped = True
            return False
        return True
