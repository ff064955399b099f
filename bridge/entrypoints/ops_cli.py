"""Operations commands: ``resync``, ``quarantine`` (list, replay) and ``ledger export``."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bridge.domain.items import ListKind
from bridge.entrypoints.context import BRIDGE, LEDGER
from bridge.entrypoints.output import fail, print_table

if TYPE_CHECKING:
    from tqdm import tqdm

    from bridge.bootstrap import Bridge, LedgerAccess
    from bridge.services.cycle import CycleReport
    from bridge.services.sync import SyncReport

EXIT_OK, EXIT_FAILED = 0, 1


def add_commands(commands: Any) -> None:
    """Register ``resync``, ``quarantine`` and ``ledger``."""
    resync = commands.add_parser(
        "resync", help="read one letter, a date range, or everything again (cursors untouched)",
        description="Read Sisumaker again without moving the live cursors or watermarks, derive "
                    "the touched cases again and queue any missing pushes. Waits for a running "
                    "daemon's round to finish first (the work lease), so nothing is processed "
                    "twice. Shows a progress bar on a terminal, progress log lines otherwise.",
    )
    what = resync.add_mutually_exclusive_group(required=True)
    what.add_argument("--surat", metavar="ID", help="one letter (id_persuratan) and its dispositions")
    what.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD",
                      help="every item from this date on, across year directories")
    what.add_argument("--full", action="store_true", help="a full reconciliation pass now")
    resync.add_argument("--year", type=_year, metavar="YY",
                        help="with --surat: the year directory (e.g. 26 or 2026); default: "
                             "every polled year")
    resync.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="with --since: the last date (default today)")
    resync.set_defaults(handler=_cmd_resync, needs=BRIDGE)

    quarantine = commands.add_parser(
        "quarantine", help="items that failed validation, with the reason; replay them",
        description="List quarantined items, or replay them (after a fix to mappings/) through "
                    "the current mapping files: those that now pass are stored and their cases "
                    "derived; the others stay with their new reason.",
    )
    quarantine.add_argument("--json", action="store_true", help="one JSON object per line")
    actions = quarantine.add_subparsers(dest="quarantine_action", metavar="ACTION")
    replay = actions.add_parser("replay", help="try quarantined items again",
                                description="Replay one quarantined item by id, or --all.")
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("entry_id", type=int, nargs="?", metavar="ID")
    target.add_argument("--all", action="store_true", help="every quarantined item")
    # Listing reads the ledger alone; a replay parses with the mapping files and stores.
    replay.set_defaults(handler=_cmd_replay, needs=BRIDGE)
    quarantine.set_defaults(handler=_cmd_quarantine, needs=LEDGER)

    ledger = commands.add_parser("ledger", help="ledger tools: export",
                                 description="Tools over the ledger.")
    ledger_actions = ledger.add_subparsers(dest="ledger_action", metavar="ACTION", required=True)
    export = ledger_actions.add_parser(
        "export", help="write items, cases, outbox, decisions, review queue and quarantine "
                       "as JSON lines",
        description="One JSON object per line, each with a \"type\" of item, case, outbox, "
                    "decision (an operator's, with who, when, why), review (a letter waiting "
                    "for one) or quarantine. Items carry the raw payload as received.",
    )
    export.add_argument("--output", "-o", type=Path, metavar="FILE",
                        help="write to FILE instead of stdout")
    ledger.set_defaults(handler=_cmd_ledger, needs=LEDGER)


def _log() -> Any:
    import structlog

    return structlog.get_logger("bridge.ops")


def _year(text: str) -> int:
    if not text.isdigit() or len(text) not in (2, 4):
        raise argparse.ArgumentTypeError(f"{text!r} is not a year; give e.g. 26 or 2026")
    value = int(text)
    return value + 2000 if value < 100 else value


# -- resync ---------------------------------------------------------------------------------


class _Progress:
    """A tqdm bar per list on a terminal; a log line every 10 pages otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self._tty = stream.isatty()
        self._stream = stream
        self._bars: dict[str, tqdm[Any]] = {}

    def __call__(self, label: str, page: int, total: int | None, items: int) -> None:
        if self._tty:
            bar = self._bars.get(label)
            if bar is None:
                from tqdm import tqdm

                bar = tqdm(desc=label, total=total, unit="page", file=self._stream, leave=True)
                self._bars[label] = bar
            bar.total = total
            bar.update(page - bar.n)
            bar.set_postfix(items=items)
        elif page == 1 or page % 10 == 0:
            _log().info("resync.progress", list=label, page=page, total_pages=total, items=items)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def _cmd_resync(bridge: Bridge, args: argparse.Namespace) -> int:
    from bridge.services.lease import LeaseBusyError

    if args.year is not None and args.surat is None:
        fail("--year goes with --surat")
        return 2
    if args.until is not None and args.since is None:
        fail("--until goes with --since")
        return 2
    if args.until is not None and args.until < args.since:
        fail(f"--until {args.until} is before --since {args.since}")
        return 2
    progress = _Progress(sys.stderr)
    resync = bridge.resync(progress)
    cycle = bridge.cycle()
    try:
        if args.surat is not None:
            report = cycle.run_with(lambda: resync.letter(args.surat.strip(), args.year))
        elif args.since is not None:
            report = cycle.run_with(lambda: resync.between(args.since, args.until))
        else:
            report = cycle.run_with(resync.full)
    except LeaseBusyError as exc:
        fail(str(exc))
        return EXIT_FAILED
    finally:
        progress.close()
    _print_round("resync", report)
    if report.sync.failures:
        fail(f"resync incomplete: {report.sync.failures[0]}")
        return EXIT_FAILED
    return EXIT_OK


