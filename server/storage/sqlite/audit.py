"""The audit log in SQLite (``AuditStore``): append-only, one sequence per file, read per org.

An entry is written in the transaction of the change it records when there is one (a conflict's
resolution), so the change and its record commit together or not at all.
"""

from __future__ import annotations

import json
from typing import Any

from ..rows import AuditEntry
from .connection import SQLiteHandle


class SQLiteAudit(SQLiteHandle):
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
    ) -> int:
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO audit (org_id, at_ms, user_id, email, device_id, action, target, "
                "outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        return cursor.lastrowid

    def audit_repeated(self, entry_id: int, *, repeats: int, last_at_ms: int) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE audit SET repeats = ?, last_at_ms = ? WHERE id = ?",
                (repeats, last_at_ms, entry_id),
            )

    def audit_entries(self, org_id: str, limit: int) -> list[AuditEntry]:
        rows = self.db.execute(
            "SELECT id, at_ms, user_id, email, device_id, action, target, outcome, detail, "
            "repeats, last_at_ms FROM audit WHERE org_id = ? ORDER BY id DESC LIMIT ?",
            (org_id, limit),
        )
        return [
            AuditEntry(*r[:8], detail=json.loads(r[8]), repeats=r[9], last_at_ms=r[10])
            for r in rows
        ]
