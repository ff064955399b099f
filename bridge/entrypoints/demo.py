"""``bridge demo``: the bridge against the built-in simulated Sisumaker, in one command."""

from __future__ import annotations

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
    service = bridge.sync_service()
    failed = 0
    for number in range(1, options.passes + 1):
        if number > 1:
            _arrivals(state, number)
        report = service.run_once()
        result = report.result
        out.append(
            f"pass {number}: {report.requests} requests, {result.new} new, {result.changed} "
            f"changed, {result.unchanged} unchanged, {result.quarantined} quarantined"
            + ("" if report.ok else f"; FAILED: {printable('; '.join(report.failures))}")
        )
        failed += 0 if report.ok else 1
    counts = bridge.ledger.item_counts()
    out.append(f"ledger {bridge.settings.ledger_location}: "
               + ", ".join(f"{n} {kind.value}" for kind, n in counts.items())
               + f", {bridge.ledger.quarantine_count()} quarantined")
    return 1 if failed else 0


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
