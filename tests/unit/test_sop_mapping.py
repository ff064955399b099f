"""Loading sop.toml and recognition.toml: the shipped files, and broken ones."""

from __future__ import annotations

import shutil
from datetime import date, time
from pathlib import Path

import pytest

from bridge.config.sop_mapping import RECOGNITION_FILE, SOP_FILE, load_sop_mappings
from bridge.domain.recognition import Role
from bridge.domain.sop import Lane, TriggerKind
from bridge.errors import MappingError

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def test_the_shipped_mappings_load() -> None:
    mappings = load_sop_mappings(MAPPINGS)
    sop = mappings.sop
    assert len(sop) == 17
    assert [s.number for s in sop] == list(range(1, 18))
    assert sop.title == "Layanan Pengembangan Sistem / Aplikasi"
    assert [sop.working_days(n) for n in range(1, 18)] == [
        1, 1, 1, 1, 7, 1, 1, None, None, None, None, 1, 7, 1, 14, 3, 7,
    ]  # fmt: skip
    assert sop.step(1).documents == ("Surat permohonan pengembangan sistem / aplikasi",)
    assert sop.step(4).output == "Surat undangan rapat pembahasan pengembangan sistem / aplikasi"
    assert sop.step(5).lane is Lane.OPD
    assert sop.step(8).summary
    assert [s.number for s in sop.tracked] == [1, 2, 3, 4]
    assert sop.invitation_step == 4
    trigger = sop.step(3).trigger
    assert trigger is not None
    assert (trigger.kind, trigger.from_role, trigger.to_role) == (
        TriggerKind.DISPOSITION, Role.HEAD, Role.IT_HEAD,
    )  # fmt: skip
    assert [a.code for a in sop.anomalies] == ["disposed_to_other_division", "head_bypassed"]
    assert mappings.calendar.zone.key == "Asia/Jakarta"
    assert mappings.calendar.end_of_day == time(23, 59, 59)
    with pytest.raises(KeyError):
        sop.step(18)


@pytest.fixture
def mappings_dir(tmp_path: Path) -> Path:
    for name in (SOP_FILE, RECOGNITION_FILE):
        shutil.copy(MAPPINGS / name, tmp_path / name)
    return tmp_path


def edit(directory: Path, name: str, old: str, new: str) -> Path:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def error_of(directory: Path) -> str:
    with pytest.raises(MappingError) as caught:
        load_sop_mappings(directory)
    return str(caught.value)


R, S = RECOGNITION_FILE, SOP_FILE
ROLE_CHOICES = "'front_office', 'head', 'it_head' or 'other_division_head'"
DISPOSITION_TRIGGER = 'kind = "disposition"\nfrom_role = "front_office"'
ORDER = 'order = ["it_head", "head", "other_division_head", "front_office"]'
TANGSEL = '"tangerang selatan" = ["tangsel"'

