"""The replica's schema migrations (sqlite-utils ``Migrations``, each in its own transaction).

Imported only when a replica's file is behind ``SCHEMA_VERSION`` (``client.store.db``): a
current file opens without loading sqlite-utils.
"""

from __future__ import annotations

import json
import sqlite3

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("wedsync.replica")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            priority INTEGER NOT NULL,
            occurred_at_ms INTEGER NOT NULL,
            hlc INTEGER NOT NULL,
            contact TEXT,
            campaign TEXT,
            channel TEXT,
            value_cents INTEGER,
            payload TEXT,
            captured_at_ms INTEGER NOT NULL,
            synced INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX events_by_time ON events (occurred_at_ms);
        -- The outbox: what has not been acked yet, drained by priority class then sequence.
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            priority INTEGER NOT NULL,
            item_type TEXT NOT NULL,        -- 'event' | 'campaign'
            item_id TEXT NOT NULL,          -- event id or campaign id
            body BLOB NOT NULL,             -- packed event, or pycrdt update
            meta BLOB                       -- campaign updates: packed edit metadata
        );
        CREATE INDEX outbox_by_priority ON outbox (priority, seq);
        CREATE TABLE campaigns (
            id TEXT PRIMARY KEY,
            state BLOB NOT NULL,
            snapshot TEXT NOT NULL,
            updated_at_ms INTEGER NOT NULL
        );
        CREATE TABLE contacts (
            email TEXT PRIMARY KEY,
            fields TEXT NOT NULL,           -- {"field": value}
            clocks TEXT NOT NULL            -- {"field": [hlc, device]}
        );
        -- Items the server refused for good (e.g. a role that may not capture): kept, never dropped.
        CREATE TABLE rejected (
            seq INTEGER PRIMARY KEY,
            priority INTEGER NOT NULL,
            item_type TEXT NOT NULL,
            item_id TEXT NOT NULL,
            body BLOB NOT NULL,
            meta BLOB,
            code TEXT NOT NULL,
            reason TEXT NOT NULL,
            at_ms INTEGER NOT NULL
        );
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE sync_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at_ms INTEGER NOT NULL,
            ok INTEGER NOT NULL,
            summary TEXT NOT NULL
        );
        """
    )


@migrations()
def m002_sync_state_from_the_outbox(db: sqlite_utils.Database) -> None:
    """An event is synced when it is neither queued nor refused: derived from the outbox, so an
    ack is one DELETE instead of a DELETE and an UPDATE of every acked event."""
    db.executescript(
        """
        CREATE INDEX outbox_by_item ON outbox (item_id);
        CREATE INDEX rejected_by_item ON rejected (item_id);
        ALTER TABLE events DROP COLUMN synced;
        """
    )


@migrations()
def m003_outbox_keyed_by_class(db: sqlite_utils.Database) -> None:
    """The outbox keyed by (priority, seq) without a rowid: draining a class reads one range of
    the table and an ack deletes one range, instead of going through an index into the table.
    An event row keeps the seq of its outbox row (``outbox_seq``), so its sync state is a key
    lookup, and sequence numbers come from ``counters`` (one UPDATE per capture transaction)."""
    for statement in (
        """CREATE TABLE outbox_by_class (
            priority INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            item_type TEXT NOT NULL,        -- 'event' | 'campaign'
            item_id TEXT NOT NULL,          -- event id or campaign id
            body BLOB NOT NULL,             -- packed event, or pycrdt update
            meta BLOB,                      -- campaign updates: packed edit metadata
            PRIMARY KEY (priority, seq)
        ) WITHOUT ROWID""",
        "INSERT INTO outbox_by_class (priority, seq, item_type, item_id, body, meta) "
        "SELECT priority, seq, item_type, item_id, body, meta FROM outbox",
        "ALTER TABLE events ADD COLUMN outbox_seq INTEGER",
        "UPDATE events SET outbox_seq = coalesce("
        "(SELECT seq FROM outbox o WHERE o.item_id = events.id AND o.item_type = 'event'), "
        "(SELECT seq FROM rejected j WHERE j.item_id = events.id AND j.item_type = 'event'))",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "INSERT INTO counters (name, value) SELECT 'outbox_seq', max("
        "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0), "
        "coalesce((SELECT max(seq) FROM rejected), 0), "
        "coalesce((SELECT max(seq) FROM outbox), 0))",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_by_class RENAME TO outbox",
        "DROP INDEX rejected_by_item",
    ):
        db.execute(statement)


@migrations()
def m004_campaign_snapshots_with_note_entries(db: sqlite_utils.Database) -> None:
    """Campaign snapshots rebuilt from their documents: ``notes`` is now a list of entries
    (``shared.protocol.campaign.notes_of``), a document's earlier single-text notes included."""
    from shared.protocol import campaign as schema

    rows = db.execute("SELECT id, state FROM campaigns").fetchall()
    for campaign_id, state in rows:
        snap = schema.snapshot(schema.doc_from_state(bytes(state)))
        db.execute(
            "UPDATE campaigns SET snapshot = ? WHERE id = ?",
            (json.dumps(snap, sort_keys=True), campaign_id),
        )


@migrations()
def m005_run_view_snapshots(db: sqlite_utils.Database) -> None:
    """The last run view the server gave for each campaign and the time its figures are as of
    (``client.store.run_views``), so the last known figures show offline."""
    db.execute(
        """CREATE TABLE run_views (
            campaign_id TEXT PRIMARY KEY,
            view TEXT NOT NULL,             -- the server's answer (JSON)
            as_of_ms INTEGER NOT NULL,      -- when its figures were current (server time)
            fetched_at_ms INTEGER NOT NULL  -- when this replica received it
        )"""
    )


@migrations()
def m006_report_snapshots(db: sqlite_utils.Database) -> None:
    """The last ROI report the server gave for each dashboard period, with the report of the
    period before it (for trends) and the time its figures are as of
    (``client.store.report_snapshots``), so the dashboard and ``wedsync report roi`` show the
    last known figures offline."""
    db.execute(
        """CREATE TABLE report_snapshots (
            period TEXT PRIMARY KEY,        -- this_quarter, last_30_days, custom:FROM:TO, ...
            from_ms INTEGER NOT NULL,       -- the report's window
            to_ms INTEGER NOT NULL,
            report TEXT NOT NULL,           -- the server's answer (JSON)
            previous TEXT,                  -- the period before it, trimmed (JSON), if fetched
            as_of_ms INTEGER NOT NULL,      -- when its figures were current (server time)
            fetched_at_ms INTEGER NOT NULL  -- when this replica received it
        )"""
    )


def apply(conn: sqlite3.Connection) -> None:
    """Apply the pending migrations on ``conn``, each in its own transaction."""
    migrations.apply(sqlite_utils.Database(conn))


def registered() -> int:
    """How many migrations there are (``client.store.db.SCHEMA_VERSION`` must equal it)."""
    return len(migrations.pending(sqlite_utils.Database(sqlite3.connect(":memory:"))))
