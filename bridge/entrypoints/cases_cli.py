"""``bridge cases`` and ``bridge case ID``: the SOP cases for a terminal or as JSON lines."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from bridge.domain.outbox import OutboxEntry, OutboxState
from bridge.domain.text import printable
from bridge.entrypoints.context import BRIDGE, LEDGER
from bridge.entrypoints.output import fail, print_json_lines, print_table
from bridge.entrypoints.review_cli import CASE_ACTIONS, add_decision_arguments, cmd_case_action

if TYPE_CHECKING:
    from bridge.bootstrap import Bridge, LedgerAccess
    from bridge.domain.records import HistoryRow

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_commands(commands: Any) -> None:
    """Register ``cases`` and ``case``."""
    cases = commands.add_parser(
        "cases", help="the application-development requests and where they stand in the SOP",
        description="List the cases (one per request letter) from the ledger: the highest SOP "
                    "step reached, the deadline of the next step in working days, and anomalies.",
    )
    cases.add_argument("--json", action="store_true",
                       help="one JSON object per line (case_id, year, surat_id, perihal, "
                            "asal_surat, step, steps, next_deadline, overdue, anomalies, "
                            "reason, score)")
    cases.add_argument("--step", type=int, metavar="N", help="only cases at step N")
    cases.add_argument("--overdue", action="store_true", help="only overdue cases")
    cases.set_defaults(handler=_cmd_cases, needs=LEDGER)

    case = commands.add_parser(
        "case", help="one case with its steps and history; explain, open or dismiss one",
        usage="bridge case ID [--json]\n"
              "       bridge case explain SURAT_ID|ID [--year YY] [--json]\n"
              "       bridge case open SURAT_ID|ID [--year YY] --by NAME [--reason TEXT]\n"
              "       bridge case dismiss ID|SURAT_ID [--year YY] --by NAME [--reason TEXT]",
        description="Show one case (ID as in `bridge cases`, e.g. 2026-88121) with every step, "
                    "deadline, change and push. `explain`: why any letter is a case, waits for "
                    "review or is none (normalised subject, rules and words matched, fuzzily "
                    "and how far, score, verdict, decisions). `open`: make any letter a case. "
                    "`dismiss`: any case is no case; its unsent pushes are cancelled, those "
                    "already sent are listed (not recalled). Decisions are kept in the ledger "
                    "with who, when and why, and hold across resyncs and restarts.",
    )
    case.add_argument("case_id", metavar="ID")
    case.add_argument("letter", nargs="?", metavar="SURAT_ID", help=argparse.SUPPRESS)
    case.add_argument("--year", type=_year, metavar="YY",
                      help="explain/open/dismiss: the letter's year directory (26 or 2026)")
    add_decision_arguments(case)
    case.add_argument("--json", action="store_true", help="print one JSON object")
    case.set_defaults(handler=_cmd_case, needs=_case_needs)


def _case_needs(args: argparse.Namespace) -> str:
    """Showing a case reads the ledger alone; explaining or deciding takes the whole bridge."""
    return BRIDGE if args.case_id in CASE_ACTIONS else LEDGER


def _cmd_cases(access: LedgerAccess, args: argparse.Namespace) -> int:
    from bridge.services.case_view import case_lines

    lines = case_lines(access.ledger, step=args.step, overdue=True if args.overdue else None)
    if args.json:
        print_json_lines(lines)
        return EXIT_OK
    table: list[tuple[str, ...]] = [("case", "step", "next deadline", "overdue", "from",
                                     "subject", "anomalies")]
    for line in lines:
        table.append((line["case_id"], str(line["step"]), line["next_deadline"] or "-",
                      "YES" if line["overdue"] else "", line["asal_surat"] or "-",
                      line["perihal"] or "-", ",".join(line["anomalies"])))
    print_table(table)
    print(f"{len(lines)} case(s)")
    return EXIT_OK


def _year(text: str) -> int:
    if not text.isdigit() or len(text) not in (2, 4):
        raise argparse.ArgumentTypeError(f"{text!r} is not a year; give e.g. 26 or 2026")
    value = int(text)
    return value + 2000 if value < 100 else value


def _cmd_case(context: LedgerAccess | Bridge, args: argparse.Namespace) -> int:
    if args.case_id in CASE_ACTIONS:
        return cmd_case_action(context, args)  # type: ignore[arg-type] # _case_needs: a Bridge
    if args.letter is not None or args.by is not None or args.year is not None:
        fail(f"`bridge case ID` shows a case; to decide, use `bridge case open|dismiss "
             f"{args.case_id} --by NAME`")
        return EXIT_USAGE
    from bridge.services.case_view import case_detail, history_json, push_json

    ledger = context.ledger
    detail = case_detail(ledger, args.case_id)
    if detail is None:
        return _no_case(args.case_id, ledger.case_history(args.case_id),
                        ledger.outbox_entries(case_id=args.case_id), as_json=args.json,
                        history_json=history_json, push_json=push_json)
    if args.json:
        print(json.dumps(detail.as_json(), ensure_ascii=True))
        return EXIT_OK
    _print_case({**detail.line, "steps": detail.line["step_details"]})
    print("\nhistory:")
    print_table([(h.at.isoformat(timespec="seconds"), h.description, h.source or "")
                 for h in detail.history], max_width=100)
    _print_pushes(detail.pushes)
    return EXIT_OK


def _no_case(case_id: str, history: list[HistoryRow], outbox: list[OutboxEntry], *,
             as_json: bool, history_json: Any, push_json: Any) -> int:
    """A letter that is no case (now): its history and pushes, if it ever had any."""
    if not history and not outbox:
        fail(f"no case {case_id!r}; `bridge cases` lists them (ID as YEAR-SURATID); "
             "`bridge case explain` tells why a letter is none")
        return EXIT_FAILED
    if as_json:
        print(json.dumps({"case_id": case_id, "case": None,
                          "history": [history_json(h) for h in history],
                          "pushes": [push_json(e) for e in outbox]}, ensure_ascii=True))
        return EXIT_OK
    print(f"{case_id}: no case now (see its history; `bridge case explain` tells why)")
    print("\nhistory:")
    print_table([(h.at.isoformat(timespec="seconds"), h.description, h.source or "")
                 for h in history], max_width=100)
    _print_pushes(outbox)
    return EXIT_OK


def _print_pushes(outbox: list[OutboxEntry]) -> None:
    if not outbox:
        return
    print("\npushes:")
    print_table([(str(e.id), e.intent.ref, e.state.value, e.remote_id or "-") for e in outbox])
    sent = [e for e in outbox if e.state is OutboxState.SENT]
    cancelled = [e for e in outbox if e.state is OutboxState.CANCELLED]
    if cancelled:
        print(f"{len(cancelled)} cancelled (never sent: the case was dismissed or its letter "
              "waits for review)")
    if sent and cancelled:
        print(f"{len(sent)} already sent before that, and not recalled: "
              + ", ".join(e.intent.ref for e in sent))


def _print_case(doc: dict[str, Any]) -> None:
    from bridge.bootstrap import load_sop_for_reading

    sop = load_sop_for_reading()  # the step names
    print(f"case {doc['case_id']}: {printable(doc.get('perihal') or '-')}")
    print(f"from: {printable(doc.get('asal_surat') or '-')}")
    print(f"step {doc['step']} reached; next: step {doc.get('next_step') or '-'}, due "
          f"{doc.get('next_deadline') or '-'}{' (OVERDUE)' if doc.get('overdue') else ''}")
    if doc.get("anomalies"):
        print(f"anomalies: {', '.join(doc['anomalies'])}")
    rows: list[tuple[str, ...]] = [("step", "name", "reached", "by", "evidence")]
    for number in range(1, len(sop) + 1):
        reached = doc.get("steps", {}).get(str(number))
        if reached is None and number > max(doc["step"], 1) + 1:
            continue
        rows.append((str(number), sop.step(number).name,
                     reached["at"] if reached else "-", reached["actor"] if reached else "",
                     reached["source"] if reached else ""))
    print_table(rows)