BROKEN = {
    # unknown keys
    "unknown rule key": (R, "[request]\n", '[request]\ncolour = "red"\n', ["request.colour", "unknown key"]),
    "unknown step key": (S, "number = 1\n", 'number = 1\nnmae = "x"\n', ["steps.0.nmae", "unknown key"]),
    "unknown calendar key": (
        R,
        "[calendar]\n",
        "[calendar]\nholidays = []\n",
        ["calendar.holidays", "unknown key"],
    ),
    # a bad regular expression
    "bad regex": (
        R,
        "patterns = [\n    '\\bpenambahan",
        "patterns = [\n    '(unclosed', '\\bpenambahan",
        ["request.require.act.patterns.0", "bad regular expression", "missing )"],
    ),
    # missing fields
    "missing step field": (
        S,
        'summary = "The front',
        'sumary = "The front',
        ["steps.1.summary", "Field required"],
    ),
    "missing examples": (
        R,
        "[roles.head.examples]",
        "[roles.head.examplez]",
        ["roles.head.examples", "Field required"],
    ),
    "empty clause": (
        R,
        "[roles.head.require.title]\npatterns",
        "[roles.head.require.title]\nxpatterns",
        ["roles.head"],
    ),
    # invalid names list the valid ones
    "bad lane": (
        S,
        'lane = "OPD"',
        'lane = "Pemohon"',
        ["steps.0.lane", "'OPD', 'Diskominfo' or 'Bidang PTIKP'"],
    ),
    "bad trigger role": (
        S,
        'from_role = "front_office"',
        'from_role = "boss"',
        ["steps.1.trigger.from_role", ROLE_CHOICES],
    ),
    "bad trigger kind": (
        S,
        '[steps.trigger]\nkind = "letter"',
        '[steps.trigger]\nkind = "email"',
        ["steps.0.trigger.kind", "'letter', 'disposition' or 'invitation'"],
    ),
    "bad unicode form": (
        R,
        'unicode_form = "NFKC"',
        'unicode_form = "NFX"',
        ["normalise.unicode_form", "'NFKC'"],
    ),
    "bad category": (
        R,
        '["public", "government"]',
        '["public", "bank"]',
        ["calendar.holiday_categories", "unknown category 'bank'", "government"],
    ),
    "bad zone": (R, '"Asia/Jakarta"', '"Asia/Tangsel"', ["calendar.timezone", "unknown time zone"]),
    "unknown role in anomaly": (
        S,
        'from_role = "head"\nto_role = "other',
        'from_role = "unknown"\nto_role = "other',
        ["anomalies.0.from_role", ROLE_CHOICES],
    ),
    # consistency
    "step numbering": (S, "number = 3\n", "number = 4\n", ["steps.2.number", "expected 3"]),
    "time and days disagree": (S, 'time = "14 Hari"', 'time = "10 Hari"', ["steps.14.working_days", "= 10"]),
    "trigger without to_role": (
        S,
        DISPOSITION_TRIGGER + '\nto_role = "head"',
        DISPOSITION_TRIGGER,
        ["steps.1.trigger.to_role", "required for a disposition trigger"],
    ),
    "anomaly code taken": (
        S,
        'code = "head_bypassed"',
        'code = "letter_missing"',
        ["anomalies.1.code", "already used"],
    ),
    "role order incomplete": (
        R,
        ORDER,
        'order = ["it_head", "head", "front_office"]',
        ["roles.order", "each role exactly once"],
    ),
    "synonym listed twice": (
        R,
        TANGSEL,
        TANGSEL + ', "kadis"',
        ["synonyms.tangerang selatan", "'kadis' is also listed under 'kepala dinas'"],
    ),
    "synonym is canonical": (
        R,
        TANGSEL,
        TANGSEL + ', "Kepala Dinas"',
        ["synonyms.tangerang selatan", "itself a canonical form"],
    ),
}


