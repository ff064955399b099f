"""Structured logs: JSON lines on stdout (or a console format), with secrets scrubbed."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, Literal, TextIO

from bridge.domain.text import printable

if TYPE_CHECKING:
    from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "<redacted>"
_SECRET_KEYS = re.compile(r"password|passwd|secret|token|authori[sz]ation|cookie", re.IGNORECASE)
# A JWT (header.payload.signature, base64url): the shape of Sisumaker's id_token.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")


class Redactor:
    """Removes secrets from every log event: by key name, by known value, by JWT shape."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        """Known secret values (the password) are replaced wherever they appear."""
        self._secrets = [secret for secret in secrets if len(secret) >= 4]
        self._slots: dict[str, str] = {}

    def add(self, secret: str, *, slot: str | None = None) -> None:
        """Scrub one more value from now on.

        A value given for a ``slot`` (a year directory's token) takes the place of the slot's
        last one, so that renewing a token every hour does not grow the list for ever.
        """
        if slot is not None:
            old = self._slots.pop(slot, None)
            if old is not None and old in self._secrets:
                self._secrets.remove(old)
            self._slots[slot] = secret
        if len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)

    def scrub(self, text: str) -> str:
        """One string without secrets."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _JWT.sub(REDACTED, text) if "eyJ" in text else text

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        """The structlog processor."""
        for key, value in event.items():
            event[key] = self._clean(key, value)
        return event

    def _clean(self, key: str, value: Any) -> Any:
        if _SECRET_KEYS.search(key) and key not in {"token_expires_at", "expires_at"}:
            return REDACTED if value is not None else None
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, MutableMapping):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(key, v) for v in value]
        return value


def _printable_values(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    # The console renderer writes strings raw; a hostile subject must not drive the terminal.
    return {key: printable(value) if isinstance(value, str) else value
            for key, value in event.items()}


def configure_logging(
    *,
    fmt: Literal["json", "console"],
    level: str = "INFO",
    redactor: Redactor | None = None,
    stream: TextIO | None = None,
) -> Redactor:
    """Configure structlog once for the process; return the redactor to register secrets."""
    # Imported here: the commands that only read the ledger log nothing and skip its 0.1 s.
    import structlog  # noqa: PLC0415

    redactor = redactor or Redactor()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]
    if fmt == "json":
        renderer: list[Processor] = [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            redactor,
            structlog.processors.JSONRenderer(),
        ]
    else:
        renderer = [
            structlog.processors.format_exc_info,
            redactor,
            _printable_values,
            structlog.dev.ConsoleRenderer(colors=False),
        ]
    structlog.configure(
        processors=[*shared, *renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    # httpx logs every request at INFO through the standard library; keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return redactor
