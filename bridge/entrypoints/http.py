"""The health and metrics server of ``bridge run``: /healthz, /readyz, /metrics (and the board)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bridge.errors import BridgeError
from bridge.metrics import Metrics
from bridge.ports import Ledger

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request: a slow board page or phone must not hold up a probe or a scrape."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not news; the bridge's own logs say what matters."""


def readiness(open_ledger: Callable[[], Ledger], max_age: timedelta) -> tuple[bool, str]:
    """Ready when the ledger takes a write and a pass completed within ``max_age``."""
    try:
        ledger = open_ledger()
    except BridgeError as exc:
        return False, f"ledger cannot be opened: {exc}"
    try:
        ledger.check_writable()
        last = [c.last_complete_pass_at for c in ledger.cursors() if c.last_complete_pass_at]
    except BridgeError as exc:
        return False, f"ledger is not writable: {exc}"
    finally:
        ledger.close()
    if not last:
        return False, "no pass has completed yet"
    age = datetime.now(UTC) - max(last)
    if age > max_age:
        return False, f"the last complete pass was {int(age.total_seconds())} s ago " \
                      f"(more than {int(max_age.total_seconds())} s)"
    return True, f"the last complete pass was {int(age.total_seconds())} s ago"


class OpsServer:
    """A small WSGI server in a daemon thread."""

    def __init__(self, port: int, metrics: Metrics, ready: Callable[[], tuple[bool, str]],
                 *, host: str = "0.0.0.0",  # noqa: S104 - a container's probes
                 board: WsgiApp | None = None) -> None:
        """Bind now (a busy port fails at start-up), serve after ``start``; ``board`` on /board."""
        self._metrics = metrics
        self._ready = ready
        self._board = board
        self._server: WSGIServer = make_server(host, port, self._app, server_class=_ThreadingServer,
                                               handler_class=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="ops-http",
                                        daemon=True)

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _text(start_response, "200 OK", "ok\n")
        if path == "/readyz":
            ok, reason = self._ready()
            return _text(start_response, "200 OK" if ok else "503 Service Unavailable",
                         f"{'ready' if ok else 'not ready'}: {reason}\n")
        if path == "/metrics":
            body = generate_latest(self._metrics.registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if self._board is not None and (path == "/board" or path.startswith("/board/")):
            return self._board(environ, start_response)
        return _text(start_response, "404 Not Found", "not found: try /healthz, /readyz, /metrics\n")


def _text(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]
