"""Ledger stores: SQLite (embedded default); or PostgreSQL, chosen by the URL scheme."""

from __future__ import annotations

from bridge.adapters.ledger.sqlite import SqliteLedger
from bridge.errors import ConfigurationError
from bridge.ports import Ledger


def open_ledger(url: str) -> Ledger:
    """Open (and migrate) the ledger named by BRIDGE_LEDGER_URL."""
    if url.startswith("sqlite:///"):
        ledger: Ledger = SqliteLedger(url.removeprefix("sqlite:///"))
    elif url.startswith(("postgresql://", "postgres://")):
        from bridge.adapters.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional

        ledger = PostgresLedger(url)
    else:
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise ConfigurationError(
            f"BRIDGE_LEDGER_URL: unsupported scheme {scheme!r}; use sqlite:///path/to/ledger.sqlite3 "
            "or postgresql://user@host/db"
        )
    try:
        ledger.migrate()
    except BaseException:
        ledger.close()
        raise
    return ledger