@pytest.mark.parametrize(("name", "old", "new", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_files_name_the_file_and_the_key(
    mappings_dir: Path, name: str, old: str, new: str, expected: list[str]
) -> None:
    path = edit(mappings_dir, name, old, new)
    message = error_of(mappings_dir)
    assert str(path) in message
    for fragment in expected:
        assert fragment in message


def test_calendar_clash_is_refused(mappings_dir: Path) -> None:
    path = edit(mappings_dir, RECOGNITION_FILE, "extra_holidays = []", "extra_holidays = [2025-05-09]")
    edit(mappings_dir, RECOGNITION_FILE, "extra_working_days = []", "extra_working_days = [2025-05-09]")
    message = error_of(mappings_dir)
    assert (
        f"{path}: calendar.extra_working_days: also listed in calendar.extra_holidays: 2025-05-09" in message
    )


def test_calendar_extras_are_used(mappings_dir: Path) -> None:
    edit(mappings_dir, RECOGNITION_FILE, "extra_holidays = []", "extra_holidays = [2025-05-09]")
    edit(mappings_dir, RECOGNITION_FILE, "end_of_day = 23:59:59", "end_of_day = 16:00:00")
    calendar = load_sop_mappings(mappings_dir).calendar
    assert not calendar.is_working_day(date(2025, 5, 9))
    assert calendar.end_of_day == time(16, 0)


def test_a_request_rule_failing_its_examples_stops_start_up(mappings_dir: Path) -> None:
    first = 'hit = [\n    "Permohonan Pengembangan Aplikasi SIMPEG",'
    path = edit(mappings_dir, RECOGNITION_FILE, first, first + '\n    "Undangan makan siang",')
    message = error_of(mappings_dir)
    assert f"{path}: request.examples.hit[1]: 'Undangan makan siang' should match but does not" in message


def test_a_miss_example_that_matches_stops_start_up(mappings_dir: Path) -> None:
    first = 'miss = [\n    "Sosialisasi Aplikasi Srikandi",'
    path = edit(mappings_dir, RECOGNITION_FILE, first, 'miss = [\n    "Permohonan Pembuatan Aplikasi Baru",')
    message = error_of(mappings_dir)
    assert (
        f"{path}: request.examples.miss[0]: 'Permohonan Pembuatan Aplikasi Baru' should not match" in message
    )


def test_a_role_rule_failing_its_examples_stops_start_up(mappings_dir: Path) -> None:
    path = edit(mappings_dir, RECOGNITION_FILE, 'hit = [\n    "Kabid PTIKP",', 'hit = [\n    "Kabid IKP",')
    message = error_of(mappings_dir)
    assert f"{path}: roles.it_head.examples.hit[0]: 'Kabid IKP' should match but does not" in message
    assert "expected it_head, got other_division_head" in message


def test_examples_are_required(mappings_dir: Path) -> None:
    path = edit(
        mappings_dir,
        RECOGNITION_FILE,
        'miss = [\n    "Sosialisasi Aplikasi Srikandi",',
        "missing = [\n    'x',",
    )
    message = error_of(mappings_dir)
    assert f"{path}: request.examples.miss: Field required" in message


def test_a_missing_file(mappings_dir: Path) -> None:
    (mappings_dir / SOP_FILE).unlink()
    assert f"{mappings_dir / SOP_FILE}: file not found" in error_of(mappings_dir)


def test_a_file_that_is_not_toml(mappings_dir: Path) -> None:
    path = edit(mappings_dir, RECOGNITION_FILE, "\n[normalise]\n", "\n[normalise\n")
    assert f"{path}: not valid TOML" in error_of(mappings_dir)


# --- [fuzzy] and [review] (issue 13) ---------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('    "permohonan", "permintaan",', '    "apl", "permintaan",',
     "fuzzy.vocabulary: 'apl': give single words of letters only, at least 6 long"),
    ('    "permohonan", "permintaan",', '    "rancang bangun", "permintaan",',
     "fuzzy.vocabulary: 'rancang bangun': give single words of letters only"),
    ('protect = [\n', 'protect = [\n    "kata sandi",\n',
     "fuzzy.protect: 'kata sandi': give single words of letters only"),
    ("review_from = 0.5", "review_from = 0.9",
     "review.review_from: 0.9 is above review.request_from (0.8)"),
    ('near_miss_clause = "intent"', 'near_miss_clause = "maksud"',
     "review.near_miss_clause: no clause 'maksud' in request.require; valid: act, object, intent"),
    ("two_edits_from = 7", "two_edits_from = 3", "fuzzy.two_edits_from"),
    ("per_edit = 0.1", "per_edit = 2", "review.per_edit"),
])
def test_a_bad_fuzzy_or_review_setting_stops_start_up(mappings_dir: Path, old: str, new: str,
                                                       expected: str) -> None:
    path = edit(mappings_dir, RECOGNITION_FILE, old, new)
    message = error_of(mappings_dir)
    assert str(path) in message and expected in message


def test_a_review_example_outside_the_band_stops_start_up(mappings_dir: Path) -> None:
    first = 'review = [\n    "Dinas Sosial - Pembuatan Aplikasi Pendataan Lansia",'
    path = edit(mappings_dir, RECOGNITION_FILE, first,
                'review = [\n    "Permohonan Pembuatan Aplikasi Pendataan Lansia",')
    message = error_of(mappings_dir)
    assert (f"{path}: request.examples.review[0]: 'Permohonan Pembuatan Aplikasi Pendataan Lansia' "
            "should be left for review but is not: got request") in message
