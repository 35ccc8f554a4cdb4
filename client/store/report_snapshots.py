"""Cached ROI reports: the last report the server gave for each dashboard period (with the
period before it, for trends), so the dashboard and ``wedsync report roi`` show the last known
figures offline; and the local events a snapshot cannot contain yet (the pending overlay).

Invariants: a snapshot is only replaced by one whose figures are as recent or more (a slow
answer that lands after a newer one never hides it); snapshots are copies of the server's
answers, never edited locally and never synced. Custom ranges keep their own snapshots, the
``MAX_CUSTOM`` most recently fetched.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .replica import Replica

MAX_CUSTOM = 8


@dataclass(frozen=True)
class ReportSnapshot:
    period: str
    from_ms: int
    to_ms: int
    report: dict[str, Any]  # the server's answer, as it was
    previous: dict[str, Any] | None  # the period before it (trimmed), if it was fetched
    as_of_ms: int  # when the server's figures were current
    fetched_at_ms: int  # when this replica received them


@dataclass(frozen=True)
class LocalEvent:
    """Locally captured events that a snapshot does not count (yet), grouped: ``count`` events
    of one kind, day, campaign and channel, worth ``value_cents`` together."""

    kind: str
    day_ms: int  # the start of their day (UTC)
    campaign: str | None
    channel: str | None
    count: int
    value_cents: int
    queued: int  # of them, still waiting in the outbox (the rest synced after the snapshot)


def save_report_snapshot(
    replica: Replica,
    period: str,
    *,
    from_ms: int,
    to_ms: int,
    report: dict[str, Any],
    previous: dict[str, Any] | None,
    as_of_ms: int,
    fetched_at_ms: int | None = None,
) -> bool:
    """Keep ``report`` as the period's last known figures; False when a newer one is kept."""
    fetched = fetched_at_ms if fetched_at_ms is not None else time.time_ns() // 1_000_000
    with replica.transaction():
        cursor = replica.db.execute(
            "INSERT INTO report_snapshots (period, from_ms, to_ms, report, previous, as_of_ms, "
            "fetched_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(period) DO UPDATE SET "
            "from_ms = excluded.from_ms, to_ms = excluded.to_ms, report = excluded.report, "
            "previous = excluded.previous, as_of_ms = excluded.as_of_ms, "
            "fetched_at_ms = excluded.fetched_at_ms "
            "WHERE excluded.as_of_ms >= report_snapshots.as_of_ms",
            (
                period,
                int(from_ms),
                int(to_ms),
                json.dumps(report, sort_keys=True),
                None if previous is None else json.dumps(previous, sort_keys=True),
                int(as_of_ms),
                fetched,
            ),
        )
        replica.db.execute(
            "DELETE FROM report_snapshots WHERE period LIKE 'custom:%' AND period NOT IN "
            "(SELECT period FROM report_snapshots WHERE period LIKE 'custom:%' "
            "ORDER BY fetched_at_ms DESC LIMIT ?)",
            (MAX_CUSTOM,),
        )
        return cursor.rowcount > 0


def report_snapshot(replica: Replica, period: str) -> ReportSnapshot | None:
    """The period's last known report, or None if the server never gave one here."""
    with replica.transaction():
        row = replica.db.execute(
            "SELECT from_ms, to_ms, report, previous, as_of_ms, fetched_at_ms "
            "FROM report_snapshots WHERE period = ?",
            (period,),
        ).fetchone()
    if row is None:
        return None
    return ReportSnapshot(
        period,
        int(row[0]),
        int(row[1]),
        json.loads(row[2]),
        json.loads(row[3]) if row[3] else None,
        int(row[4]),
        int(row[5]),
    )


def events_not_in_snapshot(
    replica: Replica, *, from_ms: int, to_ms: int, captured_after_ms: int | None
) -> list[LocalEvent]:
    """Events of ``[from_ms, to_ms)`` captured here that a snapshot received at
    ``captured_after_ms`` cannot count: those still queued, and those captured after it (synced
    since), grouped by kind, day, campaign and channel (counted in SQL: a laptop that captured
    100,000 events offline gets a few hundred rows). Events the server refused for good are not
    counted anywhere."""
    after = -1 if captured_after_ms is None else int(captured_after_ms)
    with replica.transaction():
        # captured since the snapshot (queued or not): a range of the time index, filtered;
        # captured before it and still queued: read from the outbox's side, so the cost
        # follows the queue, not every event the laptop ever captured
        rows = replica.db.execute(
            "SELECT kind, occurred_at_ms / 86400000 * 86400000 AS day, campaign, channel, "
            "count(*), coalesce(sum(value_cents), 0), sum(queued) FROM ("
            "SELECT e.kind, e.occurred_at_ms, e.campaign, e.channel, e.value_cents, "
            "EXISTS (SELECT 1 FROM outbox o WHERE o.priority = e.priority "
            "AND o.seq = e.outbox_seq) AS queued "
            "FROM events e WHERE e.occurred_at_ms >= ? AND e.occurred_at_ms < ? "
            "AND e.captured_at_ms > ? "
            "AND NOT EXISTS (SELECT 1 FROM rejected j WHERE j.seq = e.outbox_seq) "
            "UNION ALL "
            "SELECT e.kind, e.occurred_at_ms, e.campaign, e.channel, e.value_cents, 1 "
            "FROM outbox o JOIN events e ON e.id = o.item_id "
            "WHERE o.item_type = 'event' AND e.occurred_at_ms >= ? AND e.occurred_at_ms < ? "
            "AND e.captured_at_ms <= ?"
            ") GROUP BY kind, day, campaign, channel ORDER BY day, kind",
            (int(from_ms), int(to_ms), after, int(from_ms), int(to_ms), after),
        ).fetchall()
    return [LocalEvent(r[0], int(r[1]), r[2], r[3], int(r[4]), int(r[5]), int(r[6])) for r in rows]
