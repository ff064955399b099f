"""The SQLite ledger: idempotent pages, whole transactions, versioned schema."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.adapters.ledger import open_ledger
from bridge.adapters.ledger.schema import CURRENT_VERSION
from bridge.adapters.ledger.sqlite import SqliteLedger
from bridge.domain.cases import Case
from bridge.domain.items import ListKind
from bridge.domain.outbox import OutboxIntent, OutboxState, PushAction
from bridge.domain.records import (
    CaseWrite,
    ItemRecord,
    PageBatch,
    PassMode,
    PassSummary,
    QuarantineRecord,
    StoreResult,
)
from bridge.errors import ConfigurationError, LedgerError
from tests.conftest import unavailable

NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
SURAT = ListKind.SURAT


def record(n: int, content: str = "a") -> ItemRecord:
    return ItemRecord(SURAT, 2026, str(n), datetime(2026, 11, 20, 8, n % 60, tzinfo=UTC),
                      f"hash-{n}-{content}", f'{{"id":{n},"c":"{content}"}}')


def page(*records: ItemRecord, bad: tuple[QuarantineRecord, ...] = ()) -> PageBatch:
    return PageBatch(SURAT, 2026, 1, tuple(records), bad)


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def query(ledger, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in ledger._query(sql)]


def test_storing_the_same_page_twice_changes_nothing(ledger) -> None:
    batch = page(*(record(n) for n in range(10)))
    first = ledger.store_page(batch, pass_id="p1", seen_at=NOW)
    select = "SELECT source_id, content_hash, payload, version, first_seen FROM items ORDER BY 1"
    snapshot = query(ledger, select)
    second = ledger.store_page(batch, pass_id="p2", seen_at=NOW)
    assert first == StoreResult(new=10)
    assert second == StoreResult(unchanged=10)
    assert query(ledger, select) == snapshot
    assert query(ledger, "SELECT COUNT(*) FROM item_changes") == [(0,)]


def test_a_changed_item_gets_a_new_version_and_a_history_row(ledger) -> None:
    ledger.store_page(page(record(1)), pass_id="p1", seen_at=NOW)
    result = ledger.store_page(page(record(1, "b")), pass_id="p2", seen_at=NOW)
    assert result == StoreResult(changed=1)
    item = ledger.get_item(SURAT, 2026, "1")
    assert item is not None and item.version == 2 and '"c":"b"' in item.payload
    assert query(ledger, "SELECT version, pass_id FROM item_changes") == [(2, "p2")]


def test_a_crash_in_the_middle_of_a_page_leaves_no_half_written_page(ledger) -> None:
    good = [record(n) for n in range(5)]
    broken = ItemRecord(SURAT, 2026, "99", NOW, "h", None)  # type: ignore[arg-type]  # NOT NULL
    with pytest.raises(LedgerError):
        ledger.store_page(page(*good, broken), pass_id="p1", seen_at=NOW)
    assert ledger.item_counts()[SURAT] == 0
    assert ledger.cursor(SURAT, 2026).last_page == 0
    # The ledger is still usable after the failed transaction.
    assert ledger.store_page(page(*good), pass_id="p2", seen_at=NOW).new == 5


def test_a_process_killed_mid_transaction_leaves_no_half_page(tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "ledger.sqlite3"
    script = textwrap.dedent(f"""
        import os, signal
        from datetime import datetime, UTC
        from bridge.adapters.ledger.sqlite import SqliteLedger
        from bridge.domain.items import ListKind
        from bridge.domain.records import ItemRecord, PageBatch
        ledger = SqliteLedger({str(path)!r}); ledger.migrate()
        records = [ItemRecord(ListKind.SURAT, 2026, str(n), datetime.now(UTC), "h", "{{}}")
                   for n in range(50)]
        original = ledger._insert_items
        def dying(cur, recs, seen, pass_id):
            original(cur, recs[:25], seen, pass_id)
            os.kill(os.getpid(), signal.SIGKILL)  # the power goes out mid-page
        ledger._insert_items = dying
        ledger.store_page(PageBatch(ListKind.SURAT, 2026, 1, tuple(records), ()),
                          pass_id="p", seen_at=datetime.now(UTC))
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert proc.returncode == -9
    reopened = SqliteLedger(path)
    try:
        reopened.migrate()
        assert reopened.item_counts()[SURAT] == 0
    finally:
        reopened.close()


