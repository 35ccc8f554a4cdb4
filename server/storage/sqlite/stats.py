"""Counts of what the SQLite file holds (``StatsStore``), for `wedsync admin stats` and the API."""

from __future__ import annotations

from typing import Any

from shared.protocol.kinds import PRIORITY_CLASSES

from .connection import SQLiteHandle


class SQLiteStats(SQLiteHandle):
    def stats(self) -> dict[str, Any]:
        by_kind = dict(
            self.db.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()
        )
        by_class = dict.fromkeys((str(c) for c in PRIORITY_CLASSES), 0)
        for priority, count in self.db.execute(
            "SELECT priority, count(*) FROM events GROUP BY priority"
        ):
            by_class[str(priority)] = count
        return {
            "events": {"total": sum(by_kind.values()), "by_kind": by_kind, "by_class": by_class},
            "campaigns": self._count("SELECT count(*) FROM campaigns"),
            "campaign_updates": self._count("SELECT count(*) FROM campaign_updates"),
            "devices": self._count("SELECT count(*) FROM devices WHERE revoked = 0"),
            "users": self._count("SELECT count(*) FROM users"),
            "orgs": self._count("SELECT count(*) FROM orgs"),
            "contacts": self._count("SELECT count(*) FROM contacts"),
            "conflicts_open": self._count("SELECT count(*) FROM conflicts WHERE status = 'open'"),
        }

    def org_stats(self, org_id: str) -> dict[str, Any]:
        """What ``stats`` counts, for one org only (what its admins may see)."""

        def rows(sql: str) -> list:
            return list(self._org_rows(sql.replace("?", "?"), (org_id,)))

        by_kind = dict(rows("SELECT kind, count(*) FROM events WHERE org_id = ? GROUP BY kind"))
        by_class = dict.fromkeys((str(c) for c in PRIORITY_CLASSES), 0)
        for priority, count in rows(
            "SELECT priority, count(*) FROM events WHERE org_id = ? GROUP BY priority"
        ):
            by_class[str(priority)] = count

        def count(table: str, where: str = "") -> int:
            return rows(f"SELECT count(*) FROM {table} WHERE org_id = ?{where}")[0][0]

        return {
            "events": {"total": sum(by_kind.values()), "by_kind": by_kind, "by_class": by_class},
            "campaigns": count("campaigns"),
            "campaign_updates": count("campaign_updates"),
            "devices": count("devices", " AND revoked = 0"),
            "users": count("users"),
            "contacts": count("contacts"),
            "conflicts_open": count("conflicts", " AND status = 'open'"),
        }

    def stored_events(self, *, after_commit_seq: int = 0) -> list[tuple[str, str, str, int]]:
        rows = self.db.execute(
            "SELECT id, device_id, kind, commit_seq FROM events WHERE commit_seq > ?",
            (after_commit_seq,),
        )
        return [tuple(r) for r in rows]

    def device_names(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, name FROM devices").fetchall())

    def _org_rows(self, sql: str, args: tuple) -> list:
        return self.db.execute(sql, args).fetchall()

    def _count(self, sql: str) -> int:
        return self.db.execute(sql).fetchone()[0]
