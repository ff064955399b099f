"""mappings/push.toml: the wording of follow-up notes and of the step-4 invitation."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from string import Template

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bridge.config.profile import describe_validation_error, read_toml
from bridge.errors import MappingError

PUSH_FILE = "push.toml"

NOTE_PLACEHOLDERS = (
    "surat_id", "nomor_surat", "perihal", "asal_surat", "langkah", "nama_langkah", "waktu",
    "aktor", "tenggat_berikut", "langkah_berikut",
)  # fmt: skip
SENT_PLACEHOLDERS = (*NOTE_PLACEHOLDERS, "id_compose", "tanggal_rapat", "jam_rapat", "tempat",
                     "nomor_undangan")
INVITATION_PLACEHOLDERS = (
    "surat_id", "nomor_surat", "tanggal_surat", "perihal", "asal_surat", "tanggal_rapat",
    "jam_rapat", "tempat", "penandatangan",
)  # fmt: skip

_FROZEN = ConfigDict(extra="forbid", frozen=True)


def _template(value: str, allowed: tuple[str, ...]) -> str:
    template = Template(value)
    if not template.is_valid():
        raise ValueError("has a malformed placeholder; write ${name}, and $$ for a dollar sign")
    for name in template.get_identifiers():
        if name not in allowed:
            raise ValueError(f"unknown placeholder ${{{name}}}; valid: {', '.join(allowed)}")
    return value


class NotesModel(BaseModel):
    """Follow-up notes: one per step reached; step 4's when the invitation is signed."""

    model_config = _FROZEN
    status: str = Field(min_length=1)
    steps: dict[int, str]
    invitation_sent: str | None = None

    @field_validator("steps", mode="before")
    @classmethod
    def _step_numbers(cls, value: object) -> object:
        if isinstance(value, dict):
            converted = {}
            for key, text in value.items():
                if not str(key).isdigit() or not 1 <= int(key) <= 17:
                    raise ValueError(f"{key!r} is not an SOP step number (1-17)")
                converted[int(key)] = text
            return converted
        return value

    @field_validator("steps")
    @classmethod
    def _step_templates(cls, value: dict[int, str]) -> dict[int, str]:
        for number, text in value.items():
            try:
                _template(text, NOTE_PLACEHOLDERS)
            except ValueError as exc:
                raise ValueError(f"step {number}: {exc}") from None
        return value

    @field_validator("invitation_sent")
    @classmethod
    def _sent_template(cls, value: str | None) -> str | None:
        return None if value is None else _template(value, SENT_PLACEHOLDERS)


class InvitationModel(BaseModel):
    """The step-4 draft invitation letter."""

    model_config = _FROZEN
    meeting_after_working_days: int = Field(ge=1, le=30)
    meeting_time: time
    place: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    signer: str = Field(min_length=1)
    to: str
    subject: str
    body: str

    @field_validator("to", "subject", "body")
    @classmethod
    def _templates(cls, value: str) -> str:
        return _template(value, INVITATION_PLACEHOLDERS)


class PushMapping(BaseModel):
    """The whole push.toml."""

    model_config = _FROZEN
    notes: NotesModel
    invitation: InvitationModel


def load_push_mapping(mappings_dir: Path, *, max_meeting_days: int | None = None) -> PushMapping:
    """Load and validate push.toml; the meeting must fall within the SOP's time for step 5."""
    path = mappings_dir / PUSH_FILE
    try:
        mapping = PushMapping.model_validate(read_toml(path))
    except ValidationError as exc:
        raise MappingError(describe_validation_error(path, exc)) from exc
    days = mapping.invitation.meeting_after_working_days
    if max_meeting_days is not None and days > max_meeting_days:
        raise MappingError(
            f"{path}: invitation.meeting_after_working_days: {days} is beyond the SOP's "
            f"{max_meeting_days} working days for the presentation (step 5 in sop.toml)"
        )
    return mapping
