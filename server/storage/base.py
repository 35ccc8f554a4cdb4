"""The storage interface of the server.

Backend-specific SQL stays behind this protocol: the SQLite backend is the embedded default and a
PostgreSQL backend can implement the same methods. All methods are synchronous; the server calls
writes from one writer thread (see ``server.writer``) and reads from a reader thread.

Invariant: ``insert_events`` and ``save_campaign`` are durable when the surrounding
``transaction()`` returns; the server acks only after that. Every change to a campaign's state
(``save_campaign``) is logged in the same transaction by ``log_update`` with an update that
carries the change: the log, read after a device's change cursor, is what a pull sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class UserRow:
    id: str
    org_id: str
    org_name: str
    email: str
    role: str
    password_hash: str


@dataclass(frozen=True)
class DeviceAuth:
    device_id: str
    user_id: str
    email: str
    org_id: str
    role: str


@dataclass(frozen=True)
class CampaignRow:
    id: str
    org_id: str
    state: bytes
    snapshot: dict[str, Any]


class Storage(Protocol):
    #: events inserted through this handle so far (the writer counts each commit's by difference)
    events_inserted: int

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    # accounts
    def ensure_org(self, name: str) -> str: ...
    def org_id(self, name: str) -> str | None: ...
    def create_user(self, *, org_id: str, email: str, password_hash: str, role: str) -> str: ...
    def user_by_email(self, email: str) -> UserRow | None: ...
    def users(self, org_id: str) -> list[dict[str, Any]]: ...
    def create_device(
        self, *, user_id: str, org_id: str, name: str, token_hash: str, device_id: str | None = None
    ) -> str: ...
    def device_by_token_hash(self, token_hash: str) -> DeviceAuth | None: ...
    def touch_device(self, device_id: str, at_ms: int) -> None: ...

    # events
    def insert_events(
        self,
        *,
        org_id: str,
        device_id: str,
        events: list[list[Any]],
        priority: int,
        commit_seq: int,
    ) -> tuple[int, int]: ...
    def event_rows(
        self, org_id: str, from_ms: int | None, to_ms: int | None
    ) -> Iterator[tuple]: ...
    def event_time_range(self, org_id: str) -> tuple[int | None, int | None]: ...
    def data_version(self, org_id: str) -> tuple[int, int]: ...
    def record_commit(self, *, seq: int, priority: int, items: int, at_ms: int) -> None: ...
    def last_commit_seq(self) -> int: ...

    # contacts
    def merge_contact(
        self, *, org_id: str, email: str, fields: dict[str, Any], hlc: int, device_id: str
    ) -> None: ...

    # campaigns
    def campaign(self, campaign_id: str) -> CampaignRow | None: ...
    def campaigns(self, org_id: str) -> list[CampaignRow]: ...
    def save_campaign(
        self, *, campaign_id: str, org_id: str, state: bytes, snapshot: dict[str, Any], at_ms: int
    ) -> None: ...
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
    ) -> None: ...
    def last_update_seq(self, org_id: str) -> int: ...
    def updates_after(self, org_id: str, seq: int) -> list[tuple[int, str, bytes]]: ...

    # audit
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
    ) -> None: ...
    def audit_entries(self, org_id: str, limit: int) -> list[dict[str, Any]]: ...

    def stats(self) -> dict[str, Any]: ...
