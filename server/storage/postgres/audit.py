"""The audit log in PostgreSQL (``AuditStore``): append-only, one identity sequence, read per org.

An entry is written in the transaction of the change it records when there is one, as in the
SQLite backend.
"""

from __future__ import annotations

import json
from typing import Any

from ..rows import AuditEntry
from .connection import PgHandle

#: whether entries carry their repeats (coalesced refusals) yet
_COUNTS_REPEATS = "repeats" in AuditEntry.__dataclass_fields__


class PostgresAudit(PgHandle):
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
        return self._one(
            "INSERT INTO audit (org_id, at_ms, user_id, email, device_id, action, target, "
            "outcome, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
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
        )[0]

    def audit_repeated(self, entry_id: int, *, repeats: int, last_at_ms: int) -> None:
        self._run(
            "UPDATE audit SET repeats = %s, last_at_ms = %s WHERE id = %s",
            (repeats, last_at_ms, entry_id),
        )

    def audit_entries(self, org_id: str, limit: int) -> list[AuditEntry]:
        rows = self._all(
            "SELECT id, at_ms, user_id, email, device_id, action, target, outcome, detail, "
            "repeats, last_at_ms FROM audit WHERE org_id = %s ORDER BY id DESC LIMIT %s",
            (org_id, limit),
        )
        if not _COUNTS_REPEATS:
            return [AuditEntry(*r[:8], detail=json.loads(r[8])) for r in rows]
        return [
            AuditEntry(*r[:8], detail=json.loads(r[8]), repeats=r[9], last_at_ms=r[10])
            for r in rows
        ]
