"""The ledger's schema, as numbered migrations applied in order at start-up."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: items as received, list cursors, quarantine, passes, the history of item changes.
    """
    CREATE TABLE items (
        kind TEXT NOT NULL,
        year INTEGER NOT NULL,
        source_id TEXT NOT NULL,
        parent_id TEXT,
        item_time TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        payload TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        version INTEGER NOT NULL DEFAULT 1,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        last_pass TEXT,
        missing_since TEXT,
        PRIMARY KEY (kind, year, source_id)
    );
    CREATE INDEX items_parent ON items (year, parent_id) WHERE parent_id IS NOT NULL;
    CREATE INDEX items_changed ON items (changed_at);
    CREATE TABLE item_changes (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        year INTEGER NOT NULL,
        source_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        pass_id TEXT
    );
    CREATE INDEX item_changes_item ON item_changes (kind, year, source_id);
    CREATE TABLE cursors (
        kind TEXT NOT NULL,
        year INTEGER NOT NULL,
        watermark TEXT,
        last_page INTEGER NOT NULL DEFAULT 0,
        pass_id TEXT,
        last_complete_pass_at TEXT,
        last_full_pass_at TEXT,
        PRIMARY KEY (kind, year)
    );
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        year INTEGER NOT NULL,
        qkey TEXT NOT NULL,
        source_id TEXT,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 1,
        UNIQUE (kind, year, qkey)
    );
    CREATE TABLE passes (
        pass_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        year INTEGER NOT NULL,
        mode TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        pages INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        new INTEGER NOT NULL,
        changed INTEGER NOT NULL,
        unchanged INTEGER NOT NULL,
        quarantined INTEGER NOT NULL,
        missing INTEGER NOT NULL,
        complete INTEGER NOT NULL,
        watermark TEXT,
        error TEXT,
        PRIMARY KEY (pass_id, kind, year)
    );
    CREATE INDEX passes_finished ON passes (finished_at);
    """,
    # 2: cases derived from the items, their history, the outbox of pushes, leases.
    """
    CREATE TABLE dirty_cases (
        year INTEGER NOT NULL,
        surat_id TEXT NOT NULL,
        marked_at TEXT NOT NULL,
        PRIMARY KEY (year, surat_id)
    );
    CREATE INDEX dirty_cases_order ON dirty_cases (marked_at, year, surat_id);
    CREATE TABLE cases (
        case_id TEXT PRIMARY KEY,
        year INTEGER NOT NULL,
        surat_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        overdue INTEGER NOT NULL,
        next_deadline TEXT,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX cases_step ON cases (step);
    CREATE TABLE case_history (
        id INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        description TEXT NOT NULL,
        source TEXT
    );
    CREATE INDEX case_history_case ON case_history (case_id, id);
    CREATE TABLE sla_breaches (
        case_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        deadline TEXT NOT NULL,
        logged_at TEXT NOT NULL,
        PRIMARY KEY (case_id, step, deadline)
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        ref TEXT NOT NULL UNIQUE,
        case_id TEXT NOT NULL,
        year INTEGER NOT NULL,
        surat_id TEXT NOT NULL,
        action TEXT NOT NULL,
        step INTEGER NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        remote_id TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX outbox_state ON outbox (state, id);
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    """,
    # 3: nothing reads items by change time; the index only slowed every insert down.
    """
    DROP INDEX IF EXISTS items_changed;
    """,
    # 4: the outbox state "sending" is named for what it means: a POST may have reached the
    # server, so the ref is looked up before anything is sent again.
    """
    UPDATE outbox SET state = 'in_doubt' WHERE state = 'sending';
    """,
    # 5: the step-4 invitations drafted, and what their signer did (signed, returned).
    """
    CREATE TABLE invitations (
        ref TEXT PRIMARY KEY,
        year INTEGER NOT NULL,
        surat_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        remote_id TEXT,
        status TEXT NOT NULL,
        drafted_at TEXT NOT NULL,
        meeting_at TEXT,
        place TEXT,
        signer TEXT,
        nomor_surat TEXT,
        signed_at TEXT,
        reason TEXT,
        returned_at TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX invitations_case ON invitations (year, surat_id, attempt);
    CREATE INDEX invitations_status ON invitations (status);
    """,
    # 6: the year directories the last round chose to poll, and why, for `bridge status`
    # (which reads the ledger alone, so it cannot work the choice out itself).
    """
    CREATE TABLE polled_years (
        year INTEGER PRIMARY KEY,
        dir TEXT NOT NULL,
        reason TEXT NOT NULL,
        decided_at TEXT NOT NULL
    );
    """,
    # 7: operators' decisions on letters (who, when, why; the latest wins) and the letters
    # waiting for one (the review queue).
    """
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        year INTEGER NOT NULL,
        surat_id TEXT NOT NULL,
        action TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX decisions_letter ON decisions (year, surat_id, id);
    CREATE TABLE review_queue (
        year INTEGER NOT NULL,
        surat_id TEXT NOT NULL,
        perihal TEXT,
        asal_surat TEXT,
        score REAL NOT NULL,
        why TEXT NOT NULL,
        queued_at TEXT NOT NULL,
        PRIMARY KEY (year, surat_id)
    );
    """,
    # 8: a case is now saved with the pushes it needs, in one transaction (until now they were
    # queued after it, and once per process for every case). Every case is derived once
    # more, so that the pushes of cases derived while pushing was off are queued too.
    """
    INSERT INTO dirty_cases (year, surat_id, marked_at)
    SELECT year, surat_id, '1970-01-01T00:00:00+00:00' FROM cases WHERE true
    ON CONFLICT (year, surat_id) DO NOTHING;
    """,
)

CURRENT_VERSION = len(MIGRATIONS)