def test_quarantine_keeps_the_reason_and_releases_items_that_become_valid(ledger) -> None:
    bad = QuarantineRecord(SURAT, 2026, "tgl_dibuat 'kemarin' matches none", '{"x":1}',
                           source_id="7")
    ledger.store_page(page(record(1), bad=(bad,)), pass_id="p1", seen_at=NOW)
    ledger.store_page(page(record(1), bad=(bad,)), pass_id="p2", seen_at=NOW)
    entries = ledger.quarantined()
    assert len(entries) == 1 and entries[0].attempts == 2
    assert "kemarin" in entries[0].record.reason
    ledger.store_page(page(record(7)), pass_id="p3", seen_at=NOW)
    assert ledger.quarantine_count() == 0


def test_quarantined_items_without_an_id_are_kept_apart_by_payload(ledger) -> None:
    one = QuarantineRecord(SURAT, 2026, "id is null", '{"a":1}')
    two = QuarantineRecord(SURAT, 2026, "id is null", '{"a":2}')
    ledger.store_page(page(bad=(one, two)), pass_id="p1", seen_at=NOW)
    ledger.store_page(page(bad=(one,)), pass_id="p2", seen_at=NOW)
    assert ledger.quarantine_count() == 2


def test_only_a_complete_pass_moves_the_watermark(ledger) -> None:
    mark = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def summary(pass_id: str, complete: bool, watermark: datetime) -> PassSummary:
        return PassSummary(pass_id, SURAT, 2026, PassMode.INCREMENTAL, NOW, NOW, 1, 1,
                           StoreResult(), watermark, complete)

    ledger.complete_pass(summary("p1", True, mark))
    ledger.complete_pass(summary("p2", False, datetime(2026, 11, 21, tzinfo=UTC)))
    cursor = ledger.cursor(SURAT, 2026)
    assert cursor.watermark == mark
    assert cursor.last_complete_pass_at == NOW
    assert cursor.last_full_pass_at is None
    assert {p.pass_id for p in ledger.last_passes()} == {"p1", "p2"}


def test_schema_is_versioned_and_migrating_again_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    store = SqliteLedger(path)
    assert store.migrate() == CURRENT_VERSION
    assert store.migrate() == CURRENT_VERSION
    store.close()
    assert rows(path, "SELECT version FROM schema_version") == [(CURRENT_VERSION,)]
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]


