"""The SOP mapping files (mappings/sop.toml, mappings/recognition.toml), validated at start-up.

Every problem is reported as a ``MappingError`` that names the file, the dotted key and,
where there is a choice, the valid options. Beyond the shape of the files this checks what a
schema cannot: step numbering, trigger roles, synonym conflicts, and that every recognition
rule classifies its own examples as its author said (a rule failing one stops start-up).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bridge.config.profile import ZoneName, describe_validation_error, read_toml
from bridge.domain.calendar import DEFAULT_CATEGORIES, WorkingCalendar
from bridge.domain.cases import BUILTIN_ANOMALIES
from bridge.domain.fuzzy import FuzzySettings, words_of
from bridge.domain.recognition import (
    ClauseSpec,
    ExampleFailure,
    Recogniser,
    RecognitionSpec,
    Role,
    RuleSpec,
    ScoreSpec,
)
from bridge.domain.sop import DispositionAnomaly, Lane, Sop, StepDef, Trigger, TriggerKind
from bridge.domain.text import Normaliser, NormaliseSettings
from bridge.errors import MappingError

SOP_FILE = "sop.toml"
RECOGNITION_FILE = "recognition.toml"

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_M = TypeVar("_M", bound=BaseModel)
# The roles a rule or a trigger may name: every role but "unknown", which is what is left.
RoleName = Literal["front_office", "head", "it_head", "other_division_head"]
_ROLE_NAMES = ", ".join(get_args(RoleName))
_CODE = re.compile(r"[a-z][a-z0-9_]*")
# "1 Hari", "14 Hari": the SOP's own wording of a fixed time limit.
_DAYS_TEXT = re.compile(r"(\d+)\s+hari", re.IGNORECASE)


def _valid_regex(value: str) -> str:
    try:
        re.compile(value)
    except (re.error, OverflowError, RecursionError) as exc:
        # OverflowError: a repeat count beyond the engine's limit, e.g. x{4294967296}.
        raise ValueError(f"bad regular expression {value!r}: {exc}") from exc
    return value


Regex = Annotated[str, AfterValidator(_valid_regex)]
Text = Annotated[str, Field(min_length=1)]


# --- recognition.toml -----------------------------------------------------------------------


class NormaliseModel(BaseModel):
    """[normalise]: how text is prepared before matching."""

    model_config = _FROZEN
    unicode_form: Literal["NFC", "NFKC", "NFD", "NFKD"] = "NFKC"
    casefold: bool = True
    strip_html: bool = True
    strip_accents: bool = True
    replacements: dict[Text, str] = Field(default_factory=dict)


class ClauseModel(BaseModel):
    """One clause: regular expressions and words/phrases, any of which may match."""

    model_config = _FROZEN
    patterns: tuple[Regex, ...] = ()
    words: tuple[Text, ...] = ()


class ExamplesModel(BaseModel):
    """A rule's own examples: texts it must match (hit), must not (miss), must leave to a person."""

    model_config = _FROZEN
    hit: tuple[Text, ...] = Field(min_length=1)
    miss: tuple[Text, ...] = Field(min_length=1)
    review: tuple[Text, ...] = ()


class RuleModel(BaseModel):
    """A rule: all ``require`` clauses match, the ``exclude`` clause does not."""

    model_config = _FROZEN
    description: str = ""
    require: dict[Text, ClauseModel] = Field(min_length=1)
    exclude: ClauseModel = ClauseModel()
    examples: ExamplesModel

    @field_validator("require")
    @classmethod
    def _clauses_not_empty(cls, value: dict[str, ClauseModel]) -> dict[str, ClauseModel]:
        for label, clause in value.items():
            if not clause.patterns and not clause.words:
                raise ValueError(f"{label}: give at least one of patterns, words")
        return value


class RolesModel(BaseModel):
    """[roles]: one rule per role and the order they are tried in (first match wins)."""

    model_config = _FROZEN
    order: tuple[RoleName, ...]
    front_office: RuleModel
    head: RuleModel
    it_head: RuleModel
    other_division_head: RuleModel


