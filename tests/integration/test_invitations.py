"""Step 4 end to end: real bridge processes against the simulated Sisumaker over loopback.

The simulated signer is scripted (sign_draft / return_draft) so each outcome is exact; its
own answers are set far in the future so they never interfere.
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.simulator import SimServer, SimState
from bridge.simulator.state import TIMESTAMP_FORMAT, SignerConfig
from tests.integration.conftest import bridge_env, run_bridge

pytestmark = pytest.mark.integration

LOOKUP = "GET {dir}/api/suratkeluar/filter"


@pytest.fixture
def sim_state() -> SimState:
    """A simulated Sisumaker whose signer answers only when the test says so."""
    return SimState(signer=SignerConfig(returned_rate=0, late_rate=0,
                                        on_time_hours=(9000.0, 9000.0)))


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    return done


def events(stdout: str, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [line for line in lines if line["event"] == name]


def request_at_step_3(state: SimState, year: int, n: int) -> str:
    """A registered request letter disposed to the Head, then to the IT division head."""
    start = state.now() - timedelta(hours=2)
    stamp = [(start + timedelta(minutes=m)).strftime(TIMESTAMP_FORMAT) for m in (0, 10, 20, 30)]
    letter = state.add_letter(year, perihal=f"Permohonan Pengembangan Aplikasi Nomor {n}",
                              asal_surat="Dinas Kesehatan", nomor_surat=f"800/{n}-Dinkes",
                              tgl_dibuat=stamp[0], tgl_diterimaTU=stamp[1])
    state.add_disposition(year, id_persuratan=letter, dari_jabatan="Subbag Umum dan Kepegawaian",
                          kepada_jabatan="Kepala Dinas Komunikasi dan Informatika",
                          isi_disposisi="Mohon arahan", tgl_disposisi=stamp[2])
    state.add_disposition(year, id_persuratan=letter,
                          dari_jabatan="Kepala Dinas Komunikasi dan Informatika",
                          kepada_jabatan="Kabid PTIKP", isi_disposisi="Tindaklanjuti",
                          tgl_disposisi=stamp[3])
    return letter


def case(env: dict[str, str], cwd: Path, case_id: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(ok(run_bridge(["case", case_id, "--json"], env, cwd)).stdout)
    return found


def test_signed_and_returned_invitations_end_to_end_with_a_retry_under_a_new_ref(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    year = sim_state.now().year
    signed_id, returned_id = (request_at_step_3(sim_state, year, n) for n in (1, 2))
    yy = f"{year % 100:02d}"
    env = bridge_env(sim, tmp_path / "data", BRIDGE_YEARS=str(year))

    ok(run_bridge(["sync", "--once"], env, tmp_path))
    drafts = {d["ref"]: d for d in sim_state.drafts(year)}
    assert set(drafts) == {f"sb-{yy}-{signed_id}-invitation-4", f"sb-{yy}-{returned_id}-invitation-4"}
    refs = sim_state.pushed()["counts_by_ref"]
    assert f"sb-{yy}-{signed_id}-note-4" not in refs  # no step-4 note before the signature
    waiting = case(env, tmp_path, f"{year}-{signed_id}")
    assert waiting["step"] == 3 and waiting["invitation"]["status"] == "waiting"
    assert not waiting["overdue"]

    sim_state.sign_draft(year, drafts[f"sb-{yy}-{signed_id}-invitation-4"]["id_compose"],
                         nomor_surat="005/77-PTIKP/2026")
    sim_state.return_draft(year, drafts[f"sb-{yy}-{returned_id}-invitation-4"]["id_compose"],
                           "Tujuan surat kurang lengkap")
    second = ok(run_bridge(["sync", "--once"], env, tmp_path)).stdout
    assert [e["nomor_surat"] for e in events(second, "invitation.signed")] == ["005/77-PTIKP/2026"]
    assert [e["reason"] for e in events(second, "invitation.returned")] == [
        "Tujuan surat kurang lengkap"]

    signed = case(env, tmp_path, f"{year}-{signed_id}")
    assert signed["step"] == 4 and signed["invitation"]["nomor_surat"] == "005/77-PTIKP/2026"
    assert signed["next_step"] == 5
    assert signed["next_deadline"][:10] == signed["invitation"]["meeting_at"][:10]
    returned = case(env, tmp_path, f"{year}-{returned_id}")
    assert returned["step"] == 3 and "invitation_returned" in returned["anomalies"]
    assert returned["invitation"]["reason"] == "Tujuan surat kurang lengkap"
    note = [n for n in sim_state.notes(year, signed_id) if n["ref"] == f"sb-{yy}-{signed_id}-note-4"]
    assert len(note) == 1 and "005/77-PTIKP/2026" in note[0]["catatan"]

    # Settled drafts cost nothing more, and the return is logged once.
    sim_state.reset_stats()
    third = ok(run_bridge(["sync", "--once"], env, tmp_path)).stdout
    assert sim_state.request_counts().get(LOOKUP, 0) == 0
    assert events(third, "invitation.returned") == []
    status = json.loads(ok(run_bridge(["status", "--json"], env, tmp_path)).stdout)
    assert status["invitations_returned"] == 1

    # The operator fixed the cause: the retry sends a new draft under a new ref, once.
    outbox = [json.loads(line) for line in
              ok(run_bridge(["outbox", "--json"], env, tmp_path)).stdout.splitlines()]
    entry = next(e for e in outbox if e["ref"] == f"sb-{yy}-{returned_id}-invitation-4")
    retried = ok(run_bridge(["outbox", "retry", str(entry["id"])], env, tmp_path))
    assert f"sb-{yy}-{returned_id}-invitation-4-r2" in retried.stdout
    again = run_bridge(["outbox", "retry", str(entry["id"])], env, tmp_path)
    assert again.returncode == 1 and "newer draft" in again.stderr
    ok(run_bridge(["sync", "--once"], env, tmp_path))
    counts = sim_state.pushed()["counts_by_ref"]
    assert counts[f"sb-{yy}-{returned_id}-invitation-4-r2"] == 1
    assert {ref: n for ref, n in counts.items() if n != 1} == {}
    assert sim_state.request_counts().get(LOOKUP, 0) == 1  # the new draft is watched
    after = case(env, tmp_path, f"{year}-{returned_id}")
    assert "invitation_returned" not in after["anomalies"]
    assert after["invitation"]["ref"].endswith("-r2")
    status = json.loads(ok(run_bridge(["status", "--json"], env, tmp_path)).stdout)
    assert status["invitations_returned"] == 0
    assert [(p["year"], p["reason"]) for p in status["polled"]] == [(year, "BRIDGE_YEARS")]
