"""``bridge probe``: does the API profile fit the server? Read-only; the login is the only POST.

For each year directory it logs in, reads the first pages of each list and the two ref
look-ups, and reports, per mapped field, in how many items it is present, the JSON types seen
and how many dates parse (with the same ItemParser the sync uses); the keys the server sends
that the profile does not map, with the closest profile field by name; whether page 2
continues page 1 and the totals agree; how long each request took. Where the profile does not
fit, the probe says which key is wrong and, when the answer shows it, what it should be, and
reads on with that correction in memory, so that one run names every mismatch it can see.
"""

from __future__ import annotations

import difflib
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bridge.adapters.sisumaker.client import Answer, SisumakerClient
from bridge.adapters.sisumaker.paging import read_page
from bridge.adapters.sisumaker.token import Token
from bridge.config.profile import (
    DATE_FIELDS,
    NUMBERED,
    REQUIRED_FIELDS,
    AuthSpec,
    ListSpec,
    LookupSpec,
    PagedSpec,
    Profile,
    dig,
)
from bridge.domain.items import ListKind, YearDir
from bridge.domain.records import QuarantineRecord
from bridge.errors import ApiError, AuthenticationError
from bridge.ports import RawPage
from bridge.services.parse import ItemParser

PAGES = 2  # pages read per list: enough to see whether page 2 continues page 1
_JWT = re.compile(r"^eyJ[\w-]+\.[\w-]+\.[\w-]*$")
# Header shapes tried when the server refuses a fresh token in the profile's header.
_HEADERS = (("Authorization", "{token}"), ("Authorization", "Bearer {token}"),
            ("X-Auth-Token", "{token}"))
_ENVELOPE_HINTS = re.compile(r"page|total|count|more|next|cursor|offset|limit|status|link",
                             re.IGNORECASE)

ClientFactory = Callable[[Profile], SisumakerClient]


@dataclass
class Timing:
    """One request the probe sent: what, how long, and how it ended."""

    request: str
    seconds: float
    outcome: str


@dataclass
class FieldReport:
    """One mapped field over the items read."""

    field: str
    key: str
    present: int
    items: int
    types: list[str]
    dates_parsed: int | None = None  # of the present values whose item says why or parsed
    dates_tried: int | None = None
    bad_date: str | None = None


@dataclass
class ListReport:
    """One list (or look-up) of one year directory."""

    name: str
    pages: int = 0
    items: int = 0
    parsed: int = 0
    quarantined: int = 0
    fields: list[FieldReport] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    paging: list[str] = field(default_factory=list)


@dataclass
class YearReport:
    """What the probe saw in one year directory."""

    year_dir: str
    login: str = ""
    lists: list[ListReport] = field(default_factory=list)


