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


@migrations()
def m006_security_audit_repeats(db: sqlite_utils.Database) -> None:
    """Identical refusals in a row are one audit entry with a count and the time of the last."""
    db.executescript(
        """
        ALTER TABLE audit ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE audit ADD COLUMN last_at_ms INTEGER;
        """
    )


@migrations()
def m007_automation(db: sqlite_utils.Database) -> None:
    """The automation's rows (``automation``): enrolments, sends with their idempotency keys,
    suppressions, per-org SMTP settings and tracking keys, the engine's bookmarks and its slice
    of contacts' history; and an index of events by commit for the engine's cursor."""
    db.executescript(
        """
        CREATE TABLE automation_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE automation_enrolments (
            id TEXT PRIMARY KEY, org_id TEXT NOT NULL, campaign_id TEXT NOT NULL,
            contact TEXT NOT NULL, status TEXT NOT NULL, held_out INTEGER NOT NULL,
            node TEXT, due_ms INTEGER, wake_on TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
            entered_at_ms INTEGER NOT NULL, exited_at_ms INTEGER, exit_reason TEXT,
            converted_at_ms INTEGER, version INTEGER NOT NULL DEFAULT 0,
            updated_at_ms INTEGER NOT NULL
        );
        CREATE INDEX automation_enrolments_due ON automation_enrolments (due_ms)
            WHERE status != 'exited';
        CREATE INDEX automation_enrolments_by_contact
            ON automation_enrolments (org_id, contact, campaign_id);
        CREATE INDEX automation_enrolments_by_campaign ON automation_enrolments (campaign_id);
        CREATE TABLE automation_sends (
            id TEXT PRIMARY KEY, key TEXT NOT NULL UNIQUE, org_id TEXT NOT NULL,
            campaign_id TEXT NOT NULL, enrolment_id TEXT NOT NULL, contact TEXT NOT NULL,
            step TEXT NOT NULL, step_index INTEGER NOT NULL, variant TEXT,
            held_out INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, reason TEXT,
            due_ms INTEGER, attempts INTEGER NOT NULL DEFAULT 0, message_id TEXT, links TEXT,
            raw BLOB, created_at_ms INTEGER NOT NULL, sent_at_ms INTEGER, smtp_code INTEGER,
            opened_at_ms INTEGER, proxy_opened_at_ms INTEGER, clicked_at_ms INTEGER,
            scanner_clicked_at_ms INTEGER, unsubscribed_at_ms INTEGER, claimed_by TEXT,
            lease_until_ms INTEGER, updated_at_ms INTEGER NOT NULL
        );
        CREATE INDEX automation_sends_queue ON automation_sends (org_id, status, due_ms);
        CREATE INDEX automation_sends_by_contact
            ON automation_sends (org_id, contact, created_at_ms);
        CREATE INDEX automation_sends_by_campaign ON automation_sends (campaign_id);
        CREATE TABLE automation_suppressions (
            org_id TEXT NOT NULL, contact TEXT NOT NULL, reason TEXT NOT NULL,
            at_ms INTEGER NOT NULL, source TEXT NOT NULL, PRIMARY KEY (org_id, contact, reason)
        ) WITHOUT ROWID;
        CREATE TABLE automation_smtp (
            org_id TEXT PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL,
            security TEXT NOT NULL, username TEXT, password_sealed BLOB,
            from_address TEXT NOT NULL, updated_at_ms INTEGER NOT NULL
        );
        CREATE TABLE automation_tracking_keys (
            key_id INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL,
            key_sealed BLOB NOT NULL, created_at_ms INTEGER NOT NULL
        );
        CREATE INDEX automation_tracking_keys_by_org ON automation_tracking_keys (org_id);
        -- the slice of history automation reads (a contact's events of the kinds running
        -- campaigns watch), kept by the engine off the ingest path: an index on events by
        -- contact would cost ingest four times its speed
        CREATE TABLE automation_history (
            org_id TEXT NOT NULL, contact TEXT NOT NULL, occurred_at_ms INTEGER NOT NULL,
            id TEXT NOT NULL, kind TEXT NOT NULL, hlc INTEGER NOT NULL, campaign TEXT,
            channel TEXT, value_cents INTEGER, payload BLOB,
            PRIMARY KEY (org_id, contact, occurred_at_ms, id)
        ) WITHOUT ROWID;
        -- the engine's cursor over committed events (cheap: commit seqs only grow)
        CREATE INDEX events_by_commit ON events (commit_seq, id);
        """
    )


