"""A second deployment shape: the same data as the contract, in another plausible REST shape.

It differs from /work/shared/sisumaker-api.md in every class the API profile describes
(the paths stay the contract's, but for the draft look-up), so a bridge that reads it with
only mappings/profiles/alt/sisumaker.toml proves the profile:

* login: a form-encoded body ``username=..&password=..``; an opaque token (no JWT: its
  lifetime is known only from ``expires_in``) at ``data.access_token``; sent back as
  ``X-Auth-Token: <token>``;
* letters: ``?limit=N`` with a keyset cursor: the next page's link in a
  ``Link: <...>; rel="next"`` header, none on the last page;
* dispositions: ``?offset=O&limit=N``, ending at ``result.has_more = false``;
* envelopes: items at ``result.items``, ``result.total``; a status word ``meta.status =
  "success"``; errors ``{"meta": {"status": "error", "message": ...}}``; write answers carry
  no status at all;
* ids of letters and dispositions as JSON numbers; dates ISO 8601 with their offset
  (``2026-11-02T09:15:00+07:00``; without it when ``offset_dates`` is off), date-only
  ``2026-11-02`` for ``tgl_dikirim``;
* writes: a note's answer is ``{"result": {"note": {"id": 9001}}}`` (a number), a draft's
  ``{"result": {"id": "50001"}}``;
* look-ups: the note list paged by a page number counted from 0 (``?page=0&size=5``), ending
  at a short page; a draft by its ref in the path, ``GET {dir}/api/suratkeluar/ref/{ref}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import unquote, urlencode

from bridge.simulator.server import (
    Request,
    Response,
    _BadRequestError,
    _Call,
    _ContractApi,
    _int_param,
    _Route,
    json_response,
)
from bridge.simulator.state import EVENT_FORMAT, WIB, InvalidInputError, Page, SimState

MAX_LIMIT: Final = 50
DEFAULT_LIMIT: Final = 20
MAX_NOTES_SIZE: Final = 5
TOKEN_HEADER: Final = "X-Auth-Token"

_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})")
_DAY_FIRST = re.compile(r"(\d{2})-(\d{2})-(\d{4})")
_STAMP_FIELDS: Final = ("tgl_dibuat", "tgl_diterimaTU", "tgl_disposisi")
_NUMERIC_IDS: Final = ("id_persuratan", "id_disposisi")
_OK: Final = {"status": "success"}


def alt_error(status: int, message: str) -> Response:
    """An error in this shape: ``{"meta": {"status": "error", "message": "..."}}``."""
    return json_response(status, {"meta": {"status": "error", "message": message}})


def _success(result: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return json_response(200, {"meta": _OK, "result": dict(result)}, headers)


class AltApi(_ContractApi):
    """The alternative deployment's endpoints over the same :class:`SimState`."""

    error: Callable[[int, str], Response] = staticmethod(alt_error)

    def __init__(self, state: SimState, base_url: Callable[[], str],
                 pause: Callable[[float], None], *, offset_dates: bool = True) -> None:
        self._offset = "+07:00" if offset_dates else ""
        # Opaque token -> the state's JWT, which keeps deciding expiry and revocation.
        self._handles: dict[str, str] = {}
        self._handles_lock = threading.Lock()
        super().__init__(state, base_url, pause)

    def _routes(self) -> tuple[_Route, ...]:
        return (
            self._route("GET", "/api/auth/cekApi", self._check_api),
            self._route("GET", "/api/auth/domain", self._domain),
            self._route("POST", "{dir}/api/auth", self._session, needs_token=False),
            self._route("GET", "{dir}/api/suratmasuk/filter", self._incoming),
            self._route("GET", "{dir}/api/disposisi/filter", self._alt_dispositions),
            self._route("GET", "{dir}/api/suratmasuk/{id}/tindaklanjut", self._alt_notes),
            self._route("POST", "{dir}/api/suratmasuk/{id}/tindaklanjut", self._alt_add_note,
                        creates=True),
            self._route("POST", "{dir}/api/suratkeluar", self._alt_add_draft, creates=True),
            self._route("GET", "{dir}/api/suratkeluar/ref/{ref}", self._by_ref),
        )

    def _token_of(self, request: Request) -> str | None:
        with self._handles_lock:
            return self._handles.get(request.x_auth_token or "")

    # -- endpoints -------------------------------------------------------------------------------

    def _session(self, call: _Call) -> Response:
        body = call.request.form_object()
        token = self._state.login(call.params["dir"], body.get("username", ""),
                                  body.get("password", ""))
        if token is None:
            return alt_error(401, "invalid credentials")
        handle = secrets.token_urlsafe(24)
        with self._handles_lock:
            self._handles[handle] = token
        return json_response(200, {"data": {"access_token": handle, "token_type": "Bearer",
                                            "expires_in": int(self._state.token_ttl)}})

    def _incoming(self, call: _Call) -> Response:
        query = call.request.query
        limit = _limit(query, "limit", MAX_LIMIT)
        key = _decode_cursor(query["after"]) if "after" in query else None
        page, next_key = self._state.letter_page_before(call.year, key, limit)
        headers = {}
        if next_key is not None:
            link = (f"{self._base_url()}{call.request.path}?"
                    f"{urlencode({'limit': limit, 'after': _encode_cursor(next_key)})}")
            headers["Link"] = f'<{link}>; rel="next"'
        return _success({"items": self._items(page), "total": page.total}, headers)

    def _alt_dispositions(self, call: _Call) -> Response:
        query = call.request.query
        limit = _limit(query, "limit", MAX_LIMIT)
        offset = max(_int_param(query, "offset", 0), 0)
        page = self._state.disposition_page(call.year, offset=offset, limit=limit)
        items = self._items(page)
        return _success({"items": items, "offset": offset, "total": page.total,
                         "has_more": offset + len(items) < page.total})

    def _alt_notes(self, call: _Call) -> Response:
        letter_id = _letter_id(call.params["id"])
        self._state.letter(call.year, letter_id)  # 404 for an unknown letter
        size = _limit(call.request.query, "size", MAX_NOTES_SIZE)
        number = max(_int_param(call.request.query, "page", 0), 0)
        notes = self._state.notes(call.year, letter_id)
        return _success({"items": notes[number * size:(number + 1) * size],
                         "page": number, "total": len(notes)})

    def _alt_add_note(self, call: _Call) -> Response:
        note_id = self._state.add_note(call.year, _letter_id(call.params["id"]),
                                       call.request.json_object())
        return json_response(200, {"result": {"note": {"id": int(note_id)}}})

    def _alt_add_draft(self, call: _Call) -> Response:
        body = call.request.json_object()
        if isinstance(body.get("tgl_acara"), str):
            body["tgl_acara"] = _event_time(body["tgl_acara"])
        return json_response(200, {"result": {"id": self._state.add_draft(call.year, body)}})

    def _by_ref(self, call: _Call) -> Response:
        ref = unquote(call.params["ref"])
        return _success({"items": self._state.drafts(call.year, ref)})

    # -- items in this shape -------------------------------------------------------------------

    def _items(self, page: Page) -> list[dict[str, Any]]:
        return [reshape(json.loads(fragment), offset_dates=bool(self._offset))
                for fragment in page.fragments]


