"""The case board: read-only web pages of the cases, served beside /metrics by ``bridge run``.

Imported only when BRIDGE_BOARD_TOKEN is set (Jinja2 costs start-up time the other commands do
not need). The token is asked for once, on a form; the browser then holds a signed, expiring
session cookie (HttpOnly, SameSite=Strict), never the token itself. Every page is rendered by
Jinja2 with autoescaping, after control and bidirectional characters have been made visible, and
is sent with a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2
import structlog
from pydantic import SecretStr

from bridge.domain.outbox import OutboxState, PushAction
from bridge.domain.sop import Sop
from bridge.domain.text import printable
from bridge.errors import BridgeError
from bridge.ports import Ledger
from bridge.services.case_view import StepState, case_detail, find_cases, timeline

log = structlog.get_logger("bridge.board")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

PREFIX = "/board"
COOKIE = "bridge_board"
SESSION_SECONDS = 12 * 3600
PAGE_SIZE = 100
MAX_FORM_BYTES = 4096
_HERE = Path(__file__).resolve().parent
# No script from anywhere, styles from the board's own stylesheet only, forms post back here.
CSP = ("default-src 'none'; script-src 'none'; style-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]
STEP_LABELS = {
    StepState.DONE: "selesai",
    StepState.DONE_LATE: "selesai, terlambat",
    StepState.DUE: "menunggu",
    StepState.OVERDUE: "terlambat",
    StepState.NOT_YET: "belum",
}
ACTION_LABELS = {
    PushAction.NOTE: "catatan tindak lanjut",
    PushAction.INVITATION: "surat undangan",
}
PUSH_LABELS = {
    OutboxState.PENDING: "menunggu",
    OutboxState.IN_DOUBT: "belum pasti terkirim",
    OutboxState.SENT: "terkirim",
    OutboxState.FAILED: "gagal",
    OutboxState.CANCELLED: "dibatalkan",
}


def _visible(value: Any) -> Any:
    """Every printed string shows control and bidi characters as escapes (then autoescaped)."""
    return printable(value) if type(value) is str else value


def _local_time(zone: tzinfo) -> Callable[[Any], str]:
    def when(value: Any) -> str:
        """A time (datetime or ISO text) as ``2026-11-30 16:00`` in the local zone, or ``-``."""
        if not value:
            return "-"
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        return moment.strftime("%Y-%m-%d %H:%M")

    return when


def _environment(zone: tzinfo) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_visible,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["waktu"] = _local_time(zone)
    return env


class Board:
    """The board's WSGI application; every request opens its own ledger connection."""

    def __init__(self, open_ledger: Callable[[], Ledger], sop: Sop, token: SecretStr, *,
                 zone: tzinfo = UTC, secure_cookie: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        """``token`` is BRIDGE_BOARD_TOKEN; times show in ``zone``; ``secure_cookie`` adds Secure."""
        self._open = open_ledger
        self._sop = sop
        self._token = token.get_secret_value().encode()
        self._secure = secure_cookie
        self._clock = clock
        self._env = _environment(zone)
        self._css = (_HERE / "static" / "board.css").read_bytes()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Route one request under /board; a page that fails is a logged 500, nothing more."""
        try:
            return self._route(environ, start_response)
        except Exception as exc:  # noqa: BLE001 - one broken page must not show a traceback
            log.error("board.page_failed", path=_path(environ)[:200], reason=repr(exc)[:500],
                      next="the other pages and the bridge go on")
            return _respond(start_response, "500 Internal Server Error",
                            b"kesalahan internal; lihat log bridge\n",
                            [("Content-Type", "text/plain; charset=utf-8")])

    def _route(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = _path(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        if path == f"{PREFIX}/static/board.css":
            return self._static(method, start_response)
        if path == f"{PREFIX}/login":
            if method == "POST":
                return self._login(environ, start_response)
            if method == "GET":
                return self._page(start_response, "200 OK", "login.html", error=None)
            return self._not_allowed(start_response, "GET, POST")
        if path == f"{PREFIX}/logout" and method == "POST":
            return self._logout(start_response)
        if method != "GET":
            return self._not_allowed(start_response, "GET")
        if not self._signed_in(environ):
            return _respond(start_response, "303 See Other", b"",
                            [("Location", f"{PREFIX}/login")])
        if path in (PREFIX, f"{PREFIX}/"):
            return self._cases(environ, start_response)
        if path.startswith(f"{PREFIX}/kasus/"):
            return self._case(path.removeprefix(f"{PREFIX}/kasus/"), start_response)
        return self._page(start_response, "404 Not Found", "error.html",
                          message="Halaman tidak ditemukan.")

    # --- sessions --------------------------------------------------------------------------

    def _signature(self, expires: int) -> str:
        return hmac.new(self._token, f"board-session:{expires}".encode(), hashlib.sha256).hexdigest()

    def _session_cookie(self) -> str:
        expires = int(self._clock()) + SESSION_SECONDS
        flags = f"Path={PREFIX}; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Strict"
        if self._secure:
            flags += "; Secure"
        return f"{COOKIE}={expires}.{self._signature(expires)}; {flags}"

    def _signed_in(self, environ: dict[str, Any]) -> bool:
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(environ.get("HTTP_COOKIE", ""))
        except CookieError:
            return False
        morsel = cookies.get(COOKIE)
        if morsel is None:
            return False
        expires_text, _, signature = morsel.value.partition(".")
        if not expires_text.isdigit() or len(expires_text) > 12:
            return False
        expires = int(expires_text)
        if not hmac.compare_digest(signature.encode(), self._signature(expires).encode()):
            return False
        return expires > self._clock()

    def _login(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        form = _form(environ)
        given = (form.get("token") or [""])[0].encode()
        if hmac.compare_digest(given, self._token):
            log.info("board.signed_in", client=environ.get("REMOTE_ADDR"))
            return _respond(start_response, "303 See Other", b"",
                            [("Location", f"{PREFIX}/"), ("Set-Cookie", self._session_cookie())])
        log.warning("board.sign_in_refused", client=environ.get("REMOTE_ADDR"),
                    reason="wrong token", next="the form is shown again")
        return self._page(start_response, "401 Unauthorized", "login.html",
                          error="Token salah.")

    def _logout(self, start_response: StartResponse) -> Iterable[bytes]:
        expired = f"{COOKIE}=; Path={PREFIX}; Max-Age=0; HttpOnly; SameSite=Strict"
        return _respond(start_response, "303 See Other", b"",
                        [("Location", f"{PREFIX}/login"), ("Set-Cookie", expired)])

    # --- pages -----------------------------------------------------------------------------

    def _cases(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=20)
        step_text = (query.get("langkah") or [""])[0].strip()
        overdue = (query.get("terlambat") or [""])[0] == "1"
        search = (query.get("cari") or [""])[0][:200]
        page_text = (query.get("halaman") or ["1"])[0]
        if step_text and not (step_text.isdigit() and len(step_text) <= 3
                              and 0 <= int(step_text) <= len(self._sop)):
            return self._page(start_response, "400 Bad Request", "error.html",
                              message=f"Langkah harus angka 0 sampai {len(self._sop)}.")
        if not (page_text.isdigit() and len(page_text) <= 6) or int(page_text) < 1:
            return self._page(start_response, "400 Bad Request", "error.html",
                              message="Halaman harus angka 1 atau lebih.")
        step = int(step_text) if step_text else None

        def read(page: int) -> Any:
            return self._read(lambda ledger: find_cases(
                ledger, step=step, overdue=True if overdue else None, query=search,
                offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE))

        page = int(page_text)
        found = read(page)
        if found is not False and page > 1 and not found.lines:
            page = max(1, math.ceil(found.total / PAGE_SIZE))  # past the end: the last page
            found = read(page)
        if found is False:
            return self._unavailable(start_response)
        pages = max(1, math.ceil(found.total / PAGE_SIZE))
        shown = found.lines
        filters = {"langkah": step_text, "terlambat": "1" if overdue else "", "cari": search}

        def page_url(number: int) -> str:
            params = {k: v for k, v in {**filters, "halaman": str(number)}.items() if v}
            return f"{PREFIX}/?{urlencode(params)}"

        rows = [{**line, "url": f"{PREFIX}/kasus/{quote(line['case_id'], safe='')}",
                 "step_name": self._step_name(line["step"])} for line in shown]
        return self._page(
            start_response, "200 OK", "cases.html", rows=rows, total=found.total,
            overdue_total=found.overdue, filters=filters,
            steps=[(s.number, s.name) for s in self._sop], page=page, pages=pages,
            previous_url=page_url(page - 1) if page > 1 else None,
            next_url=page_url(page + 1) if page < pages else None,
        )

    def _case(self, case_id: str, start_response: StartResponse) -> Iterable[bytes]:
        detail = self._read(lambda ledger: case_detail(ledger, case_id))
        if detail is False:
            return self._unavailable(start_response)
        if detail is None:
            return self._page(start_response, "404 Not Found", "error.html",
                              message=f"Tidak ada kasus {case_id}.")
        pushes = [{"ref": e.intent.ref, "step": e.intent.step,
                   "action": ACTION_LABELS.get(e.intent.action, e.intent.action.value),
                   "state": e.state.value, "state_label": PUSH_LABELS.get(e.state, e.state.value),
                   "remote_id": e.remote_id, "error": e.last_error, "attempts": e.attempts,
                   "updated_at": e.updated_at} for e in detail.pushes]
        return self._page(start_response, "200 OK", "case.html", case=detail.line,
                          step_name=self._step_name(detail.line["step"]),
                          steps=timeline(detail.line, self._sop), labels=STEP_LABELS,
                          history=detail.history, pushes=pushes)

    def _step_name(self, number: int) -> str:
        return self._sop.step(number).name if 1 <= number <= len(self._sop) else "-"

    def _read(self, query: Callable[[Ledger], Any]) -> Any:
        """The query's answer, or False when the ledger cannot be read."""
        try:
            ledger = self._open()
        except BridgeError as exc:
            log.warning("board.ledger_unavailable", reason=str(exc), next="the page says so")
            return False
        try:
            return query(ledger)
        except BridgeError as exc:
            log.warning("board.ledger_unavailable", reason=str(exc), next="the page says so")
            return False
        finally:
            ledger.close()

    def _unavailable(self, start_response: StartResponse) -> Iterable[bytes]:
        return self._page(start_response, "503 Service Unavailable", "error.html",
                          message="Ledger tidak dapat dibaca saat ini; coba lagi sebentar.")

    def _page(self, start_response: StartResponse, status: str, template: str,
              **context: Any) -> Iterable[bytes]:
        body = self._env.get_template(template).render(prefix=PREFIX, **context).encode()
        return _respond(start_response, status, body,
                        [("Content-Type", "text/html; charset=utf-8")])

    def _static(self, method: str, start_response: StartResponse) -> Iterable[bytes]:
        if method != "GET":
            return self._not_allowed(start_response, "GET")
        return _respond(start_response, "200 OK", self._css,
                        [("Content-Type", "text/css; charset=utf-8")])

    def _not_allowed(self, start_response: StartResponse, allow: str) -> Iterable[bytes]:
        return _respond(start_response, "405 Method Not Allowed", b"method not allowed\n",
                        [("Content-Type", "text/plain; charset=utf-8"), ("Allow", allow)])


def _path(environ: dict[str, Any]) -> str:
    # PEP 3333 hands PATH_INFO over as latin-1 decoded bytes; the URL itself is UTF-8.
    raw: str = environ.get("PATH_INFO", "")
    return raw.encode("latin-1", "replace").decode("utf-8", "replace")


def _form(environ: dict[str, Any]) -> dict[str, list[str]]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return {}
    if not 0 < length <= MAX_FORM_BYTES:
        return {}
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    return parse_qs(body, max_num_fields=5)


def _respond(start_response: StartResponse, status: str, body: bytes,
             headers: list[tuple[str, str]]) -> list[bytes]:
    start_response(status, [*headers, *SECURITY_HEADERS, ("Content-Length", str(len(body)))])
    return [body]
