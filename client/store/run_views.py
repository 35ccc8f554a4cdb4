"""Cached report snapshots: the last run view the server gave for each campaign, with the time
its figures are as of, so the app and the CLI show the last known figures when offline.

Invariant: a cached view is only replaced by one whose figures are as recent or more (a slow
answer that lands after a newer one never hides the newer figures). The cache is a copy of the
server's answer, never edited locally, and never synced back.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .replica import Replica


@dataclass(frozen=True)
class CachedRunView:
    campaign_id: str
    view: dict[str, Any]  # the server's answer, as it was
    as_of_ms: int  # when the server's figures were current
    fetched_at_ms: int  # when this replica received them


def save_run_view(
    replica: Replica,
    campaign_id: str,
    view: dict[str, Any],
    *,
    as_of_ms: int,
    fetched_at_ms: int | None = None,
) -> bool:
    """Keep ``view`` as the campaign's last known figures; False when a newer one is kept."""
    fetched = fetched_at_ms if fetched_at_ms is not None else time.time_ns() // 1_000_000
    with replica.transaction():
        cursor = replica.db.execute(
            "INSERT INTO run_views (campaign_id, view, as_of_ms, fetched_at_ms) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(campaign_id) DO UPDATE SET "
            "view = excluded.view, as_of_ms = excluded.as_of_ms, "
            "fetched_at_ms = excluded.fetched_at_ms "
            "WHERE excluded.as_of_ms >= run_views.as_of_ms",
            (campaign_id, json.dumps(view, sort_keys=True), int(as_of_ms), fetched),
        )
        return cursor.rowcount > 0


def run_view(replica: Replica, campaign_id: str) -> CachedRunView | None:
    """The campaign's last known figures, or None if the server never gave any here."""
    with replica.transaction():
        row = replica.db.execute(
            "SELECT view, as_of_ms, fetched_at_ms FROM run_views WHERE campaign_id = ?",
            (campaign_id,),
        ).fetchone()
    if row is None:
        return None
    return CachedRunView(campaign_id, json.loads(row[0]), int(row[1]), int(row[2]))
