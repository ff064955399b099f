"""Normalisation for matching, and terminal-safe display text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.domain.text import Normaliser, NormaliseSettings, printable

SYNONYMS = {
    "kepala dinas": ("kadis",),
    "kepala dinas komunikasi dan informatika": ("kadis kominfo",),
    "komunikasi dan informatika": ("kominfo",),
    "ptikp": ("pengelolaan teknologi informasi komunikasi dan persandian",),
    "tata usaha": ("tu",),
    "pengembangan": ("pembuatan", "pembangunan"),
}


@pytest.fixture(scope="module")
def normalise() -> Normaliser:
    return Normaliser(NormaliseSettings(replacements={"&": " dan "}), SYNONYMS)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PERMOHONAN  Pembuatan   Aplikasi", "permohonan pengembangan aplikasi"),
        ("Permohonan: Pembuatan, Aplikasi 'e-Posyandu'.", "permohonan pengembangan aplikasi e posyandu"),
        ("\tPermohonan\nPembuatan\r\nAplikasi \u00a0", "permohonan pengembangan aplikasi"),
        ("<b>Permohonan</b><br/>Pembuatan&nbsp;Aplikasi", "permohonan pengembangan aplikasi"),
        ("Komunikasi &amp; Informatika", "komunikasi dan informatika"),
        ("Komunikasi & Informatika", "komunikasi dan informatika"),
        ("\uff21\uff30\uff2c\uff29\uff2b\uff21\uff33\uff29", "aplikasi"),  # full-width letters (NFKC)
        ("Apli\u200bkasi", "aplikasi"),  # zero-width space inside a word
        ("Apli\u00adkasi", "aplikasi"),  # soft hyphen
        ("\u202eAplikasi\u202c", "aplikasi"),  # bidi override
        ("Aplikasí Pelayanán", "aplikasi pelayanan"),  # accents
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        ("Apli\x00kasi\x07", "aplikasi"),
        ("sistem_informasi", "sistem informasi"),
        ("", ""),
        ("  ...  ", ""),
    ],
)
def test_basic_normalisation(normalise: Normaliser, raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_none_is_empty(normalise: Normaliser) -> None:
    assert normalise(None) == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Kadis", "kepala dinas"),
        ("Plt. KADIS", "plt kepala dinas"),
        ("Kadis Kominfo", "kepala dinas komunikasi dan informatika"),  # longest variant wins
        ("Kepala Dinas Kominfo", "kepala dinas komunikasi dan informatika"),
        ("Kadisdik", "kadisdik"),  # whole words only
        ("Status", "status"),  # "tu" inside a word is left alone
        ("Staf TU", "staf tata usaha"),
        (
            "Kepala Bidang Pengelolaan Teknologi Informasi, Komunikasi & Persandian",
            "kepala bidang ptikp",
        ),
    ],
)
def test_synonyms_expand_whole_words(normalise: Normaliser, raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_synonyms_apply_once_without_chaining() -> None:
    # "a" -> "b c" and "b" -> "x": the "b" produced by the first expansion stays.
    normalise = Normaliser(NormaliseSettings(), {"b c": ("a",), "x": ("b",)})
    assert normalise("a b") == "b c x"


def test_synonym_table_is_normalised_like_the_text() -> None:
    normalise = Normaliser(NormaliseSettings(), {"Sub-Bagian": ("SUB  BAG.",)})
    assert normalise("Sub Bag Umum") == "sub bagian umum"
    assert normalise.synonyms == {"sub bag": "sub bagian"}


def test_settings_can_be_turned_off() -> None:
    settings = NormaliseSettings(casefold=False, strip_html=False, strip_accents=False)
    normalise = Normaliser(settings)
    assert normalise("<b>Aplikasí</b>") == "b Aplikasí b"
    assert normalise.settings is settings


def test_multi_character_replacements() -> None:
    normalise = Normaliser(NormaliseSettings(replacements={"c/q": " cq "}))
    assert normalise("Kepala Dinas c/q Kabid") == "kepala dinas cq kabid"


@given(st.text())
def test_normalised_text_is_words_and_single_spaces(raw: str) -> None:
    text = Normaliser(NormaliseSettings())(raw)
    assert text == text.strip()
    assert "  " not in text
    assert all(ch == " " or ch.isalnum() for ch in text)


# --- printable ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Permohonan Aplikasi", "Permohonan Aplikasi"),
        ("red \x1b[31mALERT\x1b[0m", "red \\x1b[31mALERT\\x1b[0m"),
        ("bell\x07", "bell\\x07"),
        ("two\nlines\r\tx", "two\\nlines\\r\\tx"),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b2J", "csi\\x9b2J"),  # C1 control: 8-bit CSI
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("bom\ufeff", "bom\\ufeff"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("line\u2028sep", "line\\u2028sep"),
        ("Aplikasí 中文 \u00a0ok", "Aplikasí 中文 \u00a0ok"),
    ],
)
def test_printable_escapes_controls_and_format_characters(raw: str, expected: str) -> None:
    assert printable(raw) == expected


def test_printable_returns_safe_ascii_unchanged() -> None:
    text = "Permohonan Pembuatan Aplikasi " * 10
    assert printable(text) is text


@given(st.text())
def test_printable_leaves_no_control_or_format_character(raw: str) -> None:
    shown = printable(raw)
    assert all(unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in shown)
    assert printable(shown) == shown


@given(st.text(alphabet=st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))))
def test_printable_keeps_everything_else(raw: str) -> None:
    assert printable(raw) == raw
