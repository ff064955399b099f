"""The Sisumaker client on httpx: year directories, login per directory, paged lists.

Vendor exceptions are wrapped here; callers see only the bridge's error tree.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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

from bridge import codec
from bridge.adapters.sisumaker.paging import page_items, page_request, read_page
from bridge.adapters.sisumaker.status import (
    Outcome,
    classify,
    envelope_refused,
    parse_retry_after,
)
from bridge.adapters.sisumaker.token import Token
from bridge.config.profile import LookupSpec, Profile, PushSpec, dig
from bridge.domain.dates import DateReader
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


@dataclass(frozen=True, slots=True)
class Answer:
    """A decoded answer, its rel=next Link (if any) and how long the exchange took."""

    body: Any
    next_link: str | None = None
    seconds: float = 0.0


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
        on_token: Callable[[str, str], None] | None = None,
    ) -> None:
        """Prepare the HTTP client; nothing is sent until the first call.

        ``on_token(token, year_dir)`` hears of each new token, e.g. to scrub it from logs (an
        opaque token has no JWT shape to be recognised by).
        """
        self._on_token = on_token
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
        body = self._with_retries(lambda: self._send("GET", self._profile.auth.domain_path).body)
        if not isinstance(body, Mapping):
            raise FatalApiError(f"{self._profile.auth.domain_path}: expected a JSON object")
        return parse_domain(body, self._profile)

    def fetch_page(self, kind: ListKind, year: YearDir, page: int,
                   cursor: str | None = None) -> RawPage:
        """Page ``page`` (from 1) of a list, with transient failures retried.

        ``cursor`` is the previous page's ``next_cursor`` (cursor and next-link paging).
        """
        return self.fetch_list_page(kind, year, page, cursor)[0]

    def fetch_list_page(self, kind: ListKind, year: YearDir, page: int,
                        cursor: str | None = None) -> tuple[RawPage, Answer]:
        """A page of a list and the answer it was read from (for ``bridge probe``)."""
        spec = self._profile.lists[kind]
        path = spec.path.format(dir=year.path)
        request = page_request(spec.paging, path, spec.params, page, cursor)
        answer = self._get(year, request.path, request.params)
        raw = read_page(answer.body, spec, spec.paging, page, where=f"GET {path}",
                        link=answer.next_link)
        return raw, answer

    def get_json(self, year: YearDir, path: str, params: Mapping[str, str] | None = None) -> Any:
        """An authenticated GET with retries (for look-ups beyond the lists)."""
        return self._get(year, path, params).body

    def post_json(self, year: YearDir, path: str, body: Mapping[str, Any]) -> Any:
        """An authenticated POST, sent once: a POST is never retried blindly."""
        return self._authed(year, "POST", path, json_body=body).body

    def post_note(self, year: YearDir, surat_id: str, body: Mapping[str, Any]) -> str:
        """POST a follow-up note once; return its id (at the profile's ``note_id_path``)."""
        push = self._profile.push
        answer = self.post_json(year, _path(push.note_path, year, surat_id), body)
        return _remote_id(answer, push.note_id_path, "POST note")

    def find_note(self, year: YearDir, surat_id: str, ref: str) -> str | None:
        """The id of the note on this letter that carries ``ref``, if the server has one."""
        return self.lookup(year, self._profile.push.note_list, ref, surat_id=surat_id)[0]

    def post_letter(self, year: YearDir, body: Mapping[str, Any]) -> str:
        """POST a draft outgoing letter once; return its id (at ``letter_id_path``)."""
        push = self._profile.push
        answer = self.post_json(year, push.letter_path.format(dir=year.path), body)
        return _remote_id(answer, push.letter_id_path, "POST letter")

    def find_letter(self, year: YearDir, ref: str) -> str | None:
        """The id of the draft letter that carries ``ref``, if the server has one."""
        return self.lookup(year, self._profile.push.letter_lookup, ref)[0]

    def lookup(self, year: YearDir, spec: LookupSpec, ref: str, *,
               surat_id: str = "") -> tuple[str | None, list[Answer]]:
        """Find the entry carrying ``ref``: its id (None: none), and the answers read."""
        entry, answers = self.lookup_entry(year, spec, ref, surat_id=surat_id)
        if entry is None:
            return None, answers
        found = entry.get(spec.id_field)
        return (str(found) if found is not None else ref), answers

    def lookup_entry(self, year: YearDir, spec: LookupSpec, ref: str, *,
                     surat_id: str = "") -> tuple[Mapping[str, Any] | None, list[Answer]]:
        """The entry carrying ``ref`` (None: none), and the answers read.

        A paged look-up reads on until the entry or the end of the list; one that cannot
        reach the end within ``max_pages`` fails, since "not found" would send it again.
        """
        path = spec.path.format(dir=year.path, surat_id=quote(surat_id, safe=""),
                                ref=quote(ref, safe=""))
        params = {spec.ref_param: ref} if spec.ref_param else {}
        ref_field = self._profile.push.ref_field
        where = f"GET {path}"
        if spec.paging is None:
            answer = self._get(year, path, params)
            entries = page_items(answer.body, spec.items_path, where=where)
            if entries is None:
                raise RetriableApiError(f"ref look-up: the answer has no {spec.items_path!r} list")
            return _entry_with_ref(entries, ref_field, ref), [answer]
        answers: list[Answer] = []
        cursor: str | None = None
        for number in range(1, spec.max_pages + 1):
            request = page_request(spec.paging, path, params, number, cursor)
            answer = self._get(year, request.path, request.params)
            answers.append(answer)
            page = read_page(answer.body, spec, spec.paging, number, where=where,
                             link=answer.next_link)
            found = _entry_with_ref(page.items, ref_field, ref)
            if found is not None or not page.more:
                return found, answers
            cursor = page.next_cursor
        raise FatalApiError(f"ref look-up {where}: no end after {spec.max_pages} pages "
                            "(max_pages); cannot tell whether it was sent")

    def draft_status(self, year: YearDir, ref: str) -> DraftStatus | None:
        """Where the draft carrying ``ref`` stands with its signer, None if the server has none."""
        entry, _ = self.lookup_entry(year, self._profile.push.letter_lookup, ref)
        return None if entry is None else read_draft_status(entry, self._profile, ref=ref)

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

    def _get(self, year: YearDir, path: str, params: Mapping[str, str] | None) -> Answer:
        result: Answer = self._with_retries(lambda: self._authed(year, "GET", path,
                                                                  params=params))
        return result

    def _authed(self, year: YearDir, method: str, path: str, *,
                params: Mapping[str, str] | None = None,
                json_body: Mapping[str, Any] | None = None) -> Answer:
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

    def login(self, year: YearDir) -> Token:
        """Log in to a year directory now (the token is kept for the calls that follow)."""
        return self._token(year, force=True)

    def login_answer(self, year: YearDir) -> Answer:
        """POST the login once and return the answer as sent (for ``bridge probe``)."""
        auth = self._profile.auth
        path = auth.login_path.format(dir=year.path)
        body = {auth.username_field: self._username,
                auth.password_field: self._password.get_secret_value()}
        try:
            return self._send("POST", path, token=None, auth_call=True,
                              json_body=body if auth.login_body == "json" else None,
                              form_body=body if auth.login_body == "form" else None)
        except FatalApiError as exc:
            if exc.status_code is not None and 400 <= exc.status_code < 500:
                raise AuthenticationError(f"login to {year.path} refused: {exc}",
                                          status_code=exc.status_code) from None
            raise

    def _login(self, year: YearDir) -> Token:
        # One attempt: a transient failure propagates to the retries of the call that needed
        # the token, so a failing login is not retried max_attempts squared times.
        token = read_token(self.login_answer(year).body, self._profile, year)
        if self._on_token is not None:
            self._on_token(token.raw, year.path)
        log.info("auth.login", year_dir=year.path, expires_at=token.expires_at)
        return token

    # -- one HTTP exchange -------------------------------------------------------------------

    def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              json_body: Mapping[str, Any] | None = None,
              form_body: Mapping[str, str] | None = None, token: Token | None = None,
              auth_call: bool = False) -> Answer:
        self._respect_retry_after(method, path)
        headers = {}
        if token is not None:
            self._same_origin(method, path)  # a next link elsewhere must not get the token
            auth = self._profile.auth
            headers[auth.header_name] = auth.header_format.format(token=token.raw)
        self.requests += 1
        started = time.perf_counter()
        try:
            # params=None, not {}: an empty mapping would replace the query of a next link.
            response = self._http.request(method, path, params=params or None, json=json_body,
                                          data=form_body, headers=headers)
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
        body = self._read(method, path, response)
        link = response.links.get("next", {}).get("url")
        return Answer(body, link, time.perf_counter() - started)

    def _same_origin(self, method: str, path: str) -> None:
        url = httpx.URL(path)
        if not url.is_relative_url:
            base = self._http.base_url
            if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
                raise FatalApiError(f"{method} {url.scheme}://{url.host}: a next link to another "
                                    "server; the token is sent only to BRIDGE_SISUMAKER_URL")

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
            body = codec.loads_exact(response.content)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError, an integer too long to read
            raise RetriableApiError(
                f"{where}: truncated or non-JSON body ({len(response.content)} bytes)",
                status_code=response.status_code,
            ) from None
        if envelope_refused(body, self._profile.http):
            flag = dig(body, self._profile.http.status_path)
            raise RefusedApiError(
                f"{where}: the server answered status {str(flag)[:40]!r}"
                f"{_server_message(response, self._profile)}",
                status_code=response.status_code,
            )
        return body


