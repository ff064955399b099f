"""Property tests (hypothesis, derandomized): hostile input never breaks the bridge's edges.

* the item parsers, over arbitrary JSON values and over contract-shaped items carrying hostile
  strings, impossible dates and odd ids: never raise; either a parsed item that round-trips or
  a quarantine record with a reason;
* the poller over a page mixing good and bad items: the good ones are stored, the bad ones
  quarantined, the pass completes (a real ledger from tests/conftest.py);
* the mapping loaders over broken copies of the shipped files: only MappingError, naming the file;
* the text helpers: no ESC, BEL, C1 control or bidi override gets through, and a rendered
  template never expands ``${...}`` taken from a value.

Every test is deterministic (``derandomize=True``).
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bridge.config.profile import DATE_FIELDS, PROFILE_FILE, load_profile
from bridge.config.push_mapping import PUSH_FILE, load_push_mapping
from bridge.config.sop_mapping import RECOGNITION_FILE, SOP_FILE, load_sop_mappings
from bridge.domain.items import Disposition, ListKind, YearDir, item_from_fields
from bridge.domain.records import PassMode, QuarantineRecord
from bridge.domain.text import printable
from bridge.domain.wording import inert, render
from bridge.errors import MappingError
from bridge.ports import Ledger
from bridge.services.parse import ItemParser, Parsed
from bridge.services.poll import ListPoller, PollConfig
from tests.conftest import MAPPINGS
from tests.fakes import FakeSisumaker, disposition, letter

PROFILE = load_profile(MAPPINGS)
PARSERS = {kind: ItemParser(kind, PROFILE.lists[kind], zone=PROFILE.zone,
                            max_chars=PROFILE.max_field_chars) for kind in ListKind}
SOURCE = {kind: dict(PROFILE.lists[kind].fields) for kind in ListKind}
YEAR = 2026
SURAT_, DISPOSISI_ = ListKind.SURAT, ListKind.DISPOSISI
IDS = {"id", "surat_id", "compose_id", "dari_pegawai_id", "kepada_pegawai_id"}
DATES = {name for names in DATE_FIELDS.values() for name in names}

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=200,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=60)

# -- strategies ------------------------------------------------------------------------------

# What json.loads can hand the parser: NaN and Infinity included (Python's json accepts them).
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)

FIXED_HOSTILE = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>Permohonan",
    "Permohonan Pengembangan Aplikasi <b>SIMPUS</b> &amp; &lt;x&gt;",
    "{{ 7*7 }} ${jndi:ldap://x} ${perihal} $$ {% raw %}",
    "Permohonan\x1b[2J\x1b[31mmerah\x07\x9b31m\x85",
    "\u202eDNEPP\u202c aplikasi \u2066x\u2069 \u200b\ufeff",
    "שלום مرحبا \u061c עברית",
    "line\nbreak\r\ttab\x00nul\x7fdel\u2028\u2029",
    "Permohonan 🚀🙏 aplikasi",
    "",
    "   ",
]
HUGE = [  # around the profile's max_field_chars (20,000) and a 100 KB field
    "a" * 100_000, "<script>" * 12_500, "\u202e" * 20_001, "é" * 20_000, "x" * 19_999,
]
CONTROL_TEXT = st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), max_size=20)
HOSTILE_TEXT = st.one_of(st.sampled_from(FIXED_HOSTILE + HUGE), st.text(max_size=60), CONTROL_TEXT)
ODD_DATES = st.sampled_from([
    "2026-02-30 10:00:00", "2026-02-29 10:00:00", "0000-00-00 00:00:00", "0000-00-00",
    "00-00-0000", "kemarin", "besok pagi", "2026-13-01 00:00:00", "2026-11-20 25:00:00",
    "2026-11-20 08:00:60", "2026-11-20 08:00:00", "2026-11-20 08:00", "2026-11-20T08:00:00",
    " 2026-11-20 08:00:00 ", "20-11-2026", "2026-11-20", "31/12/2026", "9999-12-31 23:59:59",
    "0001-01-01 00:00:00", "2026-11-20 08:00:00.123", "2026/11/20 08:00:00", "NaN",
])
DATE_VALUES = st.one_of(ODD_DATES, HOSTILE_TEXT, st.none(), st.booleans(), st.integers(),
                        st.floats(), st.lists(st.integers(), max_size=2))
ID_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=70),
    st.sampled_from(["", " ", "\t", "88121", " 88121 ", "0", "-1", "x" * 64, "x" * 65, "1e3"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ANY_VALUE = st.one_of(HOSTILE_TEXT, st.none(), st.booleans(), st.integers(), st.floats(), JSON_VALUES)


def value_for(canon: str) -> st.SearchStrategy[Any]:
    """A hostile value for one canonical field."""
    if canon in IDS:
        return ID_VALUES
    if canon in DATES:
        return DATE_VALUES
    return st.one_of(HOSTILE_TEXT, ANY_VALUE)


@st.composite
def contract_items(draw: st.DrawFn, kind: ListKind) -> dict[str, Any]:
    """A contract-shaped item with some fields replaced, deleted, or extra keys added."""
    raw = letter(7) if kind is ListKind.SURAT else disposition(7, 3)
    for canon, source in SOURCE[kind].items():
        action = draw(st.sampled_from(["replace", "keep", "replace", "delete"]))
        if action == "replace":
            raw[source] = draw(value_for(canon))
        elif action == "delete":
            raw.pop(source, None)
    raw.update(draw(st.dictionaries(st.sampled_from(["Filter by ", "photo", "x", "__proto__", ""]),
                                    ANY_VALUE, max_size=2)))
    return raw


# -- helpers ---------------------------------------------------------------------------------


def same_json(left: Any, right: Any) -> bool:
    """Structural equality where NaN equals NaN and 1 differs from True."""
    if isinstance(left, float) and isinstance(right, float):
        return (math.isnan(left) and math.isnan(right)) or left == right
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same_json(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def as_json(value: Any) -> Any:
    """The value as JSON can hold it: NaN and the infinities, which JSON has not, as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    return value


