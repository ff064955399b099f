"""The Sisumaker client on httpx: year directories, login per directory, paged lists.

Vendor exceptions are wrapped here; callers see only the bridge's error tree.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import structlog
from pydantic import SecretStr
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bridge.adapters.sisumaker.status import Outcome, classify, parse_retry_after
from bridge.adapters.sisumaker.token import Token
from bridge.config.profile import Profile, PushSpec
from bridge.domain.invitations import DraftStatus, InvitationStatus
from bridge.domain.items import ListKind, YearDir
from bridge.errors import (
    AuthenticationError,
    FatalApiError,
    RateLimitedApiError,
    RefusedApiError,
    RetriableApiError,
)
from bridge.ports import RawPage

log = structlog.get_logger("bridge.sisumaker")

USER_AGENT = "sisumaker-bridge/0.1"


class _Unauthorized(Exception):  # noqa: N818 - a private signal, never raised to callers
    """A 401 inside one attempt; turned into a new login or an AuthenticationError."""


class RetryPolicy:
    """Exponential backoff with jitter, or the server's Retry-After when it sent one."""

    def __init__(self, *, max_attempts: int, retry_after_cap: float, initial: float = 0.5,
                 maximum: float = 30.0) -> None:
        """Attempts in all (first call included), the longest Retry-After honoured, backoff."""
        self.max_attempts = max_attempts
        self.retry_after_cap = retry_after_cap
        self._backoff = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)

    def wait(self, state: RetryCallState) -> float:
        """Seconds to wait before the next attempt."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetriableApiError) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(state))


class SisumakerClient:
    """Implements the SisumakerApi port over HTTP."""

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: SecretStr,
        profile: Profile,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        token_refresh_margin: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare the HTTP client; nothing is sent until the first call."""
        self._profile = profile
        self._username = username
        self._password = password
        self._retry = retry or RetryPolicy(max_attempts=6, retry_after_cap=120.0)
        self._margin = token_refresh_margin
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()
        self._not_before = 0.0
        self.requests = 0
        self.retries = 0

    # -- the port -----------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        """How many HTTP requests this client has sent."""
        return self.requests

    def year_dirs(self) -> list[YearDir]:
        """The year directories from ``/api/auth/domain`` (``{"dir26": "/surattangsel26"}``)."""
        body = self._with_retries(lambda: self._send("GET", self._profile.auth.domain_path))
        if not isinstance(body, Mapping):
            raise FatalApiError(f"{self._profile.auth.domain_path}: expected a JSON object")
        return parse_domain(body, self._profile)

    def fetch_page(self, kind: ListKind, year: YearDir, page: int) -> RawPage:
        """One page of a list, with transient failures retried."""
        spec = self._profile.lists[kind]
        path = spec.path.format(dir=year.path)
        params = {**spec.params, spec.per_page_param: str(spec.per_page), spec.page_param: str(page)}
        body = self._with_retries(lambda: self._authed(year, "GET", path, params=params))
        return read_envelope(body, kind, self._profile, path=path)

    def get_json(self, year: YearDir, path: str, params: Mapping[str, str] | None = None) -> Any:
        """An authenticated GET with retries (for look-ups beyond the lists)."""
        return self._with_retries(lambda: self._authed(year, "GET", path, params=params))

    def post_json(self, year: YearDir, path: str, body: Mapping[str, Any]) -> Any:
        """An authenticated POST, sent once: a POST is never retried blindly."""
        return self._authed(year, "POST", path, json_body=body)

    def post_note(self, year: YearDir, surat_id: str, body: Mapping[str, Any]) -> str:
        """POST a follow-up note once; return its id (``id_tindaklanjut``)."""
        push = self._profile.push
        answer = self.post_json(year, _path(push.note_path, year, surat_id), body)
        return _remote_id(answer, push.note_id_key, "POST tindaklanjut")

    def find_note(self, year: YearDir, surat_id: str, ref: str) -> str | None:
        """The id of the note on this letter that carries ``ref``, if the server has one."""
        push = self._profile.push
        answer = self.get_json(year, _path(push.note_list_path, year, surat_id))
        return _find_ref(answer, push.data_key, push.ref_field, ref, push.note_id_key)

    def post_letter(self, year: YearDir, body: Mapping[str, Any]) -> str:
        """POST a draft outgoing letter once; return its id (``id_compose``)."""
        push = self._profile.push
        answer = self.post_json(year, push.letter_path.format(dir=year.path), body)
        return _remote_id(answer, push.letter_id_key, "POST suratkeluar")

    def find_letter(self, year: YearDir, ref: str) -> str | None:
        """The id of the draft letter that carries ``ref``, if the server has one."""
        push = self._profile.push
        answer = self.get_json(year, push.letter_lookup_path.format(dir=year.path),
                               params={push.letter_lookup_param: ref})
        return _find_ref(answer, push.data_key, push.ref_field, ref, push.letter_id_key)

    def draft_status(self, year: YearDir, ref: str) -> DraftStatus | None:
        """Where the draft carrying ``ref`` stands with its signer (one GET), None if unknown."""
        push = self._profile.push
        answer = self.get_json(year, push.letter_lookup_path.format(dir=year.path),
                               params={push.letter_lookup_param: ref})
        data = answer.get(push.data_key) if isinstance(answer, Mapping) else answer
        if not isinstance(data, list):
            raise RetriableApiError(f"draft look-up: the answer has no {push.data_key!r} list")
        for entry in data:
            if isinstance(entry, Mapping) and entry.get(push.ref_field) == ref:
                return read_draft_status(entry, self._profile, ref=ref)
        return None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- retries and authentication -------------------------------------------------------

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(RetriableApiError),
            stop=stop_after_attempt(self._retry.max_attempts),
            wait=self._retry.wait,
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(call)

    def _log_retry(self, state: RetryCallState) -> None:
        self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "http.retry",
            reason=str(exc),
            attempt=state.attempt_number,
            max_attempts=self._retry.max_attempts,
            wait_s=round(wait, 3),
            next="the same request is sent again after the wait",
        )

    def _authed(self, year: YearDir, method: str, path: str, *,
                params: Mapping[str, str] | None = None,
                json_body: Mapping[str, Any] | None = None) -> Any:
        token = self._token(year)
        try:
            return self._send(method, path, params=params, json_body=json_body, token=token)
        except _Unauthorized:
            log.info("auth.token_rejected", year_dir=year.path,
                     next="logging in again once, then repeating the request")
        token = self._token(year, force=True)
        try:
            return self._send(method, path, params=params, json_body=json_body, token=token)
        except _Unauthorized:
            raise AuthenticationError(
                f"{method} {path}: the server refused a freshly issued token (401); "
                "check the service account's rights in this year directory"
            ) from None

    def _token(self, year: YearDir, *, force: bool = False) -> Token:
        with self._lock:
            token = self._tokens.get(year.path)
            if token is not None and not force and not token.expires_within(self._margin):
                return token
            token = self._login(year)
            self._tokens[year.path] = token
            return token

    def _login(self, year: YearDir) -> Token:
        auth = self._profile.auth
        path = auth.login_path.format(dir=year.path)
        body = {auth.username_field: self._username,
                auth.password_field: self._password.get_secret_value()}
        # One attempt: a transient failure propagates to the retries of the call that needed
        # the token, so a failing login is not retried max_attempts squared times.
        try:
            answer = self._send("POST", path, json_body=body, token=None, auth_call=True)
        except FatalApiError as exc:
            if exc.status_code is not None and 400 <= exc.status_code < 500:
                raise AuthenticationError(f"login to {year.path} refused: {exc}") from None
            raise
        raw = answer.get(auth.token_key) if isinstance(answer, Mapping) else None
        if not isinstance(raw, str) or not raw:
            raise AuthenticationError(f"login to {year.path}: the answer has no {auth.token_key!r}")
        token = Token.from_raw(raw)
        log.info("auth.login", year_dir=year.path, expires_at=token.expires_at)
        return token

    # -- one HTTP exchange -------------------------------------------------------------------

    def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              json_body: Mapping[str, Any] | None = None, token: Token | None = None,
              auth_call: bool = False) -> Any:
        self._respect_retry_after(method, path)
        headers = {}
        if token is not None:
            auth = self._profile.auth
            headers[auth.header_name] = auth.header_format.format(token=token.raw)
        self.requests += 1
        try:
            response = self._http.request(method, path, params=params, json=json_body,
                                          headers=headers)
        except httpx.TimeoutException as exc:
            raise RetriableApiError(f"{method} {path}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise RetriableApiError(
                f"{method} {path}: connection failed ({type(exc).__name__})"
            ) from None
        except httpx.DecodingError as exc:
            raise RetriableApiError(f"{method} {path}: undecodable body ({exc})") from None
        except httpx.HTTPError as exc:
            raise FatalApiError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 401 and token is None:
            what = "login refused" if auth_call else "unauthorized without a token"
            raise AuthenticationError(
                f"{method} {path}: {what} (401){_server_message(response, self._profile)}; "
                "check BRIDGE_SISUMAKER_USERNAME and the password",
                status_code=401,
            )
        return self._read(method, path, response)

    def _respect_retry_after(self, method: str, path: str) -> None:
        # The server asked us to stay away until then: never call before it, whatever the caller.
        remaining = self._not_before - self._clock()
        if remaining <= 0:
            return
        if remaining > self._retry.retry_after_cap:
            raise FatalApiError(
                f"{method} {path}: the server asked to wait {remaining:.0f} s more, over the cap "
                f"of {self._retry.retry_after_cap:.0f} s; not calling before then"
            )
        self._sleep(remaining)

    def _read(self, method: str, path: str, response: httpx.Response) -> Any:
        outcome = classify(response.status_code, self._profile.http)
        where = f"{method} {path}"
        if outcome is Outcome.UNAUTHORIZED:
            raise _Unauthorized
        if outcome is Outcome.RETRY or outcome is Outcome.RATE_LIMITED:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                self._not_before = max(self._not_before, self._clock() + retry_after)
                if retry_after > self._retry.retry_after_cap:
                    # Waiting less than asked would break the server's rule; give up this call.
                    raise FatalApiError(
                        f"{where}: HTTP {response.status_code}, Retry-After {retry_after:.0f} s is "
                        f"over the cap of {self._retry.retry_after_cap:.0f} s",
                        status_code=response.status_code,
                    )
            transient = RateLimitedApiError if outcome is Outcome.RATE_LIMITED else RetriableApiError
            raise transient(
                f"{where}: HTTP {response.status_code}{_server_message(response, self._profile)}",
                status_code=response.status_code,
                retry_after=retry_after,
            )
        if outcome is Outcome.FATAL:
            raise RefusedApiError(
                f"{where}: HTTP {response.status_code}{_server_message(response, self._profile)}",
                status_code=response.status_code,
            )
        if not response.content and response.status_code == 204:
            return None
        try:
            body = json.loads(response.content)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError, an integer too long to read
            raise RetriableApiError(
                f"{where}: truncated or non-JSON body ({len(response.content)} bytes)",
                status_code=response.status_code,
            ) from None
        status_key = self._profile.http.status_key
        if isinstance(body, Mapping) and body.get(status_key) in (0, "0", False):
            raise RefusedApiError(
                f"{where}: the server answered status 0{_server_message(response, self._profile)}",
                status_code=response.status_code,
            )
        return body


