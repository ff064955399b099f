"""What every SQL ledger store shares: the connection seam and time conversions."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def iso(moment: datetime | None) -> str | None:
    """A datetime as ISO 8601 text (None stays None)."""
    return moment.isoformat() if moment is not None else None


def from_iso(text: str | None) -> datetime | None:
    """ISO 8601 text back to a datetime (None stays None)."""
    return datetime.fromisoformat(text) if text else None


def now_utc() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class SqlBase(abc.ABC):
    """A DB-API connection behind two methods; statements use ``?`` placeholders.

    A store whose driver wants ``%s`` sets ``placeholder`` and the statements are converted.
    """

    placeholder = "?"

    @abc.abstractmethod
    def _transaction(self) -> Any:
        """A context manager: one write transaction, committed or rolled back whole."""

    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read and return all rows."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection."""

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``: the condition (``?`` marks) and its parameters."""
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    def _instant(self, column: str) -> str:
        """The moment an ISO 8601 text column holds, comparable whatever its offset.

        SQLite's julianday reads the offset; two texts of one moment give the same number.
        """
        return f"julianday({column})"

    def _ddl(self, statement: str) -> str:
        """A migration statement in this store's dialect (SQLite's by default)."""
        return statement

    def _may_lose_on_crash(self, cur: Any) -> None:  # noqa: B027 - an optional hook
        """Let this transaction commit without waiting for the disk.

        Only for what is derived again after a database crash: pages (read again by the next
        pass, since cursors move only in a pass's own transaction) and derived cases (their
        dirty marks come back with the pages). A later transaction that waits for the disk,
        such as an outbox or lease change, makes every earlier one durable with it.
        """

    def _grown(self, rows: int) -> None:  # noqa: B027 - an optional hook
        """``rows`` new items were stored (a store whose planner needs fresh statistics)."""

    def _lock_for_migration(self, cur: Any) -> None:  # noqa: B027 - an optional hook
        """Keep two processes from migrating at once (SQLite's write lock already does)."""
