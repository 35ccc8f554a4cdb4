"""Contacts in PostgreSQL (``ContactStore``): fields and their stamps, as JSON, per org and email.

The merge is ``shared.protocol.contacts.merge_fields``, the devices' own. The row is read with
``FOR UPDATE`` (after making sure it exists), so two transactions merging into one contact take
turns instead of one overwriting the other's merge.
"""

from __future__ import annotations

import json
from typing import Any

from shared.protocol.contacts import merge_fields

from ..rows import ContactRow
from .connection import PgHandle


class PostgresContacts(PgHandle):
    def merge_contact(
        self, *, org_id: str, email: str, fields: dict[str, Any], hlc: int, device_id: str
    ) -> None:
        """Last writer wins per field on (hybrid clock, device id). Call inside transaction()."""
        with self.transaction():
            self._run(
                "INSERT INTO contacts (org_id, email, fields, clocks) VALUES (%s, %s, '{}', '{}') "
                "ON CONFLICT (org_id, email) DO NOTHING",
                (org_id, email),
            )
            row = self._one(
                "SELECT fields, clocks FROM contacts WHERE org_id = %s AND email = %s FOR UPDATE",
                (org_id, email),
            )
            current, clocks = json.loads(row[0]), json.loads(row[1])
            merge_fields(current, clocks, fields, hlc=hlc, device_id=device_id)
            self._run(
                "UPDATE contacts SET fields = %s, clocks = %s WHERE org_id = %s AND email = %s",
                (
                    json.dumps(current, sort_keys=True),
                    json.dumps(clocks, sort_keys=True),
                    org_id,
                    email,
                ),
            )

    def contact(self, org_id: str, email: str) -> dict[str, Any] | None:
        row = self._one(
            "SELECT fields FROM contacts WHERE org_id = %s AND email = %s", (org_id, email)
        )
        return json.loads(row[0]) if row else None

    def contacts_of(self, org_id: str) -> list[ContactRow]:
        rows = self._all("SELECT email, fields FROM contacts WHERE org_id = %s", (org_id,))
        return [ContactRow(r[0], json.loads(r[1])) for r in rows]
