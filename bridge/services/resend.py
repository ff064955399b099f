"""An operator's resend of an invitation its signer returned: a new draft under a new ref."""

from __future__ import annotations

from bridge.domain.invitations import InvitationStatus
from bridge.domain.outbox import OutboxEntry, OutboxState, PushAction
from bridge.errors import BridgeError
from bridge.ports import Ledger
from bridge.services.intents import IntentBuilder
from bridge.services.push import Pusher, PushReport


def resend_returned(ledger: Ledger, intents: IntentBuilder, pusher: Pusher,
                    entry: OutboxEntry) -> OutboxEntry:
    """After an operator fixed what its signer returned it for: a new draft, new ref.

    The new draft is queued under the next attempt's ref (``...-invitation-4-r2``) and pushed
    at once; raises BridgeError when ``entry`` is not a case's newest returned draft, or its
    case is closed.
    """
    intent = entry.intent
    invitation = ledger.invitation(intent.ref)
    if intent.action is not PushAction.INVITATION or invitation is None:
        raise BridgeError(f"push {entry.id} ({intent.ref}) is no watched invitation draft")
    key = (intent.year, intent.surat_id)
    inputs = ledger.case_inputs([key])[key]
    latest = inputs.invitation
    if invitation.status is not InvitationStatus.RETURNED or latest != invitation:
        state = latest.describe() if latest is not None else invitation.describe()
        raise BridgeError(f"push {entry.id} ({intent.ref}) was not returned by its signer, or "
                          f"a newer draft exists; the case's newest draft: {state}")
    if inputs.case is None or inputs.letter is None:
        raise BridgeError(f"case {intent.case_id} is closed: nothing is sent")
    fresh = intents.invitation(inputs.case, inputs.letter, attempt=invitation.attempt + 1)
    ledger.enqueue([fresh])
    queued = next(e for e in ledger.outbox_entries(case_id=intent.case_id)
                  if e.intent.ref == fresh.ref)
    if queued.state in (OutboxState.PENDING, OutboxState.IN_DOUBT):
        pusher.push(queued, PushReport())
    after = ledger.outbox_entry(queued.id)
    return after if after is not None else queued
