"""One error tree, organised by what the caller should do about an error."""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class ConfigurationError(BridgeError):
    """A setting is missing or invalid: fix the environment, then start again."""


class MappingError(BridgeError):
    """A mapping file is missing, malformed or inconsistent: fix the file, then start again."""


class ApiError(BridgeError):
    """Base of the errors that come from talking to Sisumaker."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        """Keep the HTTP status code, when there was one, beside the message."""
        super().__init__(message)
        self.status_code = status_code


class RetriableApiError(ApiError):
    """A transient failure (transport, timeout, 429, 5xx, truncated body): try again later."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Keep the server's Retry-After (seconds), when it sent one."""
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class RateLimitedApiError(RetriableApiError):
    """The server did not process the request (429): it took nothing; call again after its wait.

    After a POST, nothing needs looking up: the write certainly did not happen.
    """


class FatalApiError(ApiError):
    """A failure that repeating the same call will not fix (4xx, rejected login)."""


class RefusedApiError(FatalApiError):
    """The server answered and refused the request (a 4xx, or an answer with status 0).

    It took nothing, and the same request would be refused again: a push so answered waits
    for an operator, with nothing to look up.
    """


class AuthenticationError(FatalApiError):
    """The credentials or the token were refused, even after a fresh login."""


class PaginationError(FatalApiError):
    """The server's paging cannot be trusted (a page loop, an absurd page count)."""


class SkippableRecordError(BridgeError):
    """One record cannot be used; quarantine it and go on with the rest."""


class LedgerError(BridgeError):
    """The ledger cannot be opened, migrated or written."""
