"""Guarded edits and conflict records in SQLite (``ConflictStore``).

Both cross the interface as dicts: a conflict is a JSON document (its candidates, provisional
value and resolution are JSON columns) that the conflict detector builds and updates, and the
HTTP API serves as it is.
"""

from __future__ import annotations

import json
from typing import Any

from .connection import SQLiteHandle

_CONFLICT_COLUMNS = (
    "id",
    "org_id",
    "campaign_id",
    "field",
    "kind",
    "status",
    "candidates",
    "provisional",
    "created_at_ms",
    "updated_at_ms",
    "resolved_by",
    "resolved_at_ms",
    "resolution",
    "comment",
)
_JSON_COLUMNS = ("candidates", "provisional", "resolution")
_SELECT = f"SELECT {', '.join(_CONFLICT_COLUMNS)} FROM conflicts"


def _conflict(row: tuple) -> dict[str, Any]:
    item = dict(zip(_CONFLICT_COLUMNS, row, strict=True))
    for key in _JSON_COLUMNS:
        item[key] = json.loads(item[key]) if item[key] is not None else None
    return item


class SQLiteConflicts(SQLiteHandle):
    def record_guarded_edit(self, edit: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO guarded_edits (edit, org_id, campaign_id, field, bases, value, "
            "user_id, author, device_id, hlc, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                edit["edit"],
                edit["org_id"],
                edit["campaign_id"],
                edit["field"],
                json.dumps(edit["bases"]),
                json.dumps(edit.get("value")),
                edit.get("user_id"),
                edit.get("author"),
                edit.get("device"),
                edit.get("hlc"),
                edit["at_ms"],
            ),
        )

    def guarded_edits(self, edit_ids: list[str], *, org_id: str) -> dict[str, dict[str, Any]]:
        if not edit_ids:
            return {}
        marks = ",".join("?" * len(edit_ids))
        rows = self.db.execute(
            f"SELECT g.edit, g.field, g.value, g.author, g.device_id, g.hlc, g.at_ms, d.name "
            f"FROM guarded_edits g LEFT JOIN devices d ON d.id = g.device_id "
            f"AND d.org_id = g.org_id WHERE g.org_id = ? AND g.edit IN ({marks})",
            [org_id, *edit_ids],
        )
        return {
            r[0]: {
                "edit": r[0],
                "field": r[1],
                "value": json.loads(r[2]) if r[2] else None,
                "author": r[3],
                "device": r[4],
                "hlc": r[5],
                "at_ms": r[6],
                "device_name": r[7],
            }
            for r in rows
        }

    def open_conflict(
        self, campaign_id: str, field: str, kind: str, *, org_id: str
    ) -> dict[str, Any] | None:
        row = self.db.execute(
            f"{_SELECT} WHERE org_id = ? AND campaign_id = ? AND field = ? AND kind = ? "
            "AND status = 'open'",
            (org_id, campaign_id, field, kind),
        ).fetchone()
        return _conflict(row) if row else None

    def save_conflict(self, conflict: dict[str, Any]) -> None:
        values = dict(conflict)
        for key in _JSON_COLUMNS:
            values[key] = json.dumps(values.get(key)) if values.get(key) is not None else None
        self.db.execute(
            f"INSERT OR REPLACE INTO conflicts ({', '.join(_CONFLICT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_CONFLICT_COLUMNS))})",
            [values.get(c) for c in _CONFLICT_COLUMNS],
        )

    def conflict(self, conflict_id: str) -> dict[str, Any] | None:
        row = self.db.execute(f"{_SELECT} WHERE id = ?", (conflict_id,)).fetchone()
        return _conflict(row) if row else None

    def conflicts(self, org_id: str, status: str | None = None) -> list[dict[str, Any]]:
        sql = f"{_SELECT} WHERE org_id = ?"
        args: list[Any] = [org_id]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        rows = self.db.execute(sql + " ORDER BY created_at_ms, id", args)
        return [_conflict(r) for r in rows]
