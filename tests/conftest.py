"""Shared fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

import pytest

from bridge.adapters.ledger.sqlite import SqliteLedger
from bridge.config.profile import Profile, load_profile
from bridge.domain.items import ListKind
from bridge.ports import Ledger
from bridge.services.parse import ItemParser

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = ROOT / "mappings"
POSTGRES_URL = os.environ.get("BRIDGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def profile() -> Profile:
    """The shipped API profile."""
    return load_profile(MAPPINGS)


@pytest.fixture
def parsers(profile: Profile) -> dict[ListKind, ItemParser]:
    """One parser per list."""
    return {kind: ItemParser(kind, profile.lists[kind], zone=profile.zone,
                             max_chars=profile.max_field_chars) for kind in ListKind}


def in_ci() -> bool:
    """Whether this run is CI's (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(reason: str) -> NoReturn:
    """A service a test needs did not come up: skip, saying why; in CI, fail the run instead.

    On a developer's machine a missing PostgreSQL or buildah is normal; in CI it would turn
    a hundred tests into skips that look like a green run.
    """
    if in_ci():
        pytest.fail(f"{reason} (CI=true: every test must run in CI, so this fails)", pytrace=False)
    pytest.skip(reason)


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to test against
        return f"PostgreSQL at {POSTGRES_URL} is not reachable ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="session")
def postgres_reason() -> str | None:
    """Checked once per session."""
    return postgres_unavailable()


@pytest.fixture
def postgres_url(postgres_reason: str | None) -> Iterator[str]:
    """A fresh schema on the local PostgreSQL, dropped afterwards; skips (saying why) without one."""
    if postgres_reason is not None:
        unavailable(postgres_reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A migrated ledger: a real SQLite file, and a real PostgreSQL schema."""
    if request.param == "sqlite":
        store: Ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    else:
        from bridge.adapters.ledger.postgres import PostgresLedger

        store = PostgresLedger(request.getfixturevalue("postgres_url"))
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[SqliteLedger]:
    """A migrated SQLite ledger, for what only SQLite has (its file, WAL)."""
    store = SqliteLedger(tmp_path / "ledger.sqlite3")
    store.migrate()
    yield store
    store.close()
