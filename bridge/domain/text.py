"""Text for matching (normalised, synonyms expanded) and text for showing (terminal-safe).

Normalisation is for matching only: the original text of a letter or a disposition is kept
untouched elsewhere and is what the bridge stores and shows.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bridge.domain.fuzzy import Correction, Corrector

UnicodeForm = Literal["NFC", "NFKC", "NFD", "NFKD"]

# Tags are removed with a bounded pattern: the text is only matched, never rendered, so a
# cheap approximation is enough and a stray "<" cannot swallow the rest of a long subject.
_TAG = re.compile(r"<[^<>]{0,500}>")
# After the invisible characters are gone, everything that is not a letter or a digit
# (punctuation, symbols, underscores, any space) separates words.
_NON_WORD = re.compile(r"[\W_]+")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


@dataclass(frozen=True, slots=True)
class NormaliseSettings:
    """How text is normalised before the recognition rules see it."""

    unicode_form: UnicodeForm = "NFKC"
    casefold: bool = True
    strip_html: bool = True
    strip_accents: bool = True
    # Literal replacements applied before case folding and before punctuation is removed,
    # e.g. "&" -> " dan ", so "Komunikasi & Informatika" reads as "Komunikasi dan Informatika".
    replacements: Mapping[str, str] = field(default_factory=dict)


def _drop_invisible(text: str) -> str:
    """Remove control and format characters (zero-width spaces, bidi marks, soft hyphens).

    Whitespace controls (tab, newline) are kept: they separate words. Removing rather than
    spacing the others keeps "Apli\u200bkasi" one word, as a reader sees it.
    """
    if text.isascii():
        return _ASCII_CONTROL.sub("", text)
    return "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)


def _strip_accents(text: str) -> str:
    """Remove combining marks ("aplikasí" -> "aplikasi"); ASCII text is returned as is."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


class Normaliser:
    """Turns free text into lower-case words separated by single spaces, synonyms expanded.

    Synonyms are given as ``canonical -> variants``; every variant (a word or a phrase,
    normalised like the text) is replaced by its canonical form, whole words only, in one
    left-to-right pass preferring the longest variant. One pass means a canonical form is
    never expanded again, so the order of the synonym table does not matter.
    """

    __slots__ = ("_corrector", "_lookup", "_settings", "_synonym_pattern", "_translation")

    def __init__(
        self,
        settings: NormaliseSettings,
        synonyms: Mapping[str, tuple[str, ...]] | None = None,
        corrector: Corrector | None = None,
    ) -> None:
        """Precompile the replacement table and the synonym pattern once.

        ``corrector``: reads mistyped and shortened key words before synonyms are expanded
        (see ``bridge.domain.fuzzy``); None reads every word as written.
        """
        self._settings = settings
        self._corrector = corrector
        self._translation = {ord(k): v for k, v in settings.replacements.items() if len(k) == 1}
        self._lookup: dict[str, str] = {}
        for canonical, variants in (synonyms or {}).items():
            target = self.basic(canonical)
            for variant in variants:
                key = self.basic(variant)
                if key and key != target:
                    self._lookup[key] = target
        self._synonym_pattern = _alternation(self._lookup)

    @property
    def settings(self) -> NormaliseSettings:
        """The settings this normaliser was built with."""
        return self._settings

    @property
    def synonyms(self) -> Mapping[str, str]:
        """Each normalised variant and the canonical form it becomes."""
        return dict(self._lookup)

    def basic(self, text: str) -> str:
        """Normalise without expanding synonyms (used to prepare the synonym table itself)."""
        settings = self._settings
        if settings.strip_html and "<" in text:
            text = _TAG.sub(" ", text)
        if settings.strip_html and "&" in text:
            # Entities are HTML too: "&amp;" must reach the "&" replacement as "&".
            text = html.unescape(text)
        text = unicodedata.normalize(settings.unicode_form, text)
        text = self._replace(text)
        if settings.casefold:
            text = text.casefold()
        if settings.strip_accents:
            text = _strip_accents(text)
        text = _drop_invisible(text)
        return _NON_WORD.sub(" ", text).strip()

    def __call__(self, text: str | None) -> str:
        """Normalise ``text`` for matching; ``None`` becomes the empty string."""
        return self.read(text)[0]

    def read(self, text: str | None) -> tuple[str, tuple[Correction, ...]]:
        """Normalise ``text`` for matching, with the words read fuzzily (see ``Corrector``)."""
        if not text:
            return "", ()
        basic = self.basic(text)
        corrections: tuple[Correction, ...] = ()
        if self._corrector is not None:
            basic, corrections = self._corrector.correct(basic)
        return self.expand(basic), corrections

    def expand(self, basic: str) -> str:
        """Replace every synonym variant in already-normalised text by its canonical form."""
        if self._synonym_pattern is None:
            return basic
        lookup = self._lookup
        return self._synonym_pattern.sub(lambda m: lookup[m.group(0)], basic)

    def _replace(self, text: str) -> str:
        """Apply the literal replacements (single characters by table, longer ones in turn)."""
        if self._translation:
            text = text.translate(self._translation)
        for old, new in self._settings.replacements.items():
            if len(old) > 1 and old in text:
                text = text.replace(old, new)
        return text


def _alternation(words: Mapping[str, str]) -> re.Pattern[str] | None:
    """One pattern matching any key as whole words, longest first so phrases win."""
    if not words:
        return None
    ordered = sorted(words, key=lambda w: (-len(w), w))
    body = "|".join(re.escape(w) for w in ordered)
    return re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])")


def words_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """Compile already-normalised words or phrases into one whole-word pattern."""
    return _alternation({p: p for p in phrases if p})


# --- showing text -------------------------------------------------------------------------

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHORT_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_ASCII_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
# Bounds the memo below: hostile text with very many distinct characters still works, it
# just stops being memoised.
_MEMO_LIMIT = 1 << 16


def _escape(code_point: int) -> str:
    """The visible escape for one code point: \\x1b, \\u202e or \\U000e0001."""
    if code_point in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[code_point]
    if code_point <= 0xFF:
        return f"\\x{code_point:02x}"
    if code_point <= 0xFFFF:
        return f"\\u{code_point:04x}"
    return f"\\U{code_point:08x}"


class _EscapeTable(dict[int, str]):
    """A ``str.translate`` table filled in on demand.

    ``str.translate`` looks each character up at C speed and only falls back to
    ``__missing__`` the first time a character is seen.
    """

    def __missing__(self, code_point: int) -> str:
        char = chr(code_point)
        category = unicodedata.category(char)
        value = _escape(code_point) if category in _ESCAPED_CATEGORIES else char
        if len(self) < _MEMO_LIMIT:
            self[code_point] = value
        return value


_ESCAPES = _EscapeTable()


def printable(text: str) -> str:
    """Make ``text`` safe to print on a terminal, keeping it readable.

    Control characters (Unicode category Cc: ESC, BEL, newlines...), format characters (Cf:
    bidi overrides and isolates, zero-width characters), line/paragraph separators and lone
    surrogates become visible escapes such as ``\\x1b`` or ``\\u202e``. A hostile subject can
    then neither send terminal escape sequences nor reorder or split a table row. Everything
    else, accents and non-Latin scripts included, is kept as is.
    """
    if text.isascii():
        # The common case: one C-speed scan, and no copy at all when nothing is unsafe.
        if _ASCII_UNSAFE.search(text) is None:
            return text
        return _ASCII_UNSAFE.sub(lambda m: _escape(ord(m.group(0))), text)
    return text.translate(_ESCAPES)
