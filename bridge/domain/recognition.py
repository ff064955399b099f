"""Recognition: which letters are development requests, which role a job title names.

Every rule comes from the mapping file ``recognition.toml`` (loaded and validated by
``bridge.config.sop_mapping``); this module only compiles and runs them. A rule is a set of
required clauses (all must match) and one exclusion clause (none may match); a clause is a
list of regular expressions and a list of words or phrases, any of which may match. Rules see
the normalised text (see ``bridge.domain.text``): lower case, words separated by single
spaces, mistyped and shortened key words read as the key word (``bridge.domain.fuzzy``),
synonyms expanded.

A verdict on free text (a subject, an instruction) carries a score: 1 for a rule matched as
written, less for each word it had to read fuzzily, ``near_miss`` when only the intent is
missing. The score puts the text in one of three outcomes: a request, a letter for a person
to review, or no request. Nothing here is memoised: the recogniser is a pure function of its
rules, and callers that see the same text often wrap it (``bridge.services.memo``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal, Protocol

from bridge.domain.fuzzy import Correction, CorrectionKind, Corrector, FuzzySettings
from bridge.domain.items import Letter
from bridge.domain.text import Normaliser, NormaliseSettings, words_pattern


class Role(StrEnum):
    """The roles of the SOP that the bridge tells apart in dispositions."""

    FRONT_OFFICE = "front_office"
    HEAD = "head"
    IT_HEAD = "it_head"
    OTHER_DIVISION_HEAD = "other_division_head"
    UNKNOWN = "unknown"


# --- specifications (plain data, built by the loader from the validated mapping file) ----


@dataclass(frozen=True, slots=True)
class ClauseSpec:
    """A group of alternatives: it matches when any pattern or any word/phrase is found."""

    patterns: tuple[str, ...] = ()
    words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule: every required clause matches and the exclusion clause does not."""

    name: str
    require: Mapping[str, ClauseSpec]
    exclude: ClauseSpec = ClauseSpec()
    hits: tuple[str, ...] = ()
    misses: tuple[str, ...] = ()
    reviews: tuple[str, ...] = ()  # free-text rules only: texts a person must decide


@dataclass(frozen=True, slots=True)
class ScoreSpec:
    """How sure a verdict is, and where the review band lies."""

    request_from: float = 0.8  # at or above: a request
    review_from: float = 0.5  # at or above (and below request_from): a person decides
    per_edit: float = 0.1  # taken off for each edit of a word read through a typo
    per_shortcut: float = 0.05  # ... for each abbreviation, or words run together or split
    near_miss: float = 0.6  # every clause matched but ``near_miss_clause``, nothing excluded
    near_miss_clause: str | None = "intent"


@dataclass(frozen=True, slots=True)
class RecognitionSpec:
    """Everything recognition needs: normalisation, synonyms and the rules."""

    normalise: NormaliseSettings
    synonyms: Mapping[str, tuple[str, ...]]
    request: RuleSpec
    # Roles in priority order: the first rule that matches a job title gives its role.
    roles: tuple[tuple[Role, RuleSpec], ...]
    # Optional: recognises a development request in a disposition's instruction (isi).
    instruction: RuleSpec | None = None
    fuzzy: FuzzySettings | None = None  # None: words are read only as written
    score: ScoreSpec = ScoreSpec()


# --- results --------------------------------------------------------------------------------


class Outcome(StrEnum):
    """What a verdict on free text means for the letter."""

    REQUEST = "request"
    REVIEW = "review"  # neither clearly a request nor clearly not: a person decides
    NONE = "none"  # not a request


