"""The schema of the server's PostgreSQL database, as numbered migrations applied in order.

Each migration is applied in its own transaction and recorded in ``wedsync_schema`` with its
number and name; neither may change once released, and new ones are added at the end. A database
whose highest recorded number is above ``LATEST`` was migrated by a newer wedsync: opening it
raises ``SchemaTooNew``. Migrations run under a session advisory lock, so several server
processes starting together apply each one once.

Keys match the SQLite backend's (``server.storage.sqlite.migrations``): events, campaigns and
guarded edits are keyed by (org, id), contacts by (org, email); users' emails are unique within
their org.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial",
        """
        CREATE TABLE orgs (id text PRIMARY KEY, name text NOT NULL UNIQUE,
            created_at_ms bigint NOT NULL);
        CREATE TABLE users (
            id text PRIMARY KEY, org_id text NOT NULL REFERENCES orgs(id), email text NOT NULL,
            password_hash text NOT NULL, role text NOT NULL, created_at_ms bigint NOT NULL);
        CREATE UNIQUE INDEX users_by_email ON users (lower(email));
        CREATE TABLE devices (
            id text PRIMARY KEY, org_id text NOT NULL, user_id text NOT NULL REFERENCES users(id),
            name text NOT NULL, token_hash text NOT NULL UNIQUE, created_at_ms bigint NOT NULL,
            last_seen_ms bigint, revoked integer NOT NULL DEFAULT 0);
        CREATE TABLE events (
            id text COLLATE "C" PRIMARY KEY, org_id text NOT NULL, device_id text NOT NULL,
            kind text NOT NULL, priority smallint NOT NULL, occurred_at_ms bigint NOT NULL,
            hlc bigint NOT NULL, contact text, campaign text, channel text, value_cents bigint,
            payload bytea, received_at_ms bigint NOT NULL, commit_seq bigint NOT NULL);
        CREATE TABLE commits (
            seq bigint PRIMARY KEY, at_ms bigint NOT NULL, priority smallint NOT NULL,
            items integer NOT NULL);
        CREATE TABLE contacts (
            org_id text NOT NULL, email text NOT NULL, fields text NOT NULL, clocks text NOT NULL,
            PRIMARY KEY (org_id, email));
        CREATE TABLE campaigns (
            id text COLLATE "C" PRIMARY KEY, org_id text NOT NULL, state bytea NOT NULL,
            snapshot text NOT NULL, updated_at_ms bigint NOT NULL);
        CREATE INDEX campaigns_by_org ON campaigns (org_id);
        CREATE TABLE campaign_updates (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, campaign_id text NOT NULL,
            org_id text NOT NULL, device_id text, user_id text NOT NULL,
            update_blob bytea NOT NULL, meta bytea, received_at_ms bigint NOT NULL);
        CREATE INDEX campaign_updates_by_campaign ON campaign_updates (campaign_id, seq);
        CREATE INDEX campaign_updates_by_org ON campaign_updates (org_id, seq);
        CREATE TABLE audit (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, org_id text NOT NULL,
            at_ms bigint NOT NULL, user_id text, email text, device_id text,
            action text NOT NULL, target text, outcome text NOT NULL, detail text NOT NULL,
            repeats integer NOT NULL DEFAULT 1, last_at_ms bigint);
        CREATE INDEX audit_by_org ON audit (org_id, id);
        CREATE TABLE guarded_edits (
            edit text PRIMARY KEY, org_id text NOT NULL, campaign_id text NOT NULL,
            field text NOT NULL, bases text NOT NULL, value text, user_id text, author text,
            device_id text, hlc bigint, at_ms bigint NOT NULL);
        CREATE TABLE conflicts (
            id text PRIMARY KEY, org_id text NOT NULL, campaign_id text NOT NULL,
            field text NOT NULL, kind text NOT NULL, status text NOT NULL,
            candidates text NOT NULL, provisional text, created_at_ms bigint NOT NULL,
            updated_at_ms bigint NOT NULL, resolved_by text, resolved_at_ms bigint,
            resolution text, comment text);
        CREATE INDEX conflicts_by_org ON conflicts (org_id, status, created_at_ms);
        CREATE INDEX conflicts_open ON conflicts (campaign_id, field, kind, status);
        """,
    ),
    Migration(
        2,
        "security_ids_by_org",
        """
        ALTER TABLE events DROP CONSTRAINT events_pkey, ADD PRIMARY KEY (org_id, id);
        ALTER TABLE campaigns DROP CONSTRAINT campaigns_pkey, ADD PRIMARY KEY (org_id, id);
        DROP INDEX campaigns_by_org;
        ALTER TABLE guarded_edits DROP CONSTRAINT guarded_edits_pkey,
            ADD PRIMARY KEY (org_id, edit);
        DROP INDEX users_by_email;
        CREATE UNIQUE INDEX users_by_org_email ON users (org_id, lower(email));
        CREATE INDEX users_by_email ON users (lower(email));
        DROP INDEX conflicts_open;
        CREATE INDEX conflicts_open ON conflicts (org_id, campaign_id, field, kind, status);
        """,
    ),
    Migration(
        3,
        "automation",
        """
        CREATE TABLE automation_meta (key text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE automation_enrolments (
            id text PRIMARY KEY, org_id text NOT NULL, campaign_id text NOT NULL,
            contact text NOT NULL, status text NOT NULL, held_out integer NOT NULL,
            node text, due_ms bigint, wake_on text NOT NULL DEFAULT '', state text NOT NULL,
            entered_at_ms bigint NOT NULL, exited_at_ms bigint, exit_reason text,
            converted_at_ms bigint, version integer NOT NULL DEFAULT 0,
            updated_at_ms bigint NOT NULL);
        CREATE INDEX automation_enrolments_due ON automation_enrolments (due_ms)
            WHERE status <> 'exited';
        CREATE INDEX automation_enrolments_by_contact
            ON automation_enrolments (org_id, contact, campaign_id);
        CREATE INDEX automation_enrolments_by_campaign ON automation_enrolments (campaign_id);
        CREATE TABLE automation_sends (
            id text PRIMARY KEY, key text NOT NULL UNIQUE, org_id text NOT NULL,
            campaign_id text NOT NULL, enrolment_id text NOT NULL, contact text NOT NULL,
            step text NOT NULL, step_index integer NOT NULL, variant text,
            held_out integer NOT NULL DEFAULT 0, status text NOT NULL, reason text,
            due_ms bigint, attempts integer NOT NULL DEFAULT 0, message_id text, links text,
            raw bytea, created_at_ms bigint NOT NULL, sent_at_ms bigint, smtp_code integer,
            opened_at_ms bigint, proxy_opened_at_ms bigint, clicked_at_ms bigint,
            scanner_clicked_at_ms bigint, unsubscribed_at_ms bigint, claimed_by text,
            lease_until_ms bigint, updated_at_ms bigint NOT NULL);
        CREATE INDEX automation_sends_queue ON automation_sends (org_id, status, due_ms);
        CREATE INDEX automation_sends_by_contact
            ON automation_sends (org_id, contact, created_at_ms);
        CREATE INDEX automation_sends_by_campaign ON automation_sends (campaign_id);
        CREATE TABLE automation_suppressions (
            org_id text NOT NULL, contact text NOT NULL, reason text NOT NULL,
            at_ms bigint NOT NULL, source text NOT NULL, PRIMARY KEY (org_id, contact, reason));
        CREATE TABLE automation_smtp (
            org_id text PRIMARY KEY, host text NOT NULL, port integer NOT NULL,
            security text NOT NULL, username text, password_sealed bytea,
            from_address text NOT NULL, updated_at_ms bigint NOT NULL);
        CREATE TABLE automation_tracking_keys (
            key_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, org_id text NOT NULL,
            key_sealed bytea NOT NULL, created_at_ms bigint NOT NULL);
        CREATE INDEX automation_tracking_keys_by_org ON automation_tracking_keys (org_id);
        CREATE TABLE automation_history (
            org_id text NOT NULL, contact text NOT NULL, occurred_at_ms bigint NOT NULL,
            id text NOT NULL, kind text NOT NULL, hlc bigint NOT NULL, campaign text,
            channel text, value_cents bigint, payload bytea,
            PRIMARY KEY (org_id, contact, occurred_at_ms, id));
        -- the engine's cursor over committed events (cheap: commit seqs only grow)
        CREATE INDEX events_by_commit ON events (commit_seq, id);
        """,
    ),
    Migration(
        4,
        "security_sessions",
        "ALTER TABLE users ADD COLUMN disabled integer NOT NULL DEFAULT 0;",
    ),
    Migration(
        5,
        "automation_queue_order",
        """
        -- due rows are taken in (due time, id) order: read from the index, never sorted
        DROP INDEX automation_enrolments_due;
        CREATE INDEX automation_enrolments_due ON automation_enrolments (due_ms, id);
        DROP INDEX automation_sends_queue;
        CREATE INDEX automation_sends_queue ON automation_sends (org_id, status, due_ms, id);
        CREATE INDEX automation_sends_due ON automation_sends (status, due_ms, org_id);
        """,
    ),
)

LATEST = MIGRATIONS[-1].version
