"""SisumakerClient against a respx-mocked server: login, retries, envelopes, logs."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import respx
import structlog
from pydantic import SecretStr
from structlog.testing import capture_logs

from bridge.adapters.sisumaker.client import RetryPolicy, SisumakerClient, parse_domain
from bridge.adapters.sisumaker.token import Token
from bridge.config.profile import (
    CursorPaging,
    NextLinkPaging,
    PagePaging,
    Profile,
    load_profile,
)
from bridge.domain.items import ListKind, YearDir
from bridge.errors import (
    AuthenticationError,
    BridgeError,
    FatalApiError,
    RateLimitedApiError,
    RefusedApiError,
    RetriableApiError,
)
from bridge.logs import Redactor, configure_logging

BASE = "https://sisu.test"
MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
USERNAME = "svc-diskominfo"
PASSWORD = "Pw-9f3kQ!zz-sisu"
Y25 = YearDir(2025, "/surattangsel25")
Y26 = YearDir(2026, "/surattangsel26")
SURAT_26 = "/surattangsel26/api/suratmasuk/filter"
LOGIN_25 = "/surattangsel25/api/auth"
LOGIN_26 = "/surattangsel26/api/auth"
DAY = 86400

# RetryPolicy uses tenacity's deprecated ``initial=`` (a bug reported by
# test_retry_policy_uses_no_deprecated_tenacity_api); keep the other tests about behaviour.
_KEY = "unit-test-signing-key-32-bytes!!"
_serial = itertools.count(1)


def make_jwt(*, exp_in: float = 30 * DAY) -> str:
    """A real HS256 JWT with Sisumaker's claims; each call gives a different token."""
    now = int(time.time())
    claims = {
        "auth_id": "41", "pegawai_id": "1207", "username": USERNAME, "username_p": "svc",
        "skpd_id": "12", "tmunitkerja_id": "3", "realname": "Layanan TU",
        "iat": now, "exp": int(now + exp_in), "jti": str(next(_serial)),
    }  # fmt: skip
    return jwt.encode(claims, _KEY, algorithm="HS256")


def envelope(items: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": 1,
        "page": "1",
        "total_page": 1.0,
        "Filter by ": "semua",
        "Total Surat": len(items or []),
        "data": items or [],
    }
    body.update(extra)
    return body


def ok_page() -> httpx.Response:
    return httpx.Response(200, json=envelope([{"id_persuratan": "88121"}]))


