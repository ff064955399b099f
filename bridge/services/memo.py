"""Recognition memoised: subjects, instructions and job titles repeat across thousands of items.

The recogniser itself is a pure function of its rules; the memo lives here, in
``functools.lru_cache``, bounded so that a flood of distinct hostile texts cannot grow it
without limit.
"""

from __future__ import annotations

from functools import lru_cache

from bridge.domain.recognition import Recogniser, Role, Verdict

# Job titles, instructions ("Mohon ditindaklanjuti") and subjects (a subject is read again each
# time one of its dispositions changes) repeat endlessly across 150,000 items.
MEMO_SIZE = 8192


class MemoisedRecognition:
    """The ``Recognition`` a recogniser gives, with every verdict remembered (LRU-bounded)."""

    def __init__(self, recogniser: Recogniser, size: int = MEMO_SIZE) -> None:
        """Wrap ``recogniser``; each kind of verdict keeps its ``size`` latest texts."""
        self.recogniser = recogniser
        self._subject = lru_cache(maxsize=size)(recogniser.subject_verdict)
        self._instruction = lru_cache(maxsize=size)(recogniser.instruction_verdict)
        self._role = lru_cache(maxsize=size)(recogniser.role_of)

    def subject_verdict(self, perihal: str | None) -> Verdict:
        """The request rule on a letter's subject."""
        return self._subject(perihal)

    def instruction_verdict(self, isi: str | None) -> Verdict:
        """The instruction rule on a disposition's instruction."""
        return self._instruction(isi)

    def role_of(self, jabatan: str | None) -> Role:
        """The SOP role a job title names."""
        return self._role(jabatan)