@dataclass
class ProbeReport:
    """The whole probe: per year directory, the requests, and what does not fit."""

    base_url: str
    profile: str
    years: list[YearReport] = field(default_factory=list)
    requests: list[Timing] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        """True when nothing was found that the profile does not describe."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["fits"] = self.fits
        return data


class Probe:
    """Runs the probe with clients built from a profile (corrected in memory as it goes)."""

    def __init__(self, profile: Profile, make_client: ClientFactory, *, base_url: str,
                 profile_file: str) -> None:
        """``make_client(profile)`` builds a client; the probe closes the ones it builds."""
        self._profile = profile
        self._make_client = make_client
        self._clients: list[SisumakerClient] = []
        self._client = self._new_client()
        self.report = ProbeReport(base_url=base_url, profile=profile_file)

    def run(self, years: Sequence[YearDir]) -> ProbeReport:
        """Probe each year directory; the report's problems say what does not fit."""
        try:
            for year in years:
                self.report.years.append(self._year(year))
        finally:
            for client in self._clients:
                client.close()
        return self.report

    # -- one year ------------------------------------------------------------------------------

    def _year(self, year: YearDir) -> YearReport:
        result = YearReport(year.path)
        if not self._login(year, result):
            return result
        letters: list[str] = []
        for kind in ListKind:
            report, ids = self._list(kind, year)
            result.lists.append(report)
            if kind is ListKind.SURAT:
                letters = ids
        push = self._profile.push
        ref = f"bridge-probe-{secrets.token_hex(4)}"  # found nowhere: the look-up must say so
        if letters:
            result.lists.append(self._lookup("push.note_list", push.note_list, year, ref,
                                             surat_id=letters[0]))
        else:
            self._problem(f"{year.path}: no letter read, so push.note_list was not probed")
        result.lists.append(self._lookup("push.letter_lookup", push.letter_lookup, year, ref))
        return result

    def _login(self, year: YearDir, result: YearReport) -> bool:
        answer = self._timed(f"POST {self._profile.auth.login_path.format(dir=year.path)}",
                             lambda: self._client.login_answer(year))
        if isinstance(answer, ApiError):
            other = "form" if self._profile.auth.login_body == "json" else "json"
            if isinstance(answer, AuthenticationError) and self._try_auth(
                    year, login_body=other):
                self._problem(f"auth.login_body: the server refused the login as "
                              f"{self._profile.auth.login_body!r} and took it as {other!r}")
                self._adopt_auth(login_body=other)
                answer = self._timed("POST login", lambda: self._client.login_answer(year))
                if isinstance(answer, ApiError):
                    result.login = f"failed: {answer}"
                    return False
            else:
                result.login = f"failed: {answer}"
                self._problem(f"{year.path}: login failed: {answer}; nothing else was probed")
                return False
        auth = self._profile.auth
        raw = dig(answer.body, auth.token_path)
        if not isinstance(raw, str) or not raw:
            found = _find_paths(answer.body, lambda key, value: isinstance(value, str) and (
                bool(_JWT.match(value)) or "token" in key.lower()))
            if not found:
                result.login = "no token in the answer"
                self._problem(f"auth.token_path: the login answer has no token at "
                              f"{auth.token_path!r}, nor a key that looks like one")
                return False
            self._problem(f"auth.token_path: no token at {auth.token_path!r}; the login answer "
                          f"has one at {found[0]!r}")
            self._adopt_auth(token_path=found[0])
            raw = dig(answer.body, found[0])
        self._check_lifetime(answer.body, str(raw))
        result.login = f"ok ({answer.seconds * 1000:.0f} ms)"
        return self._check_header(year)

    def _check_lifetime(self, body: Any, raw: str) -> None:
        auth = self._profile.auth
        expires = _find_paths(body, lambda key, value: "expire" in key.lower()
                              and isinstance(value, int | float) and not isinstance(value, bool))
        if auth.token_lifetime == "jwt" and Token.from_raw(raw).expires_at is None:
            hint = (f"; the answer has {expires[0]!r}: token_lifetime = 'expires_in', "
                    f"expires_in_path = {expires[0]!r}" if expires
                    else "; use token_lifetime = 'none' (a new login on 401)")
            self._problem(f"auth.token_lifetime: 'jwt', but the token is no JWT with an exp "
                          f"claim{hint}")
        elif auth.token_lifetime == "expires_in" and not isinstance(
                dig(body, auth.expires_in_path), int | float):
            jwt = Token.from_raw(raw).expires_at is not None
            self._problem(f"auth.expires_in_path: no number at {auth.expires_in_path!r} in "
                          "the login answer" + (f"; it has {expires[0]!r}" if expires else "")
                          + ("; the token is a JWT with an exp: token_lifetime = 'jwt'"
                             if jwt else ""))
            if expires:
                self._adopt_auth(expires_in_path=expires[0])
            else:
                self._adopt_auth(token_lifetime="jwt" if jwt else "none", expires_in_path="")

    def _check_header(self, year: YearDir) -> bool:
        """A first list page with the fresh token; other header shapes if it is refused."""
        spec = self._profile.lists[ListKind.SURAT]
        if self._fits_token(year, self._client):
            return True
        auth = self._profile.auth
        for name, fmt in _HEADERS:
            if (name, fmt) == (auth.header_name, auth.header_format):
                continue
            candidate = self._new_client(auth=auth.model_copy(
                update={"header_name": name, "header_format": fmt}))
            if self._fits_token(year, candidate):
                self._problem(f"auth.header_name/header_format: the server refused the token "
                              f"as '{auth.header_name}: {auth.header_format}' and took it as "
                              f"'{name}: {fmt}'")
                self._adopt_auth(header_name=name, header_format=fmt)
                return True
        self._problem(f"{year.path}: a fresh token was refused on {spec.path.format(dir=year.path)}"
                      f" in every header tried ({', '.join(f'{n}: {f}' for n, f in _HEADERS)})")
        return False

    def _fits_token(self, year: YearDir, client: SisumakerClient) -> bool:
        path = self._profile.lists[ListKind.SURAT].path.format(dir=year.path)
        outcome = self._timed(f"GET {path} (token check)", lambda: client.get_json(year, path))
        return not isinstance(outcome, AuthenticationError)

    # -- lists ---------------------------------------------------------------------------------

    def _list(self, kind: ListKind, year: YearDir) -> tuple[ListReport, list[str]]:
        name = f"lists.{kind.value}"
        report = ListReport(f"{year.path} {name}")
        pages: list[RawPage] = []
        answers: list[Answer] = []
        cursor: str | None = None
        for number in range(1, PAGES + 1):
            spec = self._profile.lists[kind]
            where = f"GET {spec.path.format(dir=year.path)} page {number}"
            outcome = self._timed(where, lambda n=number, c=cursor: self._client.fetch_list_page(  # type: ignore[misc]
                kind, year, n, c))
            if isinstance(outcome, ApiError):
                self._problem(f"{name}: {outcome}")
                break
            raw, answer = outcome
            if number == 1:
                raw = self._envelope(name, kind, raw, answer)
            pages.append(raw)
            answers.append(answer)
            if not raw.more:
                break
            cursor = raw.next_cursor
        if not pages:
            return report, []
        report.pages = len(pages)
        self._envelope_keys(name, self._profile.lists[kind], answers, report)
        self._paging(name, self._profile.lists[kind], pages, report)
        ids = self._fields(kind, year, [item for page in pages for item in page.items], report)
        return report, ids

    def _envelope(self, name: str, kind: ListKind, raw: RawPage, answer: Answer) -> RawPage:
        """Page 1's envelope: the items, totals and flags where the profile says."""
        spec = self._profile.lists[kind]
        body = answer.body
        if spec.items_path and not isinstance(dig(body, spec.items_path), list):
            found = _item_lists(body)
            if not found:
                self._problem(f"{name}.items_path: no list at {spec.items_path!r}, nor any list "
                              "of objects in the answer")
                return raw
            self._problem(f"{name}.items_path: no list at {spec.items_path!r}; the items are "
                          f"at {found[0]!r}")
            spec = spec.model_copy(update={"items_path": found[0]})
            self._adopt_list(kind, spec)
            raw = read_page(body, spec, spec.paging, 1, where=name, link=answer.next_link)
        for key in ("page_path", "total_pages_path", "total_items_path", "has_more_path"):
            path = getattr(spec, key)
            if path and dig(body, path) is None:
                self._problem(f"{name}.{key}: {path!r} is not in the answer")
        cursor_path = getattr(spec.paging, "cursor_path", "") or getattr(spec.paging,
                                                                         "next_path", "")
        if cursor_path and raw.more and dig(body, cursor_path) is None:
            self._problem(f"{name}.paging: no next cursor or link at {cursor_path!r}")
        if answer.next_link and not getattr(spec.paging, "link_header", False):
            self._problem(f"{name}.paging: the server sends a 'Link: rel=next' header the "
                          "profile does not read (paging.style = 'next_link', link_header = "
                          "true)")
        self._status(name, body)
        return raw

    def _status(self, name: str, body: Any) -> None:
        http = self._profile.http
        flags = _find_paths(body, lambda key, value: key.lower() in {"status", "success", "ok"}
                            and isinstance(value, str | int | bool))
        if http.status_style == "none" or not isinstance(body, Mapping):
            return
        value = dig(body, http.status_path)
        if value is None and flags:
            self._problem(f"http.status_path: {http.status_path!r} is not in the {name} answer; "
                          f"it has {flags[0]!r} = {dig(body, flags[0])!r}")
        elif http.status_style == "flag" and isinstance(value, str) and not value.isdigit():
            self._problem(f"http.status_style: 'flag', but the server says {value!r}; use "
                          f"status_style = 'word', ok_words = [{value!r}]")

    def _envelope_keys(self, name: str, spec: PagedSpec, answers: list[Answer],
                       report: ListReport) -> None:
        used = {spec.items_path, spec.page_path, spec.total_pages_path, spec.total_items_path,
                spec.has_more_path, self._profile.http.status_path,
                self._profile.http.message_path}
        seen = sorted({path for answer in answers for path in _leaf_paths(answer.body,
                                                                         skip=spec.items_path)})
        hints = [path for path in seen if path not in used and _ENVELOPE_HINTS.search(path)]
        if hints:
            report.paging.append(f"envelope keys the profile does not read: {', '.join(hints)}")

    def _paging(self, name: str, spec: ListSpec | LookupSpec, pages: list[RawPage],
                report: ListReport) -> None:
        paging = spec.paging
        first = pages[0]
        if paging is None:
            return
        if len(pages) == 1:
            report.paging.append(f"one page ({len(first.items)} items): the list ends there")
            return
        second = pages[1]
        one, two = _keys(first.items), _keys(second.items)
        overlap = len(one & two)
        if second.items and one == two:
            self._problem(f"{name}.paging: page 2 repeats page 1 ({len(two)} items): the server "
                          f"ignores the profile's paging ({paging.style!r})")
        elif overlap:
            self._problem(f"{name}.paging: page 2 repeats {overlap} items of page 1")
        else:
            report.paging.append(f"page 2 continues page 1 ({len(first.items)} + "
                                 f"{len(second.items)} items, no overlap)")
        if first.total_items is not None and second.total_items is not None:
            agree = first.total_items == second.total_items
            report.paging.append(f"total items {first.total_items} / {second.total_items}: "
                                 f"{'agree' if agree else 'differ (the list changed?)'}")
        if first.total_pages is not None and first.total_items is not None and paging.size:
            expected = -(-first.total_items // paging.size)
            if first.total_pages not in (expected, expected - 1, expected + 1):
                self._problem(f"{name}: {first.total_pages} pages of {paging.size} for "
                              f"{first.total_items} items; check the page size or totals")
        if len(first.items) < paging.size and second.items and one != two:
            self._problem(f"{name}.paging.size: page 1 held {len(first.items)} items, fewer "
                          f"than size = {paging.size}: the server's maximum is lower; set size "
                          f"and max_size to {len(first.items)}")
        if paging.style in NUMBERED and first.page and first.page != 1:
            self._problem(f"{name}: asked for the first page, the server echoed page "
                          f"{first.page}; check paging.first_page and page_path")

    def _fields(self, kind: ListKind, year: YearDir, items: list[Any],
                report: ListReport) -> list[str]:
        spec = self._profile.lists[kind]
        name = f"lists.{kind.value}"
        parser = ItemParser(kind, spec, zone=self._profile.zone,
                            max_chars=self._profile.max_field_chars)
        objects = [item for item in items if isinstance(item, dict)]
        results = [parser.parse(year.year, item) for item in objects]
        ids = [result.record.source_id for result in results
               if not isinstance(result, QuarantineRecord)]
        report.items = len(items)
        report.parsed = len(ids)
        report.quarantined = len(items) - len(ids)
        for reason in sorted({r.reason for r in results if isinstance(r, QuarantineRecord)})[:3]:
            report.paging.append(f"quarantined: {reason[:160]}")
        # The look-ups need a letter's id, even from items the parser refuses.
        raw_ids = [str(item[spec.fields["id"]]) for item in objects
                   if isinstance(item.get(spec.fields["id"]), str | int)]
        keys = sorted({key for item in objects for key in item})
        mapped = set(spec.fields.values())
        absent = [(canon, key) for canon, key in spec.fields.items()
                  if not any(key in item for item in objects)]
        for canon, key in spec.fields.items():
            present = [item[key] for item in objects if item.get(key) is not None]
            entry = FieldReport(canon, key, len(present), len(objects),
                                sorted({_json_type(item.get(key, ...)) for item in objects}))
            if canon in DATE_FIELDS[kind]:
                self._dates(entry, kind, spec, canon, objects)
            report.fields.append(entry)
            if objects and not present and canon in REQUIRED_FIELDS[kind]:
                closest = _closest(key, canon, [k for k in keys if k not in mapped])
                self._problem(f"{name}.fields.{canon}: {key!r} is in none of {len(objects)} "
                              f"items" + (f"; the closest key the server sends: {closest!r}"
                                          if closest else ""))
            elif objects and len(present) < len(objects) and canon in REQUIRED_FIELDS[kind]:
                self._problem(f"{name}.fields.{canon}: {key!r} is missing or null in "
                              f"{len(objects) - len(present)} of {len(objects)} items")
            if entry.dates_tried and entry.dates_parsed != entry.dates_tried:
                self._problem(f"{name}.date_formats.{canon}: {entry.dates_parsed} of "
                              f"{entry.dates_tried} dates parse; e.g. {entry.bad_date!r}")
        for key in keys:
            if key in mapped:
                continue
            closest = _closest_field(key, absent)
            report.unmapped.append(f"{key} (closest profile field: {closest})" if closest
                                   else key)
        if objects and len(objects) < len(items):
            self._problem(f"{name}: {len(items) - len(objects)} items are no JSON objects")
        return ids or raw_ids

    def _dates(self, entry: FieldReport, kind: ListKind, spec: ListSpec, canon: str,
               objects: list[dict[str, Any]]) -> None:
        """How many of the field's present values the sync's parser reads as dates.

        Each value is read alone, as the required date of an otherwise valid item, by an
        ItemParser whose profile names only this field: what else is wrong with the item
        does not hide whether its date parses.
        """
        key = spec.fields[canon]
        fields = {"id": "id", "created_at": key}
        if kind is ListKind.DISPOSISI:
            fields["surat_id"] = "surat_id"
        alone = spec.model_copy(update={"fields": fields,
                                        "date_formats": {"created_at": spec.date_formats[canon]}})
        parser = ItemParser(kind, alone, zone=self._profile.zone,
                            max_chars=self._profile.max_field_chars)
        tried = parsed = 0
        for item in objects:
            value = item.get(key)
            if value in (None, "") or (isinstance(value, str) and not value.strip("0-: ")):
                continue  # absent, or MySQL's zero date: "not yet", read as no date
            tried += 1
            result = parser.parse(0, {"id": "1", "surat_id": "1", key: value})
            if isinstance(result, QuarantineRecord):
                entry.bad_date = entry.bad_date or str(value)[:40]
            else:
                parsed += 1
        entry.dates_tried, entry.dates_parsed = tried, parsed

    # -- look-ups ------------------------------------------------------------------------------

    def _lookup(self, name: str, spec: LookupSpec, year: YearDir, ref: str, *,
                surat_id: str = "") -> ListReport:
        report = ListReport(f"{year.path} {name}")
        where = spec.path.format(dir=year.path, surat_id=surat_id, ref=ref)
        outcome = self._timed(f"GET {where} (ref look-up)", lambda: self._client.lookup(
            year, spec, ref, surat_id=surat_id))
        if isinstance(outcome, ApiError):
            hint = ""
            if "list" in str(outcome):
                path = spec.path.format(dir=year.path, surat_id=surat_id, ref=ref)
                body = self._timed(f"GET {path} (raw)", lambda: self._client.get_json(
                    year, path, {spec.ref_param: ref} if spec.ref_param else None))
                found = [] if isinstance(body, ApiError) else _item_lists(body, empty=True)
                hint = f"; the answer has a list at {found[0]!r}" if found else ""
                if found and not isinstance(body, ApiError):
                    keys = [p for p in _leaf_paths(body, skip=found[0])
                            if _ENVELOPE_HINTS.search(p)]
                    if keys:
                        hint += f" and keys {', '.join(keys)} (paged?)"
            self._problem(f"{name}: {outcome}{hint}")
            return report
        found_id, answers = outcome
        report.pages = len(answers)
        if found_id is not None:
            self._problem(f"{name}: a made-up ref {ref!r} was found (id {found_id}); check "
                          f"push.ref_field and id_field")
        else:
            report.paging.append(f"a made-up ref is not found ({len(answers)} page(s) read)")
        return report

    # -- helpers -------------------------------------------------------------------------------

    def _timed(self, what: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            result = call()
        except ApiError as exc:
            self.report.requests.append(Timing(what, round(time.perf_counter() - started, 4),
                                               f"error: {exc}"))
            return exc
        self.report.requests.append(Timing(what, round(time.perf_counter() - started, 4), "ok"))
        return result

    def _problem(self, text: str) -> None:
        if text not in self.report.problems:
            self.report.problems.append(text)

    def _new_client(self, *, auth: AuthSpec | None = None) -> SisumakerClient:
        profile = self._profile if auth is None else self._profile.model_copy(
            update={"auth": auth})
        client = self._make_client(profile)
        self._clients.append(client)
        return client

    def _try_auth(self, year: YearDir, **changes: Any) -> bool:
        client = self._new_client(auth=self._profile.auth.model_copy(update=changes))
        outcome = self._timed("POST login (another body)", lambda: client.login_answer(year))
        return not isinstance(outcome, ApiError)

    def _adopt_auth(self, **changes: Any) -> None:
        self._profile = self._profile.model_copy(
            update={"auth": self._profile.auth.model_copy(update=changes)})
        self._client = self._new_client()

    def _adopt_list(self, kind: ListKind, spec: ListSpec) -> None:
        self._profile = self._profile.model_copy(
            update={"lists": {**self._profile.lists, kind: spec}})
        self._client = self._new_client()


def _keys(items: Sequence[Any]) -> set[str]:
    return {repr(sorted(item.items())) if isinstance(item, dict) else repr(item)
            for item in items}


def _json_type(value: Any) -> str:
    if value is ...:
        return "absent"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def _walk(body: Any, prefix: str = "", depth: int = 4) -> Iterator[tuple[str, str, Any]]:
    """(dotted path, last key, value) of every entry of nested objects, lists not entered."""
    if depth == 0 or not isinstance(body, Mapping):
        return
    for key, value in body.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield path, str(key), value
        yield from _walk(value, path, depth - 1)


def _find_paths(body: Any, wanted: Callable[[str, Any], bool]) -> list[str]:
    return [path for path, key, value in _walk(body) if wanted(key, value)]


def _leaf_paths(body: Any, *, skip: str) -> list[str]:
    return [path for path, _, value in _walk(body)
            if path != skip and not isinstance(value, Mapping | list)]


def _item_lists(body: Any, *, empty: bool = False) -> list[str]:
    """Paths of lists of objects in an answer, the longest first."""
    lists = [(len(value), path) for path, _, value in _walk(body) if isinstance(value, list)
             and (all(isinstance(item, Mapping) for item in value) and (value or empty))]
    return [path for _, path in sorted(lists, key=lambda entry: -entry[0])]


def _closest(key: str, canon: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6) or \
        difflib.get_close_matches(canon, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def _closest_field(key: str, absent: list[tuple[str, str]]) -> str | None:
    """The mapped field (absent from the items) whose name or key is closest to ``key``."""
    best, score = None, 0.6
    for canon, mapped in absent:
        for name in (canon, mapped):
            ratio = difflib.SequenceMatcher(None, key.lower(), name.lower()).ratio()
            if ratio >= score:
                best, score = f"{canon} = {mapped!r}", ratio
    return best
