"""``bridge demo``: the bridge against the built-in simulated Sisumaker, in one command."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bridge.bootstrap import Bridge, build
from bridge.config.settings import Settings
from bridge.domain.text import printable
from bridge.simulator import SimServer, SimState, generate
from bridge.simulator.state import DEFAULT_PASSWORD, DEFAULT_USERNAME

WIB = ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How big the demo is."""

    letters: int = 300
    passes: int = 3
    seed: int = 1
    keep: bool = False


@dataclass
class DemoClock:
    """The demo's time: real time moved ahead between passes, for the simulator and the bridge.

    Signatures come hours after a draft; moving the clock a working day ahead between passes
    shows them arrive (and the late ones, and the returned ones) within a few seconds.
    """

    offset: float = 0.0
    days: list[str] = field(default_factory=list)

    def unix(self) -> float:
        """Unix time, moved ahead (the simulator's clock)."""
        return time.time() + self.offset

    def now(self) -> datetime:
        """The current time in UTC, moved ahead (the bridge's clock for deadlines)."""
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def next_working_day(self) -> None:
        """Move to the same hour of the next Monday-Friday day."""
        moment = self.now().astimezone(WIB)
        step = 1
        while (moment + timedelta(days=step)).weekday() >= 5:
            step += 1
        self.offset += step * 86_400.0


def run_demo(settings: Settings, options: DemoOptions, out: list[str]) -> int:
    """Start the simulator, sync a few times with arrivals in between, report what happened."""
    data_dir = settings.data_dir / "demo"
    if data_dir.exists() and not options.keep:
        shutil.rmtree(data_dir)
    clock = DemoClock()
    state = SimState(clock=clock.unix)
    summary = generate(state, letters=options.letters, seed=options.seed)
    with SimServer(state) as server:
        demo_settings = settings.model_copy(update={
            "sisumaker_url": server.url,
            "sisumaker_username": DEFAULT_USERNAME,
            "sisumaker_password": None,
            "sisumaker_password_file": _password_file(data_dir),
            "ledger_url": None,
            "data_dir": data_dir,
            "years": (),
        })
        bridge = build(demo_settings, now=clock.now)
        try:
            out.append(f"simulated Sisumaker at {server.url}: {summary.letters} letters, "
                       f"{summary.dispositions} dispositions, {summary.requests} development requests")
            return _passes(bridge, state, options, out, clock)
        finally:
            bridge.close()


def _password_file(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "sisumaker-password"
    path.write_text(DEFAULT_PASSWORD, encoding="utf-8")
    path.chmod(0o600)
    return path


def _passes(bridge: Bridge, state: SimState, options: DemoOptions, out: list[str],
            clock: DemoClock) -> int:
    cycle = bridge.cycle()
    client = bridge.client()
    failed = 0
    for number in range(1, options.passes + 1):
        if number > 1:
            clock.next_working_day()
            _arrivals(state, number)
        report = cycle.run_once()
        sync, track, push, watch = report.sync, report.track, report.push, report.watch
        result = sync.result
        out.append(
            f"pass {number}: {clock.now().astimezone(WIB):%a %d %b %H:%M} WIB, "
            f"{sync.requests} list requests, {result.new} new, {result.changed} "
            f"changed, {result.unchanged} unchanged, {result.quarantined} quarantined; "
            f"cases {track.opened} opened, {track.changed} changed; "
            f"invitations {watch.checked} looked up, {watch.signed} signed, "
            f"{watch.returned} returned; pushed {push.sent if push else 0}"
            + ("" if sync.ok else f"; FAILED: {printable('; '.join(sync.failures))}")
        )
        failed += 0 if sync.ok else 1
    # An idle round: nothing new; what it costs is the lists plus one look-up per waiting draft.
    before = client.request_count
    idle = cycle.run_once()
    out.append(f"idle round: {client.request_count - before} requests ({idle.sync.requests} "
               f"list requests, {idle.watch.checked} invitation look-ups)")
    _report(bridge, state, out)
    return 1 if failed else 0


def _report(bridge: Bridge, state: SimState, out: list[str]) -> None:
    counts = bridge.ledger.item_counts()
    out.append(f"ledger {bridge.settings.ledger_location}: "
               + ", ".join(f"{n} {kind.value}" for kind, n in counts.items())
               + f", {bridge.ledger.quarantine_count()} quarantined")
    cases = bridge.ledger.list_cases()
    per_step = bridge.ledger.cases_per_step()
    out.append(f"{len(cases)} cases: " + ", ".join(f"{n} at step {s}"
                                                   for s, n in sorted(per_step.items())))
    overdue = Counter(row.step for row in cases if row.overdue)
    out.append(f"{sum(overdue.values())} of {len(cases)} cases OVERDUE: "
               + (", ".join(f"{n} at step {s}" for s, n in sorted(overdue.items())) or "none"))
    docs = [row.document for row in cases]
    invitations = Counter(_outcome(doc) for doc in docs if doc.get("invitation"))
    out.append("invitations: " + ", ".join(f"{n} {what}" for what, n in sorted(invitations.items())))
    shown = sorted(cases, key=lambda row: (row.step < 3, row.case_id))[:10]
    for row in shown:
        doc = row.document
        invitation = doc.get("invitation") or {}
        extra = (f"  [{invitation.get('nomor_surat')}]" if invitation.get("status") == "signed"
                 else f"  [returned: {printable(invitation.get('reason') or '')}]"
                 if invitation.get("status") == "returned" else "")
        out.append(f"  {row.case_id}  step {row.step}  {'OVERDUE ' if row.overdue else ''}"
                   f"{printable((doc.get('perihal') or '-')[:60])}{extra}")
    pushed = state.pushed()
    notes, drafts = len(pushed["notes"]), len(pushed["drafts"])
    out.append(f"Sisumaker now holds {notes} follow-up notes and {drafts} draft invitations "
               "from the bridge; `bridge cases` and `bridge outbox` with "
               f"BRIDGE_DATA_DIR={bridge.settings.data_dir} show them")


def _outcome(doc: dict[str, object]) -> str:
    invitation = doc.get("invitation")
    status = invitation.get("status") if isinstance(invitation, dict) else None
    overdue_steps = doc.get("overdue_steps")
    late = isinstance(overdue_steps, list) and 4 in overdue_steps
    if status == "signed":
        return "signed late" if late else "signed on time"
    return "returned" if status == "returned" else "waiting for the signer"


def _arrivals(state: SimState, number: int) -> None:
    """Between passes: a new request arrives, and the newest letter is registered."""
    year = state.now().year
    now = state.now().strftime("%Y-%m-%d %H:%M:%S")
    state.add_letter(year, perihal=f"Permohonan Pengembangan Aplikasi Demo {number}",
                     asal_surat="Dinas Kependudukan dan Pencatatan Sipil", tgl_dibuat=now)
    letters = state.letters(year)
    if len(letters) > 1:
        state.update_letter(year, letters[1]["id_persuratan"], tgl_diterimaTU=now,
                            status_dibaca="1")
