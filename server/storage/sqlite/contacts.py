"""Contacts in SQLite (``ContactStore``): fields and their stamps, as JSON, per org and email.

The merge itself is ``shared.protocol.contacts.merge_fields``, the one the devices run, so a
contact converges to the same fields on the server as on every replica.
"""

from __future__ import annotations

import json
from typing import Any

from shared.protocol.contacts import merge_fields

from ..rows import ContactRow
from .connection import SQLiteHandle


class SQLiteContacts(SQLiteHandle):
    def merge_contact(
        self, *, org_id: str, email: str, fields: dict[str, Any], hlc: int, device_id: str
    ) -> None:
        """Last writer wins per field on (hybrid clock, device id). Call inside transaction()."""
        row = self.db.execute(
            "SELECT fields, clocks FROM contacts WHERE org_id = ? AND email = ?", (org_id, email)
        ).fetchone()
        current, clocks = (json.loads(row[0]), json.loads(row[1])) if row else ({}, {})
        merge_fields(current, clocks, fields, hlc=hlc, device_id=device_id)
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

    def contacts_of(self, org_id: str) -> list[ContactRow]:
        rows = self.db.execute("SELECT email, fields FROM contacts WHERE org_id = ?", (org_id,))
        return [ContactRow(r[0], json.loads(r[1])) for r in rows]
