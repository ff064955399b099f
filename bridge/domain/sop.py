"""The SOP "Layanan Pengembangan Sistem / Aplikasi" as data: its steps and how each is seen.

The steps, their time allowed and the events that show a step was reached all come from the
mapping file ``sop.toml``; this module only holds them and answers questions about them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from bridge.domain.recognition import Role


class Lane(StrEnum):
    """The SOP's executor columns (pelaksana)."""

    OPD = "OPD"
    DISKOMINFO = "Diskominfo"
    BIDANG_PTIKP = "Bidang PTIKP"


class TriggerKind(StrEnum):
    """What in Sisumaker shows that a step was reached."""

    LETTER = "letter"
    DISPOSITION = "disposition"
    INVITATION = "invitation"  # the invitation the bridge drafted, once its signer signs it


@dataclass(frozen=True, slots=True)
class Trigger:
    """The event that reaches a step: the letter itself, or a disposition between roles."""

    kind: TriggerKind
    from_role: Role | None = None
    to_role: Role | None = None

    def __post_init__(self) -> None:
        """A disposition trigger names both roles; a letter trigger names none."""
        has_roles = self.from_role is not None and self.to_role is not None
        if self.kind is TriggerKind.DISPOSITION and not has_roles:
            raise ValueError("a disposition trigger needs from_role and to_role")
        if self.kind is not TriggerKind.DISPOSITION and (self.from_role or self.to_role):
            raise ValueError(f"a {self.kind.value} trigger takes no roles")

    def matches(self, from_role: Role, to_role: Role) -> bool:
        """Whether a disposition between these roles is this trigger's event."""
        return self.kind is TriggerKind.DISPOSITION and (from_role, to_role) == (
            self.from_role,
            self.to_role,
        )


@dataclass(frozen=True, slots=True)
class DispositionAnomaly:
    """A disposition the SOP does not foresee, reported under a short code when seen."""

    code: str
    from_role: Role
    to_role: Role
    description: str = ""


@dataclass(frozen=True, slots=True)
class StepDef:
    """One SOP step."""

    number: int
    name: str
    summary: str
    actor: str
    lane: Lane
    documents: tuple[str, ...] = ()
    # None: no fixed limit (the SOP says "Target Bidang PTIKP").
    working_days: int | None = None
    output: str | None = None
    trigger: Trigger | None = None


class Sop:
    """The ordered steps of the SOP, numbered 1..N without gaps."""

    __slots__ = ("_anomalies", "_steps", "_tracked", "title")

    def __init__(
        self,
        steps: Iterable[StepDef],
        *,
        anomalies: Iterable[DispositionAnomaly] = (),
        title: str = "",
    ) -> None:
        """Check the numbering and index the steps."""
        ordered = tuple(sorted(steps, key=lambda s: s.number))
        if not ordered:
            raise ValueError("an SOP needs at least one step")
        for expected, step in enumerate(ordered, start=1):
            if step.number != expected:
                raise ValueError(f"steps must be numbered 1..N without gaps; missing {expected}")
        letter_steps = [s.number for s in ordered if s.trigger and s.trigger.kind is TriggerKind.LETTER]
        if len(letter_steps) > 1:
            raise ValueError(f"only one step can be reached by the letter, got {letter_steps}")
        signed = [s.number for s in ordered if s.trigger and s.trigger.kind is TriggerKind.INVITATION]
        if len(signed) > 1:
            raise ValueError(f"only one step can be reached by the invitation, got {signed}")
        self._steps = ordered
        # Asked twice for every case derived: built once, not per call.
        self._tracked = tuple(s for s in ordered if s.trigger is not None)
        self._anomalies = tuple(anomalies)
        self.title = title

    def __iter__(self) -> Iterator[StepDef]:
        """The steps in order."""
        return iter(self._steps)

    def __len__(self) -> int:
        """The number of steps."""
        return len(self._steps)

    def step(self, number: int) -> StepDef:
        """The step with this number (KeyError when there is none)."""
        if not 1 <= number <= len(self._steps):
            raise KeyError(number)
        return self._steps[number - 1]

    def next_step(self, number: int) -> int | None:
        """The step after ``number`` (0 gives the first), or None after the last."""
        following = number + 1
        return following if 1 <= following <= len(self._steps) else None

    def working_days(self, number: int) -> int | None:
        """The working days the step may take, None when the SOP sets no limit."""
        return self.step(number).working_days

    @property
    def tracked(self) -> tuple[StepDef, ...]:
        """The steps the bridge can see being reached (those with a trigger)."""
        return self._tracked

    @property
    def invitation_step(self) -> int | None:
        """The step a signed invitation reaches (None: the SOP file names none)."""
        for step in self._steps:
            if step.trigger is not None and step.trigger.kind is TriggerKind.INVITATION:
                return step.number
        return None

    @property
    def anomalies(self) -> tuple[DispositionAnomaly, ...]:
        """The unexpected dispositions to report."""
        return self._anomalies
