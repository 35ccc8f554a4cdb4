"""Orgs, users and devices in PostgreSQL (``AccountStore``): the SQLite backend's rules.

Emails are unique across orgs, case-insensitively (a unique index on ``lower(email)``); a device
keeps the id it made for itself unless another device took it first. Writes that two processes
may race on (a new org, a device id) resolve by ``ON CONFLICT``, never by a read before a write.
"""

from __future__ import annotations

import psycopg

from shared.protocol.ids import new_id

from ...errors import AlreadyExists
from ..rows import DeviceAuth, DeviceSummary, UserRow, UserSummary
from .connection import PgHandle, now_ms


class PostgresAccounts(PgHandle):
    def ensure_org(self, name: str) -> str:
        with self.transaction():
            self._run(
                "INSERT INTO orgs (id, name, created_at_ms) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO NOTHING",
                (new_id(), name, now_ms()),
            )
            return self._one("SELECT id FROM orgs WHERE name = %s", (name,))[0]

    def org_id(self, name: str) -> str | None:
        row = self._one("SELECT id FROM orgs WHERE name = %s", (name,))
        return row[0] if row else None

    def org_names(self) -> list[str]:
        return [r[0] for r in self._all('SELECT name FROM orgs ORDER BY name COLLATE "C"')]

    def create_user(self, *, org_id: str, email: str, password_hash: str, role: str) -> str:
        user_id = new_id()
        try:
            with self.transaction():
                self._run(
                    "INSERT INTO users (id, org_id, email, password_hash, role, created_at_ms) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (user_id, org_id, email, password_hash, role, now_ms()),
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"a user with email {email} already exists in this org") from None
        return user_id

    def user_by_email(self, email: str) -> UserRow | None:
        users = self.users_by_email(email)
        return users[0] if users else None

    def users_by_email(self, email: str) -> list[UserRow]:
        rows = self._all(
            "SELECT u.id, u.org_id, o.name, u.email, u.role, u.password_hash FROM users u "
            "JOIN orgs o ON o.id = u.org_id WHERE lower(u.email) = lower(%s) AND u.disabled = 0 "
            'ORDER BY u.created_at_ms, u.id COLLATE "C"',
            (email,),
        )
        return [UserRow(*row) for row in rows]

    def users(self, org_id: str) -> list[UserSummary]:
        rows = self._all(
            "SELECT id, email, role, created_at_ms, disabled FROM users WHERE org_id = %s "
            'ORDER BY lower(email) COLLATE "C"',
            (org_id,),
        )
        return [UserSummary(*r[:4], disabled=bool(r[4])) for r in rows]

    def create_device(
        self, *, user_id: str, org_id: str, name: str, token_hash: str, device_id: str | None = None
    ) -> str:
        """Register a device; the id the device made for itself is kept unless already taken."""
        with self.transaction():
            for candidate in (device_id, new_id()):
                if candidate is None:
                    continue
                inserted = self._run(
                    "INSERT INTO devices (id, org_id, user_id, name, token_hash, created_at_ms) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                    (candidate, org_id, user_id, name, token_hash, now_ms()),
                )
                if inserted:
                    return candidate
        raise AlreadyExists("a new device id was taken")  # a ULID collision: not in practice

    def device_by_token_hash(self, token_hash: str) -> DeviceAuth | None:
        row = self._one(
            "SELECT d.id, u.id, u.email, u.org_id, u.role, "
            "coalesce(d.last_seen_ms, d.created_at_ms) FROM devices d JOIN users u "
            "ON u.id = d.user_id WHERE d.token_hash = %s AND d.revoked = 0 AND u.disabled = 0",
            (token_hash,),
        )
        return DeviceAuth(*row) if row else None

    def touch_device(self, device_id: str, at_ms: int) -> None:
        self._run("UPDATE devices SET last_seen_ms = %s WHERE id = %s", (at_ms, device_id))

    # ------------------------------------------------------------------ sessions

    def user_devices(self, user_id: str, *, org_id: str) -> list[DeviceSummary]:
        rows = self._all(
            "SELECT id, name, created_at_ms, last_seen_ms, revoked FROM devices "
            "WHERE user_id = %s AND org_id = %s ORDER BY created_at_ms, id",
            (user_id, org_id),
        )
        return [DeviceSummary(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def revoke_device(self, device_id: str, *, org_id: str) -> bool:
        with self.transaction():
            count = self._run(
                "UPDATE devices SET revoked = 1 WHERE id = %s AND org_id = %s AND revoked = 0",
                (device_id, org_id),
            )
        return bool(count)

    def replace_token(self, device_id: str, token_hash: str) -> None:
        with self.transaction():
            self._run(
                "UPDATE devices SET token_hash = %s WHERE id = %s AND revoked = 0",
                (token_hash, device_id),
            )

    def set_user_disabled(self, user_id: str, *, org_id: str, disabled: bool) -> bool:
        with self.transaction():
            count = self._run(
                "UPDATE users SET disabled = %s WHERE id = %s AND org_id = %s",
                (int(disabled), user_id, org_id),
            )
        return bool(count)

    def delete_user(self, user_id: str, *, org_id: str) -> bool:
        with self.transaction():
            self._run("DELETE FROM devices WHERE user_id = %s AND org_id = %s", (user_id, org_id))
            count = self._run("DELETE FROM users WHERE id = %s AND org_id = %s", (user_id, org_id))
        return bool(count)
