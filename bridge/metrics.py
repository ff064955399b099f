"""Prometheus metrics: counters fed from each round's report, gauges read from the ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bridge.ports import Ledger
from bridge.services.cycle import CycleReport


class LedgerCollector(Collector):
    """The ledger's gauges: quarantine, cases, overdue, returned invitations, review, outbox."""

    def __init__(self, open_ledger: Callable[[], Ledger]) -> None:
        """``open_ledger`` gives a connection usable in the scraping thread."""
        self._open = open_ledger

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One read of the ledger per scrape."""
        ledger = self._open()
        try:
            yield GaugeMetricFamily("bridge_quarantine_items", "Items in quarantine",
                                    value=ledger.quarantine_count())
            per_step = GaugeMetricFamily("bridge_cases", "Cases by the highest SOP step reached",
                                         labels=["step"])
            for step, count in sorted(ledger.cases_per_step().items()):
                per_step.add_metric([str(step)], count)
            yield per_step
            yield GaugeMetricFamily("bridge_cases_overdue", "Cases whose next step is overdue",
                                    value=len(ledger.list_cases(overdue=True)))
            yield GaugeMetricFamily(
                "bridge_invitations_returned",
                "Cases whose invitation draft its signer returned, not yet sent again",
                value=ledger.returned_invitations())
            yield GaugeMetricFamily("bridge_review_queue",
                                    "Letters waiting for a person to say whether they are requests",
                                    value=ledger.review_count())
            outbox = GaugeMetricFamily("bridge_outbox", "Pushes by state", labels=["state"])
            for state, count in ledger.outbox_counts().items():
                outbox.add_metric([state.value], count)
            yield outbox
            last = [c.last_complete_pass_at for c in ledger.cursors() if c.last_complete_pass_at]
            yield GaugeMetricFamily(
                "bridge_last_successful_pass_timestamp_seconds",
                "UNIX time of the last complete pass of any list",
                value=max(last).timestamp() if last else 0.0)
        finally:
            ledger.close()


class Metrics:
    """The bridge's metrics in their own registry."""

    def __init__(self, open_ledger: Callable[[], Ledger]) -> None:
        """Create every metric; the ledger gauges are collected on scrape."""
        # Per-series *_created samples double the output and no dashboard here uses them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        r = self.registry
        self.passes = Counter("bridge_passes", "List passes", ["list", "mode", "result"],
                              registry=r)
        self.items = Counter("bridge_items_read", "List items read", ["list"], registry=r)
        self.pages = Counter("bridge_pages_read", "List pages read", ["list"], registry=r)
        self.stored = Counter("bridge_items_stored", "Items stored by outcome", ["outcome"],
                              registry=r)
        self.errors = Counter("bridge_errors", "Errors by kind", ["kind"], registry=r)
        self.requests = Counter("bridge_http_requests", "HTTP requests sent", registry=r)
        self.retries = Counter("bridge_http_retries", "HTTP requests retried", registry=r)
        self.pushes = Counter("bridge_pushes", "Pushes by outcome", ["outcome"], registry=r)
        self.breaches = Counter("bridge_sla_breaches", "SLA breaches logged", registry=r)
        self.rounds = Gauge("bridge_last_round_timestamp_seconds", "UNIX time of the last round",
                            registry=r)
        r.register(LedgerCollector(open_ledger))

    def observe(self, report: CycleReport, *, requests: int, retries: int) -> None:
        """Count what one round did; ``requests``/``retries`` are this round's increments."""
        for summary in report.sync.passes:
            result = "complete" if summary.complete else "stopped"
            self.passes.labels(summary.kind.value, summary.mode.value, result).inc()
            self.pages.labels(summary.kind.value).inc(summary.pages)
            self.items.labels(summary.kind.value).inc(
                summary.result.new + summary.result.changed + summary.result.unchanged
                + summary.result.quarantined)
        total = report.sync.result
        for outcome, count in (("new", total.new), ("changed", total.changed),
                               ("unchanged", total.unchanged), ("quarantined", total.quarantined)):
            self.stored.labels(outcome).inc(count)
        for kind in report.sync.error_kinds:
            self.errors.labels(kind).inc()
        self.requests.inc(requests)
        self.retries.inc(retries)
        if report.push is not None:
            for outcome, count in (("sent", report.push.sent), ("found", report.push.found),
                                   ("deferred", report.push.deferred),
                                   ("failed", report.push.failed)):
                self.pushes.labels(outcome).inc(count)
        self.breaches.inc(report.track.breaches)
        self.rounds.set(datetime.now(UTC).timestamp())

    def error(self, kind: str) -> None:
        """Count an error outside a round's report (a round that could not start)."""
        self.errors.labels(kind).inc()

