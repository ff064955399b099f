"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.adapters.ledger.sqlite import SqliteLedger
from bridge.config.profile import Profile, load_profile
from bridge.domain.items import ListKind
from bridge.services.parse import ItemParser

ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = ROOT / "mappings"


@pytest.fixture(scope="session")
def profile() -> Profile:
    """The shipped API profile."""
    return load_profile(MAPPINGS)


@pytest.fixture
def parsers(profile: Profile) -> dict[ListKind, ItemParser]:
    """One parser per list."""
    return {kind: ItemParser(kind, profile.lists[kind], zone=profile.zone,
                             max_chars=profile.max_field_chars) for kind in ListKind}


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    """A migrated SQLite ledger in a real file."""
    store = SqliteLedger(tmp_path / "ledger.sqlite3")
    store.migrate()
    yield store  # type: ignore[misc]
    store.close()
