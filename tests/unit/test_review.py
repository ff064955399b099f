"""The review band and operators' decisions over a real ledger fed by the real poller.

A doubtful letter waits in the review queue with no push; a decision is stored with who,
when and why and wins over recognition every time the case is derived again; a dismissed
case's unsent pushes are cancelled and an opening brings them back. The ``ledger`` fixture is
a real SQLite file (and, where the local server answers, a PostgreSQL schema).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from bridge.adapters.ledger.sqlite import SqliteLedger
from bridge.config.profile import Profile
from bridge.config.push_mapping import load_push_mapping
from bridge.config.sop_mapping import SopMappings
from bridge.domain.items import ListKind
from bridge.domain.review import Action, Decision
from bridge.metrics import Metrics
from bridge.ports import Ledger
from bridge.services.intents import IntentBuilder
from bridge.services.parse import ItemParser
from bridge.services.tracking import CaseTracker
from tests.conftest import MAPPINGS
from tests.unit.test_tracking import CASE_ID, SURAT_ID, Desk, mappings, wib

__all__ = ["mappings"]  # the module-scoped fixture, shared with test_tracking

DOUBTFUL = "Dinas Sosial - Pembuatan Aplikasi Pendataan Lansia"
REQUEST = "Permohonan Pembuatan Aplikasi Pendataan Lansia"
KEY = (2026, SURAT_ID)


class PushingDesk(Desk):
    """A desk whose tracker computes pushes, as with BRIDGE_PUSH_ENABLED=true."""

    def __init__(self, ledger: Ledger, parsers: dict[ListKind, ItemParser],
                 mappings: SopMappings, profile: Profile) -> None:
        super().__init__(ledger, parsers, mappings)
        push = load_push_mapping(MAPPINGS, max_meeting_days=mappings.sop.working_days(5))
        intents = IntentBuilder(push, profile.push, mappings.sop, mappings.calendar,
                                now=lambda: self.now)
        self.tracker = CaseTracker(ledger, mappings, intents=intents, now=lambda: self.now)

    def round(self) -> list[str]:
        """Poll and derive (each case saved with its pushes); the refs queued this round."""
        before = {e.intent.ref for e in self.ledger.outbox_entries()}
        self.poll()
        self.track()
        return [e.intent.ref for e in self.ledger.outbox_entries() if e.intent.ref not in before]

    def decide(self, action: Action, by: str = "rina", reason: str = "checked the letter"
               ) -> list[str]:
        """Record a decision and derive the case again, as the CLI does; the refs cancelled."""
        cancelled = self.ledger.record_decision(Decision(*KEY, action, by, wib(20, 13), reason))
        self.tracker.derive_now([KEY])
        return [e.intent.ref for e in cancelled]

    def push_states(self) -> dict[str, str]:
        return {e.intent.ref: e.state.value for e in self.ledger.outbox_entries()}


@pytest.fixture
def desk(ledger: Ledger, parsers: dict[ListKind, ItemParser], mappings: SopMappings,
         profile: Profile) -> PushingDesk:
    return PushingDesk(ledger, parsers, mappings, profile)


def test_a_doubtful_letter_waits_for_review_and_gets_no_push(desk: PushingDesk) -> None:
    desk.add_letter(perihal=DOUBTFUL)
    assert desk.round() == []
    assert desk.ledger.get_case(CASE_ID) is None
    (entry,) = desk.ledger.review_queue()
    assert (entry.year, entry.surat_id, entry.perihal) == (2026, SURAT_ID, DOUBTFUL)
    assert entry.score == 0.6 and "nothing for 'intent'" in entry.why
    assert desk.ledger.review_count() == 1
    assert [h.kind for h in desk.history()] == ["review_queued"]
    assert desk.ledger.outbox_entries() == []
    # deriving it again keeps one entry, one history line, and still no push
    desk.ledger.mark_cases_dirty([KEY])
    assert desk.round() == []
    assert len(desk.ledger.review_queue()) == 1 and len(desk.history()) == 1


def test_accepting_opens_the_case_and_the_decision_survives_rederivation(
        desk: PushingDesk) -> None:
    desk.add_letter(perihal=DOUBTFUL)
    desk.round()
    desk.decide(Action.ACCEPT, reason="asks for an application")
    assert desk.ledger.review_queue() == []
    doc = desk.doc()
    assert doc["reason"] == "accept by rina: asks for an application" and doc["score"] == 1.0
    assert list(desk.push_states().values()) == ["pending"]  # the step-1 note
    for _ in range(2):  # resync and a later round: derived again, the decision holds
        desk.ledger.mark_cases_dirty([KEY])
        desk.round()
        assert desk.ledger.get_case(CASE_ID) is not None
        assert desk.ledger.review_queue() == []
    (decision,) = desk.ledger.decisions()
    assert (decision.action, decision.by, decision.reason) == (Action.ACCEPT, "rina",
                                                              "asks for an application")
    assert decision.at == wib(20, 13)
    assert ("decision", "accept by rina: asks for an application") in [
        (h.kind, h.description) for h in desk.history()]


def test_rejecting_keeps_the_letter_closed_across_rederivation(desk: PushingDesk) -> None:
    desk.add_letter(perihal=DOUBTFUL)
    desk.round()
    desk.decide(Action.REJECT, reason="a report")
    desk.ledger.mark_cases_dirty([KEY])
    assert desk.round() == []
    assert desk.ledger.get_case(CASE_ID) is None and desk.ledger.review_queue() == []


def test_dismissing_cancels_unsent_pushes_and_opening_brings_them_back(desk: PushingDesk) -> None:
    desk.add_letter(perihal=REQUEST)
    (note,) = desk.round()
    assert desk.push_states() == {note: "pending"}
    assert desk.decide(Action.DISMISS, reason="duplicate") == [note]
    assert desk.ledger.get_case(CASE_ID) is None
    assert desk.push_states() == {note: "cancelled"}
    assert desk.ledger.outbox_due() == []  # nothing left for the pusher
    desk.ledger.mark_cases_dirty([KEY])
    assert desk.round() == []  # the rule still says request; the dismissal wins
    assert desk.ledger.get_case(CASE_ID) is None
    history = [h.kind for h in desk.history()]
    assert history[-2:] == ["decision", "closed"]
    desk.decide(Action.OPEN, reason="not a duplicate after all")
    assert desk.ledger.get_case(CASE_ID) is not None
    assert desk.push_states() == {note: "in_doubt"}  # in doubt: looked up before it is sent


def test_a_sent_push_is_never_cancelled(desk: PushingDesk) -> None:
    desk.add_letter(perihal=REQUEST)
    (note,) = desk.round()
    (entry,) = desk.ledger.outbox_entries()
    desk.ledger.mark_sending(entry.id)
    desk.ledger.mark_sent(entry.id, "remote-1")
    assert desk.decide(Action.DISMISS) == []
    assert desk.push_states() == {note: "sent"}


def test_a_case_whose_letter_becomes_doubtful_holds_its_unsent_pushes(desk: PushingDesk) -> None:
    desk.add_letter(perihal=REQUEST)
    (note,) = desk.round()
    desk.edit_letter(perihal=DOUBTFUL)
    desk.round()
    assert desk.ledger.get_case(CASE_ID) is None
    assert [e.surat_id for e in desk.ledger.review_queue()] == [SURAT_ID]
    assert desk.push_states() == {note: "cancelled"}
    desk.decide(Action.ACCEPT)
    assert desk.push_states() == {note: "in_doubt"}


def test_a_held_push_comes_back_when_the_subject_is_a_request_again(desk: PushingDesk) -> None:
    desk.add_letter(perihal=REQUEST)
    (note,) = desk.round()
    desk.edit_letter(perihal=DOUBTFUL)
    desk.round()
    assert desk.push_states() == {note: "cancelled"}
    desk.edit_letter(perihal=REQUEST)
    desk.round()
    assert desk.ledger.review_queue() == [] and desk.ledger.get_case(CASE_ID) is not None
    assert desk.push_states() == {note: "in_doubt"}


def test_the_latest_decision_wins(ledger: Ledger) -> None:
    first = Decision(2026, "1", Action.DISMISS, "a", datetime(2026, 1, 1, tzinfo=UTC), "x")
    later = Decision(2026, "1", Action.OPEN, "b", datetime(2026, 1, 2, tzinfo=UTC), "y")
    other = Decision(2025, "1", Action.REJECT, "c", datetime(2026, 1, 3, tzinfo=UTC), "")
    for decision in (first, later, other):
        ledger.record_decision(decision)
    found = ledger.case_inputs([(2026, "1"), (2025, "1"), (2026, "2")])
    assert {key: inputs.decision for key, inputs in found.items()} == {
        (2026, "1"): later, (2025, "1"): other, (2026, "2"): None}
    assert ledger.decisions(2026, "1") == [first, later]
    assert set(ledger.dirty_cases()) == {(2025, "1"), (2026, "1")}  # to be derived again


def test_decisions_and_the_queue_outlive_the_process(tmp_path: Path, parsers: dict[
        ListKind, ItemParser], mappings: SopMappings, profile: Profile) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = SqliteLedger(path)
    ledger.migrate()
    desk = PushingDesk(ledger, parsers, mappings, profile)
    desk.add_letter(perihal=DOUBTFUL)
    desk.round()
    ledger.record_decision(Decision(2026, "other", Action.REJECT, "rina", wib(20, 14), "why"))
    ledger.close()
    again = SqliteLedger(path)
    again.migrate()
    try:
        assert [e.surat_id for e in again.review_queue()] == [SURAT_ID]
        assert [(d.surat_id, d.by, d.reason) for d in again.decisions()] == [("other", "rina", "why")]
    finally:
        again.close()


def test_the_review_queue_size_is_a_metric(desk: PushingDesk, tmp_path: Path) -> None:
    desk.add_letter(perihal=DOUBTFUL)
    desk.round()
    metrics = Metrics(lambda: _same(desk.ledger))
    text = generate_latest(metrics.registry).decode()
    assert "bridge_review_queue 1.0" in text
    assert 'bridge_outbox{state="cancelled"} 0.0' in text


class _Unclosable:
    """The desk's ledger for the collector, which closes what it opens."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def __getattr__(self, name: str) -> object:
        return getattr(self._ledger, name)

    def close(self) -> None:
        """Kept open: the test's fixture closes it."""


def _same(ledger: Ledger) -> Ledger:
    return _Unclosable(ledger)  # type: ignore[return-value]
