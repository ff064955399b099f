"""The embedded SQLite ledger: one file, WAL, one write transaction per page."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bridge.adapters.ledger.sql import SqlLedger
from bridge.errors import LedgerError

BUSY_TIMEOUT_MS = 30_000


class SqliteLedger(SqlLedger):
    """The Ledger port on an SQLite file (or ``:memory:`` for tests)."""

    def __init__(self, path: str | Path) -> None:
        """Open the file, creating its directory; WAL lets readers run beside the writer."""
        self.path = str(path)
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LedgerError(f"cannot create the ledger's directory for {self.path}: "
                                  f"{exc.strerror}") from None
        try:
            # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE) below.
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open the ledger {self.path}: {exc}") from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        # BEGIN IMMEDIATE takes the write lock up front, so two processes never interleave
        # a read-then-write on the same rows.
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot write the ledger {self.path}: {exc}") from None
        try:
            yield cur
        except sqlite3.Error as exc:
            self._conn.rollback()
            raise LedgerError(f"cannot write the ledger {self.path}: {exc}") from None
        except BaseException:
            self._conn.rollback()
            raise
        try:
            self._conn.commit()
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot commit to the ledger {self.path}: {exc}") from None
        finally:
            cur.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot read the ledger {self.path}: {exc}") from None

    def check_writable(self) -> None:
        """Take the write lock and let it go; raises LedgerError when that is impossible."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot write the ledger {self.path}: {exc}") from None

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
