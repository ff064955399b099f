"""What ``bridge cases``, ``bridge case ID`` and the case board show: one reading of the ledger.

The terminal and the web board print the same data in their own shape; reading it, the search
and each step's state on the timeline live here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bridge.domain.outbox import OutboxEntry
from bridge.domain.records import HistoryRow
from bridge.domain.sop import Sop
from bridge.ports import Ledger

# A word every JSON writer leaves as it is (printable ASCII, no quote or backslash) can be looked
# for in a case's stored document before the document is decoded (the ledger does).
_JSON_PLAIN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def case_lines(ledger: Ledger, *, step: int | None = None,
               overdue: bool | None = None) -> list[dict[str, Any]]:
    """The cases as ``bridge cases --json`` lines, newest letters first."""
    return [case_line(row.document) for row in ledger.list_cases(step=step, overdue=overdue)]


def matches(line: dict[str, Any], query: str) -> bool:
    """Whether the case's subject or sender holds ``query`` (case and spacing ignored)."""
    wanted = " ".join(query.casefold().split())
    if not wanted:
        return True
    return any(wanted in " ".join((line.get(key) or "").casefold().split())
               for key in ("perihal", "asal_surat"))


@dataclass(frozen=True, slots=True)
class CasePage:
    """One page of the cases that pass the filters, and how many passed in all."""

    lines: list[dict[str, Any]]
    total: int
    overdue: int


def find_cases(ledger: Ledger, *, step: int | None = None, overdue: bool | None = None,
               query: str = "", offset: int = 0, limit: int = 100) -> CasePage:
    """The cases at ``step``/``overdue`` whose subject or sender holds ``query``, one page of them.

    Without a query the ledger counts and pages; with one, each case's stored text is searched
    for the query's words first, so only likely matches are decoded.
    """
    if not query.split():
        total, late = ledger.count_cases(step=step, overdue=overdue)
        rows = ledger.list_cases(step=step, overdue=overdue, limit=limit, offset=offset)
        return CasePage([case_line(row.document) for row in rows], total, late)
    words = [word for word in query.casefold().split() if _JSON_PLAIN.fullmatch(word)]
    candidates = ledger.list_cases(step=step, overdue=overdue, containing=words)
    found = [(row, line) for row in candidates if matches(line := case_line(row.document), query)]
    return CasePage([line for _, line in found[offset:offset + limit]], len(found),
                    sum(1 for row, _ in found if row.overdue))


@dataclass(frozen=True, slots=True)
class CaseDetail:
    """One case with its history and its pushes."""

    line: dict[str, Any]
    history: list[HistoryRow]
    pushes: list[OutboxEntry]

    def as_json(self) -> dict[str, Any]:
        """The object ``bridge case ID --json`` prints."""
        return {
            **self.line,
            "history": [history_json(h) for h in self.history],
            "pushes": [push_json(e) for e in self.pushes],
        }


def history_json(h: HistoryRow) -> dict[str, Any]:
    """One change of a case, as ``bridge case ID --json`` prints it."""
    return {"at": h.at.isoformat(), "kind": h.kind, "description": h.description,
            "source": h.source}


def push_json(e: OutboxEntry) -> dict[str, Any]:
    """One push of a case, as ``bridge case ID --json`` prints it."""
    return {"id": e.id, "ref": e.intent.ref, "state": e.state.value, "remote_id": e.remote_id,
            "sent_at": e.sent_at.isoformat() if e.sent_at else None}


def case_detail(ledger: Ledger, case_id: str) -> CaseDetail | None:
    """The case, or None when the ledger has no case of that id."""
    row = ledger.get_case(case_id)
    if row is None:
        return None
    pushes = ledger.outbox_entries(case_id=case_id)
    return CaseDetail(case_line(row.document), ledger.case_history(case_id), pushes)


class StepState(StrEnum):
    """Where one SOP step of a case stands."""

    DONE = "done"
    DONE_LATE = "done_late"
    DUE = "due"
    OVERDUE = "overdue"
    NOT_YET = "not_yet"


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One SOP step of a case: its name, its state and, when reached, when and by whom."""

    number: int
    name: str
    state: StepState
    at: str | None = None
    actor: str = ""
    source: str = ""
    deadline: str | None = None


def timeline(line: dict[str, Any], sop: Sop) -> list[TimelineStep]:
    """Every step of the SOP for this case, first to last."""
    reached: dict[str, Any] = line.get("step_details") or {}
    late = set(line.get("overdue_steps") or ())
    steps = []
    for definition in sop:
        number = definition.number
        done = reached.get(str(number))
        if done is not None:
            state = StepState.DONE_LATE if number in late else StepState.DONE
            steps.append(TimelineStep(number, definition.name, state, done.get("at"),
                                      done.get("actor") or "", done.get("source") or ""))
        elif number == line.get("next_step"):
            state = StepState.OVERDUE if line.get("overdue") else StepState.DUE
            steps.append(TimelineStep(number, definition.name, state,
                                      deadline=line.get("next_deadline")))
        else:
            steps.append(TimelineStep(number, definition.name, StepState.NOT_YET))
    return steps


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
        "overdue_steps": doc.get("overdue_steps", []),
        "step_details": doc.get("steps", {}),
        "registered_at": doc.get("registered_at"),
        "reason": doc.get("reason"),
        "invitation": doc.get("invitation"),
        "score": doc.get("score", 1.0),
    }