class FakeTime:
    """A monotonic clock that only moves when the client sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class LoginServer:
    """The login endpoint of one year directory: issues a fresh token on each login."""

    def __init__(self, router: respx.MockRouter, path: str, exp_in: float = 30 * DAY) -> None:
        self.tokens: list[str] = []
        self.bodies: list[Any] = []
        self.exp_in = exp_in
        self.route = router.post(path).mock(side_effect=self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        token = make_jwt(exp_in=self.exp_in)
        self.tokens.append(token)
        return httpx.Response(
            200, json={"status": 1, "messages": "Login berhasil", "id_token": token}
        )

    @property
    def calls(self) -> int:
        return self.route.call_count


@pytest.fixture
def profile() -> Profile:
    return load_profile(MAPPINGS)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def make_client(profile: Profile, fake_time: FakeTime) -> Iterator[Callable[..., SisumakerClient]]:
    clients: list[SisumakerClient] = []

    def make(**overrides: Any) -> SisumakerClient:
        options: dict[str, Any] = {
            "base_url": BASE, "username": USERNAME, "password": SecretStr(PASSWORD),
            "profile": profile, "sleep": fake_time.sleep, "clock": fake_time.clock,
        }  # fmt: skip
        options.update(overrides)
        client = SisumakerClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., SisumakerClient]) -> SisumakerClient:
    return make_client()


def test_retry_policy_uses_no_deprecated_tenacity_api() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        RetryPolicy(max_attempts=3, retry_after_cap=10.0)
    assert [w for w in caught if issubclass(w.category, DeprecationWarning)] == []


# -- year directories -----------------------------------------------------------------------


def test_parse_domain_reads_dir_keys_and_ignores_junk(profile: Profile) -> None:
    body = {
        "dir26": "/surattangsel26",
        "dir18": "/surattangsel18",
        "dir25": "https://sisumaker.tangerangselatankota.go.id/surattangsel25/",
        "link": "https://sisumaker.tangerangselatankota.go.id",
        "dir": "/nothing",
        "dir2026": "/surattangsel2026",
        "dirxx": "/surattangselxx",
        "status": 1,
    }
    assert parse_domain(body, profile) == [
        YearDir(2018, "/surattangsel18"),
        YearDir(2025, "/surattangsel25"),
        YearDir(2026, "/surattangsel26"),
    ]


def test_parse_domain_falls_back_to_the_template_for_an_empty_value(profile: Profile) -> None:
    assert parse_domain({"dir24": "", "dir23": None}, profile) == [
        YearDir(2023, "/surattangsel23"),
        YearDir(2024, "/surattangsel24"),
    ]


def test_year_dirs_over_http_without_a_token(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    route = router.get("/api/auth/domain").respond(
        200, json={"dir25": "/surattangsel25", "dir26": f"{BASE}/surattangsel26", "x": "y"}
    )
    assert client.year_dirs() == [Y25, Y26]
    assert route.call_count == 1
    assert "Authorization" not in route.calls.last.request.headers
    assert client.request_count == 1


def test_year_dirs_refuses_a_non_object_answer(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    router.get("/api/auth/domain").respond(200, json=["dir26"])
    with pytest.raises(FatalApiError, match="JSON object"):
        client.year_dirs()


def test_year_dirs_401_raises_a_bridge_error(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    router.get("/api/auth/domain").respond(401, json={"status": 0, "messages": "Unauthorized"})
    with pytest.raises(FatalApiError):
        client.year_dirs()


# -- login and tokens -----------------------------------------------------------------------


def test_one_login_per_year_directory_with_the_raw_token(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    login25 = LoginServer(router, LOGIN_25)
    login26 = LoginServer(router, LOGIN_26)
    list25 = router.get("/surattangsel25/api/suratmasuk/filter").mock(return_value=ok_page())
    list26 = router.get(SURAT_26).mock(return_value=ok_page())

    client.fetch_page(ListKind.SURAT, Y25, 1)
    client.fetch_page(ListKind.SURAT, Y26, 1)
    client.fetch_page(ListKind.SURAT, Y26, 2)

    assert login25.calls == 1
    assert login26.calls == 1
    assert login25.tokens[0] != login26.tokens[0]
    assert login25.bodies == [{"username": USERNAME, "password": PASSWORD}]
    assert list25.calls.last.request.headers["Authorization"] == login25.tokens[0]
    assert [c.request.headers["Authorization"] for c in list26.calls] == [login26.tokens[0]] * 2
    for call in [*list25.calls, *list26.calls]:
        assert not call.request.headers["Authorization"].lower().startswith("bearer")
    assert client.request_count == 5


def test_401_on_a_list_logs_in_again_once_then_succeeds(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    login = LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).mock(
        side_effect=[
            httpx.Response(401, json={"status": 0, "messages": "Token expired"}),
            ok_page(),
        ]
    )
    page = client.fetch_page(ListKind.SURAT, Y26, 1)
    assert page.items == [{"id_persuratan": "88121"}]
    assert login.calls == 2
    assert listing.call_count == 2
    sent = [c.request.headers["Authorization"] for c in listing.calls]
    assert sent == login.tokens  # the retry carries the fresh token


def test_401_after_the_fresh_login_is_an_authentication_error(
    router: respx.MockRouter, client: SisumakerClient, fake_time: FakeTime
) -> None:
    login = LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).respond(401, json={"status": 0, "messages": "no"})
    with pytest.raises(AuthenticationError, match="401"):
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert login.calls == 2
    assert listing.call_count == 2
    assert fake_time.sleeps == []


def test_valid_token_is_reused(router: respx.MockRouter, client: SisumakerClient) -> None:
    login = LoginServer(router, LOGIN_26, exp_in=30 * DAY)
    router.get(SURAT_26).mock(return_value=ok_page())
    client.fetch_page(ListKind.SURAT, Y26, 1)
    client.fetch_page(ListKind.SURAT, Y26, 2)
    assert login.calls == 1


def test_token_inside_the_refresh_margin_is_renewed_before_the_request(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    client = make_client(token_refresh_margin=300.0)
    login = LoginServer(router, LOGIN_26, exp_in=60)  # expires in 1 min, margin is 5 min
    listing = router.get(SURAT_26).mock(return_value=ok_page())
    client.fetch_page(ListKind.SURAT, Y26, 1)
    client.fetch_page(ListKind.SURAT, Y26, 2)
    assert login.calls == 2
    assert listing.call_count == 2  # no 401 round trip was needed
    assert [c.request.headers["Authorization"] for c in listing.calls] == login.tokens


def test_refused_login_is_an_authentication_error_without_the_password(
    router: respx.MockRouter, client: SisumakerClient, fake_time: FakeTime
) -> None:
    login = router.post(LOGIN_26).respond(
        401, json={"status": 0, "messages": "Username atau password salah"}
    )
    listing = router.get(SURAT_26).mock(return_value=ok_page())
    with pytest.raises(AuthenticationError) as caught:
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(caught.value)
    assert "/surattangsel26" in str(caught.value)
    assert login.call_count == 1
    assert listing.call_count == 0
    assert fake_time.sleeps == []


def test_login_answer_without_a_token_is_an_authentication_error(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    router.post(LOGIN_26).respond(200, json={"status": 1, "messages": "ok"})
    with pytest.raises(AuthenticationError, match="id_token"):
        client.fetch_page(ListKind.SURAT, Y26, 1)


def test_transient_login_failure_is_bounded_by_max_attempts(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=3, retry_after_cap=120.0))
    login = router.post(LOGIN_26).respond(503, json={"status": 0, "messages": "busy"})
    with pytest.raises(RetriableApiError):
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert login.call_count == 3


# -- retries ---------------------------------------------------------------------------------


TRANSIENT = [
    pytest.param(httpx.ConnectError("connection refused"), id="connect-error"),
    pytest.param(httpx.ReadTimeout("read timed out"), id="read-timeout"),
    pytest.param(httpx.Response(429, json={"status": 0, "messages": "slow down"}), id="429"),
    pytest.param(httpx.Response(500, json={"status": 0, "messages": "oops"}), id="500"),
    pytest.param(httpx.Response(502, text="<html>Bad Gateway</html>"), id="502"),
    pytest.param(httpx.Response(503, json={"status": 0, "messages": "busy"}), id="503"),
]


@pytest.mark.parametrize("failure", TRANSIENT)
def test_get_is_retried_on_transient_failures(
    router: respx.MockRouter,
    client: SisumakerClient,
    fake_time: FakeTime,
    failure: Exception | httpx.Response,
) -> None:
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).mock(side_effect=[failure, failure, ok_page()])
    page = client.fetch_page(ListKind.SURAT, Y26, 1)
    assert page.items == [{"id_persuratan": "88121"}]
    assert listing.call_count == 3
    assert len(fake_time.sleeps) == 2
    assert all(0 < s <= 30.0 for s in fake_time.sleeps)
    assert client.retries == 2


@pytest.mark.parametrize("failure", TRANSIENT)
def test_exhausted_attempts_raise_retriable(
    router: respx.MockRouter,
    client: SisumakerClient,
    fake_time: FakeTime,
    failure: Exception | httpx.Response,
) -> None:
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).mock(side_effect=itertools.repeat(failure))
    with pytest.raises(RetriableApiError):
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert listing.call_count == 6  # the default policy: six attempts in all
    assert len(fake_time.sleeps) == 5


def test_max_attempts_is_honoured(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=2, retry_after_cap=120.0))
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).respond(503)
    with pytest.raises(RetriableApiError) as caught:
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert listing.call_count == 2
    assert caught.value.status_code == 503
    assert not isinstance(caught.value, RateLimitedApiError)  # a 503 may hide a write


def test_a_429_says_the_server_took_nothing(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=2, retry_after_cap=120.0))
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).respond(429)
    with pytest.raises(RateLimitedApiError) as caught:
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert listing.call_count == 2  # retried like any transient failure
    assert caught.value.status_code == 429


def test_retry_after_seconds_is_honoured(
    router: respx.MockRouter, client: SisumakerClient, fake_time: FakeTime
) -> None:
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            ok_page(),
        ]
    )
    client.fetch_page(ListKind.SURAT, Y26, 1)
    assert fake_time.sleeps == [7.0]
    assert listing.call_count == 2


def test_retry_after_http_date_is_honoured(
    router: respx.MockRouter, client: SisumakerClient, fake_time: FakeTime
) -> None:
    LoginServer(router, LOGIN_26)
    when = datetime.now(UTC) + timedelta(seconds=45)
    listing = router.get(SURAT_26).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
            ok_page(),
        ]
    )
    client.fetch_page(ListKind.SURAT, Y26, 1)
    assert len(fake_time.sleeps) == 1
    assert 42.0 <= fake_time.sleeps[0] <= 45.0
    assert listing.call_count == 2


def test_retry_after_over_the_cap_is_fatal_and_not_called_again(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient], fake_time: FakeTime
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=6, retry_after_cap=60.0))
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "3600"}),
            ok_page(),
        ]
    )
    with pytest.raises(FatalApiError, match="3600") as caught:
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert not isinstance(caught.value, AuthenticationError)
    assert caught.value.status_code == 503
    assert listing.call_count == 1
    assert fake_time.sleeps == []


def test_next_call_after_an_over_cap_retry_after_does_not_sleep_past_the_cap(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient], fake_time: FakeTime
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=6, retry_after_cap=60.0))
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "3600"}),
            ok_page(),
        ]
    )
    with pytest.raises(FatalApiError):
        client.fetch_page(ListKind.SURAT, Y26, 1)
    with contextlib.suppress(BridgeError):
        client.fetch_page(ListKind.SURAT, Y26, 1)
    # Neither blocked for the hour nor called before the server's time.
    assert max(fake_time.sleeps, default=0.0) <= 60.0
    assert listing.call_count == 1


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_client_errors_are_fatal_and_not_retried(
    router: respx.MockRouter, client: SisumakerClient, fake_time: FakeTime, status: int
) -> None:
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).respond(
        status, json={"status": 0, "messages": f"Parameter salah ({status})"}
    )
    with pytest.raises(RefusedApiError) as caught:  # the server took nothing
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert not isinstance(caught.value, AuthenticationError)
    assert caught.value.status_code == status
    assert f"Parameter salah ({status})" in str(caught.value)
    assert listing.call_count == 1
    assert fake_time.sleeps == []


BAD_BODIES = [
    pytest.param(b'{"status": 1, "page": "1", "data": [{"id_persu', id="truncated-json"),
    pytest.param(b"<html><body><h1>Maintenance</h1></body></html>", id="html"),
]


@pytest.mark.parametrize("content", BAD_BODIES)
def test_unreadable_body_is_retried_then_succeeds(
    router: respx.MockRouter, client: SisumakerClient, content: bytes
) -> None:
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).mock(
        side_effect=[
            httpx.Response(200, content=content, headers={"Content-Type": "text/html"}),
            ok_page(),
        ]
    )
    assert client.fetch_page(ListKind.SURAT, Y26, 1).items == [{"id_persuratan": "88121"}]
    assert listing.call_count == 2


@pytest.mark.parametrize("content", BAD_BODIES)
def test_unreadable_body_every_time_is_retriable(
    router: respx.MockRouter, client: SisumakerClient, content: bytes
) -> None:
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).respond(200, content=content)
    with pytest.raises(RetriableApiError, match="non-JSON"):
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert listing.call_count == 6


def test_corrupt_compressed_body_is_a_retriable_error(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    LoginServer(router, LOGIN_26)
    router.get(SURAT_26).mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip at all")
        )
    )
    with pytest.raises(RetriableApiError):
        client.fetch_page(ListKind.SURAT, Y26, 1)


def test_status_0_in_a_200_is_fatal(
    router: respx.MockRouter, client: SisumakerClient, fake_time: FakeTime
) -> None:
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).respond(
        200, json={"status": 0, "messages": "Data tidak ditemukan"}
    )
    with pytest.raises(RefusedApiError, match="Data tidak ditemukan"):
        client.fetch_page(ListKind.SURAT, Y26, 1)
    assert listing.call_count == 1
    assert fake_time.sleeps == []


# -- envelopes and requests ------------------------------------------------------------------


def test_fetch_page_reads_the_envelope_quirks(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    LoginServer(router, LOGIN_26)
    items = [
        {"id_persuratan": "88121", "tgl_dibuat": "2020-11-26 09:14:02"},
        {"id_persuratan": "88120", "tgl_dibuat": "2020-11-26 08:00:00"},
    ]
    router.get(SURAT_26).respond(
        200,
        json={
            "status": 1,
            "page": "2",
            "total_page": 2.5,
            "Filter by ": "Semua Surat",
            "Total Surat": 123,
            "data": items,
        },
    )
    page = client.fetch_page(ListKind.SURAT, Y26, 2)
    assert page.page == 2
    assert page.total_pages == 3
    assert page.total_items == 123
    assert list(page.items) == items


def test_fetch_page_reads_the_disposition_envelope(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    LoginServer(router, LOGIN_26)
    route = router.get("/surattangsel26/api/disposisi/filter").respond(
        200,
        json={
            "status": 1,
            "page": 1,
            "total_page": "4.0",
            "Total Disposisi": "77",
            "Total Surat": 999,
            "data": [{"id_disposisi": "5"}],
        },
    )
    page = client.fetch_page(ListKind.DISPOSISI, Y26, 1)
    assert (page.page, page.total_pages, page.total_items) == (1, 4, 77)
    assert route.call_count == 1


def test_missing_data_is_an_empty_page(router: respx.MockRouter, client: SisumakerClient) -> None:
    LoginServer(router, LOGIN_26)
    router.get(SURAT_26).respond(200, json={"status": 1, "page": "5", "total_page": 4})
    page = client.fetch_page(ListKind.SURAT, Y26, 5)
    assert list(page.items) == []
    assert page.page == 5
    assert page.total_pages == 4
    assert page.total_items is None


def test_data_that_is_not_a_list_is_fatal(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    LoginServer(router, LOGIN_26)
    router.get(SURAT_26).respond(200, json={"status": 1, "page": "1", "data": {"a": 1}})
    with pytest.raises(FatalApiError, match="data"):
        client.fetch_page(ListKind.SURAT, Y26, 1)


def test_query_parameters_follow_the_shipped_profile(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    LoginServer(router, LOGIN_26)
    listing = router.get(SURAT_26).mock(return_value=ok_page())
    client.fetch_page(ListKind.SURAT, Y26, 3)
    url = listing.calls.last.request.url
    assert url.path == SURAT_26
    assert dict(url.params) == {"per_page": "100", "page": "3"}


def test_a_changed_profile_drives_the_request(
    router: respx.MockRouter, profile: Profile, make_client: Callable[..., SisumakerClient]
) -> None:
    surat = profile.lists[ListKind.SURAT].model_copy(
        update={
            "path": "{dir}/api/v2/masuk",
            "paging": PagePaging(style="page", page_param="halaman", size_param="jumlah",
                                 size=25),
            "params": {"search": "1"},
            "page_path": "hal",
            "total_pages_path": "jml_hal",
            "total_items_path": "jumlah_total",
            "items_path": "isi",
        }
    )
    auth = profile.auth.model_copy(update={"header_format": "Bearer {token}"})
    changed = profile.model_copy(
        update={
            "lists": {**profile.lists, ListKind.SURAT: surat},
            "auth": auth,
        }
    )
    client = make_client(profile=changed)
    login = LoginServer(router, LOGIN_26)
    old = router.get(SURAT_26).mock(return_value=ok_page())
    new = router.get("/surattangsel26/api/v2/masuk").respond(
        200,
        json={
            "status": 1,
            "hal": "4",
            "jml_hal": 6,
            "jumlah_total": 140,
            "isi": [{"x": 1}],
        },
    )
    page = client.fetch_page(ListKind.SURAT, Y26, 4)
    assert old.call_count == 0
    assert new.call_count == 1
    request = new.calls.last.request
    assert dict(request.url.params) == {"search": "1", "jumlah": "25", "halaman": "4"}
    assert request.headers["Authorization"] == f"Bearer {login.tokens[0]}"
    assert (page.page, page.total_pages, page.total_items, list(page.items)) == (
        4,
        6,
        140,
        [{"x": 1}],
    )


def test_a_changed_profile_from_a_mappings_copy(
    tmp_path: Path, router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    text = (MAPPINGS / "sisumaker.toml").read_text(encoding="utf-8")
    text = text.replace('path = "{dir}/api/suratmasuk/filter"', 'path = "{dir}/api/masuk/daftar"')
    text = text.replace('page_param = "page"', 'page_param = "halaman"', 1)
    (tmp_path / "sisumaker.toml").write_text(text, encoding="utf-8")
    client = make_client(profile=load_profile(tmp_path))
    LoginServer(router, LOGIN_26)
    route = router.get("/surattangsel26/api/masuk/daftar").mock(return_value=ok_page())
    client.fetch_page(ListKind.SURAT, Y26, 2)
    assert dict(route.calls.last.request.url.params) == {"per_page": "100", "halaman": "2"}


# -- POST ------------------------------------------------------------------------------------


def test_post_json_sends_once_with_the_token(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    login = LoginServer(router, LOGIN_26)
    path = "/surattangsel26/api/suratmasuk/88121/tindaklanjut"
    route = router.post(path).respond(200, json={"status": 1, "id_tindaklanjut": "9"})
    note = {"status": "diterima", "catatan": "Sedang ditelaah", "ref": "case-1:step-3"}
    assert client.post_json(Y26, path, note) == {"status": 1, "id_tindaklanjut": "9"}
    request = route.calls.last.request
    assert json.loads(request.content) == note
    assert request.headers["Authorization"] == login.tokens[0]


def test_post_json_is_not_retried_on_503(
    router: respx.MockRouter, client: SisumakerClient, fake_time: FakeTime
) -> None:
    LoginServer(router, LOGIN_26)
    path = "/surattangsel26/api/suratkeluar"
    route = router.post(path).mock(
        side_effect=[
            httpx.Response(503, json={"status": 0, "messages": "busy"}),
            httpx.Response(200, json={"status": 1, "id_compose": "1"}),
        ]
    )
    with pytest.raises(RetriableApiError):
        client.post_json(Y26, path, {"jenis_surat": "undangan", "ref": "k"})
    assert route.call_count == 1
    assert fake_time.sleeps == []


def test_post_json_is_not_retried_on_a_timeout(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    LoginServer(router, LOGIN_26)
    path = "/surattangsel26/api/suratkeluar"
    route = router.post(path).mock(side_effect=httpx.ReadTimeout("lost"))
    with pytest.raises(RetriableApiError, match="timed out"):
        client.post_json(Y26, path, {"ref": "k"})
    assert route.call_count == 1


# -- secrets ---------------------------------------------------------------------------------


def _login_401_retry_scenario(router: respx.MockRouter, client: SisumakerClient) -> list[str]:
    login = LoginServer(router, LOGIN_26)
    router.get(SURAT_26).mock(
        side_effect=[
            httpx.Response(401, json={"status": 0, "messages": "Token expired"}),
            httpx.Response(503, json={"status": 0, "messages": "busy"}),
            ok_page(),
        ]
    )
    client.fetch_page(ListKind.SURAT, Y26, 1)
    assert login.calls == 2
    return login.tokens


@pytest.fixture
def restore_logging() -> Iterator[None]:
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    structlog.reset_defaults()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_no_secret_in_the_json_logs(router: respx.MockRouter, client: SisumakerClient) -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", level="DEBUG", stream=stream, redactor=Redactor([PASSWORD]))
    tokens = _login_401_retry_scenario(router, client)
    output = stream.getvalue()
    events = [json.loads(line)["event"] for line in output.splitlines()]
    assert events.count("auth.login") == 2
    assert "http.retry" in events
    assert "auth.token_rejected" in events
    assert PASSWORD not in output
    for token in tokens:
        assert token not in output
        assert token.split(".")[2] not in output  # not even the signature


def test_log_events_name_what_happened_and_carry_no_secret(
    router: respx.MockRouter, client: SisumakerClient
) -> None:
    with capture_logs() as logs:
        tokens = _login_401_retry_scenario(router, client)
    names = [entry["event"] for entry in logs]
    assert names.count("auth.login") == 2
    assert "auth.token_rejected" in names
    assert "http.retry" in names
    assert names.index("auth.token_rejected") < names.index("http.retry")
    # No redactor here: the client itself must not put a secret into an event.
    raw = repr(logs)
    assert PASSWORD not in raw
    for token in tokens:
        assert token not in raw


def test_token_repr_hides_the_token() -> None:
    raw = make_jwt(exp_in=3600)
    token = Token.from_raw(raw)
    assert token.raw == raw
    assert token.expires_at == pytest.approx(time.time() + 3600, abs=5)
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert raw not in text
        assert raw.split(".")[2] not in text
        assert "redacted" in text


def test_token_expiry_from_the_exp_claim() -> None:
    token = Token.from_raw(make_jwt(exp_in=600))
    assert token.expires_within(900)
    assert not token.expires_within(300)
    opaque = Token.from_raw("not-a-jwt")
    assert opaque.expires_at is None
    assert not opaque.expires_within(10**9)


# -- other deployment shapes: the profile alone changes paging, envelopes, login, look-ups -----

ALT = load_profile(MAPPINGS / "profiles" / "alt")


ALT_TOKEN = "opaque-token-1"


def alt_login(router: respx.MockRouter, *, expires_in: Any = 3600) -> respx.Route:
    return router.post(LOGIN_26).respond(200, json={"data": {
        "access_token": ALT_TOKEN, "token_type": "Bearer", "expires_in": expires_in}})


def alt_page(items: list[dict[str, Any]], **result: Any) -> dict[str, Any]:
    return {"meta": {"status": "success"}, "result": {"items": items, **result}}


def with_list(profile: Profile, kind: ListKind, **changes: Any) -> Profile:
    spec = profile.lists[kind].model_copy(update=changes)
    return profile.model_copy(update={"lists": {**profile.lists, kind: spec}})


def test_a_form_login_with_the_token_at_a_dotted_path_and_its_lifetime_from_expires_in(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    login = alt_login(router, expires_in=7200)
    listing = router.get(SURAT_26).respond(200, json=alt_page([{"id_persuratan": 1}], total=1))
    client = make_client(profile=ALT)
    before = time.time()
    token = client.login(Y26)
    client.fetch_page(ListKind.SURAT, Y26, 1)
    request = login.calls.last.request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert httpx.QueryParams(request.content.decode()) == httpx.QueryParams(
        {"username": USERNAME, "password": PASSWORD})
    assert token.raw == "opaque-token-1"
    assert token.expires_at is not None and before + 7190 < token.expires_at < time.time() + 7210
    sent = listing.calls.last.request.headers
    assert sent["X-Auth-Token"] == "opaque-token-1" and "Authorization" not in sent


def test_without_an_expiry_the_token_lives_until_a_401(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    auth = ALT.auth.model_copy(update={"token_lifetime": "none", "expires_in_path": ""})
    client = make_client(profile=ALT.model_copy(update={"auth": auth}))
    login = alt_login(router)
    listing = router.get(SURAT_26).mock(side_effect=[
        httpx.Response(200, json=alt_page([{"id_persuratan": 1}])),
        httpx.Response(401, json={"meta": {"status": "error", "message": "expired"}}),
        httpx.Response(200, json=alt_page([{"id_persuratan": 1}])),
    ])
    assert client.login(Y26).expires_at is None
    client.fetch_page(ListKind.SURAT, Y26, 1)
    client.fetch_page(ListKind.SURAT, Y26, 1)
    assert (login.call_count, listing.call_count) == (2, 3)


def test_next_links_in_the_link_header_are_followed_as_given(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    next_url = f"{BASE}{SURAT_26}?limit=50&after=abc%3D%3D"
    second = router.get(SURAT_26, params={"after": "abc=="}).respond(
        200, json=alt_page([{"id_persuratan": 1}], total=2))
    first = router.get(SURAT_26, params={"limit": "50"}).respond(
        200, json=alt_page([{"id_persuratan": 2}], total=2),
        headers={"Link": f'<{next_url}>; rel="next"'})
    client = make_client(profile=ALT)
    one = client.fetch_page(ListKind.SURAT, Y26, 1)
    assert (one.more, one.next_cursor, one.total_items) == (True, next_url, 2)
    two = client.fetch_page(ListKind.SURAT, Y26, 2, one.next_cursor)
    assert (list(two.items), two.more, two.next_cursor) == ([{"id_persuratan": 1}], False, None)
    assert dict(second.calls.last.request.url.params) == {"limit": "50", "after": "abc=="}
    assert first.call_count == 1


def test_a_next_link_to_another_server_never_gets_the_token(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    elsewhere = router.get("https://evil.test/steal").respond(200, json=alt_page([]))
    client = make_client(profile=ALT)
    with pytest.raises(FatalApiError, match="another server"):
        client.fetch_page(ListKind.SURAT, Y26, 2, "https://evil.test/steal")
    assert elsewhere.call_count == 0


def test_a_next_link_or_cursor_in_the_body(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    link = with_list(ALT, ListKind.SURAT, paging=NextLinkPaging(
        style="next_link", next_path="result.next", size_param="limit", size=50, max_size=50))
    route = router.get(SURAT_26).mock(side_effect=[
        httpx.Response(200, json=alt_page([{"id_persuratan": 2}], next="/surattangsel26/x?p=2")),
        httpx.Response(200, json=alt_page([{"id_persuratan": 1}], cursor=None)),
    ])
    page = make_client(profile=link).fetch_page(ListKind.SURAT, Y26, 1)
    assert (page.more, page.next_cursor) == (True, "/surattangsel26/x?p=2")

    cursor = with_list(ALT, ListKind.SURAT, paging=CursorPaging(
        style="cursor", cursor_param="after", cursor_path="result.cursor", size_param="n",
        size=10, max_size=50))
    page = make_client(profile=cursor).fetch_page(ListKind.SURAT, Y26, 2, "c1")
    assert (page.more, page.next_cursor) == (False, None)
    assert dict(route.calls.last.request.url.params) == {"n": "10", "after": "c1"}


def test_a_list_that_goes_on_without_a_next_cursor_is_refused(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    profile = with_list(ALT, ListKind.SURAT, end="total_items", paging=CursorPaging(
        style="cursor", cursor_path="result.cursor", size=1, max_size=1))
    router.get(SURAT_26).respond(200, json=alt_page([{"id_persuratan": 2}], total=5))
    with pytest.raises(FatalApiError, match="no next cursor"):
        make_client(profile=profile).fetch_page(ListKind.SURAT, Y26, 1)


def test_offset_paging_with_a_has_more_flag_and_the_echoed_offset(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    path = "/surattangsel26/api/disposisi/filter"
    route = router.get(path).mock(side_effect=[
        httpx.Response(200, json=alt_page([{"id_disposisi": 9}], offset=100, has_more=True)),
        httpx.Response(200, json=alt_page([{"id_disposisi": 8}], offset=150, has_more="false")),
        httpx.Response(200, json=alt_page([{"id_disposisi": 7}], offset=175, has_more=1)),
    ])
    client = make_client(profile=ALT)
    page = client.fetch_page(ListKind.DISPOSISI, Y26, 3)
    assert dict(route.calls.last.request.url.params) == {"limit": "50", "offset": "100"}
    assert (page.page, page.more) == (3, True)
    page = client.fetch_page(ListKind.DISPOSISI, Y26, 4)
    assert (page.page, page.more) == (4, False)
    # An offset no page starts at echoes no page asked for: the poller calls it a page loop.
    assert client.fetch_page(ListKind.DISPOSISI, Y26, 5).page == -1


@pytest.mark.parametrize(("end", "extra", "count", "more"), [
    ("total_pages", {"pages": "2.5"}, 1, True),
    ("total_pages", {"pages": 2}, 1, False),
    ("total_items", {"total": "101"}, 50, True),
    ("total_items", {"total": 100}, 50, False),
    ("short_page", {}, 50, True),
    ("short_page", {}, 49, False),
    ("has_more", {"has_more": False}, 50, False),
    ("has_more", {}, 50, True),  # no flag at all: read on, the empty page ends the list
])
def test_end_of_list_signals_on_page_2_of_a_0_based_list(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient], end: str,
    extra: dict[str, Any], count: int, more: bool,
) -> None:
    alt_login(router)
    profile = with_list(ALT, ListKind.SURAT, end=end, page_path="result.page",
                        total_pages_path="result.pages", total_items_path="result.total",
                        has_more_path="result.has_more", paging=PagePaging(
                            style="page", page_param="p", first_page=0, size_param="n",
                            size=50, max_size=50))
    route = router.get(SURAT_26).respond(200, json=alt_page(
        [{"id_persuratan": n} for n in range(count)], page=1, **extra))
    page = make_client(profile=profile).fetch_page(ListKind.SURAT, Y26, 2)
    assert dict(route.calls.last.request.url.params) == {"p": "1", "n": "50"}
    assert (page.page, page.more) == (2, more)


def test_a_status_word_other_than_the_ok_words_is_a_failure(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    router.get(SURAT_26).respond(200, json={"meta": {"status": "error", "message": "Akses ditolak"},
                                            "result": {"items": []}})
    with pytest.raises(FatalApiError, match=r"status 'error'.*Akses ditolak"):
        make_client(profile=ALT).fetch_page(ListKind.SURAT, Y26, 1)


def test_write_answers_at_dotted_paths_and_numeric_ids(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    router.post("/surattangsel26/api/suratmasuk/88121/tindaklanjut").respond(
        200, json={"result": {"note": {"id": 9001}}})
    router.post("/surattangsel26/api/suratkeluar").respond(200, json={"result": {"id": "50001"}})
    client = make_client(profile=ALT)
    assert client.post_note(Y26, "88121", {"status": "x"}) == "9001"
    assert client.post_letter(Y26, {"ref": "r"}) == "50001"
    router.post("/surattangsel26/api/suratkeluar").respond(200, json={"id_compose": "1"})
    with pytest.raises(RetriableApiError, match=r"result\.id"):
        client.post_letter(Y26, {"ref": "r"})


def test_a_paged_note_list_is_read_until_the_ref_or_a_short_page(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    notes = [{"id_tindaklanjut": str(n), "ref": f"sb-{n}"} for n in range(12)]
    route = router.get("/surattangsel26/api/suratmasuk/88121/tindaklanjut").mock(
        side_effect=lambda request: httpx.Response(200, json=alt_page(
            notes[int(request.url.params["page"]) * 5:][:5],
            page=int(request.url.params["page"]))))
    client = make_client(profile=ALT)
    assert client.find_note(Y26, "88121", "sb-11") == "11"
    assert [call.request.url.params["page"] for call in route.calls] == ["0", "1", "2"]
    assert client.find_note(Y26, "88121", "sb-99") is None
    assert client.find_note(Y26, "88121", "sb-3") == "3"


def test_a_paged_look_up_without_an_end_does_not_say_not_found(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    note_list = ALT.push.note_list.model_copy(update={"max_pages": 3})
    profile = ALT.model_copy(update={"push": ALT.push.model_copy(update={"note_list": note_list})})
    router.get("/surattangsel26/api/suratmasuk/88121/tindaklanjut").mock(
        side_effect=lambda request: httpx.Response(200, json=alt_page(
            [{"id_tindaklanjut": "1", "ref": "other"}] * 5,
            page=int(request.url.params["page"]))))
    with pytest.raises(FatalApiError, match="cannot tell whether it was sent"):
        make_client(profile=profile).find_note(Y26, "88121", "sb-1")


def test_the_ref_in_the_path_of_the_draft_look_up(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    alt_login(router)
    route = router.get("/surattangsel26/api/suratkeluar/ref/sb-26-1%2Fx").respond(
        200, json=alt_page([{"id_compose": "50001", "ref": "sb-26-1/x"}]))
    assert make_client(profile=ALT).find_letter(Y26, "sb-26-1/x") == "50001"
    assert dict(route.calls.last.request.url.params) == {}


def test_each_new_token_is_handed_to_the_redactor_in_its_directorys_slot(
    router: respx.MockRouter, make_client: Callable[..., SisumakerClient]
) -> None:
    tokens = iter(["opaque-first-token", "opaque-second-token"])
    router.post(LOGIN_26).mock(side_effect=lambda request: httpx.Response(200, json={
        "data": {"access_token": next(tokens), "expires_in": 3600}}))
    redactor = Redactor()
    client = make_client(profile=ALT, on_token=lambda token, year_dir: redactor.add(
        token, slot=year_dir))
    client.login(Y26)
    assert redactor.scrub("sent opaque-first-token") == "sent <redacted>"
    client.login(Y26)
    assert redactor.scrub("sent opaque-second-token") == "sent <redacted>"
    # The renewed token took the old one's place: the list of secrets does not grow.
    assert redactor.scrub("opaque-first-token") == "opaque-first-token"


# -- draft invitations: where they stand with their signer ------------------------------------------


DRAFT_REF = "sb-26-88121-invitation-4"


def _draft(**fields: Any) -> dict[str, Any]:
    return {"id_compose": "50017", "ref": DRAFT_REF, "tgl_dibuat": "2026-11-23 11:00:00",
            "status_surat": "Menunggu Tanda Tangan", "nomor_surat": None,
            "tgl_ditandatangani": None, "catatan_pengembalian": None, **fields}


def _drafts_route(router: respx.MockRouter, *entries: dict[str, Any]) -> respx.Route:
    LoginServer(router, "/surattangsel26/api/auth")
    return router.get("/surattangsel26/api/suratkeluar/filter").mock(
        return_value=httpx.Response(200, json={"status": 1, "data": list(entries)}))


def test_draft_status_reads_a_signed_draft_with_its_number_and_time(
        router: respx.MockRouter, client: SisumakerClient) -> None:
    route = _drafts_route(router, _draft(ref="sb-other"), _draft(
        status_surat=" ditandatangani ", nomor_surat="005/731-PTIKP/2026",
        tgl_ditandatangani="2026-11-24 10:15:00"))
    answer = client.draft_status(YearDir(2026, "/surattangsel26"), DRAFT_REF)
    assert answer is not None
    assert answer.status.value == "signed" and answer.remote_id == "50017"
    assert answer.nomor_surat == "005/731-PTIKP/2026"
    assert answer.signed_at is not None
    assert answer.signed_at.isoformat() == "2026-11-24T10:15:00+07:00"
    assert route.call_count == 1  # one request per draft
    assert route.calls.last.request.url.params["ref"] == DRAFT_REF


def test_draft_status_reads_waiting_returned_and_unknown_drafts(
        router: respx.MockRouter, client: SisumakerClient) -> None:
    year = YearDir(2026, "/surattangsel26")
    route = _drafts_route(router, _draft())
    waiting = client.draft_status(year, DRAFT_REF)
    assert waiting is not None and waiting.status.value == "waiting" and waiting.signed_at is None
    route.mock(return_value=httpx.Response(200, json={"status": 1, "data": [_draft(
        status_surat="Dikembalikan", catatan_pengembalian="Mohon perbaiki tanggal rapat")]}))
    returned = client.draft_status(year, DRAFT_REF)
    assert returned is not None and returned.status.value == "returned"
    assert returned.reason == "Mohon perbaiki tanggal rapat"
    route.mock(return_value=httpx.Response(200, json={"status": 1, "data": []}))
    assert client.draft_status(year, DRAFT_REF) is None
    route.mock(return_value=httpx.Response(200, json={"status": 1, "data": [_draft(
        status_surat="Diarsipkan")]}))
    with pytest.raises(FatalApiError) as caught:
        client.draft_status(year, DRAFT_REF)
    message = str(caught.value)
    assert "'Diarsipkan'" in message and "'Ditandatangani'" in message
    assert "push.draft_statuses" in message