class CalendarModel(BaseModel):
    """[calendar]: the working-day calendar deadlines are counted in."""

    model_config = _FROZEN
    timezone: ZoneName = "Asia/Jakarta"
    end_of_day: time = time(23, 59, 59)
    holiday_categories: tuple[str, ...] = DEFAULT_CATEGORIES
    extra_holidays: tuple[date, ...] = ()
    extra_working_days: tuple[date, ...] = ()

    @field_validator("holiday_categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # The holidays library imports its whole country table (about 0.2 s) for one country;
        # the default categories are known to it (a unit test checks), so only others are
        # looked up, and `bridge case ID` starts without it.
        if set(value) <= set(DEFAULT_CATEGORIES):
            return value
        from holidays.countries.indonesia import Indonesia  # noqa: PLC0415

        valid = tuple(Indonesia.supported_categories)
        for name in value:
            if name not in valid:
                raise ValueError(f"unknown category {name!r}; valid: {', '.join(valid)}")
        return value


class FuzzyModel(BaseModel):
    """[fuzzy]: key words read through typos and abbreviations, and real words left alone."""

    model_config = _FROZEN
    vocabulary: tuple[Text, ...] = ()
    protect: tuple[Text, ...] = ()
    one_edit_from: int = Field(5, ge=4, le=30)
    two_edits_from: int = Field(8, ge=5, le=30)
    abbreviation_from: int = Field(4, ge=3, le=30)


class ReviewModel(BaseModel):
    """[review]: how sure a verdict on a subject is, and the band a person decides."""

    model_config = _FROZEN
    request_from: float = Field(0.8, gt=0, le=1)
    review_from: float = Field(0.5, gt=0, le=1)
    per_edit: float = Field(0.1, ge=0, le=1)
    per_shortcut: float = Field(0.05, ge=0, le=1)
    near_miss: float = Field(0.6, ge=0, le=1)
    near_miss_clause: str | None = "intent"


class RecognitionModel(BaseModel):
    """The whole recognition.toml."""

    model_config = _FROZEN
    normalise: NormaliseModel = NormaliseModel()
    synonyms: dict[Text, tuple[Text, ...]] = Field(default_factory=dict)
    fuzzy: FuzzyModel | None = None
    review: ReviewModel = ReviewModel()
    request: RuleModel
    instruction: RuleModel | None = None
    roles: RolesModel
    calendar: CalendarModel = CalendarModel()


# --- sop.toml -------------------------------------------------------------------------------


class TriggerModel(BaseModel):
    """[steps.trigger]: what in Sisumaker shows the step reached."""

    model_config = _FROZEN
    kind: TriggerKind
    from_role: RoleName | None = None
    to_role: RoleName | None = None


class StepModel(BaseModel):
    """[[steps]]: one SOP step."""

    model_config = _FROZEN
    number: int = Field(ge=1)
    name: Text
    summary: Text
    actor: Text
    lane: Lane
    documents: tuple[Text, ...] = ()
    time: Text
    working_days: int | None = Field(None, ge=0, le=365)
    output: str | None = None
    trigger: TriggerModel | None = None


class AnomalyModel(BaseModel):
    """[[anomalies]]: a disposition between two roles that the SOP does not foresee."""

    model_config = _FROZEN
    code: Text
    from_role: RoleName
    to_role: RoleName
    description: str = ""


class SopModel(BaseModel):
    """The whole sop.toml."""

    model_config = _FROZEN
    title: Text
    source: str = ""
    steps: tuple[StepModel, ...] = Field(min_length=1)
    anomalies: tuple[AnomalyModel, ...] = ()


# --- loading --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SopMappings:
    """Everything case tracking needs, built once at start-up."""

    sop: Sop
    recogniser: Recogniser
    calendar: WorkingCalendar


def load_sop_mappings(mappings_dir: Path) -> SopMappings:
    """Load, validate and compile ``sop.toml`` and ``recognition.toml``."""
    sop = load_sop(mappings_dir / SOP_FILE)
    recogniser, calendar = load_recognition(mappings_dir / RECOGNITION_FILE)
    return SopMappings(sop=sop, recogniser=recogniser, calendar=calendar)


def load_sop(path: Path) -> Sop:
    """Load and check ``sop.toml``."""
    model = _validate(path, SopModel)
    _check_steps(path, model)
    steps = [_step(s) for s in model.steps]
    anomalies = [
        DispositionAnomaly(a.code, Role(a.from_role), Role(a.to_role), a.description) for a in model.anomalies
    ]
    return Sop(steps, anomalies=anomalies, title=model.title)


def load_recognition(path: Path) -> tuple[Recogniser, WorkingCalendar]:
    """Load ``recognition.toml``: compile its rules, check their examples, build the calendar."""
    model = _validate(path, RecognitionModel)
    _check_roles(path, model.roles)
    settings = _normalise_settings(model.normalise)
    _check_synonyms(path, settings, model.synonyms)
    _check_review(path, model)
    spec = RecognitionSpec(
        normalise=settings,
        synonyms=model.synonyms,
        request=_rule("request", model.request),
        instruction=_rule("instruction", model.instruction) if model.instruction else None,
        roles=tuple((Role(name), _rule(name, getattr(model.roles, name))) for name in model.roles.order),
        fuzzy=_fuzzy(path, model, Normaliser(settings).basic),
        score=_score(model.review),
    )
    recogniser = Recogniser(spec)
    _check_examples(path, recogniser.example_failures())
    return recogniser, _calendar(path, model.calendar)


def _validate(path: Path, model: type[_M]) -> _M:
    data: dict[str, Any] = read_toml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MappingError(describe_validation_error(path, exc)) from exc


def _fail(path: Path, key: str, message: str) -> MappingError:
    return MappingError(f"{path}: {key}: {message}")


def _check_steps(path: Path, model: SopModel) -> None:
    """Steps numbered 1..N in file order, coherent time limits and triggers."""
    letter_steps, invitation_steps = [], []
    for index, step in enumerate(model.steps):
        key = f"steps.{index}"
        if step.number != index + 1:
            raise _fail(
                path, f"{key}.number", f"expected {index + 1}: steps are numbered 1, 2, 3... in file order"
            )
        _check_time(path, key, step)
        if step.trigger is not None:
            _check_trigger(path, f"{key}.trigger", step.trigger)
            if step.trigger.kind is TriggerKind.LETTER:
                letter_steps.append(step.number)
            if step.trigger.kind is TriggerKind.INVITATION:
                invitation_steps.append(step.number)
    if len(letter_steps) > 1:
        raise _fail(path, "steps", f"only one step can have a letter trigger, got steps {letter_steps}")
    if len(invitation_steps) > 1:
        raise _fail(path, "steps",
                    f"only one step can have an invitation trigger, got steps {invitation_steps}")
    _check_anomaly_codes(path, model.anomalies)


def _check_anomaly_codes(path: Path, anomalies: tuple[AnomalyModel, ...]) -> None:
    """Codes are short identifiers, unique, and clash with no built-in anomaly code."""
    seen_codes: set[str] = set()
    for index, anomaly in enumerate(anomalies):
        key = f"anomalies.{index}.code"
        if not _CODE.fullmatch(anomaly.code):
            raise _fail(path, key, "use lower-case letters, digits and _, starting with a letter")
        if anomaly.code in BUILTIN_ANOMALIES or anomaly.code in seen_codes or anomaly.code.startswith("step"):
            raise _fail(
                path,
                key,
                f"{anomaly.code!r} is already used (built in: {', '.join(BUILTIN_ANOMALIES)}, step*)",
            )
        seen_codes.add(anomaly.code)


def _check_time(path: Path, key: str, step: StepModel) -> None:
    """``time`` is the SOP's own words; a "N Hari" there must agree with ``working_days``."""
    found = _DAYS_TEXT.fullmatch(step.time.strip())
    written = int(found.group(1)) if found else None
    if written != step.working_days:
        expected = f"working_days = {written}" if written is not None else "no working_days"
        raise _fail(path, f"{key}.working_days", f"time {step.time!r} means {expected}")


def _check_trigger(path: Path, key: str, trigger: TriggerModel) -> None:
    if trigger.kind is not TriggerKind.DISPOSITION:
        if trigger.from_role is not None or trigger.to_role is not None:
            raise _fail(path, key, f"a {trigger.kind.value} trigger takes no from_role / to_role")
        return
    for name in ("from_role", "to_role"):
        if getattr(trigger, name) is None:
            raise _fail(path, f"{key}.{name}", f"required for a disposition trigger; valid: {_ROLE_NAMES}")


def _step(model: StepModel) -> StepDef:
    trigger = None
    if model.trigger is not None:
        spec = model.trigger
        trigger = Trigger(spec.kind, _role(spec.from_role), _role(spec.to_role))
    return StepDef(
        number=model.number,
        name=model.name,
        summary=model.summary,
        actor=model.actor,
        lane=model.lane,
        documents=model.documents,
        working_days=model.working_days,
        output=model.output or None,
        trigger=trigger,
    )


def _check_roles(path: Path, roles: RolesModel) -> None:
    """``order`` lists every role exactly once."""
    order = list(roles.order)
    if sorted(order) != sorted(get_args(RoleName)):
        raise _fail(path, "roles.order", f"list each role exactly once, got {order}; valid: {_ROLE_NAMES}")


def _role(name: str | None) -> Role | None:
    return Role(name) if name is not None else None


def _normalise_settings(model: NormaliseModel) -> NormaliseSettings:
    return NormaliseSettings(
        unicode_form=model.unicode_form,
        casefold=model.casefold,
        strip_html=model.strip_html,
        strip_accents=model.strip_accents,
        replacements=dict(model.replacements),
    )


def _check_synonyms(path: Path, settings: NormaliseSettings, synonyms: dict[str, tuple[str, ...]]) -> None:
    """No variant under two canonical forms, none empty, none that is itself a canonical form.

    Synonyms are expanded in one pass, so a canonical form listed as another's variant would
    silently never be expanded further: the author meant something else, say so.
    """
    basic = Normaliser(settings).basic
    canonical = {basic(c): c for c in synonyms}
    owner: dict[str, str] = {}
    for name, variants in synonyms.items():
        if not basic(name):
            raise _fail(path, f"synonyms.{name}", "the canonical form is empty once normalised")
        for variant in variants:
            key = basic(variant)
            if not key:
                raise _fail(path, f"synonyms.{name}", f"variant {variant!r} is empty once normalised")
            if key in owner and owner[key] != name:
                raise _fail(
                    path, f"synonyms.{name}", f"variant {variant!r} is also listed under {owner[key]!r}"
                )
            if key in canonical and canonical[key] != name:
                raise _fail(
                    path,
                    f"synonyms.{name}",
                    f"variant {variant!r} is itself a canonical form (synonyms.{canonical[key]})",
                )
            owner[key] = name


def _rule(name: str, model: RuleModel) -> RuleSpec:
    return RuleSpec(
        name=name,
        require={label: _clause(c) for label, c in model.require.items()},
        exclude=_clause(model.exclude),
        hits=model.examples.hit,
        misses=model.examples.miss,
        reviews=model.examples.review,
    )


def _check_review(path: Path, model: RecognitionModel) -> None:
    """The review band lies below the request threshold; the near-miss clause exists."""
    review = model.review
    if review.review_from > review.request_from:
        raise _fail(path, "review.review_from",
                    f"{review.review_from} is above review.request_from ({review.request_from})")
    clause = review.near_miss_clause
    if clause is not None and clause not in model.request.require:
        valid = ", ".join(model.request.require)
        raise _fail(path, "review.near_miss_clause", f"no clause {clause!r} in request.require; "
                                                     f"valid: {valid}")
    if model.instruction is not None and model.instruction.examples.review:
        raise _fail(path, "instruction.examples.review",
                    "an instruction is a request or not; give hit and miss examples only")
    for name in get_args(RoleName):
        if getattr(model.roles, name).examples.review:
            raise _fail(path, f"roles.{name}.examples.review",
                        "a job title names a role or not; give hit and miss examples only")


def _score(model: ReviewModel) -> ScoreSpec:
    return ScoreSpec(request_from=model.request_from, review_from=model.review_from,
                     per_edit=model.per_edit, per_shortcut=model.per_shortcut,
                     near_miss=model.near_miss, near_miss_clause=model.near_miss_clause)


# Fuzzy reading only targets words this long: shorter ones sit one edit from too many others.
_SHORTEST_KEY_WORD = 6
# Words the rules name are read as written when at least this long ("uji" stays "uji").
_SHORTEST_KNOWN = 4


def _fuzzy(path: Path, model: RecognitionModel, basic: Callable[[str], str]) -> FuzzySettings | None:
    """The fuzzy reading: key words, and every word the rules or synonyms name, known as is."""
    fuzzy = model.fuzzy
    if fuzzy is None:
        return None
    for key, words in (("fuzzy.vocabulary", fuzzy.vocabulary), ("fuzzy.protect", fuzzy.protect)):
        for word in words:
            plain = basic(word)
            if not plain.isalpha() or (key == "fuzzy.vocabulary" and len(plain) < _SHORTEST_KEY_WORD):
                raise _fail(path, key, f"{word!r}: give single words of letters only"
                            + (f", at least {_SHORTEST_KEY_WORD} long" if key == "fuzzy.vocabulary"
                               else ""))
    if fuzzy.two_edits_from < fuzzy.one_edit_from:
        raise _fail(path, "fuzzy.two_edits_from", f"below fuzzy.one_edit_from ({fuzzy.one_edit_from})")
    free_text = [model.request] + ([model.instruction] if model.instruction else [])
    rule_words = set().union(*(_rule_words(r, basic) for r in free_text))
    role_words = set().union(*(_rule_words(getattr(model.roles, n), basic) for n in get_args(RoleName)))
    synonym_words = {w for name, variants in model.synonyms.items()
                     for text in (name, *variants) for w in basic(text).split()}
    # Only the listed key words are read into: the rules' other words, read into as well, were
    # measured to catch far too many real words ("pencatatan" read as "pencabutan").
    targets = {basic(w) for w in fuzzy.vocabulary}
    known = ({basic(w) for w in fuzzy.protect} | {w for w in rule_words | role_words | synonym_words
                                                  if len(w) >= _SHORTEST_KNOWN})
    return FuzzySettings(vocabulary=tuple(sorted(targets)), known=tuple(sorted(known - targets)),
                         one_edit_from=fuzzy.one_edit_from, two_edits_from=fuzzy.two_edits_from,
                         abbreviation_from=fuzzy.abbreviation_from)


def _rule_words(model: RuleModel, basic: Callable[[str], str]) -> set[str]:
    """Every plain word a rule's patterns and word lists name."""
    clauses = [*model.require.values(), model.exclude]
    words = words_of([p for c in clauses for p in c.patterns], shortest=_SHORTEST_KNOWN)
    for clause in clauses:
        words.update(w for text in clause.words for w in basic(text).split() if w.isalpha())
    return words


def _clause(model: ClauseModel) -> ClauseSpec:
    return ClauseSpec(patterns=model.patterns, words=model.words)


def _check_examples(path: Path, failures: list[ExampleFailure]) -> None:
    if failures:
        raise MappingError("; ".join(_describe_failures(path, failures)))


def _describe_failures(path: Path, failures: list[ExampleFailure]) -> Iterator[str]:
    for failure in failures:
        prefix = "" if failure.rule in ("request", "instruction") else "roles."
        key = f"{prefix}{failure.rule}.examples.{failure.kind}[{failure.index}]"
        if failure.rule in ("request", "instruction"):
            expectation = {"hit": "should match but does not",
                           "miss": "should not match but does (or is left for review)",
                           "review": "should be left for review but is not"}[failure.kind]
        else:
            expectation = ("should match but does not" if failure.kind == "hit"
                           else "should not match but does")
        yield f"{path}: {key}: {failure.text!r} {expectation}: {failure.message}"


def _calendar(path: Path, model: CalendarModel) -> WorkingCalendar:
    clash = sorted(set(model.extra_holidays) & set(model.extra_working_days))
    if clash:
        days = ", ".join(d.isoformat() for d in clash)
        raise _fail(path, "calendar.extra_working_days", f"also listed in calendar.extra_holidays: {days}")
    return WorkingCalendar(
        zone=model.timezone,
        end_of_day=model.end_of_day,
        extra_holidays=model.extra_holidays,
        extra_working_days=model.extra_working_days,
        categories=model.holiday_categories,
    )
