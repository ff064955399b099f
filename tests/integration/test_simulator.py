"""The simulated Sisumaker over real HTTP: contract quirks, auth, paging, admin API, faults."""

from __future__ import annotations

import base64
import json
import math
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from bridge.simulator import SimServer, SimState, generate
from bridge.simulator.state import DEFAULT_PASSWORD, DEFAULT_USERNAME

pytestmark = pytest.mark.integration

D25, D26 = "/surattangsel25", "/surattangsel26"
NOW = datetime(2026, 1, 12, 10, 0, 0)
LETTER_KEYS = [
    "id_persuratan", "id_compose", "asal_surat", "pengirim", "perihal", "nomor_surat",
    "tgl_dibuat", "tgl_diterimaTU", "tgl_dikirim", "n_sifatsurat", "id_sifatsurat",
    "status_dibaca", "status_setujui", "photo", "filter_by",
]  # fmt: skip
DISPOSITION_KEYS = [
    "id_disposisi", "id_persuratan", "dari_pegawai_id", "dari_jabatan", "kepada_pegawai_id",
    "kepada_jabatan", "isi_disposisi", "tgl_disposisi", "status_baca",
]  # fmt: skip


@pytest.fixture
def state() -> SimState:
    return SimState(years=[2025, 2026])


@pytest.fixture
def server(state: SimState) -> Iterator[SimServer]:
    with SimServer(state) as running:
        yield running