def test_migration_4_renames_the_outbox_state_sending_to_in_doubt(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    store = SqliteLedger(path)
    store.migrate()
    intents = [OutboxIntent(ref=f"sb-26-{n}-note-2", case_id=f"2026-{n}", year=2026,
                            surat_id=str(n), action=PushAction.NOTE, step=2, body={"n": n})
               for n in (1, 2)]
    assert store.enqueue(intents) == 2
    store.close()
    with sqlite3.connect(path) as conn:  # a ledger written by a bridge before version 4
        conn.execute("UPDATE outbox SET state = 'sending' WHERE ref = 'sb-26-1-note-2'")
        conn.execute("UPDATE schema_version SET version = 3")
        # What migrations 5 on created did not exist in a ledger of version 3.
        conn.execute("DROP TABLE invitations")
        conn.execute("DROP TABLE polled_years")
        conn.execute("DROP TABLE decisions")
        conn.execute("DROP TABLE review_queue")
    store = SqliteLedger(path)
    assert store.migrate() == CURRENT_VERSION
    by_ref = {e.intent.ref: e.state for e in store.outbox_entries()}
    assert by_ref == {"sb-26-1-note-2": OutboxState.IN_DOUBT, "sb-26-2-note-2": OutboxState.PENDING}
    assert [e.intent.ref for e in store.outbox_entries(case_id="2026-1")] == ["sb-26-1-note-2"]
    assert [e.intent.ref for e in store.outbox_entries(OutboxState.PENDING, case_id="2026-1")] == []
    store.close()
    assert rows(path, "SELECT state FROM outbox ORDER BY ref") == [("in_doubt",), ("pending",)]


def test_migration_8_derives_every_stored_case_once_more(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    store = SqliteLedger(path)
    store.migrate()
    case = Case("2026-7", 2026, "7", "Permohonan", None, None, 3, {}, 4, None, False, (), (), "x")
    store.save_cases([CaseWrite(2026, "7", case, (), NOW)])  # no pushes: as before version 8
    assert store.dirty_cases() == []
    store.close()
    with sqlite3.connect(path) as conn:  # a ledger written by a bridge of version 7
        conn.execute("UPDATE schema_version SET version = 7")
    store = SqliteLedger(path)
    assert store.migrate() == CURRENT_VERSION
    # Derived again in the next round, the case is saved with the pushes it needs.
    assert store.dirty_cases() == [(2026, "7")]
    store.close()


def test_a_ledger_from_a_newer_bridge_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    store = SqliteLedger(path)
    store.migrate()
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 999")
    store = SqliteLedger(path)
    with pytest.raises(LedgerError, match="version 999, newer"):
        store.migrate()
    store.close()


def test_open_ledger_names_an_unsupported_url() -> None:
    with pytest.raises(ConfigurationError, match="BRIDGE_LEDGER_URL"):
        open_ledger("mysql://localhost/x")


def test_unwritable_ledger_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LedgerError, match="cannot"):
        SqliteLedger(blocker / "sub" / "l.sqlite3")


def test_a_lease_has_one_holder_until_it_expires_or_is_released(ledger) -> None:
    from datetime import timedelta

    assert ledger.acquire_lease("work", "a", timedelta(seconds=30))
    assert not ledger.acquire_lease("work", "b", timedelta(seconds=30))
    assert ledger.acquire_lease("work", "a", timedelta(seconds=30))  # renewal
    assert ledger.lease_holder("work")[0] == "a"
    assert ledger.acquire_lease("work", "b", timedelta(seconds=30), take_over=frozenset({"a"}))
    assert not ledger.acquire_lease("work", "a", timedelta(seconds=30))
    ledger.release_lease("work", "b")
    assert ledger.lease_holder("work") is None
    assert ledger.acquire_lease("work", "c", timedelta(seconds=-1))  # already expired
    assert ledger.acquire_lease("work", "d", timedelta(seconds=30))


def test_racing_processes_never_both_win_a_lease(ledger, request) -> None:
    import threading
    from datetime import timedelta

    from bridge.adapters.ledger import open_ledger

    url = (request.getfixturevalue("postgres_url") if "postgres" in request.node.name
           else f"sqlite:///{ledger.path}")
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def contend(name: str) -> None:
        store = open_ledger(url)
        try:
            barrier.wait(timeout=10)
            if store.acquire_lease("leader", name, timedelta(seconds=30)):
                winners.append(name)
        finally:
            store.close()

    threads = [threading.Thread(target=contend, args=(f"p{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(winners) == 1


@pytest.mark.postgres
def test_postgres_ledger_url_errors_hide_the_password(postgres_reason) -> None:
    if postgres_reason is not None:
        unavailable(postgres_reason)
    with pytest.raises(LedgerError) as caught:
        open_ledger("postgresql://bridge:S3cret-pw@127.0.0.1:1/nowhere")
    assert "S3cret-pw" not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.postgres
def test_a_postgres_database_not_in_utf8_is_refused_at_start_with_the_fix(postgres_reason) -> None:
    if postgres_reason is not None:
        unavailable(postgres_reason)
    import psycopg

    from tests.conftest import POSTGRES_URL

    name = f"bridge_ascii_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' TEMPLATE template0")
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        with pytest.raises(LedgerError, match=r"SQL_ASCII encoding.*needs UTF8.*createdb -E UTF8"):
            open_ledger(url)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name}")


@pytest.mark.postgres
def test_a_growing_postgres_ledger_keeps_its_planner_statistics_fresh(postgres_url) -> None:
    from bridge.adapters.ledger.postgres import PostgresLedger

    store = PostgresLedger(postgres_url)
    store.migrate()
    try:
        for start in range(0, 1_200, 100):
            store.store_page(page(*(record(n) for n in range(start, start + 100))),
                             pass_id="p1", seen_at=NOW)
        # Analysed once the table grew by 1,000 items: the planner knows it is not empty, so
        # it finds a page's ids through the primary key instead of filtering the whole year.
        estimated = query(store, "SELECT reltuples FROM pg_class WHERE oid = 'items'::regclass")
        assert float(estimated[0][0]) >= 1_000  # type: ignore[arg-type]
        plan = " ".join(str(r[0]) for r in query(store, (
            "EXPLAIN SELECT source_id FROM items WHERE kind = 'surat' AND year = 2026 "
            "AND source_id = ANY(ARRAY['5', '6'])")))
        assert "Filter: (source_id" not in plan, plan
        stored = store._known_hashes(store._conn.cursor(), SURAT, 2026, ["5", "1199", "nope"])
        assert sorted(stored) == ["1199", "5"]
    finally:
        store.close()
