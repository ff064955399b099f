"""The case board in a real headless chromium, served by a real ``bridge run`` process.

Hostile subjects, senders and job titles come from the simulated Sisumaker, go through a real
sync into a real SQLite ledger, and are shown by the board: no script may run (the title, the
DOM and the page's own log say so) and the text must show as text. The browser signs in through
the login form like a person, keeps the session cookie, and takes screenshots of the list and of
a case page, on a phone and on a desktop screen.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bridge.simulator import SimServer, SimState, generate
from tests.board_data import TOKEN
from tests.cdp import Chromium
from tests.integration.conftest import bridge_env
from tests.integration.test_ops import Daemon, free_port, wait_until
from tests.tools import require_tool

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TITLE = "Papan Kasus - Layanan Pengembangan Aplikasi"
SUBJECT = ("Permohonan Pengembangan Aplikasi <script>document.title='PWNED'</script>"
           "<img src=x onerror=\"document.title='PWNED'\"> \x1b[31mMERAH\x1b[0m \u202eexe.fdp")
SENDER = "Dinas <b onmouseover=\"document.title='PWNED'\">Kesehatan</b> \x1b]0;judul\x07"
HEAD_TITLE = "Kepala Dinas <svg onload=\"document.body.innerHTML='PWNED'\"></svg>"
IT_HEAD_TITLE = "Kabid PTIKP <img src=x onerror=\"document.title='PWNED'\">"
# Screenshots for the note; a test run also leaves them in its tmp directory.
SCREENSHOTS = os.environ.get("BRIDGE_SCREENSHOT_DIR")


@dataclass
class Served:
    base: str
    case_id: str
    shots: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_tool("chromium", "chromium")
    state = SimState()
    generate(state, letters=80, seed=14)
    year = state.now().year
    letter = state.add_letter(year, perihal=SUBJECT, asal_surat=SENDER)
    state.add_disposition(year, id_persuratan=letter, dari_jabatan="Sekretaris Dinas",
                          kepada_jabatan=HEAD_TITLE, isi_disposisi="<i>mohon arahan</i>")
    state.add_disposition(year, id_persuratan=letter, dari_jabatan=HEAD_TITLE,
                          kepada_jabatan=IT_HEAD_TITLE, isi_disposisi="Tindak lanjuti")
    cwd = tmp_path_factory.mktemp("board")
    port = free_port()
    with SimServer(state) as sim:
        env = bridge_env(sim, cwd / "data", BRIDGE_METRICS_PORT=str(port),
                         BRIDGE_METRICS_HOST="127.0.0.1", BRIDGE_BOARD_TOKEN=TOKEN,
                         BRIDGE_POLL_INTERVAL="3600")
        running = Daemon(["run"], env, cwd)
        try:
            running.wait_for("sync.summary", timeout=90)
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: httpx.get(f"{base}/readyz", timeout=5).status_code == 200, 30,
                       "/readyz")
            yield Served(base, f"{year}-{letter}", cwd / "screenshots")
        finally:
            assert running.stop() == 0
            assert TOKEN not in running.stdout + running.stderr


@pytest.fixture(scope="module")
def browser(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    chromium = Chromium(require_tool("chromium", "chromium"),
                        tmp_path_factory.mktemp("chromium") / "profile")
    try:
        yield chromium
    finally:
        chromium.close()


def sign_in(browser: Chromium, base: str) -> bool:
    """Type the token into the form and press Enter, as a person would; False if signed in."""
    browser.navigate(f"{base}/board/")  # redirected to the form without a session
    if browser.evaluate("location.pathname") == "/board/":
        return False
    assert browser.evaluate("location.pathname") == "/board/login"
    root = browser.page("DOM.getDocument")["root"]["nodeId"]
    field = browser.page("DOM.querySelector", nodeId=root, selector="#token")["nodeId"]
    browser.page("DOM.focus", nodeId=field)
    browser.page("Input.insertText", text=TOKEN)
    mark = len(browser.events)
    for kind in ("keyDown", "keyUp"):
        browser.page("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                     windowsVirtualKeyCode=13, text="\r")
    browser.wait_for_event("Page.loadEventFired", mark)
    assert browser.evaluate("location.pathname") == "/board/"
    return True


def assert_nothing_ran(browser: Chromium) -> None:
    assert browser.evaluate("document.title") == TITLE
    assert browser.evaluate("document.body.innerText").strip() != "PWNED"
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.querySelectorAll('img, svg, iframe, object').length") == 0
    handlers = browser.evaluate(
        "[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
        ".some(a => a.name.startsWith('on'))).length")
    assert handlers == 0
    errors = [e for e in browser.events if e.get("method") in
              ("Runtime.exceptionThrown", "Runtime.consoleAPICalled")]
    assert errors == []


def save(browser: Chromium, served: Served, name: str, *, full_page: bool = True) -> Path:
    served.shots.mkdir(exist_ok=True)
    path = browser.screenshot(served.shots / name, full_page=full_page)
    assert path.stat().st_size > 5000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SCREENSHOTS) / name)
    return path


def test_the_browser_signs_in_once_and_keeps_an_httponly_strict_cookie(
        served: Served, browser: Chromium) -> None:
    assert sign_in(browser, served.base)
    cookies = browser.page("Network.getCookies", urls=[f"{served.base}/board/"])["cookies"]
    session = [c for c in cookies if c["name"] == "bridge_board"]
    assert len(session) == 1
    assert session[0]["httpOnly"] is True
    assert session[0]["sameSite"] == "Strict"
    assert session[0]["path"] == "/board"
    assert TOKEN not in session[0]["value"]
    # the cookie is invisible to page script, and the next page needs no token
    assert browser.evaluate("document.cookie") == ""
    browser.navigate(f"{served.base}/board/?terlambat=1")
    assert browser.evaluate("location.pathname") == "/board/"


def test_the_list_shows_hostile_text_as_text_and_runs_nothing(
        served: Served, browser: Chromium) -> None:
    sign_in(browser, served.base)
    browser.viewport(390, 844, mobile=True)
    browser.navigate(f"{served.base}/board/")
    assert_nothing_ran(browser)
    text = browser.evaluate("document.body.innerText")
    assert "<script>document.title='PWNED'</script>" in text
    assert "<img src=x onerror=\"document.title='PWNED'\">" in text
    assert "\\x1b[31mMERAH" in text and "\x1b" not in text
    assert "\\u202eexe.fdp" in text and "\u202e" not in text
    assert "<b onmouseover=" in text
    answers = [e["params"]["response"] for e in browser.events
               if e.get("method") == "Network.responseReceived"
               and e["params"]["response"]["url"] == f"{served.base}/board/"]
    headers = {k.lower(): v for k, v in answers[-1]["headers"].items()}
    assert "script-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    rows = browser.evaluate("document.querySelectorAll('table.cases tbody tr').length")
    assert rows > 10
    dom = browser.dom()
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    (served.shots.parent / "list.html").write_text(dom, encoding="utf-8")
    # readable on a phone: nothing wider than the screen
    assert browser.evaluate("document.documentElement.scrollWidth") <= 390
    save(browser, served, "board-list-phone.png", full_page=False)
    browser.viewport(1280, 900, mobile=False)
    browser.navigate(f"{served.base}/board/")
    assert_nothing_ran(browser)
    save(browser, served, "board-list-desktop.png")


def test_filters_and_search_work_in_the_browser(served: Served, browser: Chromium) -> None:
    sign_in(browser, served.base)
    browser.navigate(f"{served.base}/board/?langkah=3")
    steps = browser.evaluate("[...document.querySelectorAll('table.cases .step')]"
                             ".map(e => e.textContent)")
    assert steps and set(steps) == {"3"}
    browser.navigate(f"{served.base}/board/?cari=%3Cb+ONMOUSEOVER")
    links = browser.evaluate("[...document.querySelectorAll('table.cases a')]"
                             ".map(a => a.textContent)")
    assert links == [served.case_id]
    assert browser.evaluate("document.querySelector('input[name=cari]').value") == "<b ONMOUSEOVER"


def test_a_case_page_shows_the_timeline_and_hostile_job_titles_as_text(
        served: Served, browser: Chromium) -> None:
    sign_in(browser, served.base)
    browser.viewport(390, 844, mobile=True)
    browser.navigate(f"{served.base}/board/kasus/{served.case_id}")
    assert_nothing_ran(browser)
    states = browser.evaluate("[...document.querySelectorAll('ol.timeline li')]"
                              ".map(li => li.className)")
    assert len(states) == 17
    assert states[:3] in (["st-done"] * 3, ["st-done", "st-done", "st-done_late"],
                          ["st-done", "st-done_late", "st-done"],
                          ["st-done", "st-done_late", "st-done_late"])
    assert states[3] in ("st-due", "st-overdue")
    assert set(states[4:]) == {"st-not_yet"}
    text = browser.evaluate("document.body.innerText")
    assert HEAD_TITLE in text  # the step-3 disposition's sender, shown as typed
    assert re.search(r"sb-\d\d-\d+-note-1", text)  # its pushes
    assert browser.evaluate("document.documentElement.scrollWidth") <= 390
    (served.shots.parent / "case.html").write_text(browser.dom(), encoding="utf-8")
    save(browser, served, "board-case-phone.png", full_page=False)
    browser.viewport(1280, 900, mobile=False)
    browser.navigate(f"{served.base}/board/kasus/{served.case_id}")
    assert_nothing_ran(browser)
    save(browser, served, "board-case-desktop.png")
