"""The schema of the server's SQLite file, as sqlite-utils migrations applied in order.

Existing data directories migrate by name: the ``Migrations`` name ("wedsync.server") and each
function's name are recorded in the file, so neither may change, and new migrations are added
at the end.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("wedsync.server")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at_ms INTEGER NOT NULL);
        CREATE TABLE users (
            id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),
            email TEXT NOT NULL UNIQUE COLLATE NOCASE, password_hash TEXT NOT NULL,
            role TEXT NOT NULL, created_at_ms INTEGER NOT NULL
        );
        CREATE TABLE devices (
            id TEXT PRIMARY KEY, org_id TEXT NOT NULL, user_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at_ms INTEGER NOT NULL,
            last_seen_ms INTEGER, revoked INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE events (
            id TEXT PRIMARY KEY, org_id TEXT NOT NULL, device_id TEXT NOT NULL,
            kind TEXT NOT NULL, priority INTEGER NOT NULL, occurred_at_ms INTEGER NOT NULL,
            hlc INTEGER NOT NULL, contact TEXT, campaign TEXT, channel TEXT, value_cents INTEGER,
            payload BLOB, received_at_ms INTEGER NOT NULL, commit_seq INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX events_by_org_time ON events (org_id, occurred_at_ms);
        CREATE TABLE commits (
            seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, priority INTEGER NOT NULL,
            items INTEGER NOT NULL
        );
        CREATE TABLE contacts (
            org_id TEXT NOT NULL, email TEXT NOT NULL, fields TEXT NOT NULL, clocks TEXT NOT NULL,
            PRIMARY KEY (org_id, email)
        ) WITHOUT ROWID;
        CREATE TABLE campaigns (
            id TEXT PRIMARY KEY, org_id TEXT NOT NULL, state BLOB NOT NULL, snapshot TEXT NOT NULL,
            updated_at_ms INTEGER NOT NULL
        );
        CREATE INDEX campaigns_by_org ON campaigns (org_id);
        CREATE TABLE campaign_updates (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, campaign_id TEXT NOT NULL, org_id TEXT NOT NULL,
            device_id TEXT, user_id TEXT NOT NULL, update_blob BLOB NOT NULL, meta BLOB,
            received_at_ms INTEGER NOT NULL
        );
        CREATE INDEX campaign_updates_by_campaign ON campaign_updates (campaign_id, seq);
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
            user_id TEXT, email TEXT, device_id TEXT, action TEXT NOT NULL, target TEXT,
            outcome TEXT NOT NULL, detail TEXT NOT NULL
        );
        CREATE INDEX audit_by_org ON audit (org_id, id);
        """
    )


@migrations()
def m002_conflicts(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Every guarded edit the server has merged, with who made it: the candidates of conflicts.
        CREATE TABLE guarded_edits (
            edit TEXT PRIMARY KEY, org_id TEXT NOT NULL, campaign_id TEXT NOT NULL,
            field TEXT NOT NULL, bases TEXT NOT NULL, value TEXT, user_id TEXT, author TEXT,
            device_id TEXT, hlc INTEGER, at_ms INTEGER NOT NULL
        );
        CREATE TABLE conflicts (
            id TEXT PRIMARY KEY, org_id TEXT NOT NULL, campaign_id TEXT NOT NULL,
            field TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
            candidates TEXT NOT NULL, provisional TEXT, created_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER NOT NULL, resolved_by TEXT, resolved_at_ms INTEGER,
            resolution TEXT, comment TEXT
        );
        CREATE INDEX conflicts_by_org ON conflicts (org_id, status, created_at_ms);
        CREATE INDEX conflicts_open ON conflicts (campaign_id, field, kind, status);
        """
    )


@migrations()
def m003_ingest_without_a_time_index(db: sqlite_utils.Database) -> None:
    """Ingest is the hot path; reports read an org's events once per data version and sort them
    in numpy (``EventFrame``), so the (org, time) index cost every insert and saved little."""
    db.execute("DROP INDEX IF EXISTS events_by_org_time")


@migrations()
def m004_campaign_changes_by_org(db: sqlite_utils.Database) -> None:
    """A pull by change cursor reads an org's campaign updates after a seq, and the newest seq."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS campaign_updates_by_org ON campaign_updates (org_id, seq)"
    )


@migrations()
def m005_log_unlogged_campaigns(db: sqlite_utils.Database) -> None:
    """Campaigns stored before every change was logged (seeded ones) get their state as one log
    entry, so pulls by change cursor start from a log that holds every campaign."""
    db.execute(
        "INSERT INTO campaign_updates (campaign_id, org_id, device_id, user_id, update_blob, "
        "meta, received_at_ms) SELECT c.id, c.org_id, NULL, 'system', c.state, NULL, "
        "c.updated_at_ms FROM campaigns c WHERE NOT EXISTS "
        "(SELECT 1 FROM campaign_updates u WHERE u.campaign_id = c.id) ORDER BY c.id"
    )