def check_outcome(kind: ListKind, raw: Any, result: Parsed | QuarantineRecord) -> None:
    """The invariants of one parse: round-trip when parsed, a reason when quarantined."""
    assert isinstance(result, Parsed | QuarantineRecord), result
    payload = result.record.payload if isinstance(result, Parsed) else result.payload
    assert same_json(json.loads(payload), as_json(raw)), "the payload is not the item as received"
    payload.encode("utf-8")  # storable: no lone surrogate (those are written escaped)
    assert "\x00" not in payload
    if isinstance(result, QuarantineRecord):
        assert result.kind is kind and result.year == YEAR
        assert isinstance(result.reason, str) and result.reason.strip()
        assert result.source_id is None or (isinstance(result.source_id, str)
                                            and 0 < len(result.source_id) <= 64)
        if isinstance(raw, dict):
            names = [*SOURCE[kind].values(), "item"]
            assert any(name in result.reason for name in names), result.reason
        return
    record, item = result.record, result.item
    assert isinstance(raw, dict)
    assert record.kind is kind and record.year == YEAR
    assert record.source_id == item.id and item.id and item.id == item.id.strip()
    assert record.item_time == item.created_at and item.created_at.tzinfo is not None
    assert item_from_fields(kind, json.loads(record.fields)) == item, "fields do not round-trip"
    if isinstance(item, Disposition):
        assert record.parent_id == item.surat_id
    for canon, source in SOURCE[kind].items():
        value = raw.get(source)
        if canon in IDS or canon in DATES or value is None:
            continue
        if isinstance(value, str):
            assert getattr(item, canon) == value, f"{source} is not stored as received"
            assert len(value) <= PROFILE.max_field_chars
        elif isinstance(value, bool | int | float):
            assert getattr(item, canon) == str(value)


