"""``bridge cases`` and ``bridge case ID``: the SOP cases for a terminal or as JSON lines."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from bridge.domain.text import printable
from bridge.entrypoints.context import LEDGER
from bridge.entrypoints.output import fail, print_json_lines, print_table

if TYPE_CHECKING:
    from bridge.bootstrap import LedgerAccess

EXIT_OK, EXIT_FAILED = 0, 1


def add_commands(commands: Any) -> None:
    """Register ``cases`` and ``case``."""
    cases = commands.add_parser(
        "cases", help="the application-development requests and where they stand in the SOP",
        description="List the cases (one per request letter) from the ledger: the highest SOP "
                    "step reached, the deadline of the next step in working days, and anomalies.",
    )
    cases.add_argument("--json", action="store_true",
                       help="one JSON object per line (case_id, year, surat_id, perihal, "
                            "asal_surat, step, steps, next_deadline, overdue, anomalies)")
    cases.add_argument("--step", type=int, metavar="N", help="only cases at step N")
    cases.add_argument("--overdue", action="store_true", help="only overdue cases")
    cases.set_defaults(handler=_cmd_cases, needs=LEDGER)

    case = commands.add_parser("case", help="one case with its steps and history",
                               description="Show one case (ID as in `bridge cases`, e.g. "
                                           "2026-88121) with every step, deadline and change.")
    case.add_argument("case_id", metavar="ID")
    case.add_argument("--json", action="store_true", help="print one JSON object")
    case.set_defaults(handler=_cmd_case, needs=LEDGER)


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


def _cmd_case(access: LedgerAccess, args: argparse.Namespace) -> int:
    from bridge.services.case_view import case_detail

    detail = case_detail(access.ledger, args.case_id)
    if detail is None:
        fail(f"no case {args.case_id!r}; `bridge cases` lists them (ID as YEAR-SURATID)")
        return EXIT_FAILED
    if args.json:
        print(json.dumps(detail.as_json(), ensure_ascii=True))
        return EXIT_OK
    history, outbox = detail.history, detail.pushes
    _print_case({**detail.line, "steps": detail.line["step_details"]})
    print("\nhistory:")
    print_table([(h.at.isoformat(timespec="seconds"), h.description, h.source or "")
                 for h in history], max_width=100)
    if outbox:
        print("\npushes:")
        print_table([(str(e.id), e.intent.ref, e.state.value, e.remote_id or "-")
                     for e in outbox])
    return EXIT_OK


def _print_case(doc: dict[str, Any]) -> None:
    from bridge.bootstrap import load_sop_for_reading

    sop = load_sop_for_reading()  # the step names
    print(f"case {doc['case_id']}: {printable(doc.get('perihal') or '-')}")
    print(f"from: {printable(doc.get('asal_surat') or '-')}")
    print(f"step {doc['step']} reached; next: step {doc.get('next_step') or '-'}, due "
          f"{doc.get('next_deadline') or '-'}{' (OVERDUE)' if doc.get('overdue') else ''}")
    if doc.get("anomalies"):
        print(f"anomalies: {', '.join(doc['anomalies'])}")
    invitation = doc.get("invitation")
    if invitation:
        print(f"invitation: {_invitation_text(invitation)}")
    rows: list[tuple[str, ...]] = [("step", "name", "reached", "by", "evidence")]
    for number in range(1, len(sop) + 1):
        reached = doc.get("steps", {}).get(str(number))
        if reached is None and number > max(doc["step"], 1) + 1:
            continue
        rows.append((str(number), sop.step(number).name,
                     reached["at"] if reached else "-", reached["actor"] if reached else "",
                     reached["source"] if reached else ""))
    print_table(rows)


def _invitation_text(inv: dict[str, Any]) -> str:
    """The invitation's state in one line: signed with its number, returned with the reason."""
    where = f"draft {inv.get('remote_id') or '-'}, ref {inv['ref']}"
    meeting = f"; meeting {inv['meeting_at']}" if inv.get("meeting_at") else ""
    if inv["status"] == "signed":
        return (f"signed {inv.get('signed_at') or '-'}, number "
                f"{printable(inv.get('nomor_surat') or '-')} ({where}){meeting}")
    if inv["status"] == "returned":
        return (f"RETURNED by its signer: {printable(inv.get('reason') or '-')} ({where}); after "
                "fixing the cause: bridge outbox retry ID sends a new draft")
    return f"waiting for the signer since {inv.get('drafted_at')} ({where}){meeting}"