@pytest.fixture
def client(server: SimServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as http:
        yield http


def login(client: httpx.Client, directory: str = D26) -> str:
    answer = client.post(
        f"{directory}/api/auth", json={"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}
    )
    assert answer.status_code == 200
    token: str = answer.json()["id_token"]
    return token


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def add_letters(state: SimState, stamps: list[str], year: int = 2026) -> list[str]:
    return [
        state.add_letter(year, tgl_dibuat=stamp, perihal=f"surat {i}")
        for i, stamp in enumerate(stamps)
    ]


# -- discovery and auth ----------------------------------------------------------------------------


def test_discovery_answers_base_url_and_year_directories(
    server: SimServer, client: httpx.Client
) -> None:
    assert client.get("/api/auth/cekApi").json() == {"link": server.url}
    domain = client.get("/api/auth/domain")
    assert domain.headers["content-type"] == "application/json"
    assert domain.json() == {"dir25": D25, "dir26": D26}


def test_login_issues_a_jwt_with_string_ids_and_a_30_day_life(client: httpx.Client) -> None:
    answer = client.post(
        f"{D26}/api/auth", json={"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}
    )
    body = answer.json()
    assert (answer.status_code, body["status"], body["messages"]) == (200, 1, "Login berhasil")
    claims = claims_of(body["id_token"])
    for name in (
        "auth_id",
        "pegawai_id",
        "username",
        "username_p",
        "skpd_id",
        "tmunitkerja_id",
        "realname",
    ):
        assert isinstance(claims[name], str)
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600
    assert claims["dir"] == D26


def test_wrong_credentials_answer_401(client: httpx.Client) -> None:
    answer = client.post(
        f"{D26}/api/auth", json={"username": DEFAULT_USERNAME, "password": "salah"}
    )
    assert answer.status_code == 401
    assert answer.json() == {"status": 0, "messages": "Username atau password salah"}


def test_token_is_sent_raw_and_only_valid_in_its_own_directory(client: httpx.Client) -> None:
    token = login(client, D26)
    path = "/api/suratmasuk/filter"
    assert client.get(f"{D26}{path}", headers={"Authorization": token}).status_code == 200
    refused = [
        client.get(f"{D26}{path}"),
        client.get(f"{D26}{path}", headers={"Authorization": f"Bearer {token}"}),
        client.get(f"{D26}{path}", headers={"Authorization": token[:-2] + "xx"}),
        client.get(f"{D25}{path}", headers={"Authorization": token}),
    ]
    assert [answer.status_code for answer in refused] == [401] * 4
    assert refused[-1].json() == {"status": 0, "messages": "Token tidak valid"}


def test_revoked_and_expired_tokens_answer_401(state: SimState, client: httpx.Client) -> None:
    token = login(client)
    path = f"{D26}/api/disposisi/filter"
    assert client.post("/_sim/tokens/revoke").json() == {"revoked": 1}
    assert client.get(path, headers={"Authorization": token}).status_code == 401
    assert client.get(path, headers={"Authorization": login(client)}).status_code == 200
    state.configure(token_ttl=0)  # tokens born expired
    assert client.get(path, headers={"Authorization": login(client)}).status_code == 401


def test_unknown_paths_and_directories_answer_404(client: httpx.Client) -> None:
    for path in ("/nope", "/surattangsel99/api/auth", f"{D26}/api/suratmasuk/list"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert answer.json() == {"status": 0, "messages": "Not found"}


# -- lists -----------------------------------------------------------------------------------------


def test_letter_list_carries_the_real_envelope_quirks(
    state: SimState, client: httpx.Client
) -> None:
    generate(state, letters=30, seed=3, now=NOW)
    answer = client.get(
        f"{D26}/api/suratmasuk/filter",
        params={"per_page": 20, "page": 1},
        headers={"Authorization": login(client)},
    )
    body = answer.json()
    assert body["status"] == 1
    assert body["page"] == "1"
    assert isinstance(body["total_page"], float)
    assert "Filter by " in body
    total = body["Total Surat"]
    assert body["total_page"] == math.ceil(total / 20)
    letter = body["data"][0]
    assert list(letter) == LETTER_KEYS
    assert isinstance(letter["id_persuratan"], str)
    datetime.strptime(letter["tgl_dibuat"], "%Y-%m-%d %H:%M:%S")
    datetime.strptime(letter["tgl_dikirim"], "%d-%m-%Y")


def test_disposition_list_envelope_and_fields(state: SimState, client: httpx.Client) -> None:
    letter_id = state.add_letter(2026, tgl_dibuat="2026-01-05 08:00:00")
    state.add_disposition(2026, id_persuratan=letter_id, tgl_disposisi="2026-01-05 09:00:00")
    body = client.get(
        f"{D26}/api/disposisi/filter", headers={"Authorization": login(client)}
    ).json()
    assert (body["page"], body["total_page"], body["Total Disposisi"]) == ("1", 1.0, 1)
    assert list(body["data"][0]) == DISPOSITION_KEYS
    assert body["data"][0]["id_persuratan"] == letter_id


def test_pages_are_newest_first_with_ties_broken_by_id(
    state: SimState, client: httpx.Client
) -> None:
    stamps = [f"2026-01-{day:02d} 09:00:00" for day in range(1, 24)] + ["2026-01-10 09:00:00"] * 2
    add_letters(state, stamps)
    expected = [
        item["id_persuratan"]
        for item in sorted(
            state.letters(2026),
            key=lambda i: (i["tgl_dibuat"], int(i["id_persuratan"])),
            reverse=True,
        )
    ]
    token = login(client)
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        body = client.get(
            f"{D26}/api/suratmasuk/filter",
            params={"per_page": 10, "page": page},
            headers={"Authorization": token},
        ).json()
        seen += [item["id_persuratan"] for item in body["data"]]
        assert body["total_page"] == 3.0
    assert seen == expected
    assert len(seen) == 25


def test_per_page_is_clamped_and_defaults_to_10(state: SimState, client: httpx.Client) -> None:
    add_letters(state, [f"2026-01-01 08:{minute:02d}:00" for minute in range(30)])
    token = login(client)

    def page(**params: Any) -> dict[str, Any]:
        answer = client.get(
            f"{D26}/api/suratmasuk/filter", params=params, headers={"Authorization": token}
        )
        result: dict[str, Any] = answer.json()
        return result

    assert len(page()["data"]) == 10
    assert (len(page(per_page=500)["data"]), page(per_page=500)["total_page"]) == (30, 1.0)
    assert (len(page(per_page=0)["data"]), page(per_page=0)["total_page"]) == (1, 30.0)
    assert page(per_page=10, page=4)["data"] == []
    state.configure(fractional_total_page=True)
    assert page(per_page=20)["total_page"] == 1.5


def test_letters_change_in_place(state: SimState, client: httpx.Client) -> None:
    [letter_id] = add_letters(state, ["2026-01-02 10:00:00"])
    token = login(client)
    path = f"{D26}/api/suratmasuk/filter"
    assert (
        client.get(path, headers={"Authorization": token}).json()["data"][0]["tgl_diterimaTU"]
        is None
    )
    state.update_letter(2026, letter_id, tgl_diterimaTU="2026-01-02 13:00:00", status_dibaca="1")
    item = client.get(path, headers={"Authorization": token}).json()["data"][0]
    assert (item["tgl_diterimaTU"], item["status_dibaca"]) == ("2026-01-02 13:00:00", "1")


# -- admin API -------------------------------------------------------------------------------------


def test_admin_api_drives_the_state(state: SimState, client: httpx.Client) -> None:
    letter_id = client.post(
        "/_sim/letters",
        json={"year": 26, "perihal": "Permohonan", "tgl_dibuat": "2026-01-03 09:00:00"},
    ).json()["id"]
    disposition_id = client.post(
        "/_sim/dispositions", json={"year": 2026, "id_persuratan": letter_id}
    ).json()["id"]
    patched = client.patch(
        f"/_sim/letters/26/{letter_id}", json={"tgl_diterimaTU": "2026-01-03 10:00:00"}
    )
    assert patched.json()["tgl_diterimaTU"] == "2026-01-03 10:00:00"
    assert state.letter(2026, letter_id)["perihal"] == "Permohonan"
    assert client.post("/_sim/letters", json={"year": 26, "perihla": "typo"}).status_code == 400
    assert client.delete(f"/_sim/dispositions/26/{disposition_id}").status_code == 200
    assert client.delete(f"/_sim/letters/26/{letter_id}").status_code == 200
    assert client.delete(f"/_sim/letters/26/{letter_id}").status_code == 404
    assert client.post("/_sim/years", json={"year": 2027}).json() == {"dir": "/surattangsel27"}
    assert "dir27" in client.get("/api/auth/domain").json()
    stats = client.get("/_sim/stats").json()
    assert stats["years"]["2026"]["letters"] == 0
    assert stats["requests"]["GET /api/auth/domain"] == 1
    client.post("/_sim/stats/reset")
    assert client.get("/_sim/stats").json()["requests"] == {}


# -- pushing ---------------------------------------------------------------------------------------


def test_posts_are_not_idempotent(state: SimState, client: httpx.Client) -> None:
    [letter_id] = add_letters(state, ["2026-01-02 10:00:00"])
    headers = {"Authorization": login(client)}
    note = {"status": "diterima", "catatan": "Kasus dibuka", "ref": "case-1:step-3"}
    path = f"{D26}/api/suratmasuk/{letter_id}/tindaklanjut"
    first = client.post(path, json=note, headers=headers).json()
    second = client.post(path, json=note, headers=headers).json()
    assert first["status"] == second["status"] == 1
    assert first["id_tindaklanjut"] != second["id_tindaklanjut"]
    listed = client.get(path, headers=headers).json()["data"]
    assert [item["ref"] for item in listed] == ["case-1:step-3"] * 2
    missing = client.post(f"{D26}/api/suratmasuk/999999/tindaklanjut", json=note, headers=headers)
    assert (missing.status_code, missing.json()["messages"]) == (404, "Surat tidak ditemukan")

    draft = {
        "jenis_surat": "undangan", "tujuan": "Dinas Kesehatan", "perihal": "Undangan rapat",
        "isi": "...", "tgl_acara": "2026-01-20 09:00", "tempat": "Ruang Rapat PTIKP",
        "penandatangan_jabatan": "Kabid PTIKP", "id_persuratan_rujukan": letter_id,
        "ref": "case-1:step-4",
    }  # fmt: skip
    ids = {
        client.post(f"{D26}/api/suratkeluar", json=draft, headers=headers).json()["id_compose"]
        for _ in range(2)
    }
    assert len(ids) == 2
    found = client.get(
        f"{D26}/api/suratkeluar/filter", params={"ref": "case-1:step-4"}, headers=headers
    ).json()
    assert len(found["data"]) == 2
    incomplete = client.post(
        f"{D26}/api/suratkeluar", json={**draft, "tujuan": " "}, headers=headers
    )
    assert (incomplete.status_code, incomplete.json()["status"]) == (422, 0)
    assert client.get("/_sim/pushed").json()["counts_by_ref"] == {
        "case-1:step-3": 2,
        "case-1:step-4": 2,
    }


# -- faults ----------------------------------------------------------------------------------------


def test_truncate_fault_cuts_a_200_body_in_half(state: SimState, client: httpx.Client) -> None:
    add_letters(state, ["2026-01-02 10:00:00"])
    token = login(client)
    assert client.post("/_sim/faults", json={"truncate_rate": 1.0, "seed": 5}).status_code == 200
    answer = client.get(f"{D26}/api/suratmasuk/filter", headers={"Authorization": token})
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)
    assert client.get("/_sim/stats").json()["faults"] == {"truncate": 1}  # admin never faulted
    client.post("/_sim/faults", json={})
    assert (
        client.get(f"{D26}/api/suratmasuk/filter", headers={"Authorization": token}).json()[
            "status"
        ]
        == 1
    )


def test_error_rate_limit_and_drop_faults(client: httpx.Client) -> None:
    client.post("/_sim/faults", json={"error_rate": 1.0, "error_codes": [503]})
    assert client.get("/api/auth/cekApi").status_code == 503
    client.post("/_sim/faults", json={"rate_limit_rate": 1.0, "retry_after": 7})
    limited = client.get("/api/auth/cekApi")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
    client.post("/_sim/faults", json={"drop_rate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/api/auth/cekApi")
    assert client.post("/_sim/faults", json={"drop_rate": 2}).status_code == 400


def test_post_timeout_fault_creates_but_fails_the_answer(
    state: SimState, client: httpx.Client
) -> None:
    [letter_id] = add_letters(state, ["2026-01-02 10:00:00"])
    headers = {"Authorization": login(client)}
    state.set_faults(post_timeout_after_create_rate=1.0, post_timeout_action="drop")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(
            f"{D26}/api/suratmasuk/{letter_id}/tindaklanjut",
            json={"status": "x", "ref": "r"},
            headers=headers,
        )
    assert [note["ref"] for note in state.notes(2026, letter_id)] == ["r"]


def test_post_timeout_sleep_outlasts_the_client_and_stop_wakes_it(state: SimState) -> None:
    [letter_id] = add_letters(state, ["2026-01-02 10:00:00"])
    state.set_faults(post_timeout_after_create_rate=1.0, post_timeout_action="sleep",
                     post_timeout_sleep_ms=60_000)  # fmt: skip
    with SimServer(state) as server, httpx.Client(base_url=server.url, timeout=0.3) as http:
        headers = {"Authorization": login(http)}
        with pytest.raises(httpx.ReadTimeout):
            http.post(
                f"{D26}/api/suratmasuk/{letter_id}/tindaklanjut",
                json={"status": "x"},
                headers=headers,
            )
        assert len(state.notes(2026, letter_id)) == 1
    # Leaving the block stopped the server although a handler was still asleep.


def test_search_1_lists_unread_letters(state: SimState, client: httpx.Client) -> None:
    read, unread = add_letters(state, ["2026-01-02 10:00:00", "2026-01-02 11:00:00"])
    state.update_letter(2026, read, status_dibaca="1")
    body = client.get(
        f"{D26}/api/suratmasuk/filter",
        params={"search": "1"},
        headers={"Authorization": login(client)},
    ).json()
    assert ([item["id_persuratan"] for item in body["data"]], body["Total Surat"]) == ([unread], 1)


# -- generated data and the command line -----------------------------------------------------------


def test_generate_is_deterministic_and_meets_the_disposition_count() -> None:
    first, second = SimState(years=[]), SimState(years=[])
    summary = generate(first, letters=200, dispositions=450, seed=9, now=NOW)
    generate(second, letters=200, dispositions=450, seed=9, now=NOW)
    assert (summary.letters, summary.dispositions) == (200, 450)
    assert set(summary.by_year) == {2025, 2026}  # six weeks back from 12 January
    for year in (2025, 2026):
        assert first.letters(year) == second.letters(year)
        assert first.dispositions(year) == second.dispositions(year)
    stamps = [item["tgl_disposisi"] for year in (2025, 2026) for item in first.dispositions(year)]
    assert max(stamps) <= NOW.strftime("%Y-%m-%d %H:%M:%S")
    assert summary.requests > 0


def test_command_line_prints_the_url_and_stops_on_sigterm() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "bridge.simulator", "--letters", "20", "--years", "25,26"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("SIMULATOR_URL=http://127.0.0.1:")
        with httpx.Client(base_url=line.split("=", 1)[1]) as http:
            assert http.get("/api/auth/domain").json() == {"dir25": D25, "dir26": D26}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0


# -- the second deployment shape -------------------------------------------------------------


def test_the_alt_shape_serves_the_same_letters_in_its_own_shape(state: SimState) -> None:
    generate(state, letters=30, seed=2)
    year = max(state.years)
    with SimServer(state, shape="alt") as sim, httpx.Client(base_url=sim.url) as http:
        base = f"/surattangsel{year % 100:02d}"
        refused = http.post(f"{base}/api/auth", json={"username": DEFAULT_USERNAME,
                                                      "password": DEFAULT_PASSWORD})
        assert refused.status_code == 401 and refused.json()["meta"]["status"] == "error"
        login = http.post(f"{base}/api/auth", data={"username": DEFAULT_USERNAME,
                                                    "password": DEFAULT_PASSWORD}).json()
        token = login["data"]["access_token"]
        assert login["data"]["expires_in"] > 0 and not token.startswith("eyJ")
        assert http.get(f"{base}/api/suratmasuk/filter",
                        headers={"Authorization": token}).status_code == 401
        seen: list[Any] = []
        url: str | None = f"{base}/api/suratmasuk/filter?limit=7"
        while url is not None and len(seen) < 100:
            answer = http.get(url, headers={"X-Auth-Token": token})
            assert answer.json()["meta"]["status"] == "success"
            seen.extend(answer.json()["result"]["items"])
            url = answer.links.get("next", {}).get("url")
        assert seen == [sim.served(item) for item in state.letters(year)]
        assert seen[0]["tgl_dibuat"].endswith("+07:00") and isinstance(seen[0]["id_persuratan"],
                                                                      int)
    with SimServer(state, shape="alt", offset_dates=False) as naive:
        assert "+" not in naive.served(state.letters(year)[0])["tgl_dibuat"]
    with pytest.raises(ValueError, match="valid: contract, alt"):
        SimServer(state, shape="v3")
