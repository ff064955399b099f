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

    ``sending`` means a POST may have reached the server: before sending again, the bridge
    looks the ref up, since neither POST is idempotent on the server.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its case was dismissed before it was sent


def push_ref(year: int, surat_id: str, action: PushAction, step: int) -> str:
    """The deterministic ref of one push: the same case, action and step give the same ref."""
    return f"sb-{year % 100:02d}-{surat_id}-{action.value}-{step}"


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
