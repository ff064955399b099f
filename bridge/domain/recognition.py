"""Recognition: which letters are development requests, which role a job title names.

Every rule comes from the mapping file ``recognition.toml`` (loaded and validated by
``bridge.config.sop_mapping``); this module only compiles and runs them. A rule is a set of
required clauses (all must match) and one exclusion clause (none may match); a clause is a
list of regular expressions and a list of words or phrases, any of which may match. Rules see
the normalised text (see ``bridge.domain.text``): lower case, words separated by single
spaces, synonyms expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from bridge.domain.items import Letter
from bridge.domain.text import Normaliser, NormaliseSettings, words_pattern

# Job titles repeat endlessly across 150,000 dispositions, so their roles are memoised; the
# bound keeps a flood of distinct hostile titles from growing the memo without limit.
_ROLE_MEMO_LIMIT = 8192
# Subjects and instructions repeat too ("Mohon ditindaklanjuti", a subject re-derived each time
# one of its dispositions changes): their verdicts are memoised under the same kind of bound.
_VERDICT_MEMO_LIMIT = 8192


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


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one rule on one text, with a short human-readable reason."""

    matched: bool
    rule: str
    reason: str

    def __bool__(self) -> bool:
        """A verdict is true when its rule matched."""
        return self.matched


@dataclass(frozen=True, slots=True)
class ExampleFailure:
    """A rule's own example that the compiled recogniser classifies differently."""

    rule: str
    kind: Literal["hit", "miss"]
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
        self._request = CompiledRule.build(spec.request, self._normalise)
        self._instruction = (
            CompiledRule.build(spec.instruction, self._normalise) if spec.instruction else None
        )
        self._roles = tuple((role, CompiledRule.build(r, self._normalise)) for role, r in spec.roles)
        self._role_memo: dict[str, tuple[Role, str]] = {}
        # The rules never change once compiled, so a verdict depends on the text alone.
        self._subject_memo: dict[str | None, Verdict] = {}
        self._instruction_memo: dict[str | None, Verdict] = {}

    @property
    def normalise(self) -> Normaliser:
        """The normaliser the rules see their text through."""
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

    def subject_verdict(self, perihal: str | None) -> Verdict:
        """The request rule on a bare subject line."""
        verdict = self._subject_memo.get(perihal)
        if verdict is None:
            verdict = self._request.evaluate(self._normalise(perihal))
            _remember(self._subject_memo, perihal, verdict)
        return verdict

    def instruction_verdict(self, isi: str | None) -> Verdict:
        """Whether a disposition's instruction speaks of a development request.

        Always a non-match when the mapping file has no ``[instruction]`` rule.
        """
        if self._instruction is None:
            return Verdict(False, "instruction", "instruction: no rule configured")
        verdict = self._instruction_memo.get(isi)
        if verdict is None:
            verdict = self._instruction.evaluate(self._normalise(isi))
            _remember(self._instruction_memo, isi, verdict)
        return verdict

    def role_of(self, jabatan: str | None) -> Role:
        """The SOP role a free-text job title names (``Role.UNKNOWN`` when none does)."""
        return self.role_verdict(jabatan)[0]

    def role_verdict(self, jabatan: str | None) -> tuple[Role, str]:
        """The role of a job title and the reason (the rule that gave it)."""
        if not jabatan:
            return Role.UNKNOWN, "empty job title"
        memo = self._role_memo.get(jabatan)
        if memo is None:
            memo = self._classify_role(jabatan)
            if len(self._role_memo) >= _ROLE_MEMO_LIMIT:
                self._role_memo.clear()
            self._role_memo[jabatan] = memo
        return memo

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
        """The examples of a rule on free text (a subject, an instruction) it gets wrong."""
        for index, text in enumerate(rule.spec.hits):
            verdict = rule.evaluate(self._normalise(text))
            if not verdict.matched:
                yield ExampleFailure(rule.name, "hit", index, text, verdict.reason)
        for index, text in enumerate(rule.spec.misses):
            verdict = rule.evaluate(self._normalise(text))
            if verdict.matched:
                yield ExampleFailure(rule.name, "miss", index, text, verdict.reason)

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


def _remember(memo: dict[str | None, Verdict], text: str | None, verdict: Verdict) -> None:
    """Keep a verdict, starting the memo afresh once it reaches its bound."""
    if len(memo) >= _VERDICT_MEMO_LIMIT:
        memo.clear()
    memo[text] = verdict