def _rebuild(db: sqlite_utils.Database, table: str, create: str) -> None:
    """Replace ``table`` by one made with ``create`` (same columns, in the same order, new keys),
    keeping its rows and its other indexes."""
    indexes = [
        sql
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        )
    ]
    db.execute(create.replace(f"CREATE TABLE {table} ", f"CREATE TABLE {table}_rekeyed ", 1))
    db.execute(f"INSERT INTO {table}_rekeyed SELECT * FROM {table}")
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE {table}_rekeyed RENAME TO {table}")
    for sql in indexes:
        db.execute(sql)


@migrations()
def m008_security_ids_by_org(db: sqlite_utils.Database) -> None:
    """Ids made on devices are keys within their org, not across orgs: events, campaigns and
    guarded edits are keyed by (org, id), so another org's use of an id neither hides a push as
    a duplicate nor tells that the id exists; users' emails are unique within their org.
    Events stay WITHOUT ROWID: a batch's rows share the org and come in id order, so inserts
    still append to the key's end."""
    _rebuild(
        db,
        "events",
        """CREATE TABLE events (
            id TEXT NOT NULL, org_id TEXT NOT NULL, device_id TEXT NOT NULL,
            kind TEXT NOT NULL, priority INTEGER NOT NULL, occurred_at_ms INTEGER NOT NULL,
            hlc INTEGER NOT NULL, contact TEXT, campaign TEXT, channel TEXT, value_cents INTEGER,
            payload BLOB, received_at_ms INTEGER NOT NULL, commit_seq INTEGER NOT NULL,
            PRIMARY KEY (org_id, id)
        ) WITHOUT ROWID""",
    )
    db.execute("DROP INDEX IF EXISTS campaigns_by_org")  # the key now leads with the org
    _rebuild(
        db,
        "campaigns",
        """CREATE TABLE campaigns (
            id TEXT NOT NULL, org_id TEXT NOT NULL, state BLOB NOT NULL, snapshot TEXT NOT NULL,
            updated_at_ms INTEGER NOT NULL, PRIMARY KEY (org_id, id)
        )""",
    )
    _rebuild(
        db,
        "guarded_edits",
        """CREATE TABLE guarded_edits (
            edit TEXT NOT NULL, org_id TEXT NOT NULL, campaign_id TEXT NOT NULL,
            field TEXT NOT NULL, bases TEXT NOT NULL, value TEXT, user_id TEXT, author TEXT,
            device_id TEXT, hlc INTEGER, at_ms INTEGER NOT NULL, PRIMARY KEY (org_id, edit)
        )""",
    )
    _rebuild(
        db,
        "users",
        """CREATE TABLE users (
            id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),
            email TEXT NOT NULL COLLATE NOCASE, password_hash TEXT NOT NULL,
            role TEXT NOT NULL, created_at_ms INTEGER NOT NULL, UNIQUE (org_id, email)
        )""",
    )
    db.execute("CREATE INDEX IF NOT EXISTS users_by_email ON users (email)")
    db.execute("DROP INDEX IF EXISTS conflicts_open")
    db.execute(
        "CREATE INDEX conflicts_open ON conflicts (org_id, campaign_id, field, kind, status)"
    )


@migrations()
def m009_security_sessions(db: sqlite_utils.Database) -> None:
    """A user can be disabled (their tokens stop working at once)."""
    db.execute("ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0")


@migrations()
def m010_automation_queue_order(db: sqlite_utils.Database) -> None:
    """The scheduler and the mailer take due rows in (due time, id) order: indexes in that
    order, so taking the next 200 reads 200 rows instead of sorting every row due at the same
    moment (100,000 enrolments made due at once were sorted again for each batch). The mail
    rounds ask which orgs have due sends and when the next one falls due: an index by status
    and due time answers both without a scan."""
    db.execute("DROP INDEX IF EXISTS automation_enrolments_due")
    db.execute("CREATE INDEX automation_enrolments_due ON automation_enrolments (due_ms, id)")
    db.execute("DROP INDEX IF EXISTS automation_sends_queue")
    db.execute(
        "CREATE INDEX automation_sends_queue ON automation_sends (org_id, status, due_ms, id)"
    )
    db.execute("CREATE INDEX automation_sends_due ON automation_sends (status, due_ms, org_id)")
