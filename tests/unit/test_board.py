"""The case board's WSGI application over a real SQLite ledger: sign-in, headers, pages, escaping."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from bridge.adapters.ledger import open_ledger
from bridge.config.sop_mapping import load_sop_mappings
from bridge.entrypoints.board import COOKIE, SESSION_SECONDS, Board
from tests.board_data import HOSTILE_FROM, HOSTILE_SUBJECT, HOSTILE_TITLE, TOKEN, seed
from tests.conftest import MAPPINGS


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    set_cookies: list[str]
    body: str


@dataclass
class Client:
    board: Board
    clock: list[float]

    def request(self, method: str, path: str, *, query: str = "", cookie: str | None = None,
                form: dict[str, str] | None = None) -> Answer:
        body = urlencode(form).encode() if form is not None else b""
        environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path,
                                   "QUERY_STRING": query, "wsgi.input": io.BytesIO(body),
                                   "CONTENT_LENGTH": str(len(body)),
                                   "CONTENT_TYPE": "application/x-www-form-urlencoded"}
        if cookie is not None:
            environ["HTTP_COOKIE"] = cookie
        setup_testing_defaults(environ)
        seen: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            seen["status"], seen["headers"] = status, headers

        chunks = b"".join(self.board(environ, start_response))
        headers = seen["headers"]
        return Answer(int(seen["status"].split()[0]), {k.lower(): v for k, v in headers},
                      [v for k, v in headers if k.lower() == "set-cookie"], chunks.decode())

    def sign_in(self) -> str:
        answer = self.request("POST", "/board/login", form={"token": TOKEN})
        assert answer.status == 303, answer.body
        return answer.set_cookies[0].split(";")[0]

    def get(self, path: str, query: str = "") -> Answer:
        return self.request("GET", path, query=query, cookie=self.sign_in())


@pytest.fixture
def client(tmp_path: Path) -> Client:
    path = tmp_path / "ledger.sqlite3"
    seed(path).close()
    clock = [1_800_000_000.0]
    board = Board(lambda: open_ledger(f"sqlite:///{path}"), load_sop_mappings(MAPPINGS).sop,
                  SecretStr(TOKEN), clock=lambda: clock[0])
    return Client(board, clock)


def case_ids(body: str) -> list[str]:
    return re.findall(r'href="/board/kasus/([^"]+)"', body)


# --- signing in --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/board", "/board/", "/board/kasus/2026-1001",
                                  "/board/tidak-ada"])
def test_every_page_asks_for_the_token_first(client: Client, path: str) -> None:
    answer = client.request("GET", path)
    assert answer.status == 303
    assert answer.headers["location"] == "/board/login"
    assert answer.body == ""


def test_the_login_form_posts_the_token_and_shows_no_case(client: Client) -> None:
    answer = client.request("GET", "/board/login")
    assert answer.status == 200
    assert '<form method="post" action="/board/login">' in answer.body
    assert 'type="password"' in answer.body
    assert "2026-1001" not in answer.body


def test_the_right_token_gives_an_httponly_samesite_strict_session_cookie(client: Client) -> None:
    with capture_logs() as logs:
        answer = client.request("POST", "/board/login", form={"token": TOKEN})
    assert answer.status == 303
    assert answer.headers["location"] == "/board/"
    cookie = answer.set_cookies[0]
    flags = [part.strip() for part in cookie.split(";")]
    assert flags[0].startswith(f"{COOKIE}=")
    assert TOKEN not in cookie  # the browser holds a signature, never the token
    assert {"HttpOnly", "SameSite=Strict", "Path=/board", f"Max-Age={SESSION_SECONDS}"} <= set(flags)
    assert "Secure" not in flags
    assert [e["event"] for e in logs] == ["board.signed_in"]
    page = client.request("GET", "/board/", cookie=flags[0])
    assert page.status == 200
    assert "2026-1001" in page.body


def test_secure_cookie_is_an_option(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    seed(path).close()
    board = Board(lambda: open_ledger(f"sqlite:///{path}"), load_sop_mappings(MAPPINGS).sop,
                  SecretStr(TOKEN), secure_cookie=True)
    answer = Client(board, [0.0]).request("POST", "/board/login", form={"token": TOKEN})
    assert "Secure" in [part.strip() for part in answer.set_cookies[0].split(";")]


@pytest.mark.parametrize("given", ["", "salah", TOKEN[:-1], TOKEN + "x", TOKEN.upper()])
def test_a_wrong_token_is_refused_without_a_cookie(client: Client, given: str) -> None:
    with capture_logs() as logs:
        answer = client.request("POST", "/board/login", form={"token": given})
    assert answer.status == 401
    assert answer.set_cookies == []
    assert "Token salah." in answer.body
    assert logs[0]["event"] == "board.sign_in_refused"
    assert TOKEN not in repr(logs)


@pytest.mark.parametrize("cookie", [
    f"{COOKIE}=1900000000.{'0' * 64}",  # forged signature
    f"{COOKIE}={TOKEN}",  # the token itself is no session
    f"{COOKIE}=abc.def", f"{COOKIE}=", "other=1", f'{COOKIE}="\\x"; ;;',
])
def test_a_forged_or_malformed_cookie_is_no_session(client: Client, cookie: str) -> None:
    answer = client.request("GET", "/board/", cookie=cookie)
    assert answer.status == 303
    assert answer.headers["location"] == "/board/login"


def test_a_session_expires(client: Client) -> None:
    cookie = client.sign_in()
    assert client.request("GET", "/board/", cookie=cookie).status == 200
    client.clock[0] += SESSION_SECONDS + 1
    assert client.request("GET", "/board/", cookie=cookie).status == 303


def test_a_changed_token_ends_every_session(client: Client, tmp_path: Path) -> None:
    cookie = client.sign_in()
    other = Board(lambda: open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"),
                  load_sop_mappings(MAPPINGS).sop, SecretStr("another-token-0123456789"),
                  clock=lambda: client.clock[0])
    assert Client(other, client.clock).request("GET", "/board/", cookie=cookie).status == 303


def test_logout_expires_the_cookie(client: Client) -> None:
    answer = client.request("POST", "/board/logout")
    assert answer.status == 303
    assert "Max-Age=0" in answer.set_cookies[0]


# --- headers and methods -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/board/login", "/board/", "/board/kasus/2026-1001",
                                  "/board/kasus/2026-404", "/board/static/board.css"])
def test_every_answer_forbids_script_framing_and_sniffing(client: Client, path: str) -> None:
    answer = client.get(path)
    csp = {part.strip().split(" ", 1)[0]: part.strip() for part in
           answer.headers["content-security-policy"].split(";")}
    assert csp["script-src"] == "script-src 'none'"
    assert csp["default-src"] == "default-src 'none'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["style-src"] == "style-src 'self'"
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"


def test_the_stylesheet_is_served_as_css(client: Client) -> None:
    answer = client.get("/board/static/board.css")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/css")
    assert "@media (max-width" in answer.body


@pytest.mark.parametrize(("method", "path"), [("POST", "/board/"), ("PUT", "/board/login"),
                                              ("DELETE", "/board/kasus/2026-1001"),
                                              ("POST", "/board/kasus/2026-1001")])
def test_there_is_no_write_action(client: Client, method: str, path: str) -> None:
    answer = client.request(method, path, cookie=client.sign_in())
    assert answer.status == 405
    assert answer.headers["allow"] in {"GET", "GET, POST"}


def test_no_page_holds_a_script_or_an_inline_style(client: Client) -> None:
    for path in ("/board/login", "/board/", "/board/kasus/2026-6666", "/board/kasus/x"):
        body = client.get(path).body
        assert "<script" not in body
        assert " style=" not in body
        assert "<style" not in body
        assert re.search(r"<[^>]*\son[a-z]+=", body) is None, path  # no event handler in a tag


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_every_case_with_its_step_name_and_the_overdue_ones_marked(
        client: Client) -> None:
    body = client.get("/board/").body
    assert sorted(case_ids(body)) == ["2026-1001", "2026-1002", "2026-1003", "2026-1004",
                                      "2026-1005", "2026-1006", "2026-6666"]
    assert "7 kasus, <strong>2 terlambat</strong>" in body
    assert body.count('<tr class="overdue">') == 2
    assert body.count("TERLAMBAT") == 2
    assert "Kepala Dinas disposisi surat permohonan ke Kepala Bidang PTIKP" in body
    assert "step2_missing" in body
    assert "Dinas Lingkungan Hidup" in body
    assert "<html lang=\"id\">" in body
    assert "Tenggat berikutnya" in body


def test_filters_by_step_and_by_overdue(client: Client) -> None:
    assert sorted(case_ids(client.get("/board/", "langkah=3").body)) == [
        "2026-1003", "2026-1004", "2026-6666"]
    assert sorted(case_ids(client.get("/board/", "terlambat=1").body)) == [
        "2026-1002", "2026-1004"]
    assert case_ids(client.get("/board/", "langkah=3&terlambat=1").body) == ["2026-1004"]
    assert case_ids(client.get("/board/", "langkah=9").body) == []


def test_search_finds_subject_or_sender_ignoring_case_and_spacing(client: Client) -> None:
    assert case_ids(client.get("/board/", "cari=bank++SAMPAH").body) == ["2026-1004"]
    assert sorted(case_ids(client.get("/board/", "cari=kesehatan").body)) == ["2026-1002",
                                                                              "2026-6666"]
    assert case_ids(client.get("/board/", "cari=puskesmas&langkah=1").body) == []
    body = client.get("/board/", "cari=tidak+ada+yang+begini").body
    assert case_ids(body) == []
    assert "Tidak ada kasus yang cocok." in body


@pytest.mark.parametrize("query", ["langkah=abc", "langkah=99", "langkah=-1", "halaman=0",
                                   "halaman=x"])
def test_a_bad_filter_says_what_is_wrong(client: Client, query: str) -> None:
    answer = client.get("/board/", query)
    assert answer.status == 400
    assert "harus angka" in answer.body


def test_the_search_box_keeps_a_hostile_query_as_text(client: Client) -> None:
    body = client.get("/board/", "cari=%22%3E%3Cscript%3Ex%3C%2Fscript%3E").body
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in body


# --- the case page -----------------------------------------------------------------------------


def test_the_case_page_shows_the_17_steps_as_a_timeline(client: Client) -> None:
    body = client.get("/board/kasus/2026-1004").body
    states = re.findall(r'<li class="st-([a-z_]+)">', body)
    assert states == ["done", "done", "done", "overdue"] + ["not_yet"] * 13
    assert "Kepala Bidang PTIKP mengundang pemohon memaparkan usulan" in body
    assert "tenggat" in body
    due = client.get("/board/kasus/2026-1001").body
    assert re.findall(r'<li class="st-([a-z_]+)">', due)[:3] == ["done", "due", "not_yet"]


def test_the_case_page_shows_history_and_pushes_with_their_states(client: Client) -> None:
    body = client.get("/board/kasus/2026-6666").body
    assert "step 3 reached" in body
    for ref in ("sb-26-6666-note-1", "sb-26-6666-note-2", "sb-26-6666-note-3",
                "sb-26-6666-invitation-4"):
        assert ref in body
    assert re.search(r'push-sent">terkirim</span></td><td data-label="ID Sisumaker">tl-501', body)
    assert 'push-failed">gagal' in body
    assert "422 &lt;script&gt;alert(1)&lt;/script&gt; ditolak" in body
    assert body.count('push-pending">menunggu') == 2


@pytest.mark.parametrize("case_id", ["2026-404", "nope", "%3Cscript%3E", "2026-1001/extra"])
def test_an_unknown_case_is_404(client: Client, case_id: str) -> None:
    answer = client.get(f"/board/kasus/{case_id}")
    assert answer.status == 404
    assert "Tidak ada kasus" in answer.body
    assert "<script>" not in answer.body


def test_hostile_subjects_senders_and_job_titles_are_text(client: Client) -> None:
    for path in ("/board/", "/board/kasus/2026-6666"):
        body = client.get(path).body
        for raw in (HOSTILE_SUBJECT, HOSTILE_FROM, HOSTILE_TITLE):
            assert raw not in body
        assert "<script>document.title" not in body
        assert "<img src=x" not in body
        assert "<svg onload" not in body and "<b onmouseover" not in body
        assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in body
        assert "&lt;img src=x onerror=&#34;document.title=&#39;PWNED&#39;&#34;&gt;" in body
        # ANSI escapes and the right-to-left override show as visible escapes
        assert "\x1b" not in body and "\u202e" not in body and "\u2066" not in body
        assert "\\x1b[31mMERAH" in body
        assert "\\u202eabc.exe" in body
    case = client.get("/board/kasus/2026-6666").body
    assert "Kepala Dinas &lt;svg onload=&#34;document.body.innerHTML=&#39;PWNED&#39;&#34;&gt;" in case


def test_a_ledger_that_cannot_be_opened_gives_503_and_a_log_line(tmp_path: Path) -> None:
    from bridge.errors import ConfigurationError

    def broken() -> Any:
        raise ConfigurationError("ledger gone")

    board = Board(broken, load_sop_mappings(MAPPINGS).sop, SecretStr(TOKEN))
    client = Client(board, [0.0])
    with capture_logs() as logs:
        answer = client.get("/board/")
    assert answer.status == 503
    assert "Ledger tidak dapat dibaca" in answer.body
    assert logs[-1]["event"] == "board.ledger_unavailable"



# --- the setting -------------------------------------------------------------------------------


def test_the_board_token_must_be_long_and_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.config.settings import load_settings
    from bridge.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        load_settings(board_token="kurang-7")
    assert "BRIDGE_BOARD_TOKEN" in str(caught.value)
    assert "16 characters" in str(caught.value)
    assert "kurang-7" not in str(caught.value)
    assert load_settings(board_token="").board_token is None  # empty: the board is off
    assert load_settings().board_token is None


def test_the_redactor_knows_the_board_token(tmp_path: Path) -> None:
    from bridge.bootstrap import build
    from bridge.config.settings import load_settings

    bridge = build(load_settings(board_token=TOKEN, data_dir=tmp_path, mappings_dir=MAPPINGS))
    try:
        assert bridge.redactor.scrub(f"x{TOKEN}y") == "x<redacted>y"
    finally:
        bridge.close()


def test_jinja2_is_loaded_only_when_the_board_is_on() -> None:
    import subprocess
    import sys

    code = "import sys, bridge.entrypoints.cli; print('jinja2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "False"


def test_times_show_in_the_local_zone(tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    path = tmp_path / "ledger.sqlite3"
    seed(path).close()
    board = Board(lambda: open_ledger(f"sqlite:///{path}"), load_sop_mappings(MAPPINGS).sop,
                  SecretStr(TOKEN), zone=ZoneInfo("Asia/Jakarta"))
    body = Client(board, [0.0]).get("/board/kasus/2026-1001").body
    # step 1 of case 1001 was reached at 2026-11-03 10:00 UTC (see tests/board_data.py)
    assert "2026-11-03 17:00" in body
    assert "2026-11-03 10:00" not in body


# --- the shared service --------------------------------------------------------------------------


def test_find_cases_gives_one_page_and_the_counts_of_all(tmp_path: Path) -> None:
    from bridge.services.case_view import case_lines, find_cases

    ledger = seed(tmp_path / "l.sqlite3")
    try:
        every = [line["case_id"] for line in case_lines(ledger)]
        page = find_cases(ledger, offset=2, limit=3)
        assert [line["case_id"] for line in page.lines] == every[2:5]
        assert (page.total, page.overdue) == (7, 2)
        overdue = find_cases(ledger, overdue=True, limit=1)
        assert (len(overdue.lines), overdue.total, overdue.overdue) == (1, 2, 2)
        found = find_cases(ledger, query="  DINAS   kesehatan ", limit=1)
        assert (len(found.lines), found.total, found.overdue) == (1, 1, 1)
        assert found.lines[0]["case_id"] == "2026-1002"
    finally:
        ledger.close()


@pytest.mark.parametrize(("query", "expected"), [
    ("onerror=\"document.title='PWNED'\"", ["2026-6666"]),  # a quote: no pre-filter on it
    ("\u202eabc.exe", ["2026-6666"]),  # a bidi control, as stored
    ("MERAH\x1b[0m", ["2026-6666"]),  # an escape character, as stored
    ("ciputat kecamatan", []),  # the words, but not as a phrase
    ("kecamatan ciputat", ["2026-1005"]),
])
def test_search_finds_text_that_json_escapes(tmp_path: Path, query: str,
                                                    expected: list[str]) -> None:
    from bridge.services.case_view import find_cases

    ledger = seed(tmp_path / "l.sqlite3")
    try:
        assert [line["case_id"] for line in find_cases(ledger, query=query).lines] == expected
    finally:
        ledger.close()


def test_a_page_past_the_end_shows_the_last_page(client: Client) -> None:
    answer = client.get("/board/", "halaman=99")
    assert answer.status == 200
    assert len(case_ids(answer.body)) == 7


@pytest.mark.parametrize("query", ["halaman=" + "9" * 5000, "langkah=" + "1" * 5000])
def test_absurdly_long_numbers_are_a_400_not_a_crash(client: Client, query: str) -> None:
    assert client.get("/board/", query).status == 400


def test_the_ledger_pages_and_counts_cases(ledger: Any) -> None:
    from tests.board_data import seed_into

    seed_into(ledger)
    every = [row.case_id for row in ledger.list_cases()]
    assert len(every) == 7
    assert [row.case_id for row in ledger.list_cases(limit=3, offset=2)] == every[2:5]
    assert [row.case_id for row in ledger.list_cases(limit=3, offset=6)] == every[6:]
    assert ledger.list_cases(limit=3, offset=7) == []
    assert ledger.count_cases() == (7, 2)
    assert ledger.count_cases(step=3) == (3, 1)
    assert ledger.count_cases(overdue=True) == (2, 2)
    assert ledger.count_cases(step=1, overdue=True) == (0, 0)
    assert [row.case_id for row in ledger.list_cases(step=3, limit=1)] == [
        row.case_id for row in ledger.list_cases(step=3)][:1]


def test_a_broken_case_document_is_a_logged_500_and_the_list_goes_on(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "ledger.sqlite3"
    seed(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE cases SET data = '{\"case_id\": 1}' WHERE case_id = '2026-1001'")
    board = Board(lambda: open_ledger(f"sqlite:///{path}"), load_sop_mappings(MAPPINGS).sop,
                  SecretStr(TOKEN))
    client = Client(board, [0.0])
    with capture_logs() as logs:
        answer = client.get("/board/kasus/2026-1001")
    assert answer.status == 500
    assert "Traceback" not in answer.body
    failed = [e for e in logs if e["event"] == "board.page_failed"]
    assert failed and "KeyError" in failed[0]["reason"]
    assert client.get("/board/kasus/2026-1002").status == 200
