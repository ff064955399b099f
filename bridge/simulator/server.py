"""The simulated Sisumaker over HTTP: the contract endpoints, injected faults, the admin API.

Standard library only: a ThreadingHTTPServer on 127.0.0.1 speaking HTTP/1.1 with keep-alive.
Routing and faults are decided by :class:`_App`, which turns a :class:`Request` into a
:class:`Response` and knows nothing of sockets; the request handler only reads and writes.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from bridge.simulator.state import (
    FaultConfig,
    FaultPlan,
    InvalidInputError,
    NotFoundError,
    Page,
    SimState,
)

MAX_BODY_BYTES: Final = 1 << 20
MAX_PER_PAGE: Final = 100
DEFAULT_PER_PAGE: Final = 10
IDLE_TIMEOUT_S: Final = 30.0

_ENCODER: Final = json.JSONEncoder(separators=(",", ":"))
_ERROR_MESSAGES: Final = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_SEARCH_LABELS: Final = {"1": "belum dibaca", "2": "sudah dibaca"}
SHAPES: Final = ("contract", "alt")


class _BadRequestError(Exception):
    """The request body cannot be used (not JSON, not an object, too large)."""


# --------------------------------------------------------------------------------------------
# Requests and responses


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, already read: the path without query, the query's first values."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    authorization: str | None = None
    body: bytes = b""
    x_auth_token: str | None = None  # the alternative shape's token header

    def form_object(self) -> dict[str, str]:
        """Return an ``application/x-www-form-urlencoded`` body's first values."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise _BadRequestError("body is not UTF-8") from None
        return {name: values[0] for name, values in parse_qs(text).items()}

    def json_object(self) -> dict[str, Any]:
        """Return the body as a JSON object; _BadRequestError otherwise."""
        try:
            value = json.loads(self.body or b"null")
        except ValueError:
            raise _BadRequestError("body is not JSON") from None
        if not isinstance(value, dict):
            raise _BadRequestError("body must be a JSON object")
        return value