@dataclass(frozen=True, slots=True)
class ClauseMatch:
    """What one clause of a rule found, and the words it found only by reading them fuzzily."""

    label: str
    fragment: str | None
    fuzzy: tuple[Correction, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one rule on one text, with a short human-readable reason.

    ``matched`` is true for a request only; ``outcome`` tells a letter to review apart from
    one that is clearly no request, and ``score`` says how sure the verdict is.
    """

    matched: bool
    rule: str
    reason: str
    score: float = 0.0
    outcome: Outcome = Outcome.NONE
    normalised: str = ""
    clauses: tuple[ClauseMatch, ...] = ()
    excluded_by: ClauseMatch | None = None
    corrections: tuple[Correction, ...] = ()

    def __bool__(self) -> bool:
        """A verdict is true when its rule matched."""
        return self.matched


class Recognition(Protocol):
    """What case derivation asks of recognition (a ``Recogniser``, or one memoised)."""

    def subject_verdict(self, perihal: str | None) -> Verdict:
        """The request rule on a letter's subject."""

    def instruction_verdict(self, isi: str | None) -> Verdict:
        """The instruction rule on a disposition's instruction."""

    def role_of(self, jabatan: str | None) -> Role:
        """The SOP role a job title names."""


@dataclass(frozen=True, slots=True)
class ExampleFailure:
    """A rule's own example that the compiled recogniser classifies differently."""

    rule: str
    kind: Literal["hit", "miss", "review"]
    index: int
    text: str
    message: str


# --- compiled rules -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledClause:
    """A clause with its regular expressions compiled and its words in one pattern."""

    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def build(cls, spec: ClauseSpec, normalise: Normaliser) -> CompiledClause:
        """Compile a clause; its words are normalised exactly like the text they will meet."""
        # Patterns stay separate: joining them into one alternation was measured no faster
        # with Python's backtracking engine, and separate ones report what matched.
        compiled = [re.compile(p) for p in spec.patterns]
        words = words_pattern(tuple(dict.fromkeys(normalise(w) for w in spec.words)))
        if words is not None:
            compiled.append(words)
        return cls(tuple(compiled))

    def find(self, text: str) -> str | None:
        """The first matching fragment, or None when nothing matches."""
        for pattern in self.patterns:
            found = pattern.search(text)
            if found is not None:
                return found.group(0)
        return None


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to run on normalised text."""

    name: str
    require: tuple[tuple[str, CompiledClause], ...]
    exclude: CompiledClause
    spec: RuleSpec = field(repr=False, compare=False)

    @classmethod
    def build(cls, spec: RuleSpec, normalise: Normaliser) -> CompiledRule:
        """Compile every clause of a rule once."""
        require = tuple(
            (label, CompiledClause.build(clause, normalise)) for label, clause in spec.require.items()
        )
        return cls(spec.name, require, CompiledClause.build(spec.exclude, normalise), spec)

    def details(self, text: str, *, spare: str | None = None, full: bool = True
                ) -> tuple[list[ClauseMatch], ClauseMatch | None]:
        """Each required clause's first match (None: nothing), and what excluded the text.

        ``full`` False stops at the first clause that finds nothing, unless it is ``spare``
        (the one clause a near miss may lack): most texts are far from any request, and the
        remaining clauses and the exclusion would not change their verdict.
        """
        clauses: list[ClauseMatch] = []
        spared = False
        for label, clause in self.require:
            found = clause.find(text)
            clauses.append(ClauseMatch(label, found))
            if found is None and not full:
                if label != spare or spared:
                    return clauses, None
                spared = True
        excluded = self.exclude.find(text)
        return clauses, (ClauseMatch("exclude", excluded) if excluded is not None else None)

    def evaluate(self, text: str) -> Verdict:
        """Run the rule on already-normalised text."""
        found: list[str] = []
        for label, clause in self.require:
            fragment = clause.find(text)
            if fragment is None:
                return Verdict(False, self.name, f"{self.name}: nothing for {label!r}")
            found.append(f"{label}={fragment!r}")
        excluded = self.exclude.find(text)
        if excluded is not None:
            return Verdict(False, self.name, f"{self.name}: excluded by {excluded!r}")
        return Verdict(True, self.name, f"{self.name}: " + ", ".join(found))


# --- the recogniser -------------------------------------------------------------------------


class Recogniser:
    """Runs the recognition rules; build it once, then call it for every item."""

    def __init__(self, spec: RecognitionSpec) -> None:
        """Compile every rule and pattern once (raises ``re.error`` on a bad pattern)."""
        self._normalise = Normaliser(spec.normalise, spec.synonyms)
        corrector = Corrector(spec.fuzzy) if spec.fuzzy is not None else None
        # Free text (subjects, instructions) is read fuzzily; job titles only as written.
        self._read = Normaliser(spec.normalise, spec.synonyms, corrector)
        self._score = spec.score
        self._request = CompiledRule.build(spec.request, self._normalise)
        self._instruction = (
            CompiledRule.build(spec.instruction, self._normalise) if spec.instruction else None
        )
        self._roles = tuple((role, CompiledRule.build(r, self._normalise)) for role, r in spec.roles)

    @property
    def normalise(self) -> Normaliser:
        """The normaliser the rules see their text through (words as written)."""
        return self._normalise

    @property
    def has_instruction_rule(self) -> bool:
        """Whether dispositions' instructions can reveal a request (see ``instruction``)."""
        return self._instruction is not None

    def request_verdict(self, letter: Letter) -> Verdict:
        """Whether ``letter`` asks Diskominfo to develop a system, with the reason."""
        return self.subject_verdict(letter.perihal)

    def is_request(self, letter: Letter) -> bool:
        """Whether ``letter`` asks Diskominfo to develop a system or an application."""
        return self.subject_verdict(letter.perihal).matched

    def subject_verdict(self, perihal: str | None, *, full: bool = False) -> Verdict:
        """The request rule on a bare subject line, scored.

        ``full``: evaluate every clause and the exclusion even when the verdict is already
        clear (for an explanation); by default evaluation stops as soon as it is.
        """
        return self._scored(self._request, perihal, full=full)

    def instruction_verdict(self, isi: str | None) -> Verdict:
        """Whether a disposition's instruction speaks of a development request.

        Always a non-match when the mapping file has no ``[instruction]`` rule. An
        instruction is a request or not: one that would be for review counts as not.
        """
        if self._instruction is None:
            return Verdict(False, "instruction", "instruction: no rule configured")
        verdict = self._scored(self._instruction, isi)
        if verdict.outcome is Outcome.REVIEW:
            return replace(verdict, outcome=Outcome.NONE)
        return verdict

    def _scored(self, rule: CompiledRule, raw: str | None, *, full: bool = False) -> Verdict:
        """Run ``rule`` on free text read fuzzily; score the verdict and explain it."""
        text, corrections = self._read.read(raw)
        spare = self._score.near_miss_clause if rule is self._request else None
        clauses, excluded = rule.details(text, spare=spare, full=full)
        if corrections:  # most subjects are typed right: nothing to attach
            clauses = [replace(c, fuzzy=self._rests_on(c.fragment, corrections)) for c in clauses]
            if excluded is not None:
                excluded = replace(excluded, fuzzy=self._rests_on(excluded.fragment, corrections))
        missing = [c.label for c in clauses if c.fragment is None]
        score = self._score_of(clauses, excluded, missing, near_miss=rule is self._request)
        outcome = self._outcome(score)
        reason = _reason(rule.name, outcome, score, clauses, excluded, missing)
        return Verdict(outcome is Outcome.REQUEST, rule.name, reason, score, outcome, text,
                       tuple(clauses), excluded, corrections)

    def _rests_on(self, fragment: str | None, corrections: tuple[Correction, ...]
                  ) -> tuple[Correction, ...]:
        """The corrections whose key word (synonyms expanded) is part of ``fragment``."""
        if not fragment or not corrections:
            return ()
        padded = f" {fragment} "
        return tuple(c for c in corrections
                     if f" {self._read.expand(c.read_as)} " in padded)

    def _score_of(self, clauses: list[ClauseMatch], excluded: ClauseMatch | None,
                  missing: list[str], *, near_miss: bool) -> float:
        """1 less the cost of the words read fuzzily, or ``near_miss``, or 0.

        ``near_miss`` (subjects only): every clause but the near-miss clause matched and
        nothing excluded the text. 0: excluded, or further off.
        """
        spec = self._score
        if excluded is not None:
            return 0.0
        if missing:
            near = near_miss and missing == [spec.near_miss_clause] and len(clauses) > 1
            return spec.near_miss if near else 0.0
        used = {c for clause in clauses for c in clause.fuzzy}
        cost = sum(spec.per_edit * c.distance if c.kind is CorrectionKind.TYPO
                   else spec.per_shortcut for c in used)
        return round(max(0.0, 1.0 - cost), 3)

    def _outcome(self, score: float) -> Outcome:
        if score >= self._score.request_from:
            return Outcome.REQUEST
        if score >= self._score.review_from:
            return Outcome.REVIEW
        return Outcome.NONE

    def role_of(self, jabatan: str | None) -> Role:
        """The SOP role a free-text job title names (``Role.UNKNOWN`` when none does)."""
        return self.role_verdict(jabatan)[0]

    def role_verdict(self, jabatan: str | None) -> tuple[Role, str]:
        """The role of a job title and the reason (the rule that gave it)."""
        if not jabatan:
            return Role.UNKNOWN, "empty job title"
        return self._classify_role(jabatan)

    def _classify_role(self, jabatan: str) -> tuple[Role, str]:
        text = self._normalise(jabatan)
        for role, rule in self._roles:
            verdict = rule.evaluate(text)
            if verdict.matched:
                return role, verdict.reason
        return Role.UNKNOWN, "no role rule matched"

    def example_failures(self) -> list[ExampleFailure]:
        """Every example of every rule that this recogniser gets wrong (empty when sound)."""
        return list(self._iter_failures())

    def _iter_failures(self) -> Iterator[ExampleFailure]:
        yield from self._text_failures(self._request)
        if self._instruction is not None:
            yield from self._text_failures(self._instruction)
        for role, rule in self._roles:
            yield from self._role_failures(role, rule.spec)

    def _text_failures(self, rule: CompiledRule) -> Iterator[ExampleFailure]:
        """The examples of a rule on free text (a subject, an instruction) it gets wrong.

        A hit must be a request, a miss clearly no request, a review example for review.
        """
        expected: tuple[tuple[tuple[str, ...], Literal["hit", "miss", "review"], Outcome], ...] = (
            (rule.spec.hits, "hit", Outcome.REQUEST), (rule.spec.misses, "miss", Outcome.NONE),
            (rule.spec.reviews, "review", Outcome.REVIEW))
        for texts, kind, outcome in expected:
            for index, text in enumerate(texts):
                verdict = self._scored(rule, text)
                if rule is not self._request and verdict.outcome is Outcome.REVIEW:
                    verdict = replace(verdict, outcome=Outcome.NONE)
                if verdict.outcome is not outcome:
                    message = f"got {verdict.outcome.value}: {verdict.reason}"
                    yield ExampleFailure(rule.name, kind, index, text, message)

    def _role_failures(self, role: Role, spec: RuleSpec) -> Iterator[ExampleFailure]:
        # Role examples are checked against the whole priority list, not the rule alone:
        # what matters is the role a title ends up with.
        for index, text in enumerate(spec.hits):
            got, why = self._classify_role(text)
            if got is not role:
                message = f"expected {role.value}, got {got.value} ({why})"
                yield ExampleFailure(spec.name, "hit", index, text, message)
        for index, text in enumerate(spec.misses):
            got, why = self._classify_role(text)
            if got is role:
                message = f"must not be {role.value} ({why})"
                yield ExampleFailure(spec.name, "miss", index, text, message)


def _reason(rule: str, outcome: Outcome, score: float, clauses: list[ClauseMatch],
            excluded: ClauseMatch | None, missing: list[str]) -> str:
    """One line: the outcome, then what matched (fuzzy readings noted) or what was missing."""
    found = ", ".join(f"{c.label}={c.fragment!r}" + _fuzzy_note(c) for c in clauses
                      if c.fragment is not None)
    if excluded is not None:
        return f"{rule}: excluded by {excluded.fragment!r}{_fuzzy_note(excluded)}"
    if outcome is Outcome.REQUEST:
        return f"{rule}: {found}"
    lacking = ", ".join(repr(label) for label in missing)
    if outcome is Outcome.REVIEW:
        doubt = f"nothing for {lacking}" if missing else "matched only through words read fuzzily"
        return f"{rule}: for review (score {score:g}): {doubt}; {found}"
    return f"{rule}: nothing for {lacking}"


def _fuzzy_note(clause: ClauseMatch) -> str:
    if not clause.fuzzy:
        return ""
    return " [" + "; ".join(c.describe() for c in clause.fuzzy) + "]"
