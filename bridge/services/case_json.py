"""Cases as JSON documents: how the ledger stores them and how ``bridge cases --json`` prints them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.domain.cases import Case, StepReached


def case_document(case: Case) -> dict[str, Any]:
    """The whole case, losslessly."""
    return {
        "case_id": case.case_id,
        "year": case.year,
        "surat_id": case.surat_id,
        "perihal": case.perihal,
        "asal_surat": case.asal_surat,
        "registered_at": _iso(case.registered_at),
        "step": case.step,
        "steps": {str(n): {"at": r.at.isoformat(), "actor": r.actor, "source": r.source}
                  for n, r in sorted(case.steps.items())},
        "next_step": case.next_step,
        "next_deadline": _iso(case.next_deadline),
        "overdue": case.overdue,
        "overdue_steps": list(case.overdue_steps),
        "anomalies": list(case.anomalies),
        "reason": case.reason,
        "score": case.score,
    }


def case_from_document(doc: dict[str, Any]) -> Case:
    """The case back from its stored document."""
    return Case(
        case_id=doc["case_id"],
        year=int(doc["year"]),
        surat_id=doc["surat_id"],
        perihal=doc.get("perihal"),
        asal_surat=doc.get("asal_surat"),
        registered_at=_dt(doc.get("registered_at")),
        step=int(doc["step"]),
        steps={int(n): StepReached(datetime.fromisoformat(r["at"]), r["actor"], r["source"])
               for n, r in doc.get("steps", {}).items()},
        next_step=doc.get("next_step"),
        next_deadline=_dt(doc.get("next_deadline")),
        overdue=bool(doc.get("overdue")),
        overdue_steps=tuple(doc.get("overdue_steps", ())),
        anomalies=tuple(doc.get("anomalies", ())),
        reason=doc.get("reason", ""),
        score=float(doc.get("score", 1.0)),
    )


def case_line(doc: dict[str, Any], *, overdue: bool | None = None) -> dict[str, Any]:
    """One line of ``bridge cases --json``: steps as {number: ISO time}, details beside."""
    return {
        "case_id": doc["case_id"],
        "year": doc["year"],
        "surat_id": doc["surat_id"],
        "perihal": doc.get("perihal"),
        "asal_surat": doc.get("asal_surat"),
        "step": doc["step"],
        "steps": {n: r["at"] for n, r in doc.get("steps", {}).items()},
        "next_step": doc.get("next_step"),
        "next_deadline": doc.get("next_deadline"),
        "overdue": doc.get("overdue") if overdue is None else overdue,
        "anomalies": doc.get("anomalies", []),
        "step_details": doc.get("steps", {}),
        "registered_at": doc.get("registered_at"),
        "reason": doc.get("reason"),
        "score": doc.get("score", 1.0),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