@dataclass(slots=True)
class Response:
    """What to answer; ``delay_s`` waits first, ``drop`` closes the socket instead."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    """Build a JSON response (compact, ASCII-escaped, as PHP's json_encode writes)."""
    return Response(status, _ENCODER.encode(payload).encode("ascii"), dict(headers or {}))


def sisumaker_error(status: int, message: str) -> Response:
    """Build an error in Sisumaker's shape: ``{"status": 0, "messages": "..."}``."""
    return json_response(status, {"status": 0, "messages": message})


# --------------------------------------------------------------------------------------------
# Routing


@dataclass(frozen=True, slots=True)
class _Call:
    """A routed contract request: the request, the year its directory names, path parameters."""

    request: Request
    year: int
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Route:
    """One endpoint. ``name`` is the pattern requests are counted under."""

    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Callable[..., Response]
    needs_token: bool = True
    creates: bool = False


def _match(routes: tuple[_Route, ...], request: Request) -> tuple[_Route, dict[str, str]] | None:
    """Find the route for a request's method and path, with the path's named groups."""
    for route in routes:
        if route.method == request.method:
            found = route.pattern.fullmatch(request.path)
            if found:
                return route, found.groupdict()
    return None


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    """Read an integer query parameter; anything unreadable counts as absent, as PHP's intval."""
    try:
        return int(query[name])
    except (KeyError, ValueError):
        return default


def total_pages(total: int, per_page: int, *, fractional: bool) -> float:
    """Compute ``total_page``: always a float, ceil'd unless the fractional quirk is on."""
    if fractional:
        return total / per_page
    return float(math.ceil(total / per_page))


def envelope(
    page: Page,
    *,
    page_number: int,
    per_page: int,
    filter_by: str,
    total_key: str,
    fractional: bool,
) -> bytes:
    """Build a list answer with the real quirks: ``page`` a string, ``"Filter by "`` etc.

    The head is encoded once and the items' cached JSON spliced in, so a page of 100 costs a
    join rather than 100 encodings.
    """
    head = {
        "status": 1,
        "page": str(page_number),
        "total_page": total_pages(page.total, per_page, fractional=fractional),
        "Filter by ": filter_by,
        total_key: page.total,
    }
    prefix = _ENCODER.encode(head)[:-1].encode("ascii")  # without the closing brace
    return b"".join((prefix, b',"data":[', b",".join(page.fragments), b"]}"))


# --------------------------------------------------------------------------------------------
# The contract endpoints


_DIR: Final = r"(?P<dir>/[^/]+)"


class _ContractApi:
    """Sisumaker's endpoints as /work/shared/sisumaker-api.md describes them, quirks included.

    A subclass serves another deployment shape: its own ``_routes``, ``error`` and
    ``_token_of``; faults, counting and the token check stay the same.
    """

    error: Callable[[int, str], Response] = staticmethod(sisumaker_error)

    def __init__(
        self, state: SimState, base_url: Callable[[], str], pause: Callable[[float], None]
    ) -> None:
        self._state = state
        self._base_url = base_url
        self._pause = pause
        self.routes = self._routes()

    def _routes(self) -> tuple[_Route, ...]:
        return (
            self._route("GET", "/api/auth/cekApi", self._check_api),
            self._route("GET", "/api/auth/domain", self._domain),
            self._route("POST", "{dir}/api/auth", self._login, needs_token=False),
            self._route("GET", "{dir}/api/suratmasuk/filter", self._letters),
            self._route("GET", "{dir}/api/disposisi/filter", self._dispositions),
            self._route("GET", "{dir}/api/suratmasuk/{id}/tindaklanjut", self._notes),
            self._route(
                "POST", "{dir}/api/suratmasuk/{id}/tindaklanjut", self._add_note, creates=True
            ),
            self._route("POST", "{dir}/api/suratkeluar", self._add_draft, creates=True),
            self._route("GET", "{dir}/api/suratkeluar/filter", self._drafts),
        )

    @staticmethod
    def _route(
        method: str,
        template: str,
        handler: Callable[..., Response],
        *,
        needs_token: bool = True,
        creates: bool = False,
    ) -> _Route:
        """Build a route from a readable template; the template is also the counter name."""
        regex = (re.escape(template).replace(r"\{dir\}", _DIR)
                 .replace(r"\{id\}", r"(?P<id>[^/]+)").replace(r"\{ref\}", r"(?P<ref>[^/]+)"))
        return _Route(
            method, re.compile(regex), f"{method} {template}", handler, needs_token, creates
        )

    def handle(self, request: Request) -> Response:
        """Answer a contract request, with whatever faults the plan draws."""
        matched = _match(self.routes, request)
        if matched is None:
            self._state.count_request(f"{request.method} <unknown>")
            return self._counted(self.error(404, "Not found"))
        route, params = matched
        self._state.count_request(route.name)
        plan = self._state.plan_faults(creates=route.creates)
        if plan.latency_s > 0:
            self._pause(plan.latency_s)
        response = self._early_fault(plan)
        if response is None:
            response = self._late_fault(plan, self._serve(route, request, params))
        return self._counted(response)

    def _counted(self, response: Response) -> Response:
        if not response.drop:  # a dropped answer is counted among the faults
            self._state.count_response(response.status)
        return response

    def _early_fault(self, plan: FaultPlan) -> Response | None:
        """Apply the faults that replace the answer: a dropped connection, a 5xx, a 429."""
        if plan.drop:
            self._state.count_fault("drop")
            return Response(0, drop=True)
        if plan.error_status is not None:
            self._state.count_fault("error")
            message = _ERROR_MESSAGES.get(plan.error_status, "Terjadi kesalahan pada server")
            return self.error(plan.error_status, message)
        if plan.retry_after is not None:
            self._state.count_fault("rate_limit")
            response = self.error(429, "Terlalu banyak permintaan, coba lagi nanti")
            response.headers["Retry-After"] = str(plan.retry_after)
            return response
        return None

    def _late_fault(self, plan: FaultPlan, response: Response) -> Response:
        """Apply the faults that spoil a successful answer after the work was done."""
        if response.status != 200:
            return response
        if plan.post_timeout == "drop":
            self._state.count_fault("post_timeout")
            return replace(response, drop=True)
        if plan.post_timeout == "sleep":
            self._state.count_fault("post_timeout")
            return replace(response, delay_s=plan.post_timeout_s)
        if plan.truncate:
            self._state.count_fault("truncate")
            return replace(response, body=response.body[: len(response.body) // 2])
        return response

    def _serve(self, route: _Route, request: Request, params: dict[str, str]) -> Response:
        """Check the directory and the token, then run the endpoint."""
        if "dir" not in params:
            return route.handler(request)
        year = self._state.year_of_dir(params["dir"])
        if year is None:
            return self.error(404, "Not found")
        if route.needs_token and not self._state.token_valid(params["dir"],
                                                             self._token_of(request)):
            return self.error(401, "Token tidak valid")
        try:
            return route.handler(_Call(request, year, params))
        except NotFoundError as exc:
            return self.error(404, str(exc))
        except InvalidInputError as exc:
            return self.error(422, str(exc))
        except _BadRequestError as exc:
            return self.error(400, f"Permintaan tidak valid: {exc}")

    def _token_of(self, request: Request) -> str | None:
        """The token a request carries (the contract: the raw Authorization header)."""
        return request.authorization

    # -- endpoints -------------------------------------------------------------------------------

    def _check_api(self, request: Request) -> Response:
        return json_response(200, {"link": self._base_url()})

    def _domain(self, request: Request) -> Response:
        return json_response(200, self._state.directories())

    def _login(self, call: _Call) -> Response:
        body = call.request.json_object()
        username, password = body.get("username"), body.get("password")
        token = None
        if isinstance(username, str) and isinstance(password, str):
            token = self._state.login(call.params["dir"], username, password)
        if token is None:
            return self.error(401, "Username atau password salah")
        return json_response(200, {"status": 1, "messages": "Login berhasil", "id_token": token})

    def _letters(self, call: _Call) -> Response:
        query = call.request.query
        search = query.get("search")
        number, per_page = _paging(query)
        page = self._state.letter_page(
            call.year, offset=(number - 1) * per_page, limit=per_page, search=search
        )
        label = _SEARCH_LABELS.get(search or "", f"cari: {search}" if search else "semua")
        return self._list(page, number, per_page, label, "Total Surat")

    def _dispositions(self, call: _Call) -> Response:
        number, per_page = _paging(call.request.query)
        page = self._state.disposition_page(
            call.year, offset=(number - 1) * per_page, limit=per_page
        )
        return self._list(page, number, per_page, "semua", "Total Disposisi")

    def _notes(self, call: _Call) -> Response:
        self._state.letter(call.year, _digits(call.params["id"]))  # 404 for an unknown letter
        notes = self._state.notes(call.year, call.params["id"])
        return self._list(_page_of(notes), 1, max(len(notes), 1), "semua", "Total Tindak Lanjut")

    def _add_note(self, call: _Call) -> Response:
        body = call.request.json_object()
        note_id = self._state.add_note(call.year, _digits(call.params["id"]), body)
        return json_response(200, {"status": 1, "id_tindaklanjut": note_id})

    def _add_draft(self, call: _Call) -> Response:
        compose_id = self._state.add_draft(call.year, call.request.json_object())
        return json_response(200, {"status": 1, "id_compose": compose_id})

    def _drafts(self, call: _Call) -> Response:
        ref = call.request.query.get("ref")
        drafts = self._state.drafts(call.year, ref)
        if ref is not None:
            return self._list(_page_of(drafts), 1, max(len(drafts), 1), f"ref: {ref}",
                              "Total Surat")
        # Without a ref: every draft, newest first, paged like the other lists.
        number, per_page = _paging(call.request.query)
        newest = drafts[::-1][(number - 1) * per_page: number * per_page]
        page = Page(_page_of(newest).fragments, len(drafts))
        return self._list(page, number, per_page, "semua", "Total Surat")

    def _list(
        self, page: Page, number: int, per_page: int, filter_by: str, total_key: str
    ) -> Response:
        body = envelope(
            page,
            page_number=number,
            per_page=per_page,
            filter_by=filter_by,
            total_key=total_key,
            fractional=self._state.fractional_total_page,
        )
        return Response(200, body)


def _paging(query: Mapping[str, str]) -> tuple[int, int]:
    """Return the page number (at least 1) and per_page clamped to 1..100 (10 if absent)."""
    per_page = min(max(_int_param(query, "per_page", DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    return max(_int_param(query, "page", 1), 1), per_page


def _page_of(items: list[dict[str, Any]]) -> Page:
    """Make a single page of small uncached items (notes, drafts)."""
    return Page([_ENCODER.encode(item).encode("ascii") for item in items], len(items))


def _digits(value: str) -> str:
    """Check a letter id from the path: anything but digits cannot name a letter."""
    if not (value.isascii() and value.isdigit()):
        raise NotFoundError("Surat tidak ditemukan")
    return value


# --------------------------------------------------------------------------------------------
# The admin API


class _AdminApi:
    """``/_sim/``: drive the state over HTTP. No auth, no faults; errors are ``{"error": ...}``."""

    def __init__(self, state: SimState) -> None:
        self._state = state
        item = r"/(?P<year>\d+)/(?P<id>\d+)"
        self.routes = (
            self._route("POST", "/_sim/letters", self._add_letter),
            self._route("GET", f"/_sim/letters{item}", self._get_letter),
            self._route("PATCH", f"/_sim/letters{item}", self._update_letter),
            self._route("DELETE", f"/_sim/letters{item}", self._remove_letter),
            self._route("POST", "/_sim/dispositions", self._add_disposition),
            self._route("GET", f"/_sim/dispositions{item}", self._get_disposition),
            self._route("PATCH", f"/_sim/dispositions{item}", self._update_disposition),
            self._route("DELETE", f"/_sim/dispositions{item}", self._remove_disposition),
            self._route("POST", "/_sim/years", self._add_year),
            self._route("GET", "/_sim/stats", self._stats),
            self._route("POST", "/_sim/stats/reset", self._reset_stats),
            self._route("GET", "/_sim/pushed", self._pushed),
            self._route("GET", "/_sim/faults", self._faults),
            self._route("POST", "/_sim/faults", self._set_faults),
            self._route("POST", "/_sim/tokens/revoke", self._revoke),
            self._route("GET", "/_sim/config", self._config),
            self._route("POST", "/_sim/config", self._configure),
        )

    @staticmethod
    def _route(method: str, regex: str, handler: Callable[..., Response]) -> _Route:
        return _Route(method, re.compile(regex), f"{method} {regex}", handler, needs_token=False)

    def handle(self, request: Request) -> Response:
        """Answer an admin request."""
        matched = _match(self.routes, request)
        if matched is None:
            return json_response(404, {"error": "Not found"})
        route, params = matched
        try:
            return route.handler(request, params)
        except NotFoundError as exc:
            return json_response(404, {"error": str(exc)})
        except (InvalidInputError, _BadRequestError, TypeError) as exc:
            # TypeError: a body whose keys do not fit the keyword arguments.
            return json_response(400, {"error": str(exc)})

    # -- items ---------------------------------------------------------------------------------

    def _add_letter(self, request: Request, params: dict[str, str]) -> Response:
        year, fields = _year_and_fields(request)
        return json_response(200, {"id": self._state.add_letter(year, **fields)})

    def _add_disposition(self, request: Request, params: dict[str, str]) -> Response:
        year, fields = _year_and_fields(request)
        return json_response(200, {"id": self._state.add_disposition(year, **fields)})

    def _get_letter(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self._state.letter(params["year"], params["id"]))

    def _get_disposition(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self._state.disposition(params["year"], params["id"]))

    def _update_letter(self, request: Request, params: dict[str, str]) -> Response:
        changes = request.json_object()
        item = self._state.update_letter(params["year"], params["id"], **changes)
        return json_response(200, item)

    def _update_disposition(self, request: Request, params: dict[str, str]) -> Response:
        changes = request.json_object()
        item = self._state.update_disposition(params["year"], params["id"], **changes)
        return json_response(200, item)

    def _remove_letter(self, request: Request, params: dict[str, str]) -> Response:
        self._state.remove_letter(params["year"], params["id"])
        return json_response(200, {"deleted": params["id"]})

    def _remove_disposition(self, request: Request, params: dict[str, str]) -> Response:
        self._state.remove_disposition(params["year"], params["id"])
        return json_response(200, {"deleted": params["id"]})

    def _add_year(self, request: Request, params: dict[str, str]) -> Response:
        year, _ = _year_and_fields(request)
        return json_response(200, {"dir": self._state.add_year(year)})

    # -- observation and control -----------------------------------------------------------------

    def _stats(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self._state.stats())

    def _reset_stats(self, request: Request, params: dict[str, str]) -> Response:
        self._state.reset_stats()
        return json_response(200, {"reset": True})

    def _pushed(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self._state.pushed())

    def _faults(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self._state.faults.to_dict())

    def _set_faults(self, request: Request, params: dict[str, str]) -> Response:
        config = self._state.set_faults(FaultConfig.from_mapping(request.json_object()))
        return json_response(200, config.to_dict())

    def _revoke(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, {"revoked": self._state.revoke_tokens()})

    def _config(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self._state.configure())

    def _configure(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self._state.configure(**request.json_object()))


def _year_and_fields(request: Request) -> tuple[str, dict[str, Any]]:
    """Split an admin body into its ``year`` and the remaining fields."""
    fields = request.json_object()
    if "year" not in fields:
        raise InvalidInputError("year is required")
    return str(fields.pop("year")), fields


# --------------------------------------------------------------------------------------------
# HTTP plumbing


class _App:
    """Everything but the sockets: admin requests to the admin API, the rest to the contract."""

    def __init__(
        self, state: SimState, base_url: Callable[[], str], pause: Callable[[float], None],
        api: Callable[..., _ContractApi] | None = None,
    ) -> None:
        self.state = state
        self._admin = _AdminApi(state)
        self._contract = (api or _ContractApi)(state, base_url, pause)

    def handle(self, request: Request) -> Response:
        """Answer a request; a simulator bug becomes a 500 and is kept in the stats."""
        try:
            if request.path == "/_sim" or request.path.startswith("/_sim/"):
                return self._admin.handle(request)
            return self._contract.handle(request)
        except Exception:  # noqa: BLE001 - a bug must answer 500, not kill the connection
            self.state.record_error(traceback.format_exc())
            return sisumaker_error(500, "Simulator error")


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, asks the app, writes (or withholds) the answer."""

    protocol_version = "HTTP/1.1"  # keep-alive: a client reusing connections pays no handshakes
    disable_nagle_algorithm = True  # headers and body go in two writes; don't wait for an ACK
    timeout = IDLE_TIMEOUT_S
    server: _HttpServer

    def setup(self) -> None:
        """Register the connection, so stop() can close it even while it idles."""
        super().setup()
        if not self.server.track(self.connection):
            _shutdown(self.connection)

    def finish(self) -> None:
        """Unregister the connection."""
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the base class writes a line per request to stderr."""

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve("GET")

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve("POST")

    def do_PATCH(self) -> None:
        """Serve a PATCH."""
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        """Serve a DELETE."""
        self._serve("DELETE")

    def do_PUT(self) -> None:
        """Serve a PUT (no route takes one: a JSON 404 rather than the base class's HTML 501)."""
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        try:
            request = self._read_request(method)
        except _BadRequestError as exc:
            self.close_connection = True  # the unread body would poison the next request
            self._send(json_response(413, {"status": 0, "messages": str(exc)}))
            return
        self._send(self.server.app.handle(request))

    def _read_request(self, method: str) -> Request:
        # Always read the whole body first: answering early would leave it in the stream and
        # the next keep-alive request would start in the middle of it.
        length = _int_param({"n": self.headers.get("Content-Length", "0")}, "n", 0)
        if length > MAX_BODY_BYTES:
            raise _BadRequestError("body too large")
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        return Request(method, url.path, query, self.headers.get("Authorization"), body,
                       self.headers.get("X-Auth-Token"))

    def _send(self, response: Response) -> None:
        if response.delay_s > 0:
            self.server.pause(response.delay_s)
        if response.drop:
            self.close_connection = True
            _shutdown(self.connection)
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:
            # The client gave up (its timeout, or stop() closed the socket): nothing to tell.
            self.close_connection = True


def _shutdown(connection: socket.socket) -> None:
    """Shut a socket down both ways, ignoring one that is already gone."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class _HttpServer(ThreadingHTTPServer):
    """A threading server whose stop closes idle keep-alive connections and wakes sleepers."""

    # Handler threads are joined by server_close(); stop() first makes sure each one ends.
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, state: SimState,
                 api: Callable[..., _ContractApi] | None = None) -> None:
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.host = host
        super().__init__((host, port), _Handler)
        self.app = _App(state, self.base_url, self.pause, api)

    def base_url(self) -> str:
        """``http://host:port`` of the bound socket."""
        return f"http://{self.host}:{self.server_port}"

    def pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops."""
        self.stopping.wait(seconds)

    def track(self, connection: socket.socket) -> bool:
        """Register an open connection; False if the server is already stopping."""
        with self._connections_lock:
            if self.stopping.is_set():
                return False
            self._connections.add(connection)
            return True

    def untrack(self, connection: socket.socket) -> None:
        """Forget a closed connection."""
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Mark the server stopping and shut every open connection, idle ones included."""
        with self._connections_lock:
            self.stopping.set()
            connections = list(self._connections)
        for connection in connections:
            _shutdown(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Print tracebacks, but not for connections that died (clients hang up, we drop)."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------------------------
# The public server


class SimServer:
    """The simulated Sisumaker on 127.0.0.1, served from a daemon thread.

    ``port=0`` takes a free port; read it back from :attr:`url`. Use as a context manager, or
    call :meth:`start` and :meth:`stop`. ``shape="alt"`` serves the same data in another
    deployment's REST shape (bridge/simulator/alt.py); ``offset_dates=False`` makes that
    shape send its dates without their ``+07:00`` offset.
    """

    def __init__(
        self, state: SimState | None = None, *, host: str = "127.0.0.1", port: int = 0,
        shape: str = "contract", offset_dates: bool = True,
    ) -> None:
        if shape not in SHAPES:
            raise ValueError(f"unknown shape {shape!r}; valid: {', '.join(SHAPES)}")
        self._state = state if state is not None else SimState()
        self._host = host
        self._port = port
        self.shape = shape
        self._offset_dates = offset_dates
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> SimState:
        """The state served; change it directly or over ``/_sim/``."""
        return self._state

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``; only once started."""
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return self._httpd.base_url()

    @property
    def port(self) -> int:
        """The bound port; only once started."""
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return self._httpd.server_port

    def served(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """A letter or disposition of the state as this shape sends it."""
        if self.shape == "alt":
            from bridge.simulator.alt import reshape  # noqa: PLC0415 - alt builds on this module

            return reshape(item, offset_dates=self._offset_dates)
        return dict(item)

    def start(self) -> SimServer:
        """Bind and serve in a daemon thread; return self."""
        if self._httpd is not None:
            raise RuntimeError("the simulator is already running")
        api: Callable[..., _ContractApi] | None = None
        if self.shape == "alt":
            from bridge.simulator.alt import AltApi  # noqa: PLC0415 - alt builds on this module

            offset = self._offset_dates
            api = lambda *args: AltApi(*args, offset_dates=offset)  # noqa: E731
        self._httpd = _HttpServer(self._host, self._port, self._state, api)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns in about 50 ms
            name=f"sisumaker-sim-{self._httpd.server_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection, wait for the handler threads. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        thread.join()

    def __enter__(self) -> SimServer:
        """Start, unless already started."""
        return self if self._httpd is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        self.stop()
