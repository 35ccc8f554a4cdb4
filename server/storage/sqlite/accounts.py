"""Orgs, users and devices in SQLite (``AccountStore``).

Emails are unique within an org (case-insensitive), not across orgs: creating a user never
tells whether an email is used in another org; a device keeps the id it made for itself unless
another device took it first. Device tokens are stored as digests only.
"""

from __future__ import annotations

import sqlite3

from shared.protocol.ids import new_id

from ...errors import AlreadyExists
from ..rows import DeviceAuth, DeviceSummary, UserRow, UserSummary
from .connection import SQLiteHandle, now_ms


class SQLiteAccounts(SQLiteHandle):
    def ensure_org(self, name: str) -> str:
        with self.transaction():
            row = self.db.execute("SELECT id FROM orgs WHERE name = ?", (name,)).fetchone()
            if row:
                return row[0]
            org_id = new_id()
            self.db.execute(
                "INSERT INTO orgs (id, name, created_at_ms) VALUES (?, ?, ?)",
                (org_id, name, now_ms()),
            )
            return org_id

    def org_id(self, name: str) -> str | None:
        row = self.db.execute("SELECT id FROM orgs WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def org_names(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM orgs ORDER BY name")]

    def create_user(self, *, org_id: str, email: str, password_hash: str, role: str) -> str:
        user_id = new_id()
        try:
            with self.transaction():
                self.db.execute(
                    "INSERT INTO users (id, org_id, email, password_hash, role, created_at_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, org_id, email, password_hash, role, now_ms()),
                )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"a user with email {email} already exists in this org") from None
        return user_id

    def user_by_email(self, email: str) -> UserRow | None:
        users = self.users_by_email(email)
        return users[0] if users else None

    def users_by_email(self, email: str) -> list[UserRow]:
        rows = self.db.execute(
            "SELECT u.id, u.org_id, o.name, u.email, u.role, u.password_hash FROM users u "
            "JOIN orgs o ON o.id = u.org_id WHERE u.email = ? AND u.disabled = 0 "
            "ORDER BY u.created_at_ms, u.id",
            (email,),
        )
        return [UserRow(*row) for row in rows]

    def users(self, org_id: str) -> list[UserSummary]:
        rows = self.db.execute(
            "SELECT id, email, role, created_at_ms, disabled FROM users WHERE org_id = ? "
            "ORDER BY email",
            (org_id,),
        )
        return [UserSummary(*r[:4], disabled=bool(r[4])) for r in rows]

    def create_device(
        self, *, user_id: str, org_id: str, name: str, token_hash: str, device_id: str | None = None
    ) -> str:
        """Register a device; the id the device made for itself is kept unless already taken."""
        with self.transaction():
            if (
                device_id is None
                or self.db.execute("SELECT 1 FROM devices WHERE id = ?", (device_id,)).fetchone()
            ):
                device_id = new_id()
            self.db.execute(
                "INSERT INTO devices (id, org_id, user_id, name, token_hash, created_at_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (device_id, org_id, user_id, name, token_hash, now_ms()),
            )
        return device_id

    def device_by_token_hash(self, token_hash: str) -> DeviceAuth | None:
        row = self.db.execute(
            "SELECT d.id, u.id, u.email, u.org_id, u.role, "
            "coalesce(d.last_seen_ms, d.created_at_ms) FROM devices d JOIN users u "
            "ON u.id = d.user_id WHERE d.token_hash = ? AND d.revoked = 0 AND u.disabled = 0",
            (token_hash,),
        ).fetchone()
        return DeviceAuth(*row) if row else None

    def touch_device(self, device_id: str, at_ms: int) -> None:
        with self.transaction():
            self.db.execute("UPDATE devices SET last_seen_ms = ? WHERE id = ?", (at_ms, device_id))

    # ------------------------------------------------------------------ sessions

    def user_devices(self, user_id: str, *, org_id: str) -> list[DeviceSummary]:
        rows = self.db.execute(
            "SELECT id, name, created_at_ms, last_seen_ms, revoked FROM devices "
            "WHERE user_id = ? AND org_id = ? ORDER BY created_at_ms, id",
            (user_id, org_id),
        )
        return [DeviceSummary(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def revoke_device(self, device_id: str, *, org_id: str) -> bool:
        with self.transaction():
            cur = self.db.execute(
                "UPDATE devices SET revoked = 1 WHERE id = ? AND org_id = ? AND revoked = 0",
                (device_id, org_id),
            )
        return cur.rowcount > 0

    def replace_token(self, device_id: str, token_hash: str) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE devices SET token_hash = ? WHERE id = ? AND revoked = 0",
                (token_hash, device_id),
            )

    def set_user_disabled(self, user_id: str, *, org_id: str, disabled: bool) -> bool:
        with self.transaction():
            cur = self.db.execute(
                "UPDATE users SET disabled = ? WHERE id = ? AND org_id = ?",
                (int(disabled), user_id, org_id),
            )
        return cur.rowcount > 0

    def delete_user(self, user_id: str, *, org_id: str) -> bool:
        with self.transaction():
            self.db.execute(
                "DELETE FROM devices WHERE user_id = ? AND org_id = ?", (user_id, org_id)
            )
            cur = self.db.execute(
                "DELETE FROM users WHERE id = ? AND org_id = ?", (user_id, org_id)
            )
        return cur.rowcount > 0
