"""Operators' decisions on letters, and the letters waiting for one (the review queue).

A letter whose subject is neither clearly a request nor clearly not (see ``Outcome.REVIEW``)
is not decided silently: it waits until a person accepts or rejects it. A person may also
open a case for any letter, or dismiss any case. The latest decision on a letter wins over
recognition every time its case is derived again, so it holds across resyncs and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Action(StrEnum):
    """What an operator decided about one letter."""

    ACCEPT = "accept"  # a letter waiting for review is a request
    REJECT = "reject"  # a letter waiting for review is no request
    OPEN = "open"  # any letter is a request, whatever recognition says
    DISMISS = "dismiss"  # any letter is no request, whatever recognition says

    @property
    def opens(self) -> bool:
        """Whether the letter is a case after this decision."""
        return self in (Action.ACCEPT, Action.OPEN)


@dataclass(frozen=True, slots=True)
class Decision:
    """One operator's decision on one letter: who, when, why."""

    year: int
    surat_id: str
    action: Action
    by: str
    at: datetime
    reason: str = ""

    @property
    def case_id(self) -> str:
        """The id the letter's case has (or would have)."""
        return f"{self.year}-{self.surat_id}"

    def describe(self) -> str:
        """E.g. ``dismiss by rina: a reply to our own letter``."""
        return f"{self.action.value} by {self.by}: {self.reason or 'no reason given'}"


@dataclass(frozen=True, slots=True)
class ReviewEntry:
    """A letter waiting for a person to decide whether it is a request."""

    year: int
    surat_id: str
    perihal: str | None
    asal_surat: str | None
    score: float
    why: str
    queued_at: datetime

    @property
    def case_id(self) -> str:
        """The id the letter's case would have."""
        return f"{self.year}-{self.surat_id}"
