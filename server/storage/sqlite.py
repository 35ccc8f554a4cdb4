"""The embedded SQLite backend (WAL), one file in the server's data directory.

Two connections: the writer (used only from the writer thread) and a reader (used only from the
reader thread), so long reports never block ingest. Events are deduplicated by id with
``INSERT OR IGNORE``; each commit of the writer gets a sequence number kept on its rows.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

import msgpack
import msgspec
import sqlite_utils
from sqlite_utils.migrations import Migrations

from shared.protocol.ids import new_id
from shared.protocol.kinds import PRIORITY_CLASSES

from ..errors import AlreadyExists
from .base import CampaignRow, DeviceAuth, UserRow

log = logging.getLogger(__name__)
DB_FILENAME = "server.sqlite"
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


_EVENT_COLUMNS = (
    "id, org_id, device_id, kind, priority, occurred_at_ms, hlc, contact, campaign, channel, "
    "value_cents, payload, received_at_ms, commit_seq"
)
_BATCH_PARAMS = 5  # ?1 org, ?2 device, ?3 priority, ?4 received_at_ms, ?5 commit_seq
_WIRE_WIDTH = 9  # the fields of a wire array, bound in wire order
# Many rows per statement, the batch's shared values bound once and each row's wire array bound
# as it came: Python's executemany costs more per row than SQLite's insert itself.
_ROWS_PER_INSERT = 500  # x 9 parameters, well under SQLite's limit of 32,766


@functools.lru_cache(maxsize=32)
def _insert_events_sql(rows: int) -> str:
    values = []
    for r in range(rows):
        p = _BATCH_PARAMS + 1 + r * _WIRE_WIDTH  # this row's first parameter
        # wire order: id, kind, occurred_at_ms, hlc, contact, campaign, channel, value, payload
        values.append(
            f"(?{p}, ?1, ?2, ?{p + 1}, ?3, ?{p + 2}, ?{p + 3}, ?{p + 4}, ?{p + 5}, ?{p + 6}, "
            f"?{p + 7}, ?{p + 8}, ?4, ?5)"
        )
    return f"INSERT OR IGNORE INTO events ({_EVENT_COLUMNS}) VALUES " + ", ".join(values)


def _msgpack_default(value: Any) -> Any:
    """Payload values decoded by msgspec that msgpack cannot pack as they are."""
    if isinstance(value, msgspec.msgpack.Ext):
        return msgpack.ExtType(value.code, value.data)
    if isinstance(value, datetime):
        return msgpack.Timestamp.from_datetime(value)
    raise TypeError(f"cannot store a payload value of type {type(value).__name__}")


def pack_payload(payload: dict[str, Any] | None) -> bytes | None:
    return msgpack.packb(payload, default=_msgpack_default) if payload else None


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


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA cache_size=-131072")
    return conn


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Checkpointer:
    """Copies the write-ahead log back into the database on its own thread and connection.

    SQLite's automatic checkpoint runs inside whichever commit crosses the threshold, so the
    writer (and every device waiting for an ack) would wait for the copy and its fsyncs. A
    PASSIVE checkpoint never blocks the writer or readers; this one runs after commits, at most
    every ``interval_s``, while the writer goes on. Durability is unchanged: a commit is durable
    once it is in the log, checkpointed or not.
    """

    def __init__(self, path: Path, interval_s: float = 0.05) -> None:
        self._path = path
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0
        self._thread = threading.Thread(target=self._run, name="wedsync-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        try:
            while True:
                self._wake.wait()
                if self._stopping:
                    return
                self._wake.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:  # e.g. busy: the next commit nudges again
                    log.warning("background checkpoint failed", exc_info=True)
                time.sleep(self._interval_s)
        finally:
            conn.close()


class SQLiteStorage:
    """The ``Storage`` protocol on one SQLite file."""

    def __init__(self, data_dir: Path | str, *, checkpoint_in_background: bool = False) -> None:
        """``checkpoint_in_background``: for the long-running writer (the server), move WAL
        checkpoints off the committing thread (see ``_Checkpointer``)."""
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILENAME
        self.db = sqlite_utils.Database(_connect(self.path))
        migrations.apply(self.db)
        self._lock = threading.RLock()
        self._depth = 0
        #: events inserted through this handle, rolled back or not (the writer compares it
        #: with what its jobs report, to know every event a commit stored)
        self.events_inserted = 0
        self._checkpointer: _Checkpointer | None = None
        if checkpoint_in_background:
            self.db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = _Checkpointer(self.path)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            try:
                with self.db.atomic():
                    yield
            finally:
                self._depth -= 1
            if self._depth == 0 and self._checkpointer is not None:
                self._checkpointer.nudge()  # committed: the log has grown

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the file (one read transaction); not for writes."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def reader(self) -> SQLiteStorage:
        """A second handle on the same file, for the reader thread."""
        return SQLiteStorage(self.data_dir)

    # ------------------------------------------------------------------ accounts

    def ensure_org(self, name: str) -> str:
        with self.transaction():
            row = self.db.execute("SELECT id FROM orgs WHERE name = ?", (name,)).fetchone()
            if row:
                return row[0]
            org_id = new_id()
            self.db.execute(
                "INSERT INTO orgs (id, name, created_at_ms) VALUES (?, ?, ?)",
                (org_id, name, _now_ms()),
            )
            return org_id

    def org_id(self, name: str) -> str | None:
        row = self.db.execute("SELECT id FROM orgs WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def create_user(self, *, org_id: str, email: str, password_hash: str, role: str) -> str:
        user_id = new_id()
        try:
            with self.transaction():
                self.db.execute(
                    "INSERT INTO users (id, org_id, email, password_hash, role, created_at_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, org_id, email, password_hash, role, _now_ms()),
                )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"a user with email {email} already exists") from None
        return user_id

    def user_by_email(self, email: str) -> UserRow | None:
        row = self.db.execute(
            "SELECT u.id, u.org_id, o.name, u.email, u.role, u.password_hash FROM users u "
            "JOIN orgs o ON o.id = u.org_id WHERE u.email = ?",
            (email,),
        ).fetchone()
        return UserRow(*row) if row else None

    def users(self, org_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, email, role, created_at_ms FROM users WHERE org_id = ? ORDER BY email",
            (org_id,),
        )
        return [dict(zip(("id", "email", "role", "created_at_ms"), r, strict=True)) for r in rows]

    def create_device(
        self, *, user_id: str, org_id: str, name: str, token_hash: str, device_id: str | None = None
    ) -> str:
        """Register a device; the id the device made for itself is kept unless already taken."""
        with self.transaction():
            if (
                device_id is None
                or self.db.execute("SELECT 1 FROM devices WHERE id = ?", (device_id,)).fetchone()
            ):
                device_id = new_id()
            self.db.execute(
                "INSERT INTO devices (id, org_id, user_id, name, token_hash, created_at_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (device_id, org_id, user_id, name, token_hash, _now_ms()),
            )
        return device_id

    def device_by_token_hash(self, token_hash: str) -> DeviceAuth | None:
        row = self.db.execute(
            "SELECT d.id, u.id, u.email, u.org_id, u.role FROM devices d JOIN users u "
            "ON u.id = d.user_id WHERE d.token_hash = ? AND d.revoked = 0",
            (token_hash,),
        ).fetchone()
        return DeviceAuth(*row) if row else None

    def touch_device(self, device_id: str, at_ms: int) -> None:
        with self.transaction():
            self.db.execute("UPDATE devices SET last_seen_ms = ? WHERE id = ?", (at_ms, device_id))

    # ------------------------------------------------------------------ events

    def insert_events(
        self,
        *,
        org_id: str,
        device_id: str,
        events: list[list[Any]],
        priority: int,
        commit_seq: int,
    ) -> tuple[int, int]:
        """Store validated wire arrays not stored before; returns (new, duplicates).
        Call inside transaction()."""
        shared = [org_id, device_id, priority, _now_ms(), commit_seq]
        conn = self.db.conn
        before = conn.total_changes
        for i in range(0, len(events), _ROWS_PER_INSERT):
            chunk = events[i : i + _ROWS_PER_INSERT]
            params = list(chain.from_iterable(chunk))
            payloads = params[_WIRE_WIDTH - 1 :: _WIRE_WIDTH]
            params[_WIRE_WIDTH - 1 :: _WIRE_WIDTH] = (
                list(map(pack_payload, payloads)) if any(payloads) else [None] * len(chunk)
            )
            conn.execute(_insert_events_sql(len(chunk)), shared + params)
        stored = conn.total_changes - before
        self.events_inserted += stored
        return stored, len(events) - stored

    def event_rows(self, org_id: str, from_ms: int | None, to_ms: int | None) -> Iterator[tuple]:
        """(id, kind, occurred_at_ms, contact, campaign, channel, value_cents, payload) rows."""
        lo = from_ms if from_ms is not None else 0
        hi = to_ms if to_ms is not None else 2**62
        cursor = self.db.execute(
            "SELECT id, kind, occurred_at_ms, contact, campaign, channel, value_cents, payload "
            "FROM events WHERE org_id = ? AND occurred_at_ms >= ? AND occurred_at_ms < ? "
            "ORDER BY id",  # the primary key's order: free, and the same on every read
            (org_id, lo, hi),
        )
        unpackb = msgpack.unpackb
        for r in cursor:
            yield (*r[:7], unpackb(r[7]) if r[7] else {})

    def event_time_range(self, org_id: str) -> tuple[int | None, int | None]:
        row = self.db.execute(
            "SELECT min(occurred_at_ms), max(occurred_at_ms) FROM events WHERE org_id = ?",
            (org_id,),
        ).fetchone()
        return row[0], row[1]

    def data_version(self, org_id: str) -> tuple[int, int]:
        """Changes whenever events or campaigns change (any org; cheap to read)."""
        commits = self.db.execute("SELECT max(seq) FROM commits").fetchone()[0] or 0
        updates = (
            self.db.execute(
                "SELECT max(seq) FROM campaign_updates WHERE org_id = ?", (org_id,)
            ).fetchone()[0]
            or 0
        )
        return commits, updates

    def record_commit(self, *, seq: int, priority: int, items: int, at_ms: int) -> None:
        self.db.execute(
            "INSERT INTO commits (seq, at_ms, priority, items) VALUES (?, ?, ?, ?)",
            (seq, at_ms, priority, items),
        )

    def last_commit_seq(self) -> int:
        row = self.db.execute("SELECT max(seq) FROM commits").fetchone()
        return row[0] or 0

    # ------------------------------------------------------------------ contacts

    def merge_contact(
        self, *, org_id: str, email: str, fields: dict[str, Any], hlc: int, device_id: str
    ) -> None:
        """Last writer wins per field on (hybrid clock, device id). Call inside transaction()."""
        row = self.db.execute(
            "SELECT fields, clocks FROM contacts WHERE org_id = ? AND email = ?", (org_id, email)
        ).fetchone()
        current, clocks = (json.loads(row[0]), json.loads(row[1])) if row else ({}, {})
        for key, value in fields.items():
            if tuple(clocks.get(key, (0, ""))) < (hlc, device_id):
                current[key] = value
                clocks[key] = [hlc, device_id]
        self.db.execute(
            "INSERT INTO contacts (org_id, email, fields, clocks) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(org_id, email) DO UPDATE SET fields = excluded.fields, clocks = excluded.clocks",
            (
                org_id,
                email,
                json.dumps(current, sort_keys=True),
                json.dumps(clocks, sort_keys=True),
            ),
        )

    def contact(self, org_id: str, email: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT fields FROM contacts WHERE org_id = ? AND email = ?", (org_id, email)
        ).fetchone()
        return json.loads(row[0]) if row else None

    # ------------------------------------------------------------------ campaigns

    def campaign(self, campaign_id: str) -> CampaignRow | None:
        row = self.db.execute(
            "SELECT id, org_id, state, snapshot FROM campaigns WHERE id = ?", (campaign_id,)
        ).fetchone()
        return CampaignRow(row[0], row[1], bytes(row[2]), json.loads(row[3])) if row else None

    def campaigns(self, org_id: str) -> list[CampaignRow]:
        rows = self.db.execute(
            "SELECT id, org_id, state, snapshot FROM campaigns WHERE org_id = ? ORDER BY id",
            (org_id,),
        )
        return [CampaignRow(r[0], r[1], bytes(r[2]), json.loads(r[3])) for r in rows]

    def save_campaign(
        self, *, campaign_id: str, org_id: str, state: bytes, snapshot: dict[str, Any], at_ms: int
    ) -> None:
        self.db.execute(
            "INSERT INTO campaigns (id, org_id, state, snapshot, updated_at_ms) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET state = excluded.state, snapshot = excluded.snapshot, "
            "updated_at_ms = excluded.updated_at_ms",
            (campaign_id, org_id, state, json.dumps(snapshot, sort_keys=True), at_ms),
        )

    def log_update(
        self,
        *,
        campaign_id: str,
        org_id: str,
        device_id: str | None,
        user_id: str,
        update: bytes,
        meta: dict[str, Any],
        at_ms: int,
    ) -> None:
        self.db.execute(
            "INSERT INTO campaign_updates (campaign_id, org_id, device_id, user_id, update_blob, meta, "
            "received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (campaign_id, org_id, device_id, user_id, update, msgpack.packb(meta), at_ms),
        )

    def last_update_seq(self, org_id: str) -> int:
        """The seq of the org's newest logged campaign update (0 if none)."""
        row = self.db.execute(
            "SELECT max(seq) FROM campaign_updates WHERE org_id = ?", (org_id,)
        ).fetchone()
        return row[0] or 0

    def updates_after(self, org_id: str, seq: int) -> list[tuple[int, str, bytes]]:
        """The org's logged campaign updates after ``seq``, oldest first: (seq, campaign, update)."""
        rows = self.db.execute(
            "SELECT seq, campaign_id, update_blob FROM campaign_updates "
            "WHERE org_id = ? AND seq > ? ORDER BY seq",
            (org_id, seq),
        )
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    # ------------------------------------------------------------------ conflicts

    def record_guarded_edit(self, edit: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO guarded_edits (edit, org_id, campaign_id, field, bases, value, "
            "user_id, author, device_id, hlc, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                edit["edit"],
                edit["org_id"],
                edit["campaign_id"],
                edit["field"],
                json.dumps(edit["bases"]),
                json.dumps(edit.get("value")),
                edit.get("user_id"),
                edit.get("author"),
                edit.get("device"),
                edit.get("hlc"),
                edit["at_ms"],
            ),
        )

    def guarded_edits(self, edit_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not edit_ids:
            return {}
        marks = ",".join("?" * len(edit_ids))
        rows = self.db.execute(
            f"SELECT g.edit, g.field, g.value, g.author, g.device_id, g.hlc, g.at_ms, d.name "
            f"FROM guarded_edits g LEFT JOIN devices d ON d.id = g.device_id "
            f"WHERE g.edit IN ({marks})",
            list(edit_ids),
        )
        return {
            r[0]: {
                "edit": r[0],
                "field": r[1],
                "value": json.loads(r[2]) if r[2] else None,
                "author": r[3],
                "device": r[4],
                "hlc": r[5],
                "at_ms": r[6],
                "device_name": r[7],
            }
            for r in rows
        }

    _CONFLICT_COLUMNS = (
        "id",
        "org_id",
        "campaign_id",
        "field",
        "kind",
        "status",
        "candidates",
        "provisional",
        "created_at_ms",
        "updated_at_ms",
        "resolved_by",
        "resolved_at_ms",
        "resolution",
        "comment",
    )

    def _conflict(self, row: tuple) -> dict[str, Any]:
        item = dict(zip(self._CONFLICT_COLUMNS, row, strict=True))
        for key in ("candidates", "provisional", "resolution"):
            item[key] = json.loads(item[key]) if item[key] is not None else None
        return item

    def open_conflict(self, campaign_id: str, field: str, kind: str) -> dict[str, Any] | None:
        row = self.db.execute(
            f"SELECT {', '.join(self._CONFLICT_COLUMNS)} FROM conflicts WHERE campaign_id = ? "
            "AND field = ? AND kind = ? AND status = 'open'",
            (campaign_id, field, kind),
        ).fetchone()
        return self._conflict(row) if row else None

    def save_conflict(self, conflict: dict[str, Any]) -> None:
        values = dict(conflict)
        for key in ("candidates", "provisional", "resolution"):
            values[key] = json.dumps(values.get(key)) if values.get(key) is not None else None
        self.db.execute(
            f"INSERT OR REPLACE INTO conflicts ({', '.join(self._CONFLICT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(self._CONFLICT_COLUMNS))})",
            [values.get(c) for c in self._CONFLICT_COLUMNS],
        )

    def conflict(self, conflict_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            f"SELECT {', '.join(self._CONFLICT_COLUMNS)} FROM conflicts WHERE id = ?",
            (conflict_id,),
        ).fetchone()
        return self._conflict(row) if row else None

    def conflicts(self, org_id: str, status: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(self._CONFLICT_COLUMNS)} FROM conflicts WHERE org_id = ?"
        args: list[Any] = [org_id]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        rows = self.db.execute(sql + " ORDER BY created_at_ms, id", args)
        return [self._conflict(r) for r in rows]

    def contacts_of(self, org_id: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self.db.execute("SELECT email, fields FROM contacts WHERE org_id = ?", (org_id,))
        return [(r[0], json.loads(r[1])) for r in rows]

    # ------------------------------------------------------------------ audit

    def audit(
        self,
        *,
        org_id: str,
        user_id: str | None,
        email: str | None,
        device_id: str | None,
        action: str,
        target: str | None,
        outcome: str,
        detail: dict[str, Any],
        at_ms: int,
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO audit (org_id, at_ms, user_id, email, device_id, action, target, outcome, "
                "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    org_id,
                    at_ms,
                    user_id,
                    email,
                    device_id,
                    action,
                    target,
                    outcome,
                    json.dumps(detail, sort_keys=True, default=str),
                ),
            )

    def audit_entries(self, org_id: str, limit: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, at_ms, user_id, email, device_id, action, target, outcome, detail FROM audit "
            "WHERE org_id = ? ORDER BY id DESC LIMIT ?",
            (org_id, limit),
        )
        keys = ("id", "at_ms", "user_id", "email", "device_id", "action", "target", "outcome")
        return [{**dict(zip(keys, r[:8], strict=True)), "detail": json.loads(r[8])} for r in rows]

    # ------------------------------------------------------------------ stats

    def stats(self) -> dict[str, Any]:
        by_kind = dict(
            self.db.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()
        )
        by_class = dict.fromkeys((str(c) for c in PRIORITY_CLASSES), 0)
        for priority, count in self.db.execute(
            "SELECT priority, count(*) FROM events GROUP BY priority"
        ):
            by_class[str(priority)] = count
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "events": {"total": sum(by_kind.values()), "by_kind": by_kind, "by_class": by_class},
            "campaigns": one("SELECT count(*) FROM campaigns"),
            "campaign_updates": one("SELECT count(*) FROM campaign_updates"),
            "devices": one("SELECT count(*) FROM devices WHERE revoked = 0"),
            "users": one("SELECT count(*) FROM users"),
            "orgs": one("SELECT count(*) FROM orgs"),
            "contacts": one("SELECT count(*) FROM contacts"),
            "conflicts_open": self._open_conflicts(),
        }

    def _open_conflicts(self) -> int:
        return self.db.execute("SELECT count(*) FROM conflicts WHERE status = 'open'").fetchone()[0]
