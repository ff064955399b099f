"""The step-4 invitations the bridge drafted, as the signer left them in Sisumaker.

The bridge drafts the invitation (surat keluar) after step 3; the IT division head signs it
(step 4 reached, with the letter number) or returns it for correction (with a reason). One
record per draft sent, keyed by the draft's ref; a draft sent again after a return is a new
record with the next attempt number, under a new ref.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class InvitationStatus(StrEnum):
    """Where a drafted invitation stands with its signer."""

    WAITING = "waiting"  # Menunggu Tanda Tangan
    SIGNED = "signed"  # Ditandatangani: the invitation is sent, step 4 is reached
    RETURNED = "returned"  # Dikembalikan: the signer wants it corrected


@dataclass(frozen=True, slots=True)
class Invitation:
    """One drafted invitation and what the signer did with it."""

    ref: str
    attempt: int
    remote_id: str | None
    status: InvitationStatus
    drafted_at: datetime
    meeting_at: datetime | None = None
    place: str | None = None
    signer: str | None = None
    nomor_surat: str | None = None
    signed_at: datetime | None = None
    reason: str | None = None  # the signer's reason for returning it
    returned_at: datetime | None = None  # when the bridge saw it returned (the API gives none)

    def describe(self) -> str:
        """One line for a case's history, e.g. ``signed 005/123 (sb-26-1-invitation-4)``."""
        if self.status is InvitationStatus.SIGNED:
            return f"signed {self.nomor_surat or '-'} ({self.ref})"
        if self.status is InvitationStatus.RETURNED:
            return f"returned: {self.reason or '-'} ({self.ref})"
        return f"waiting for the signer ({self.ref})"


@dataclass(frozen=True, slots=True)
class DraftStatus:
    """A draft's status as Sisumaker shows it, read through the API profile's field names."""

    remote_id: str | None
    status: InvitationStatus
    nomor_surat: str | None = None
    signed_at: datetime | None = None
    reason: str | None = None
