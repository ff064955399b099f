"""The outbox: what the bridge means to write to Sisumaker, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class PushAction(StrEnum):
    """What a push writes."""

    NOTE = "note"  # a follow-up note (tindak lanjut) on the request letter
    INVITATION = "invitation"  # the step-4 draft invitation letter (surat keluar)


class OutboxState(StrEnum):
    """Where a push stands.

    ``pending``: queued, never sent. ``in_doubt``: a POST may have reached the server (it was
    about to leave, timed out, or the process died), so before sending again the bridge looks
    the ref up, since neither POST is idempotent on the server. ``sent``: the server's id is
    recorded. ``failed``: the server refused it; only an operator's retry sends it again.
    (``in_doubt`` was called ``sending`` before schema version 4.)
    """

    PENDING = "pending"
    IN_DOUBT = "in_doubt"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its case was dismissed before it was sent


def push_ref(year: int, surat_id: str, action: PushAction, step: int, attempt: int = 1) -> str:
    """The deterministic ref of one push: the same case, action and step give the same ref.

    ``attempt`` > 1 is a draft sent again after its signer returned it: ``...-invitation-4-r2``.
    """
    suffix = f"-r{attempt}" if attempt > 1 else ""
    return f"sb-{year % 100:02d}-{surat_id}-{action.value}-{step}{suffix}"


def ref_attempt(ref: str) -> int:
    """The attempt number a ref carries (1 without a ``-rN`` suffix)."""
    head, sep, tail = ref.rpartition("-r")
    return int(tail) if sep and head and tail.isdigit() and int(tail) > 1 else 1


@dataclass(frozen=True, slots=True)
class OutboxIntent:
    """One push to make, with its body already rendered."""

    ref: str
    case_id: str
    year: int
    surat_id: str
    action: PushAction
    step: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An intent as the ledger holds it, with its state."""

    id: int
    intent: OutboxIntent
    state: OutboxState
    attempts: int
    remote_id: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
