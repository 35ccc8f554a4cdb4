"""The values that cross the storage interface: rows as frozen dataclasses and named tuples.

Backends build these; the rest of the server reads them and never sees a backend's own row
type. Named tuples are used where callers unpack a row positionally (the campaign update log,
the report's data version): they compare equal to plain tuples. Conflicts, guarded edits and
stats still cross as dicts: they are JSON documents end to end (stored as JSON, written into
campaign docs, served as JSON) and the conflict detector builds and updates them as dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True)
class UserRow:
    """A user as login needs it (with the password hash)."""

    id: str
    org_id: str
    org_name: str
    email: str
    role: str
    password_hash: str


@dataclass(frozen=True)
class UserSummary:
    """A user as an org's admin lists it."""

    id: str
    email: str
    role: str
    created_at_ms: int


@dataclass(frozen=True)
class DeviceAuth:
    """Who a device token belongs to."""

    device_id: str
    user_id: str
    email: str
    org_id: str
    role: str


@dataclass(frozen=True)
class CampaignRow:
    id: str
    org_id: str
    state: bytes  # the pycrdt document, canonically encoded
    snapshot: dict[str, Any]  # its fields as plain values


class LoggedUpdate(NamedTuple):
    """One entry of the campaign update log: what a pull by change cursor sends."""

    seq: int
    campaign_id: str
    update: bytes


class DataVersion(NamedTuple):
    """Moves whenever events (any org: ``commits``) or the org's campaigns change."""

    commits: int
    campaign_updates: int


class ContactRow(NamedTuple):
    email: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at_ms: int
    user_id: str | None
    email: str | None
    device_id: str | None
    action: str
    target: str | None
    outcome: str  # "ok" or "refused:<error code>"
    detail: dict[str, Any]