def _server_message(response: httpx.Response, profile: Profile) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, Mapping):
        message = body.get(profile.http.message_key)
        if isinstance(message, str) and message.strip():
            return f": {message.strip()[:200]!r}"
    return ""


def _path(template: str, year: YearDir, surat_id: str) -> str:
    return template.format(dir=year.path, surat_id=quote(surat_id, safe=""))


def _remote_id(answer: Any, key: str, what: str) -> str:
    value = answer.get(key) if isinstance(answer, Mapping) else None
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    # The server said yes but gave no id: the write happened; the ref look-up finds it.
    raise RetriableApiError(f"{what}: the answer has no {key!r}")


def _find_ref(answer: Any, data_key: str, ref_field: str, ref: str, id_key: str) -> str | None:
    data = answer.get(data_key) if isinstance(answer, Mapping) else answer
    if not isinstance(data, list):
        raise RetriableApiError(f"ref look-up: the answer has no {data_key!r} list")
    for entry in data:
        if isinstance(entry, Mapping) and entry.get(ref_field) == ref:
            found = entry.get(id_key)
            return str(found) if found is not None else ref
    return None


def read_draft_status(entry: Mapping[str, Any], profile: Profile, *, ref: str) -> DraftStatus:
    """A draft's status from its list entry, by the profile's field names and status words.

    An unknown status word is refused (FatalApiError naming it and the known ones): the
    draft is then left as it was, and looked up again next time.
    """
    push = profile.push
    fields = push.draft_fields
    word = entry.get(fields["status"])
    status = _draft_status_word(word, push)
    if status is None:
        known = ", ".join(repr(w) for w in push.draft_statuses.values())
        raise FatalApiError(f"draft {ref}: {fields['status']} {str(word)[:80]!r} is none of "
                            f"{known} (sisumaker.toml push.draft_statuses)")
    remote = entry.get(push.letter_id_key)
    return DraftStatus(
        remote_id=str(remote) if remote not in (None, "") else None,
        status=status,
        nomor_surat=_text(entry.get(fields["number"])),
        signed_at=_signed_at(entry.get(fields["signed_at"]), push, profile),
        reason=_text(entry.get(fields["reason"])),
    )


