"""``bridge demo``: the bridge against the built-in simulated Sisumaker, in one command."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
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


def run_demo(settings: Settings, options: DemoOptions, out: list[str]) -> int:
    """Start the simulator, sync a few times with arrivals in between, report what happened."""
    data_dir = settings.data_dir / "demo"
    if data_dir.exists() and not options.keep:
        shutil.rmtree(data_dir)
    state = SimState()
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
        bridge = build(demo_settings)
        try:
            out.append(f"simulated Sisumaker at {server.url}: {summary.letters} letters, "
                       f"{summary.dispositions} dispositions, {summary.requests} development requests")
            return _passes(bridge, state, options, out)
        finally:
            bridge.close()


def _password_file(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "sisumaker-password"
    path.write_text(DEFAULT_PASSWORD, encoding="utf-8")
    path.chmod(0o600)
    return path


def _passes(bridge: Bridge, state: SimState, options: DemoOptions, out: list[str]) -> int:
    cycle = bridge.cycle()
    failed = 0
    for number in range(1, options.passes + 1):
        if number > 1:
            _arrivals(state, number)
        report = cycle.run_once()
        sync, track, push = report.sync, report.track, report.push
        result = sync.result
        out.append(
            f"pass {number}: {sync.requests} list requests, {result.new} new, {result.changed} "
            f"changed, {result.unchanged} unchanged, {result.quarantined} quarantined; "
            f"cases {track.opened} opened, {track.changed} changed; "
            f"pushed {push.sent if push else 0}"
            + ("" if sync.ok else f"; FAILED: {printable('; '.join(sync.failures))}")
        )
        failed += 0 if sync.ok else 1
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
    for row in cases[:8]:
        doc = json.loads(row.data)
        out.append(f"  {row.case_id}  step {row.step}  {'OVERDUE ' if row.overdue else ''}"
                   f"{printable((doc.get('perihal') or '-')[:70])}")
    pushed = state.pushed()
    notes, drafts = len(pushed["notes"]), len(pushed["drafts"])
    out.append(f"Sisumaker now holds {notes} follow-up notes and {drafts} draft invitations "
               "from the bridge; `bridge cases` and `bridge outbox` with "
               f"BRIDGE_DATA_DIR={bridge.settings.data_dir} show them")


def _arrivals(state: SimState, number: int) -> None:
    """Between passes: a new request arrives, and the newest letter is registered."""
    year = datetime.now(WIB).year
    now = datetime.now(WIB).strftime("%Y-%m-%d %H:%M:%S")
    state.add_letter(year, perihal=f"Permohonan Pengembangan Aplikasi Demo {number}",
                     asal_surat="Dinas Kependudukan dan Pencatatan Sipil", tgl_dibuat=now)
    letters = state.letters(year)
    if len(letters) > 1:
        state.update_letter(year, letters[1]["id_persuratan"], tgl_diterimaTU=now,
                            status_dibaca="1")
