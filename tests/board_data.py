"""A real SQLite ledger holding cases for the case board's tests: plain, overdue and hostile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.adapters.ledger import open_ledger
from bridge.domain.cases import Case, StepReached
from bridge.domain.outbox import OutboxIntent, PushAction
from bridge.domain.records import CaseWrite, HistoryRow
from bridge.ports import Ledger

TOKEN = "papan-kasus-token-uji-7731"
# What a hostile Sisumaker user could type into a subject or a job title.
HOSTILE_SUBJECT = ("Permohonan Aplikasi <script>document.title='PWNED'</script>"
                   "<img src=x onerror=\"document.title='PWNED'\"> \x1b[31mMERAH\x1b[0m "
                   "\u202eabc.exe")
HOSTILE_FROM = "Dinas <b onmouseover=alert(1)>Kesehatan</b> \x1b]0;judul\x07 \u2066x\u2069"
HOSTILE_TITLE = ("Kepala Dinas <svg onload=\"document.body.innerHTML='PWNED'\"></svg>"
                 "\"><script>document.title='PWNED'</script>")
ZONE_OFFSET = timedelta(hours=7)


def _case(n: int, *, step: int, perihal: str, asal: str, overdue: bool = False,
          actor: str = "Kabid PTIKP", anomalies: tuple[str, ...] = ()) -> Case:
    start = datetime(2026, 11, 2, 9, tzinfo=UTC) + timedelta(days=n % 20)
    steps = {k: StepReached(start + timedelta(hours=k), actor if k > 1 else asal,
                            f"disposisi:{n * 10 + k}" if k > 1 else f"surat:{n}")
             for k in range(1, step + 1)}
    deadline = start + timedelta(days=-30 if overdue else 30)
    return Case(case_id=f"2026-{n}", year=2026, surat_id=str(n), perihal=perihal, asal_surat=asal,
                registered_at=start, step=step, steps=steps, next_step=step + 1,
                next_deadline=deadline, overdue=overdue,
                overdue_steps=(step + 1,) if overdue else (), anomalies=anomalies,
                reason="request: rule permohonan_aplikasi")


def board_cases() -> list[Case]:
    """Seven cases: steps 1-3, two overdue, one hostile in subject, sender and job title."""
    return [
        _case(1001, step=1, perihal="Permohonan Pengembangan Aplikasi SIMPEG", asal="BKPSDM"),
        _case(1002, step=2, perihal="Usulan Aplikasi Pelayanan Puskesmas", asal="Dinas Kesehatan",
              overdue=True),
        _case(1003, step=3, perihal="Permohonan Sistem Informasi Perizinan", asal="DPMPTSP",
              anomalies=("not_registered",)),
        _case(1004, step=3, perihal="Pembuatan Aplikasi Bank Sampah", asal="Dinas Lingkungan Hidup",
              overdue=True, anomalies=("step2_missing",)),
        _case(1005, step=2, perihal="Pengembangan Website Kecamatan Ciputat", asal="Kecamatan Ciputat"),
        _case(1006, step=1, perihal="Aplikasi Antrean Online", asal="RSUD Kota Tangerang Selatan"),
        _case(6666, step=3, perihal=HOSTILE_SUBJECT, asal=HOSTILE_FROM, actor=HOSTILE_TITLE,
              anomalies=("head_bypassed",)),
    ]


def seed(path: Path) -> Ledger:
    """A new SQLite ledger at ``path`` with the board's cases, their history and pushes."""
    return seed_into(open_ledger(f"sqlite:///{path}"))


def seed_into(ledger: Ledger) -> Ledger:
    """The board's cases, their history and pushes, written into ``ledger``."""
    writes = []
    for case in board_cases():
        at = datetime.now(UTC) - timedelta(minutes=int(case.surat_id) % 50)
        history = tuple(HistoryRow(r.at, "step_reached", f"step {k} reached: {r.actor}", r.source)
                        for k, r in sorted(case.steps.items()))
        writes.append(CaseWrite(case.year, case.surat_id, case, history, at))
    ledger.save_cases(writes)
    intents = [OutboxIntent(f"sb-26-{n}-note-{k}", f"2026-{n}", 2026, str(n), PushAction.NOTE, k,
                            {"isi": "x"}) for n in (1003, 6666) for k in (1, 2, 3)]
    intents.append(OutboxIntent("sb-26-6666-invitation-4", "2026-6666", 2026, "6666",
                                PushAction.INVITATION, 4, {"perihal": "undangan"}))
    ledger.enqueue(intents)
    entries = {e.intent.ref: e for e in ledger.outbox_entries()}
    ledger.mark_sent(entries["sb-26-6666-note-1"].id, "tl-501")
    ledger.mark_failed(entries["sb-26-6666-note-2"].id, "422 <script>alert(1)</script> ditolak")
    return ledger