# -- the parsers -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ListKind))
@FUZZ
@given(raw=JSON_VALUES)
def test_parser_over_arbitrary_json_never_raises(kind: ListKind, raw: Any) -> None:
    check_outcome(kind, raw, PARSERS[kind].parse(YEAR, raw))


@pytest.mark.parametrize("kind", list(ListKind))
@FUZZ
@given(data=st.data())
def test_parser_over_hostile_contract_items(kind: ListKind, data: st.DataObject) -> None:
    raw = data.draw(contract_items(kind))
    result = PARSERS[kind].parse(YEAR, raw)
    check_outcome(kind, raw, result)
    id_value = raw.get(SOURCE[kind]["id"])
    if id_value is None or isinstance(id_value, bool | list | dict) or (
            isinstance(id_value, str) and not id_value.strip()):
        assert isinstance(result, QuarantineRecord), f"an item with id {id_value!r} was accepted"
    created = raw.get(SOURCE[kind]["created_at"])
    if created in ("2026-02-30 10:00:00", "0000-00-00 00:00:00", "kemarin", "2026-13-01 00:00:00",
                   None, ""):
        assert isinstance(result, QuarantineRecord), f"created {created!r} was accepted"
    too_long = [source for canon, source in SOURCE[kind].items()
                if isinstance(raw.get(source), str) and len(raw[source]) > PROFILE.max_field_chars
                and canon not in IDS and canon not in DATES]
    if too_long:
        assert isinstance(result, QuarantineRecord)
        assert any(name in result.reason for name in too_long), result.reason


NAMED = [
    *[(SURAT_, "perihal", text, "parsed") for text in FIXED_HOSTILE],
    (SURAT_, "perihal", "x" * 19_999, "parsed"),
    (SURAT_, "perihal", "é" * 20_000, "parsed"),
    (SURAT_, "perihal", "a" * 100_000, "quarantined"),
    (SURAT_, "perihal", "<script>" * 12_500, "quarantined"),
    (SURAT_, "asal_surat", "\u202e" * 20_001, "quarantined"),
    (DISPOSISI_, "isi_disposisi", "a" * 100_000, "quarantined"),
    (DISPOSISI_, "kepada_jabatan", "Kabid \u202ePTIKP\u202c \x1b[31m<b>", "parsed"),
    *[(SURAT_, "id_persuratan", value, "quarantined")
      for value in (None, True, False, 1.5, float("nan"), float("inf"), "", "  ", [1], {}, "x" * 65)],
    *[(SURAT_, "id_persuratan", value, "parsed") for value in (0, 88121, 88121.0, " 88121 ", "x" * 64)],
    *[(DISPOSISI_, "id_persuratan", value, "quarantined") for value in (None, True, "")],
    (DISPOSISI_, "id_persuratan", 5, "parsed"),
    *[(SURAT_, "tgl_dibuat", value, "quarantined")
      for value in ("2026-02-30 10:00:00", "0000-00-00 00:00:00", "0000-00-00", "kemarin", None, "",
                    20261120, True, "2026-11-20 25:00:00")],
    *[(DISPOSISI_, "tgl_disposisi", value, "quarantined") for value in ("2026-02-30 10:00:00", "kemarin")],
    *[(SURAT_, "tgl_diterimaTU", value, "parsed")
      for value in ("2026-02-30 10:00:00", "0000-00-00", "kemarin", 5)],
    *[(SURAT_, "tgl_dikirim", value, "parsed") for value in ("00-00-0000", "30-02-2026", "kemarin")],
]


@pytest.mark.parametrize(("kind", "source", "value", "expected"), NAMED,
                         ids=[f"{k.value}-{s}-{str(v)[:12]!r}-{len(str(v))}" for k, s, v, _ in NAMED])
def test_named_hostile_values(kind: ListKind, source: str, value: Any, expected: str) -> None:
    raw = {**(letter(7) if kind is ListKind.SURAT else disposition(7, 3)), source: value}
    result = PARSERS[kind].parse(YEAR, raw)
    check_outcome(kind, raw, result)
    if expected == "quarantined":
        assert isinstance(result, QuarantineRecord), result
        assert source in result.reason, result.reason
    else:
        assert isinstance(result, Parsed), result