def reshape(item: Mapping[str, Any], *, offset_dates: bool) -> dict[str, Any]:
    """A stored letter or disposition as this shape sends it: ISO dates, numeric ids."""
    shaped = dict(item)
    offset = "+07:00" if offset_dates else ""
    for name in _STAMP_FIELDS:
        value = shaped.get(name)
        found = _STAMP.fullmatch(value) if isinstance(value, str) else None
        if found:
            shaped[name] = f"{found[1]}T{found[2]}{offset}"
    sent = shaped.get("tgl_dikirim")
    found = _DAY_FIRST.fullmatch(sent) if isinstance(sent, str) else None
    if found:
        shaped["tgl_dikirim"] = f"{found[3]}-{found[2]}-{found[1]}"
    for name in _NUMERIC_IDS:
        value = shaped.get(name)
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 16:
            shaped[name] = int(value)
    return shaped


def _limit(query: Mapping[str, str], name: str, maximum: int) -> int:
    return min(max(_int_param(query, name, DEFAULT_LIMIT), 1), maximum)


def _letter_id(value: str) -> str:
    if not (value.isascii() and value.isdigit()):
        raise InvalidInputError("letter id must be a number")
    return value


def _encode_cursor(key: tuple[str, int]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}|{key[1]}".encode()).decode("ascii")


def _decode_cursor(text: str) -> tuple[str, int]:
    try:
        stamp, _, number = base64.urlsafe_b64decode(text.encode("ascii")).decode().rpartition("|")
        return stamp, int(number)
    except (ValueError, binascii.Error, UnicodeError):
        raise _BadRequestError("invalid cursor") from None


def _event_time(value: str) -> str:
    """The meeting time in the state's form; ISO 8601 with an offset is taken too."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # the state's own check names what is wrong
    if moment.tzinfo is not None:
        moment = moment.astimezone(WIB).replace(tzinfo=None)
    return moment.strftime(EVENT_FORMAT)
