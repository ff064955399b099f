"""Reading key words as people mistype and shorten them: "Pembutan", "pengemb.", "AplikasiSurat".

A ``Corrector`` works on already-normalised words (lower case, single spaces) and reads each
word that is not known as the key word it most likely stands for:

* a typo: one or two wrong, missing, doubled or swapped letters (Damerau-Levenshtein
  distance, computed by rapidfuzz); one edit from ``one_edit_from`` letters on, two from
  ``two_edits_from``; the first letter must agree, and two key words equally close leave the
  word alone;
* an abbreviation: the first letters of exactly one key word ("pengemb" -> "pengembangan");
* two words run together ("aplikasisurat" -> "aplikasi surat") or one word split in two
  ("apli kasi" -> "aplikasi").

Short words are never corrected (a four-letter word is one edit from far too many others),
and neither is a word listed as known: the rules' own words and the mapping file's
``protect`` list of real words that sit close to a key word ("pengembalian" is a refund,
not a misspelt "pengembangan"). Every correction is reported, so a verdict can say which
words it read fuzzily and how far they were from what was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CorrectionKind(StrEnum):
    """How a written word differs from the key word it was read as."""

    TYPO = "typo"
    ABBREVIATION = "abbreviation"
    JOINED = "joined"  # two words written without the space between them
    SPLIT = "split"  # one word written with a space inside


@dataclass(frozen=True, slots=True)
class Correction:
    """One written word (or two, for a split) read as a key word."""

    written: str
    read_as: str
    kind: CorrectionKind
    distance: int = 0  # edits between written and read_as (typos only)

    def describe(self) -> str:
        """E.g. ``'pembutan' read as 'pembuatan' (typo, 1 edit)``."""
        detail = f"{self.distance} edit{'s' if self.distance != 1 else ''}" if self.distance else ""
        how = f"{self.kind.value}, {detail}" if detail else self.kind.value
        return f"{self.written!r} read as {self.read_as!r} ({how})"


@dataclass(frozen=True, slots=True)
class FuzzySettings:
    """Which words are key words, which are known as they are, and how far a typo may go."""

    vocabulary: tuple[str, ...] = ()
    known: tuple[str, ...] = ()
    one_edit_from: int = 5
    two_edits_from: int = 8
    abbreviation_from: int = 4


class Corrector:
    """Reads mistyped, shortened, run-together and split key words as the key word."""

    __slots__ = ("_by_initial", "_by_prefix", "_extract", "_heads", "_known", "_settings",
                 "_vocabulary")

    def __init__(self, settings: FuzzySettings) -> None:
        """Index the key words once: by first letter, by every shortening, by length."""
        self._settings = settings
        self._extract = _nearest()
        self._vocabulary = frozenset(settings.vocabulary)
        self._known = frozenset(settings.known) | self._vocabulary
        by_initial: dict[str, list[str]] = {}
        by_prefix: dict[str, set[str]] = {}
        for word in sorted(self._vocabulary):
            by_initial.setdefault(word[0], []).append(word)
            # A shortening leaves out at least two letters ("sistem" is no shortening of itself).
            for end in range(settings.abbreviation_from, len(word) - 1):
                by_prefix.setdefault(word[:end], set()).add(word)
        self._by_initial = {k: tuple(v) for k, v in by_initial.items()}
        self._by_prefix = {k: tuple(v) for k, v in by_prefix.items()}
        # Key words another word may run into: six letters or more, longest first.
        self._heads = tuple(sorted({len(w) for w in self._vocabulary if len(w) >= 6}, reverse=True))

    @property
    def settings(self) -> FuzzySettings:
        """The settings this corrector was built with."""
        return self._settings

    def correct(self, text: str) -> tuple[str, tuple[Correction, ...]]:
        """``text`` (normalised words) with key words read through typos, and what was read."""
        words = text.split(" ") if text else []
        out: list[str] = []
        found: list[Correction] = []
        index = 0
        while index < len(words):
            word = words[index]
            if word in self._known or not word.isalpha():
                out.append(word)
                index += 1
                continue
            joined = self._split_word(words, index)
            if joined is not None:
                out.append(joined.read_as)
                found.append(joined)
                index += 2
                continue
            correction = self._read(word)
            if correction is None:
                out.append(word)
            else:
                out.append(correction.read_as)
                found.append(correction)
            index += 1
        return " ".join(out), tuple(found)

    def _split_word(self, words: list[str], index: int) -> Correction | None:
        """``apli kasi`` -> ``aplikasi``: a key word written with a space inside."""
        if index + 1 >= len(words):
            return None
        following = words[index + 1]
        together = words[index] + following
        if together in self._vocabulary and following not in self._known:
            return Correction(f"{words[index]} {following}", together, CorrectionKind.SPLIT)
        return None

    def _read(self, word: str) -> Correction | None:
        """The key word ``word`` stands for, or None when it stands for none (or for two)."""
        settings = self._settings
        if len(word) < min(settings.one_edit_from, settings.abbreviation_from):
            return None
        candidates = self._by_initial.get(word[0], ())
        if not candidates:
            return None
        return self._typo(word, candidates) or self._abbreviation(word) or self._run_together(word)

    def _typo(self, word: str, candidates: tuple[str, ...]) -> Correction | None:
        settings = self._settings
        if len(word) < settings.one_edit_from:
            return None
        limit = 2 if len(word) >= settings.two_edits_from else 1
        best = self._extract(word, candidates, limit)
        if not best:
            return None
        if len(best) > 1 and best[1][1] == best[0][1]:
            return None  # two key words equally close: no way to tell which was meant
        target, distance = best[0][0], int(best[0][1])
        return Correction(word, target, CorrectionKind.TYPO, distance)

    def _abbreviation(self, word: str) -> Correction | None:
        longer = self._by_prefix.get(word, ())
        if len(longer) != 1:
            return None  # none, or the start of several key words: no way to tell which
        return Correction(word, longer[0], CorrectionKind.ABBREVIATION)

    def _run_together(self, word: str) -> Correction | None:
        """``aplikasisurat`` -> ``aplikasi surat``: a key word and the next word without a space."""
        for size in self._heads:
            head, rest = word[:size], word[size:]
            if (len(rest) >= 3 and head in self._vocabulary
                    and (rest in self._known or len(rest) >= 4)):
                return Correction(word, f"{head} {rest}", CorrectionKind.JOINED)
        return None


def _nearest() -> Callable[[str, tuple[str, ...], int], list[tuple[str, Any, int]]]:
    """Rapidfuzz's search for the two nearest words by Damerau-Levenshtein distance.

    Imported here, not with the module: it costs tens of milliseconds that commands which
    never recognise a letter (``bridge --help``) should not pay.
    """
    from rapidfuzz import process  # noqa: PLC0415 - see above
    from rapidfuzz.distance import DamerauLevenshtein  # noqa: PLC0415

    def nearest(word: str, candidates: tuple[str, ...], limit: int) -> list[tuple[str, Any, int]]:
        return process.extract(word, candidates, scorer=DamerauLevenshtein.distance,
                               score_cutoff=limit, limit=2)

    return nearest


def words_of(patterns: Iterable[str], *, shortest: int) -> set[str]:
    """The plain words (letters only, at least ``shortest`` long) written in regular expressions.

    Used to treat the rules' own words as known: a word a rule names is never "corrected"
    into another one.
    """
    found: set[str] = set()
    for pattern in patterns:
        word: list[str] = []
        escaped = False
        for char in pattern:
            if escaped:
                escaped = False
                _flush(word, found, shortest)
                continue
            if char == "\\":
                escaped = True
                _flush(word, found, shortest)
            elif char.isalpha() and char.islower():
                word.append(char)
            else:
                _flush(word, found, shortest)
        _flush(word, found, shortest)
    return found


def _flush(word: list[str], found: set[str], shortest: int) -> None:
    if len(word) >= shortest:
        found.add("".join(word))
    word.clear()