@FEW
@given(received=DATE_VALUES, sent=DATE_VALUES)
def test_an_odd_optional_date_never_costs_the_letter(received: Any, sent: Any) -> None:
    raw = {**letter(3), "tgl_diterimaTU": received, "tgl_dikirim": sent}
    result = PARSERS[ListKind.SURAT].parse(YEAR, raw)
    check_outcome(ListKind.SURAT, raw, result)
    assert isinstance(result, Parsed), result


# datetime.fromisoformat, which reads an ISO layout once the value has its shape
# (bridge/domain/dates.py), alone would accept ISO 8601 forms that no profile format describes.
NOT_IN_ANY_FORMAT = ["2026-W47-5 08:00:00", "2026-11-20 08:00-05", "2026-11-20T08:00+14"]


def strptime_any(text: str, formats: tuple[str, ...]) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


@FEW
@example(text=NOT_IN_ANY_FORMAT[0])
@example(text=NOT_IN_ANY_FORMAT[1])
@given(text=st.one_of(st.sampled_from(NOT_IN_ANY_FORMAT),
                      st.from_regex(r"\A20\d\d-[01]\d-[0-3]\d[ T][0-2]\d:[0-5]\d:[0-5]\d\Z")))
def test_a_created_date_is_read_exactly_when_a_profile_format_reads_it(text: str) -> None:
    formats = PROFILE.lists[ListKind.SURAT].date_formats["created_at"]
    result = PARSERS[ListKind.SURAT].parse(YEAR, {**letter(1), "tgl_dibuat": text})
    expected = strptime_any(text.strip(), formats)
    if expected is None:
        assert isinstance(result, QuarantineRecord), f"{text!r} was read as {result.item.created_at}"
    else:
        assert isinstance(result, Parsed)
        assert result.item.created_at.replace(tzinfo=None) == expected


# -- a page with bad items -------------------------------------------------------------------

_years = itertools.count(3000)


@st.composite
def mixed_pages(draw: st.DrawFn) -> list[Any]:
    """Good letters (unique ids) with bad items in between, newest first."""
    good = draw(st.integers(1, 25))
    items: list[Any] = [letter(n) for n in range(good, 0, -1)]
    bad = draw(st.lists(st.one_of(JSON_VALUES, contract_items(ListKind.SURAT)), min_size=1, max_size=12))
    for value in bad:
        items.insert(draw(st.integers(0, len(items))), value)
    return items


def _unstorable(ident: str | None) -> bool:
    return ident is not None and ("\x00" in ident or any(0xD800 <= ord(ch) <= 0xDFFF for ch in ident))


