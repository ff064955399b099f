"""``bridge review`` and ``bridge case explain|open|dismiss``: operators decide doubtful letters.

Only argparse is imported with this module: ``bridge --help`` stays fast. Each command
imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.bootstrap import Bridge
    from bridge.domain.outbox import OutboxEntry
    from bridge.domain.review import Action

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CASE_ACTIONS = ("explain", "open", "dismiss")
# How long a decision waits for a running round to finish before giving up.
LEASE_WAIT_S = 60.0


def add_commands(commands: Any) -> None:
    """Register ``review``."""
    review = commands.add_parser(
        "review", help="letters waiting for a person to say whether they are requests",
        description="List the letters whose subject is neither clearly a request nor clearly "
                    "not (subject, sender, score, why), or settle one: accept opens its case, "
                    "reject keeps it closed. A waiting letter gets no push. Every decision is "
                    "kept in the ledger with who, when and why, and holds across resyncs.",
    )
    review.add_argument("--json", action="store_true", help="one JSON object per line")
    actions = review.add_subparsers(dest="review_action", metavar="ACTION")
    for name, text in (("accept", "the letter is a request: open its case"),
                       ("reject", "the letter is no request: no case, no push")):
        action = actions.add_parser(name, help=text, description=text + ".")
        action.add_argument("case_id", metavar="ID", help="as listed, e.g. 2026-88121")
        add_decision_arguments(action)
    review.set_defaults(handler=cmd_review)


def add_decision_arguments(parser: argparse.ArgumentParser) -> None:
    """``--by NAME`` (required by the handler) and ``--reason TEXT``."""
    parser.add_argument("--by", metavar="NAME", help="who decides (kept in the ledger)")
    parser.add_argument("--reason", metavar="TEXT", default="", help="why (kept in the ledger)")


def cmd_review(bridge: Bridge, args: argparse.Namespace) -> int:
    """List the review queue, or settle one letter."""
    from bridge.domain.review import Action

    if args.review_action is None:
        return _list_queue(bridge, as_json=args.json)
    key = _case_key(args.case_id)
    if key is None:
        return EXIT_USAGE
    if bridge.ledger.review_entry(*key) is None:
        _fail(f"letter {args.case_id} is not waiting for review (`bridge review` lists those "
              "that are); `bridge case open` or `bridge case dismiss` decide any letter")
        return EXIT_FAILED
    action = Action.ACCEPT if args.review_action == "accept" else Action.REJECT
    return decide(bridge, key, action, args)


def cmd_case_action(bridge: Bridge, args: argparse.Namespace) -> int:
    """``bridge case explain|open|dismiss SURAT_ID|ID``."""
    from bridge.domain.review import Action
    from bridge.services.explain import UnknownLetterError, find_letter_year

    if args.letter is None:
        _fail(f"`bridge case {args.case_id}` needs a letter: SURAT_ID [--year YY] or YEAR-ID")
        return EXIT_USAGE
    # With --year, the argument is the letter's own id (which may hold a dash itself).
    key = None if args.year is not None else _case_key(args.letter, quiet=True)
    try:
        if key is None:
            key = (find_letter_year(bridge.ledger, args.letter.strip(), args.year),
                   args.letter.strip())
        elif bridge.ledger.get_case(f"{key[0]}-{key[1]}") is None:
            key = (find_letter_year(bridge.ledger, key[1], key[0]), key[1])
    except UnknownLetterError as exc:
        _fail(str(exc))
        return EXIT_FAILED
    if args.case_id == "explain":
        return _explain(bridge, key, as_json=args.json)
    if args.case_id == "dismiss" and bridge.ledger.get_case(f"{key[0]}-{key[1]}") is None:
        _fail(f"letter {key[0]}-{key[1]} is no case; nothing to dismiss")
        return EXIT_FAILED
    if args.case_id == "open" and bridge.ledger.get_case(f"{key[0]}-{key[1]}") is not None:
        _fail(f"letter {key[0]}-{key[1]} is already a case")
        return EXIT_FAILED
    return decide(bridge, key, Action.OPEN if args.case_id == "open" else Action.DISMISS, args)


def decide(bridge: Bridge, key: tuple[int, str], action: Action, args: argparse.Namespace) -> int:
    """Store one decision, derive the letter's case again at once, and say what it changed."""
    from datetime import UTC, datetime, timedelta

    from bridge.domain.outbox import OutboxState
    from bridge.domain.review import Decision
    from bridge.services.cycle import WORK_LEASE
    from bridge.services.lease import Lease, LeaseBusyError

    by = (args.by or "").strip()
    if not by:
        _fail("say who decides: --by NAME")
        return EXIT_USAGE
    decision = Decision(key[0], key[1], action, by, datetime.now(UTC), (args.reason or "").strip())
    # Under the work lease: a running round finishes first, so the decision and the case it
    # changes are written by one process at a time.
    lease = Lease(bridge.ledger, WORK_LEASE, timedelta(minutes=2), stop=bridge.stop)
    try:
        with lease.held(LEASE_WAIT_S):
            cancelled = bridge.ledger.record_decision(decision)
            bridge.tracker().derive_now([key])  # the case is saved with its pushes
    except LeaseBusyError as exc:
        _fail(f"{exc}; the decision was not stored")
        return EXIT_FAILED
    case = bridge.ledger.get_case(decision.case_id)
    print(f"{decision.case_id}: {decision.describe()}; "
          f"{'a case now' if case is not None else 'no case'}")
    if cancelled:
        print("pushes cancelled (never sent):")
        _print_pushes([e for e in cancelled if e.state is not OutboxState.IN_DOUBT])
        doubtful = [e for e in cancelled if e.state is OutboxState.IN_DOUBT]
        if doubtful:
            print("cancelled while in doubt (a POST may have reached Sisumaker; check there):")
            _print_pushes(doubtful)
    if not action.opens:
        sent = [e for e in bridge.ledger.outbox_entries(OutboxState.SENT)
                if e.intent.case_id == decision.case_id]
        if sent:
            print("already sent, NOT recalled (withdraw them in Sisumaker if need be):")
            _print_pushes(sent)
    return EXIT_OK


