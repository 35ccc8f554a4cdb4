"""Campaign documents and their update log in SQLite (``CampaignStore``).

A campaign row holds the document's canonical state and a JSON snapshot of its fields; every
change is also appended to ``campaign_updates`` (AUTOINCREMENT: a seq is never reused, so a
device's change cursor stays meaningful).
"""

from __future__ import annotations

import json
from typing import Any

import msgpack

from ..rows import CampaignRow, LoggedUpdate
from .connection import SQLiteHandle


class SQLiteCampaigns(SQLiteHandle):
    def campaign(self, campaign_id: str, *, org_id: str) -> CampaignRow | None:
        row = self.db.execute(
            "SELECT id, org_id, state, snapshot FROM campaigns WHERE org_id = ? AND id = ?",
            (org_id, campaign_id),
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
            "ON CONFLICT(org_id, id) DO UPDATE SET state = excluded.state, snapshot = excluded.snapshot, "
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

    def updates_after(self, org_id: str, seq: int) -> list[LoggedUpdate]:
        """The org's logged campaign updates after ``seq``, oldest first."""
        rows = self.db.execute(
            "SELECT seq, campaign_id, update_blob FROM campaign_updates "
            "WHERE org_id = ? AND seq > ? ORDER BY seq",
            (org_id, seq),
        )
        return [LoggedUpdate(r[0], r[1], bytes(r[2])) for r in rows]
