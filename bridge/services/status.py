"""What ``bridge status`` reports, read from the ledger alone."""

from __future__ import annotations

from typing import Any

from bridge.domain.items import ListKind
from bridge.ports import Ledger


def status_report(ledger: Ledger, *, ledger_url: str) -> dict[str, Any]:
    """Items per list, quarantine size, cursors and watermarks, the last complete pass.

    ``polled``: the year directories the last round chose to poll, and why.
    """
    polled, decided_at = ledger.polled_years()
    counts = ledger.item_counts()
    cursors = ledger.cursors()
    completes = [c.last_complete_pass_at for c in cursors if c.last_complete_pass_at]
    return {
        "ledger": ledger_url,
        "items": {kind.value: counts.get(kind, 0) for kind in ListKind},
        "quarantined": ledger.quarantine_count(),
        "invitations_returned": ledger.returned_invitations(),
        "polled": [{"year": p.year_dir.year, "dir": p.year_dir.path, "reason": p.reason}
                   for p in polled],
        "polled_decided_at": _iso(decided_at),
        "cursors": [
            {
                "list": c.kind.value,
                "year": c.year,
                "watermark": c.watermark.isoformat() if c.watermark else None,
                "last_page": c.last_page,
                "pass_id": c.pass_id,
                "last_complete_pass_at": _iso(c.last_complete_pass_at),
                "last_full_pass_at": _iso(c.last_full_pass_at),
            }
            for c in cursors
        ],
        "last_complete_pass_at": _iso(max(completes)) if completes else None,
        "last_passes": [
            {
                "pass_id": p.pass_id, "list": p.kind.value, "year": p.year, "mode": p.mode.value,
                "finished_at": _iso(p.finished_at), "complete": p.complete, "pages": p.pages,
                "requests": p.requests, "new": p.result.new, "changed": p.result.changed,
                "quarantined": p.result.quarantined, "error": p.error,
            }
            for p in ledger.last_passes(10)
        ],
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