def _list_queue(bridge: Bridge, *, as_json: bool) -> int:
    from bridge.entrypoints.output import print_table

    queue = bridge.ledger.review_queue()
    if as_json:
        for entry in queue:
            print(json.dumps({"case_id": entry.case_id, "year": entry.year,
                              "surat_id": entry.surat_id, "perihal": entry.perihal,
                              "asal_surat": entry.asal_surat, "score": entry.score,
                              "why": entry.why, "queued_at": entry.queued_at.isoformat()},
                             ensure_ascii=True))
        return EXIT_OK
    rows: list[tuple[str, ...]] = [("id", "score", "from", "subject", "why")]
    rows += [(e.case_id, f"{e.score:g}", e.asal_surat or "-", e.perihal or "-", e.why)
             for e in queue]
    print_table(rows)
    print(f"{len(queue)} letter(s) waiting for review; settle one with "
          "`bridge review accept|reject ID --by NAME --reason TEXT`")
    return EXIT_OK


def _explain(bridge: Bridge, key: tuple[int, str], *, as_json: bool) -> int:
    from bridge.domain.text import printable
    from bridge.services.explain import explain

    doc = explain(bridge.ledger, bridge.sop.recogniser, *key)
    if as_json:
        print(json.dumps(doc, ensure_ascii=True))
        return EXIT_OK
    rec = doc["recognition"]
    lines = [f"letter {doc['case_id']}: {doc['perihal'] or '-'}",
             f"from: {doc['asal_surat'] or '-'}",
             f"normalised: {rec['normalised']}"]
    for word in rec["fuzzy"]:
        edits = word["distance"]
        how = f", {edits} edit{'s' if edits > 1 else ''}" if edits else ""
        lines.append(f"  read fuzzily: {word['written']!r} as {word['read_as']!r} "
                     f"({word['kind']}{how})")
    lines.append(f"rule {rec['rule']}:")
    for clause in rec["clauses"]:
        fuzzy = "; ".join(f"{c['written']!r} -> {c['read_as']!r}" for c in clause["fuzzy"])
        lines.append(f"  {clause['clause']}: {clause['matched']!r}"
                     + (f" (fuzzily: {fuzzy})" if fuzzy else "")
                     if clause["matched"] is not None else f"  {clause['clause']}: nothing")
    excluded = rec["excluded_by"]
    lines.append(f"  exclude: {excluded['matched']!r}" if excluded else "  exclude: nothing")
    lines.append(f"score: {rec['score']:g}  verdict: {rec['verdict']}")
    lines.append(f"why: {rec['reason']}")
    lines.append(f"standing: {doc['standing']}"
                 + (f" (since {doc['waiting_since']})" if doc["waiting_since"] else ""))
    if doc["case_reason"] and doc["case_reason"] != rec["reason"]:
        lines.append(f"the case stands on: {doc['case_reason']}")
    for d in doc["decisions"]:
        lines.append(f"decision: {d['at']} {d['action']} by {d['by']}: {d['reason'] or '-'}")
    for line in lines:
        print(printable(line))
    return EXIT_OK


def _case_key(text: str, *, quiet: bool = False) -> tuple[int, str] | None:
    """``2026-88121`` as (2026, "88121"); None (with an error unless quiet) otherwise."""
    year, dash, surat_id = text.strip().partition("-")
    if dash and len(year) == 4 and year.isdigit() and surat_id:
        return int(year), surat_id
    if not quiet:
        _fail(f"{text!r} is no letter ID; give YEAR-SURATID as listed, e.g. 2026-88121")
    return None


def _print_pushes(entries: list[OutboxEntry]) -> None:
    from bridge.entrypoints.output import print_table

    print_table([(str(e.id), e.intent.ref, e.intent.action.value, f"step {e.intent.step}",
                  e.state.value, e.remote_id or "-") for e in entries])


def _fail(reason: str) -> None:
    from bridge.entrypoints.output import fail

    fail(reason)
