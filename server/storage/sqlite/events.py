"""Events and the writer's commit record in SQLite (``EventStore``, ``ReportReads``).

Events are deduplicated by id with ``INSERT OR IGNORE``; each commit of the writer gets a
sequence number, kept on its events' rows and in ``commits``. A batch is inserted as validated
wire arrays bound as they came (``shared.protocol.events.WIRE_FIELDS`` order: the wire field
names are the events table's column names), many rows per statement.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from itertools import chain
from typing import Any

import msgpack

from shared.protocol.events import WIRE_FIELDS, WIRE_PAYLOAD

from ..payloads import pack_payload
from ..rows import DataVersion
from .connection import SQLiteHandle, now_ms

#: bound once per statement, as ?1..?5, before the rows' wire arrays
_BATCH_COLUMNS = ("org_id", "device_id", "priority", "received_at_ms", "commit_seq")
_WIRE_WIDTH = len(WIRE_FIELDS)
# Many rows per statement, the batch's shared values bound once and each row's wire array bound
# as it came: Python's executemany costs more per row than SQLite's insert itself.
_ROWS_PER_INSERT = 500  # x 9 parameters, well under SQLite's limit of 32,766


@functools.lru_cache(maxsize=32)
def _insert_events_sql(rows: int) -> str:
    shared = ", ".join(f"?{i + 1}" for i in range(len(_BATCH_COLUMNS)))
    values = []
    for r in range(rows):
        first = len(_BATCH_COLUMNS) + 1 + r * _WIRE_WIDTH  # this row's first parameter
        wire = ", ".join(f"?{first + i}" for i in range(_WIRE_WIDTH))
        values.append(f"({wire}, {shared})")
    columns = ", ".join(WIRE_FIELDS + _BATCH_COLUMNS)
    return f"INSERT OR IGNORE INTO events ({columns}) VALUES " + ", ".join(values)


class SQLiteEvents(SQLiteHandle):
    #: events inserted through this handle, rolled back or not (the writer compares it with what
    #: its jobs declare, to know every event a commit stored)
    events_inserted: int = 0

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
        shared = [org_id, device_id, priority, now_ms(), commit_seq]
        conn = self.db.conn
        before = conn.total_changes
        for i in range(0, len(events), _ROWS_PER_INSERT):
            chunk = events[i : i + _ROWS_PER_INSERT]
            params = list(chain.from_iterable(chunk))
            payloads = params[WIRE_PAYLOAD::_WIRE_WIDTH]
            params[WIRE_PAYLOAD::_WIRE_WIDTH] = (
                list(map(pack_payload, payloads)) if any(payloads) else [None] * len(chunk)
            )
            conn.execute(_insert_events_sql(len(chunk)), shared + params)
        stored = conn.total_changes - before
        self.events_inserted += stored
        return stored, len(events) - stored

    def begin_commit(self) -> int:
        """The seq of the commit being made: one file has one writer at a time (SQLite's own
        lock), so the next after the last recorded."""
        return self.last_commit_seq() + 1

    def record_commit(self, *, seq: int, priority: int, items: int, at_ms: int) -> None:
        self.db.execute(
            "INSERT INTO commits (seq, at_ms, priority, items) VALUES (?, ?, ?, ?)",
            (seq, at_ms, priority, items),
        )

    def last_commit_seq(self) -> int:
        row = self.db.execute("SELECT max(seq) FROM commits").fetchone()
        return row[0] or 0

    # ------------------------------------------------------------------ report reads

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

    def data_version(self, org_id: str) -> DataVersion:
        """Changes whenever events or campaigns change (any org; cheap to read)."""
        commits = self.db.execute("SELECT max(seq) FROM commits").fetchone()[0] or 0
        updates = (
            self.db.execute(
                "SELECT max(seq) FROM campaign_updates WHERE org_id = ?", (org_id,)
            ).fetchone()[0]
            or 0
        )
        return DataVersion(commits, updates)
