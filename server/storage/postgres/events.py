"""Events and the writer's commit record in PostgreSQL (``EventStore``, ``ReportReads``).

Events are stored once per (org, id): a batch is COPYed into a temporary table and inserted
from it with ``ON CONFLICT DO NOTHING``; the row count says how many were new.
An event pushed to two server processes at once is stored by whichever commits first; the other
insert waits on the key and then skips it.

Commits are numbered in one order across every server process sharing the database:
``begin_commit`` takes ``COMMIT_LOCK`` (a transaction-scoped advisory lock) and numbers the
commit after the last recorded one; the lock is released when the transaction ends. So a commit
seq, a ``data_version`` and the campaign update log's seqs all move in commit order, and the
writer of each process learns from the seq whether another process committed in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shared.protocol.events import WIRE_FIELDS, WIRE_PAYLOAD

from ..payloads import pack_payload, unpack_payload
from ..rows import DataVersion
from .connection import PgHandle, now_ms

_TYPES = {"occurred_at_ms": "bigint", "hlc": "bigint", "value_cents": "bigint", "payload": "bytea"}
_STAGE = ", ".join(f"{name} {_TYPES.get(name, 'text')}" for name in WIRE_FIELDS)
#: a batch is COPYed into this per-connection temporary table, then inserted from it: about 2.5
#: times the rate of one INSERT of unnest(...) arrays (bench/bench_postgres.py)
_CREATE_STAGE = f"CREATE TEMPORARY TABLE IF NOT EXISTS events_in ({_STAGE}) ON COMMIT DELETE ROWS"
_COPY = f"COPY events_in ({', '.join(WIRE_FIELDS)}) FROM STDIN"
_INSERT = (
    f"INSERT INTO events ({', '.join(WIRE_FIELDS)}, org_id, device_id, priority, "
    f"received_at_ms, commit_seq) SELECT *, %s, %s, %s, %s, %s FROM events_in "
    "ON CONFLICT DO NOTHING"
)
_ROWS_PER_INSERT = 10_000


class PostgresEvents(PgHandle):
    #: events inserted through this handle, rolled back or not (see the protocol)
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
        stored = 0
        received = now_ms()
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(_CREATE_STAGE)
            for i in range(0, len(events), _ROWS_PER_INSERT):
                with cur.copy(_COPY) as copy:
                    for event in events[i : i + _ROWS_PER_INSERT]:
                        row = list(event)
                        row[WIRE_PAYLOAD] = pack_payload(row[WIRE_PAYLOAD])
                        copy.write_row(row)
                cur.execute(_INSERT, (org_id, device_id, priority, received, commit_seq))
                stored += cur.rowcount
                cur.execute("TRUNCATE events_in")
        self.events_inserted += stored
        return stored, len(events) - stored

    def begin_commit(self) -> int:
        """Call first inside the writer's transaction: waits for other processes' commits in
        progress (the commit lock), then numbers this one after every commit recorded."""
        self._one("SELECT pg_advisory_xact_lock(%s)", (self.settings.commit_lock,))
        return self.last_commit_seq() + 1

    def record_commit(self, *, seq: int, priority: int, items: int, at_ms: int) -> None:
        with self.transaction():
            self._one("SELECT pg_advisory_xact_lock(%s)", (self.settings.commit_lock,))
            self._run(
                "INSERT INTO commits (seq, at_ms, priority, items) VALUES (%s, %s, %s, %s)",
                (seq, at_ms, priority, items),
            )

    def last_commit_seq(self) -> int:
        return self._one("SELECT coalesce(max(seq), 0) FROM commits")[0]

    # ------------------------------------------------------------------ report reads

    def event_rows(self, org_id: str, from_ms: int | None, to_ms: int | None) -> Iterator[tuple]:
        """(id, kind, occurred_at_ms, contact, campaign, channel, value_cents, payload) rows."""
        lo = from_ms if from_ms is not None else 0
        hi = to_ms if to_ms is not None else 2**62
        # a server-side cursor inside a transaction (or a savepoint of the caller's): rows
        # stream in chunks, memory stays flat however many events the org has
        with self._connection() as conn, conn.transaction():
            with conn.cursor(name="wedsync_event_rows") as named:
                named.itersize = 20_000
                named.execute(
                    "SELECT id, kind, occurred_at_ms, contact, campaign, channel, value_cents, "
                    "payload FROM events WHERE org_id = %s AND occurred_at_ms >= %s "
                    "AND occurred_at_ms < %s ORDER BY id",
                    (org_id, lo, hi),
                )
                for r in named:
                    yield (*r[:7], unpack_payload(r[7]))

    def event_time_range(self, org_id: str) -> tuple[int | None, int | None]:
        row = self._one(
            "SELECT min(occurred_at_ms), max(occurred_at_ms) FROM events WHERE org_id = %s",
            (org_id,),
        )
        return row[0], row[1]

    def data_version(self, org_id: str) -> DataVersion:
        """Changes whenever events or campaigns change (any org; cheap to read)."""
        row = self._one(
            "SELECT (SELECT coalesce(max(seq), 0) FROM commits), "
            "(SELECT coalesce(max(seq), 0) FROM campaign_updates WHERE org_id = %s)",
            (org_id,),
        )
        return DataVersion(row[0], row[1])