def _print_round(what: str, report: CycleReport) -> None:
    sync, track, push = report.sync, report.track, report.push
    result = sync.result
    pages = sum(p.pages for p in sync.passes)
    print(f"{what}: {len(sync.passes)} list pass(es), {pages} pages, {result.new} new, "
          f"{result.changed} changed, {result.unchanged} unchanged, "
          f"{result.quarantined} quarantined")
    print(f"cases: {track.derived} derived, {track.opened} opened, {track.changed} changed, "
          f"{track.closed} closed")
    if push is not None:
        print(f"pushes: {push.sent} sent, {push.found} found already there, "
              f"{push.deferred} deferred, {push.failed} failed")
    _log().info(f"{what}.summary", pages=pages, new=result.new, changed=result.changed,
             unchanged=result.unchanged, quarantined=result.quarantined,
             cases_derived=track.derived, failures=len(sync.failures))


# -- quarantine -----------------------------------------------------------------------------


def _cmd_quarantine(access: LedgerAccess, args: argparse.Namespace) -> int:
    entries = access.ledger.quarantined()
    if args.json:
        for e in entries:
            print(json.dumps({"id": e.id, "list": e.record.kind.value, "year": e.record.year,
                              "source_id": e.record.source_id, "reason": e.record.reason,
                              "attempts": e.attempts, "first_seen": e.first_seen.isoformat(),
                              "last_seen": e.last_seen.isoformat(),
                              "payload": e.record.payload}, ensure_ascii=True))
        return EXIT_OK
    rows: list[tuple[str, ...]] = [("id", "list", "year", "source id", "attempts", "reason")]
    for e in entries:
        rows.append((str(e.id), e.record.kind.value, str(e.record.year),
                     e.record.source_id or "-", str(e.attempts), e.record.reason))
    print_table(rows, max_width=100)
    print(f"{len(entries)} quarantined item(s)")
    return EXIT_OK


