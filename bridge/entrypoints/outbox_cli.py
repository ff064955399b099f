"""``bridge outbox``: pending, sent and failed pushes; ``bridge outbox retry ID``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bridge.domain.outbox import OutboxState, PushAction
from bridge.entrypoints.context import BRIDGE, LEDGER
from bridge.entrypoints.output import fail, print_json_lines, print_table

if TYPE_CHECKING:
    from bridge.bootstrap import Bridge, LedgerAccess
    from bridge.domain.outbox import OutboxEntry

EXIT_OK, EXIT_FAILED = 0, 1


def add_commands(commands: Any) -> None:
    """Register ``outbox`` with its ``retry`` action."""
    outbox = commands.add_parser(
        "outbox", help="pushes to Sisumaker: pending, sent and failed; retry a failed one",
        description="List the outbox (follow-up notes and the step-4 invitation), or retry a "
                    "failed push: the bridge looks its ref up first and sends only if the "
                    "server has none, so a retry never makes a duplicate.",
    )
    outbox.add_argument("--state", choices=[s.value for s in OutboxState],
                        help="only pushes in this state")
    outbox.add_argument("--json", action="store_true", help="one JSON object per line")
    actions = outbox.add_subparsers(dest="outbox_action", metavar="ACTION")
    retry = actions.add_parser(
        "retry", help="retry one failed push (look-up first), or send again a returned invitation",
        description="Retry a failed push by its id (see `bridge outbox`). For an invitation "
                    "whose signer returned it (anomaly invitation_returned), once the cause is "
                    "fixed: send a new draft under a new ref (...-invitation-4-r2), watched "
                    "like the first.")
    retry.add_argument("entry_id", type=int, metavar="ID")
    # Listing reads the ledger alone; a retry sends, so it takes the whole bridge.
    retry.set_defaults(handler=_cmd_retry, needs=BRIDGE)
    outbox.set_defaults(handler=_cmd_outbox, needs=LEDGER)


def _cmd_outbox(access: LedgerAccess, args: argparse.Namespace) -> int:
    entries = access.ledger.outbox_entries(OutboxState(args.state) if args.state else None)
    if args.json:
        print_json_lines({
            "id": e.id, "ref": e.intent.ref, "case_id": e.intent.case_id,
            "action": e.intent.action.value, "step": e.intent.step, "state": e.state.value,
            "attempts": e.attempts, "remote_id": e.remote_id, "last_error": e.last_error,
            "created_at": e.created_at.isoformat(),
            "sent_at": e.sent_at.isoformat() if e.sent_at else None, "body": e.intent.body,
        } for e in entries)
        return EXIT_OK
    rows: list[tuple[str, ...]] = [("id", "ref", "case", "state", "attempts", "remote id",
                                    "last error")]
    for e in entries:
        rows.append((str(e.id), e.intent.ref, e.intent.case_id, e.state.value, str(e.attempts),
                     e.remote_id or "-", e.last_error or ""))
    print_table(rows)
    counts = access.ledger.outbox_counts()
    print(", ".join(f"{n} {state.value}" for state, n in counts.items()))
    return EXIT_OK


def _cmd_retry(bridge: Bridge, args: argparse.Namespace) -> int:
    from bridge.services.lease import LeaseBusyError
    from bridge.services.push import PushReport

    entry_id: int = args.entry_id
    entry = bridge.ledger.outbox_entry(entry_id)
    if entry is None:
        fail(f"no push with id {entry_id}; `bridge outbox` lists them")
        return EXIT_FAILED
    if entry.state is OutboxState.SENT and entry.intent.action is PushAction.INVITATION:
        return _resend(bridge, entry)
    if entry.state is not OutboxState.FAILED:
        fail(f"push {entry_id} is {entry.state.value}, not failed; only failed pushes and "
             "returned invitations are retried")
        return EXIT_FAILED
    cycle = bridge.cycle()
    try:
        with cycle.lease.held(60.0):
            bridge.ledger.requeue(entry_id)
            requeued = bridge.ledger.outbox_entry(entry_id)
            assert requeued is not None  # noqa: S101 - it was there a moment ago
            report = PushReport()
            cycle.pusher_for_retry().push(requeued, report)
    except LeaseBusyError as exc:
        fail(str(exc))
        return EXIT_FAILED
    after = bridge.ledger.outbox_entry(entry_id)
    state = after.state.value if after else "?"
    print(f"push {entry_id} ({entry.intent.ref}): {state}"
          + (f", remote id {after.remote_id}" if after and after.remote_id else "")
          + (f"; {after.last_error}" if after and after.last_error and state != "sent" else ""))
    return EXIT_OK if state == "sent" else EXIT_FAILED


def _resend(bridge: Bridge, entry: OutboxEntry) -> int:
    """A returned invitation: a new draft under the next ref, pushed now."""
    from bridge.errors import BridgeError
    from bridge.services.lease import LeaseBusyError
    from bridge.services.resend import resend_returned

    cycle = bridge.cycle()
    try:
        with cycle.lease.held(60.0):
            fresh = resend_returned(bridge.ledger, bridge.intents(), cycle.pusher_for_retry(),
                                    entry)
    except (LeaseBusyError, BridgeError) as exc:
        fail(str(exc))
        return EXIT_FAILED
    print(f"push {entry.id} ({entry.intent.ref}) was returned; new draft: push {fresh.id} "
          f"({fresh.intent.ref}): {fresh.state.value}"
          + (f", remote id {fresh.remote_id}" if fresh.remote_id else "")
          + (f"; {fresh.last_error}" if fresh.last_error and fresh.state.value != "sent" else ""))
    return EXIT_OK if fresh.state is OutboxState.SENT else EXIT_FAILED