def _draft_status_word(word: Any, push: PushSpec) -> InvitationStatus | None:
    if not isinstance(word, str):
        return None
    wanted = word.strip().casefold()
    for name, known in push.draft_statuses.items():
        if known.strip().casefold() == wanted:
            return InvitationStatus(name)
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def _signed_at(value: Any, push: PushSpec, profile: Profile) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    for fmt in push.signed_at_formats:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=profile.zone)
        except ValueError:
            continue
    return None  # the watcher then takes the time it saw the signature


def parse_domain(body: Mapping[str, Any], profile: Profile) -> list[YearDir]:
    """Year directories from the domain answer; keys other than ``dirNN`` are ignored."""
    prefix = profile.auth.domain_key_prefix
    dirs = []
    for key, value in body.items():
        suffix = key[len(prefix):] if key.startswith(prefix) else ""
        if len(suffix) != 2 or not suffix.isdigit():
            continue
        year = 2000 + int(suffix)
        dirs.append(YearDir(year, _directory_path(value, suffix, profile)))
    return sorted(dirs)


def _directory_path(value: Any, yy: str, profile: Profile) -> str:
    if isinstance(value, str) and value.strip():
        text = value.strip()
        path = urlparse(text).path if text.startswith(("http://", "https://")) else text
        path = "/" + path.strip("/")
        if path != "/":
            return path
    return profile.auth.directory_template.format(yy=yy)


def read_envelope(body: Any, kind: ListKind, profile: Profile, *, path: str) -> RawPage:
    """Read a list envelope, tolerating its quirks (string page, fractional total_page)."""
    spec = profile.lists[kind]
    if not isinstance(body, Mapping):
        raise RetriableApiError(f"GET {path}: expected a JSON object, got {type(body).__name__}")
    data = body.get(spec.data_key)
    if data is None:
        data = []
    if not isinstance(data, list):
        raise FatalApiError(f"GET {path}: {spec.data_key!r} is not a list")
    return RawPage(
        page=_as_int(body.get(spec.page_key)) or 0,
        total_pages=_as_pages(body.get(spec.total_pages_key)),
        total_items=_as_int(body.get(spec.total_items_key)),
        items=data,
    )


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if math.isfinite(number) else None


def _as_pages(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return math.ceil(number)