def _cmd_replay(bridge: Bridge, args: argparse.Namespace) -> int:
    from bridge.domain.records import PageBatch, QuarantineRecord
    from bridge.services.lease import LeaseBusyError
    from bridge.services.parse import Parsed
    from bridge.services.sync import SyncReport

    entry_id: int | None = None if args.all else args.entry_id
    entries = bridge.ledger.quarantined()
    if entry_id is not None:
        entries = [e for e in entries if e.id == entry_id]
        if not entries:
            fail(f"no quarantined item with id {entry_id}; `bridge quarantine` lists them")
            return EXIT_FAILED
    parsers = bridge.parsers()
    passed, still = 0, 0
    pass_id = "replay-" + uuid.uuid4().hex[:8]

    def read() -> SyncReport:
        nonlocal passed, still
        for entry in entries:
            record = entry.record
            result = parsers[record.kind].parse(record.year, json.loads(record.payload))
            if isinstance(result, Parsed):
                batch = PageBatch(record.kind, record.year, 0, (result.record,), (), live=False)
                passed += 1
            else:
                # The same item under a new reason: keep its original key.
                again = QuarantineRecord(record.kind, record.year, result.reason, record.payload,
                                         source_id=record.source_id)
                batch = PageBatch(record.kind, record.year, 0, (), (again,), live=False)
                still += 1
            bridge.ledger.store_page(batch, pass_id=pass_id, seen_at=entry.last_seen)
            if isinstance(result, Parsed) and record.source_id != result.record.source_id:
                bridge.ledger.release_quarantined(entry.id)
        return SyncReport(pass_id=pass_id)

    try:
        report = bridge.cycle().run_with(read)
    except LeaseBusyError as exc:
        fail(str(exc))
        return EXIT_FAILED
    print(f"replayed {len(entries)}: {passed} now stored, {still} still quarantined")
    _print_round("replay", report)
    return EXIT_OK


# -- ledger export ----------------------------------------------------------------------------


def _cmd_ledger(access: LedgerAccess, args: argparse.Namespace) -> int:
    if args.output is None:
        count = _export(access, sys.stdout)
    else:
        with args.output.open("w", encoding="utf-8") as stream:
            count = _export(access, stream)
        print(f"wrote {count} lines to {args.output}", file=sys.stderr)
    return EXIT_OK


def _export(access: LedgerAccess, out: TextIO) -> int:
    count = 0

    def write(doc: dict[str, Any]) -> None:
        nonlocal count
        out.write(json.dumps(doc, ensure_ascii=True) + "\n")
        count += 1

    ledger = access.ledger
    for kind in ListKind:
        for item in ledger.iter_items(kind):
            write({"type": "item", "list": kind.value, "year": item.year,
                   "source_id": item.source_id, "parent_id": item.parent_id,
                   "item_time": item.item_time.isoformat(), "content_hash": item.content_hash,
                   "version": item.version, "first_seen": item.first_seen.isoformat(),
                   "last_seen": item.last_seen.isoformat(),
                   "missing_since": item.missing_since.isoformat() if item.missing_since else None,
                   "payload": json.loads(item.payload)})
    for row in ledger.list_cases():
        write({"type": "case", **row.document,
               "history": [{"at": h.at.isoformat(), "kind": h.kind,
                            "description": h.description, "source": h.source}
                           for h in ledger.case_history(row.case_id)]})
    for e in ledger.outbox_entries():
        write({"type": "outbox", "id": e.id, "ref": e.intent.ref, "case_id": e.intent.case_id,
               "action": e.intent.action.value, "step": e.intent.step, "state": e.state.value,
               "attempts": e.attempts, "remote_id": e.remote_id, "last_error": e.last_error,
               "body": e.intent.body})
    for d in ledger.decisions():
        write({"type": "decision", "case_id": d.case_id, "year": d.year, "surat_id": d.surat_id,
               "action": d.action.value, "by": d.by, "at": d.at.isoformat(), "reason": d.reason})
    for r in ledger.review_queue():
        write({"type": "review", "case_id": r.case_id, "year": r.year, "surat_id": r.surat_id,
               "perihal": r.perihal, "asal_surat": r.asal_surat, "score": r.score, "why": r.why,
               "queued_at": r.queued_at.isoformat()})
    for q in ledger.quarantined():
        write({"type": "quarantine", "id": q.id, "list": q.record.kind.value,
               "year": q.record.year, "source_id": q.record.source_id,
               "reason": q.record.reason, "payload": q.record.payload})
    return count
