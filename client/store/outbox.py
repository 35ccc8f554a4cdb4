"""The outbox: items waiting for the server's ack, drained by priority class then sequence.

Invariant: a row leaves the outbox only in ``ack``, i.e. after the server said it committed the
batch that carried it. Reading a batch changes nothing, so a crash at any point resends at worst.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgpack

from shared.protocol.kinds import LATER_KINDS, PRIORITY_CLASSES

from .db import Database


@dataclass(frozen=True)
class EventBatch:
    priority: int
    first_seq: int
    last_seq: int
    packed: list[bytes]  # msgpack-packed wire arrays


@dataclass(frozen=True)
class UpdateBatch:
    first_seq: int
    last_seq: int
    updates: list[tuple[str, bytes, dict]]  # (campaign id, pycrdt update, edit metadata)


def reserve_seqs(db: Database, count: int) -> int:
    """Reserve ``count`` consecutive outbox sequence numbers; returns the first. Call inside the
    transaction that enqueues them (SQLite serialises writers, also across processes)."""
    last = db.execute(
        "UPDATE counters SET value = value + ? WHERE name = 'outbox_seq' RETURNING value", (count,)
    ).fetchone()[0]
    return last - count + 1


def last_seq(db: Database) -> int:
    """The highest sequence number handed out so far."""
    return db.execute("SELECT value FROM counters WHERE name = 'outbox_seq'").fetchone()[0]


def event_item_type(kind: str) -> str:
    """The outbox item type of an event: ``event``, or ``event:KIND`` for a kind added since the
    protocol version shipped (``LATER_KINDS``), which is drained apart, only to a server that
    accepts it, so that the acks and refusals of one range never touch the other."""
    return f"event:{kind}" if kind in LATER_KINDS else "event"


def enqueue_events(db: Database, items: list[tuple[int, int, str, bytes, str]]) -> None:
    """Queue (priority, seq, event id, packed event, item type) rows, seqs from
    ``reserve_seqs``."""
    db.conn.executemany(
        "INSERT INTO outbox (priority, seq, item_id, body, item_type) VALUES (?, ?, ?, ?, ?)",
        items,
    )


def enqueue_update(
    db: Database, priority: int, campaign_id: str, update: bytes, meta: dict
) -> None:
    db.execute(
        "INSERT INTO outbox (priority, seq, item_type, item_id, body, meta) "
        "VALUES (?, ?, 'campaign', ?, ?, ?)",
        (
            priority,
            reserve_seqs(db, 1),
            campaign_id,
            update,
            msgpack.packb(meta, use_bin_type=True),
        ),
    )


def next_events(
    db: Database, priority: int, after_seq: int, limit: int, item_type: str = "event"
) -> EventBatch | None:
    rows = db.execute(
        "SELECT seq, body FROM outbox WHERE priority = ? AND item_type = ? AND seq > ? "
        "ORDER BY seq LIMIT ?",
        (priority, item_type, after_seq, limit),
    ).fetchall()
    if not rows:
        return None
    return EventBatch(priority, rows[0][0], rows[-1][0], [r[1] for r in rows])


def next_updates(db: Database, priority: int, after_seq: int, limit: int) -> UpdateBatch | None:
    rows = db.execute(
        "SELECT seq, item_id, body, meta FROM outbox WHERE priority = ? AND item_type = 'campaign' "
        "AND seq > ? ORDER BY seq LIMIT ?",
        (priority, after_seq, limit),
    ).fetchall()
    if not rows:
        return None
    updates = [(r[1], bytes(r[2]), msgpack.unpackb(r[3]) if r[3] else {}) for r in rows]
    return UpdateBatch(rows[0][0], rows[-1][0], updates)


def ack(db: Database, priority: int, item_type: str, first_seq: int, last_seq: int) -> int:
    """Drop acked rows; returns how many left the outbox (their events now count as synced)."""
    cursor = db.execute(
        "DELETE FROM outbox WHERE priority = ? AND item_type = ? AND seq BETWEEN ? AND ?",
        (priority, item_type, first_seq, last_seq),
    )
    return cursor.rowcount


def reject(
    db: Database,
    priority: int,
    item_type: str,
    first_seq: int,
    last_seq: int,
    *,
    code: str,
    reason: str,
    at_ms: int,
) -> int:
    """Move rows the server refused for good out of the outbox into ``rejected``."""
    db.execute(
        "INSERT OR REPLACE INTO rejected (seq, priority, item_type, item_id, body, meta, code, reason, "
        "at_ms) SELECT seq, priority, item_type, item_id, body, meta, ?, ?, ? FROM outbox "
        "WHERE priority = ? AND item_type = ? AND seq BETWEEN ? AND ?",
        (code, reason, at_ms, priority, item_type, first_seq, last_seq),
    )
    cursor = db.execute(
        "DELETE FROM outbox WHERE priority = ? AND item_type = ? AND seq BETWEEN ? AND ?",
        (priority, item_type, first_seq, last_seq),
    )
    return cursor.rowcount


def count(db: Database, priority: int, item_type: str) -> int:
    """Rows of one class and item type waiting in the outbox."""
    return db.execute(
        "SELECT count(*) FROM outbox WHERE priority = ? AND item_type = ?", (priority, item_type)
    ).fetchone()[0]


def depths(db: Database) -> dict[int, int]:
    counts = dict.fromkeys(PRIORITY_CLASSES, 0)
    for priority, count in db.execute("SELECT priority, count(*) FROM outbox GROUP BY priority"):
        counts[priority] = count
    return counts