def _server_message(response: httpx.Response, profile: Profile) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, Mapping) and profile.http.message_path:
        message = dig(body, profile.http.message_path)
        if isinstance(message, str) and message.strip():
            return f": {message.strip()[:200]!r}"
    return ""


def _path(template: str, year: YearDir, surat_id: str) -> str:
    return template.format(dir=year.path, surat_id=quote(surat_id, safe=""))


def _remote_id(answer: Any, path: str, what: str) -> str:
    value = dig(answer, path) if isinstance(answer, Mapping) else None
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    # The server said yes but gave no id: the write happened; the ref look-up finds it.
    raise RetriableApiError(f"{what}: the answer has no {path!r}")


def _entry_with_ref(entries: Sequence[Any], ref_field: str, ref: str) -> Mapping[str, Any] | None:
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get(ref_field) == ref:
            return entry
    return None


def read_token(answer: Any, profile: Profile, year: YearDir) -> Token:
    """The token of a login answer, with its lifetime as the profile says to read it."""
    auth = profile.auth
    raw = dig(answer, auth.token_path) if isinstance(answer, Mapping) else None
    if not isinstance(raw, str) or not raw:
        raise AuthenticationError(f"login to {year.path}: the answer has no {auth.token_path!r}")
    if auth.token_lifetime == "jwt":
        return Token.from_raw(raw)
    if auth.token_lifetime == "expires_in":
        seconds = dig(answer, auth.expires_in_path)
        if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
            return Token(raw, time.time() + float(seconds))
        log.warning("auth.no_expiry", year_dir=year.path, key=auth.expires_in_path,
                    next="the token is used until the server answers 401")
    return Token(raw, None)


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
    remote = entry.get(push.letter_lookup.id_field)
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
    try:
        return DateReader(push.signed_at_formats, profile.zone).read(text)
    except ValueError:
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
