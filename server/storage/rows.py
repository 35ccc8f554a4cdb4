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
    disabled: bool = False


@dataclass(frozen=True)
class DeviceAuth:
    """Who a device token belongs to."""

    device_id: str
    user_id: str
    email: str
    org_id: str
    role: str
    #: when the token was last used (or made): it expires after the idle lifetime
    last_used_ms: int | None = None


@dataclass(frozen=True)
class DeviceSummary:
    """A user's device as an org's admin lists it."""

    id: str
    name: str
    created_at_ms: int
    last_seen_ms: int | None
    revoked: bool


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
    repeats: int = 1  # identical refusals in a row, coalesced into this entry
    last_at_ms: int | None = None  # when the last of them happened


@dataclass(frozen=True)
class EnrolmentRow:
    """One contact's run through one campaign (``shared.automation.journey.Enrolment`` in
    ``state``), with what the store indexes and counts beside it."""

    id: str
    org_id: str
    campaign_id: str
    contact: str
    status: str  # active | waiting | held | exited
    held_out: bool
    node: str | None
    due_ms: int | None  # when to advance it again (None: only on an event or a resume)
    wake_on: tuple[str, ...]  # event kinds that make it due at once
    state: dict[str, Any]  # Enrolment.to_dict()
    entered_at_ms: int
    exited_at_ms: int | None = None
    exit_reason: str | None = None
    converted_at_ms: int | None = None
    version: int = 0  # bumped by every write: a save based on an older read is refused


@dataclass(frozen=True)
class SendRow:
    """One send step of one enrolment: an email on its way or gone, or a step passed without
    sending (``skipped``: held out, capped, no variant). ``key`` is the idempotency key."""

    id: str  # the send id tracking tokens name
    key: str  # "<enrolment id>/<step id>", unique
    org_id: str
    campaign_id: str
    enrolment_id: str
    contact: str
    step: str
    step_index: int
    variant: str | None
    held_out: bool
    #: queued | claimed | sending | sent | bounced | failed | skipped | suppressed | cancelled
    status: str
    reason: str | None
    due_ms: int | None
    attempts: int
    message_id: str | None
    links: tuple[str, ...]
    raw: bytes | None  # the message's bytes while it may still go (a retry sends them again)
    created_at_ms: int
    sent_at_ms: int | None = None
    smtp_code: int | None = None
    opened_at_ms: int | None = None
    proxy_opened_at_ms: int | None = None
    clicked_at_ms: int | None = None
    scanner_clicked_at_ms: int | None = None
    unsubscribed_at_ms: int | None = None
    claimed_by: str | None = None
    lease_until_ms: int | None = None


@dataclass(frozen=True)
class SmtpRow:
    """An org's SMTP settings as stored: the password sealed with the server's secret."""

    org_id: str
    host: str
    port: int
    security: str
    username: str | None
    password_sealed: bytes | None
    from_address: str
    updated_at_ms: int
