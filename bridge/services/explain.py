"""Why a letter is a case, waits for review, or is no case: everything recognition saw."""

from __future__ import annotations

from typing import Any

from bridge.domain.fuzzy import Correction
from bridge.domain.items import ListKind
from bridge.domain.recognition import ClauseMatch, Recogniser, Verdict
from bridge.errors import BridgeError
from bridge.ports import Ledger


class UnknownLetterError(BridgeError):
    """The ledger holds no such letter (or it is in several year directories)."""


def find_letter_year(ledger: Ledger, surat_id: str, year: int | None) -> int:
    """The year directory holding letter ``surat_id`` (the one given, checked, or the only one)."""
    years = [year] if year is not None else sorted({c.year for c in ledger.cursors()}, reverse=True)
    found = [y for y in years if ledger.get_item(ListKind.SURAT, y, surat_id) is not None]
    if not found:
        where = f"year {year}" if year is not None else "any polled year"
        raise UnknownLetterError(f"no letter {surat_id!r} in the ledger ({where}); "
                                 "`bridge resync --surat ID` reads it from Sisumaker")
    if len(found) > 1:
        raise UnknownLetterError(f"letter {surat_id!r} is in several year directories "
                                 f"({', '.join(map(str, found))}); give --year")
    return found[0]


def explain(ledger: Ledger, recogniser: Recogniser, year: int, surat_id: str) -> dict[str, Any]:
    """Everything behind the letter's standing, as one JSON-ready document."""
    # The letter as derivation reads it (a letter removed in Sisumaker has none).
    letter = ledger.case_inputs([(year, surat_id)])[(year, surat_id)].letter
    perihal = letter.perihal if letter is not None else None
    verdict = recogniser.subject_verdict(perihal, full=True)
    case_id = f"{year}-{surat_id}"
    case = ledger.get_case(case_id)
    queued = ledger.review_entry(year, surat_id)
    decisions = ledger.decisions(year, surat_id)
    document = case.document if case is not None else None
    return {
        "case_id": case_id,
        "year": year,
        "surat_id": surat_id,
        "perihal": perihal,
        "asal_surat": letter.asal_surat if letter is not None else None,
        "recognition": verdict_document(verdict),
        "standing": _standing(case is not None, queued is not None, decisions[-1:]),
        "case_reason": document.get("reason") if document else None,
        "waiting_since": queued.queued_at.isoformat() if queued is not None else None,
        "decisions": [{"action": d.action.value, "by": d.by, "at": d.at.isoformat(),
                       "reason": d.reason} for d in decisions],
    }


def verdict_document(verdict: Verdict) -> dict[str, Any]:
    """A verdict with what each clause found and every word read fuzzily."""
    return {
        "rule": verdict.rule,
        "normalised": verdict.normalised,
        "score": verdict.score,
        "verdict": verdict.outcome.value,
        "reason": verdict.reason,
        "clauses": [_clause(c) for c in verdict.clauses],
        "excluded_by": _clause(verdict.excluded_by) if verdict.excluded_by else None,
        "fuzzy": [_correction(c) for c in verdict.corrections],
    }


def _standing(is_case: bool, queued: bool, last: list[Any]) -> str:
    if is_case:
        return "case"
    if queued:
        return "waiting for review"
    if last and not last[0].action.opens:
        return f"no case ({last[0].action.value}ed by {last[0].by})"
    return "no case"


def _clause(match: ClauseMatch) -> dict[str, Any]:
    return {"clause": match.label, "matched": match.fragment,
            "fuzzy": [_correction(c) for c in match.fuzzy]}


def _correction(correction: Correction) -> dict[str, Any]:
    return {"written": correction.written, "read_as": correction.read_as,
            "kind": correction.kind.value, "distance": correction.distance}