@settings(FUZZ, max_examples=40, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(items=mixed_pages(), per_page=st.integers(1, 12))
def test_a_page_with_bad_items_stores_the_rest(ledger: Ledger, items: list[Any], per_page: int) -> None:
    year = YearDir(next(_years), "/surattangsel00")  # each example has a year of its own
    parser = PARSERS[ListKind.SURAT]
    outcomes = [parser.parse(year.year, raw) for raw in items]
    # Ids with NUL or a lone surrogate break the page for another reason: pinned by the
    # xfails below, kept out of this property.
    keep = [not _unstorable(o.record.source_id if isinstance(o, Parsed) else o.source_id)
            for o in outcomes]
    items = [raw for raw, ok in zip(items, keep, strict=True) if ok]
    outcomes = [o for o, ok in zip(outcomes, keep, strict=True) if ok]
    good_ids = {o.record.source_id for o in outcomes if isinstance(o, Parsed)}
    # A bad item sharing a good one's id would legitimately replace or release it: keep apart.
    items = [raw for raw, o in zip(items, outcomes, strict=True)
             if isinstance(o, Parsed) or o.source_id not in good_ids]
    outcomes = [parser.parse(year.year, raw) for raw in items]
    parsed = [o for o in outcomes if isinstance(o, Parsed)]
    if len({o.record.source_id for o in parsed}) != len(parsed):
        return  # a "bad" item that parsed with a good one's id; nothing to judge
    qkeys = {o.source_id or o.payload for o in outcomes if isinstance(o, QuarantineRecord)}

    api = FakeSisumaker(per_page=per_page, years=[year])
    api.items(ListKind.SURAT, year.year).extend(items)
    poller = ListPoller(api, ledger, PARSERS, PollConfig())
    summary = poller.run_pass(ListKind.SURAT, year, PassMode.FULL, f"fuzz-{year.year}")

    assert summary.complete, summary.error
    stored = {item.source_id for item in ledger.iter_items(ListKind.SURAT, year.year)}
    assert stored == good_ids
    held = [entry for entry in ledger.quarantined() if entry.record.year == year.year]
    assert len(held) == len(qkeys)
    assert all(entry.record.reason for entry in held)


def _page_with(ident: str, created: str = "2026-11-20 08:00:00") -> FakeSisumaker:
    hostile = {**letter(5), "id_persuratan": ident, "tgl_dibuat": created}
    api = FakeSisumaker(per_page=10)
    api.items(ListKind.SURAT).extend([letter(2), hostile, letter(1)])
    return api


def _assert_rest_of_page_stored(api: FakeSisumaker, store: Ledger) -> None:
    poller = ListPoller(api, store, PARSERS, PollConfig())
    summary = poller.run_pass(ListKind.SURAT, YearDir(YEAR, "/surattangsel26"), PassMode.FULL, "p1")
    assert summary.complete
    assert {"1001", "1002"} <= {item.source_id for item in store.iter_items(ListKind.SURAT)}


@pytest.mark.parametrize("created", ["2026-11-20 08:00:00", "kemarin"], ids=["valid", "bad-date"])
def test_an_id_with_a_lone_surrogate_does_not_lose_the_page(ledger: Ledger, created: str) -> None:
    ident = json.loads('"88\\ud800"')
    _assert_rest_of_page_stored(_page_with(ident, created), ledger)


def test_an_id_with_nul_is_stored_by_sqlite(sqlite_ledger: Ledger) -> None:
    _assert_rest_of_page_stored(_page_with("88\x00"), sqlite_ledger)


@pytest.mark.postgres
@pytest.mark.parametrize("created", ["2026-11-20 08:00:00", "kemarin"], ids=["valid", "bad-date"])
def test_an_id_with_nul_does_not_lose_the_page_on_postgres(postgres_url: str, created: str) -> None:
    from bridge.adapters.ledger.postgres import PostgresLedger

    store = PostgresLedger(postgres_url)
    try:
        store.migrate()
        _assert_rest_of_page_stored(_page_with("88\x00", created), store)
    finally:
        store.close()


# -- mapping loaders over broken copies ------------------------------------------------------


def toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_dumps(doc: dict[str, Any]) -> str:
    """Everything as top-level keys with inline tables: plain, and exactly what tomllib reads back."""
    return "".join(f"{toml_string(key)} = {toml_value(value)}\n" for key, value in doc.items())


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def parent_of(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


TOML_INT = st.integers(-(2**63), 2**63 - 1)
TOML_SCALARS = st.one_of(
    TOML_INT, st.floats(), st.booleans(), st.text(max_size=20), st.sampled_from(
        ["", "%Y", "%", "{dir}", "{token}", "Asia/Jakarta", "UTC", "09:00", "undangan", "${x}", "$",
         "[", "(?P<a>", "head", "front_office", "disposition", "letter", "OPD", "1 Hari"]),
    st.dates(), st.times(),
)
TOML_VALUES = st.one_of(
    TOML_SCALARS,
    st.lists(TOML_SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=8), TOML_SCALARS, max_size=3),
)


@st.composite
def broken(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """The document with one to four random deletions, renames and type changes."""
    doc = _copy(doc)
    for _ in range(draw(st.integers(1, 4))):
        every = paths(doc)
        if not every:
            break
        path = every[draw(st.integers(0, len(every) - 1))]
        parent = parent_of(doc, path)
        key = path[-1]
        action = draw(st.sampled_from(["delete", "rename", "retype"]))
        if action == "delete" or (action == "rename" and isinstance(parent, list)):
            del parent[key]
        elif action == "rename":
            new = draw(st.one_of(st.text(max_size=12), st.just(f"{key}x"), st.just(str(key).upper()),
                                 st.just(str(key)[:-1])))
            value = parent.pop(key)
            parent[new] = value
        else:
            current = parent[key]
            parent[key] = draw(TOML_VALUES.filter(lambda v, c=current: type(v) is not type(c)))
    return doc


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


SHIPPED = {name: tomllib.loads((MAPPINGS / name).read_text(encoding="utf-8"))
           for name in (PROFILE_FILE, PUSH_FILE, SOP_FILE, RECOGNITION_FILE)}
MAX_MEETING_DAYS = load_sop_mappings(MAPPINGS).sop.working_days(5)
LOADERS: dict[str, Callable[[Path], object]] = {
    PROFILE_FILE: load_profile,
    PUSH_FILE: lambda path: load_push_mapping(path, max_meeting_days=MAX_MEETING_DAYS),
    SOP_FILE: load_sop_mappings,
    RECOGNITION_FILE: load_sop_mappings,
}


def _mappings_with(directory: Path, name: str, text: str | bytes) -> Path:
    """Copy the shipped files into ``directory`` with ``name`` replaced; the replaced file."""
    for shipped in SHIPPED:
        shutil.copyfile(MAPPINGS / shipped, directory / shipped)
    target = directory / name
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text, encoding="utf-8")
    return target


def load_with(name: str, text: str | bytes) -> None:
    """Load a mappings dir where ``name`` is replaced; anything but MappingError propagates.

    For the fuzz tests, whose broken files may still be valid: loading may succeed.
    """
    with tempfile.TemporaryDirectory() as tmp:
        target = _mappings_with(Path(tmp), name, text)
        try:
            LOADERS[name](Path(tmp))
        except MappingError as exc:
            assert str(target) in str(exc), f"the message does not name {target}: {exc}"


def mapping_error(name: str, text: str | bytes) -> str:
    """The MappingError of a mappings dir where ``name`` is replaced; fails if it loads.

    The message must name the file; it is returned for the caller to check the key.
    """
    with tempfile.TemporaryDirectory() as tmp:
        target = _mappings_with(Path(tmp), name, text)
        with pytest.raises(MappingError) as caught:
            LOADERS[name](Path(tmp))
    message = str(caught.value)
    assert str(target) in message, f"the message does not name {target}: {message}"
    return message


@pytest.mark.parametrize("name", list(SHIPPED))
def test_the_toml_writer_round_trips_the_shipped_files(name: str) -> None:
    text = toml_dumps(SHIPPED[name])
    assert tomllib.loads(text) == SHIPPED[name]
    with tempfile.TemporaryDirectory() as tmp:
        for shipped in SHIPPED:
            shutil.copyfile(MAPPINGS / shipped, Path(tmp) / shipped)
        (Path(tmp) / name).write_text(text, encoding="utf-8")
        LOADERS[name](Path(tmp))  # the rewritten shipped file still loads


@pytest.mark.parametrize("name", list(SHIPPED))
@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_a_broken_mapping_file_fails_only_with_a_mapping_error_naming_it(
        name: str, data: st.DataObject) -> None:
    load_with(name, toml_dumps(data.draw(broken(SHIPPED[name]))))


@pytest.mark.parametrize("name", list(SHIPPED))
@FEW
@given(cut=st.integers(0, 100_000), junk=st.sampled_from(["", "=", "[", "]]", '"', "\x00", "key",
                                                          "[[steps]]\n", "= =\n", "\ufeff"]))
def test_a_cut_or_garbled_mapping_file_fails_only_with_a_mapping_error(
        name: str, cut: int, junk: str) -> None:
    text = (MAPPINGS / name).read_text(encoding="utf-8")
    cut %= len(text) + 1
    load_with(name, text[:cut] + junk + text[cut:][: len(text) // 3])


def _replace(name: str, old: str, new: str) -> str:
    text = (MAPPINGS / name).read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_a_date_format_repeating_a_directive_is_a_mapping_error() -> None:
    message = mapping_error(PROFILE_FILE, _replace(PROFILE_FILE, '"%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",',
                                                   '"%Y-%m-%d %H:%M:%S %Y", "%Y-%m-%d %H:%M",'))
    assert "lists.surat.date_formats: created_at: '%Y-%m-%d %H:%M:%S %Y'" in message


def test_a_pattern_with_a_huge_repeat_is_a_mapping_error() -> None:
    message = mapping_error(RECOGNITION_FILE, _replace(RECOGNITION_FILE, "patterns = [\n",
                                                       "patterns = [\n    'x{4294967296}',\n"))
    assert "request.require.act.patterns.0: bad regular expression 'x{4294967296}'" in message


@pytest.mark.parametrize("name", list(SHIPPED))
def test_a_mapping_file_that_is_not_utf8_is_a_mapping_error(name: str) -> None:
    # Saved in Latin-1 by a Windows editor: a MappingError naming the file, not a traceback.
    text = (MAPPINGS / name).read_text(encoding="utf-8")
    message = mapping_error(name, ("# prosés\n" + text).encode("latin-1", errors="replace"))
    assert "not UTF-8 text" in message


# -- text helpers ----------------------------------------------------------------------------

FORBIDDEN = {0x1B, 0x07, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
ANY_CHARS = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80)
DANGEROUS_TEXT = st.one_of(
    ANY_CHARS,
    st.text(alphabet=st.sampled_from([chr(c) for c in sorted(FORBIDDEN)] + ["a", "<", "$", "{", "}",
                                                                          "\n", "é", "\u200b"]),
            max_size=60),
    st.sampled_from(FIXED_HOSTILE),
)


def assert_inert_text(text: str) -> None:
    bad = sorted({f"U+{ord(ch):04X}" for ch in text if ord(ch) in FORBIDDEN})
    assert not bad, f"{bad} got through: {text!r}"
    for char in text:
        assert unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp"), repr(char)


@FUZZ
@given(text=DANGEROUS_TEXT)
def test_printable_lets_no_control_or_bidi_character_through(text: str) -> None:
    shown = printable(text)
    assert_inert_text(shown)
    assert printable(shown) == shown  # escapes are themselves printable
    if all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in text):
        assert shown == text  # readable text is kept as is


@FUZZ
@given(text=DANGEROUS_TEXT)
def test_inert_lets_no_markup_control_or_bidi_character_through(text: str) -> None:
    value = inert(text)
    assert_inert_text(value)
    assert "<" not in value and ">" not in value


@FUZZ
@given(first=DANGEROUS_TEXT, second=DANGEROUS_TEXT | st.none(),
       template=st.sampled_from(["${a}|${b}", "Langkah ${a}: \"${b}\" $$ ${a}", "${b}${a}"]))
@example(first="${b}", second="SECRET", template="${a}|${b}")
@example(first="$b $$ ${b} ${", second="SECRET", template="${a}|${b}")
def test_render_never_expands_a_placeholder_taken_from_a_value(
        first: str, second: str | None, template: str) -> None:
    out = render(template, {"a": first, "b": second})
    expected = (template.replace("$$", "\x00").replace("${a}", "\x01").replace("${b}", "\x02")
                .replace("\x00", "$").replace("\x01", inert(first or "-"))
                .replace("\x02", inert(second or "-")))
    assert out == expected
    assert_inert_text(out)


def test_every_forbidden_character_is_escaped_visibly() -> None:
    shown = printable("".join(chr(c) for c in sorted(FORBIDDEN)))
    assert shown.isascii() and shown.count("\\") == len(FORBIDDEN)
