"""The storage interface of the server: one protocol per aggregate, and ``Storage`` composing them.

Backend-specific SQL stays behind these protocols: the SQLite backend is the embedded default and
a PostgreSQL backend can implement the same methods. Callers get a ``Storage`` from
``server.storage.open_storage`` and type what they use by the narrowest protocol that covers it.
All methods are synchronous; the server calls writes from one writer thread (see
``server.writer``) and reads from a reader thread, each on its own handle (``reader()``).

Invariants:

* Ids made on devices (events, campaigns, guarded edits) are keys within their org, not across
  orgs: every read of one names the org, so another org's use of an id never shows.
* ``insert_events`` and ``save_campaign`` are durable when the surrounding ``transaction()``
  returns; the server acks only after that.
* Every change to a campaign's state (``save_campaign``) is logged in the same transaction by
  ``log_update`` with an update that carries the change: the log, read after a device's change
  cursor, is what a pull sends.
* ``transaction()`` nests: the outermost one commits, inner ones are savepoints that roll back
  alone when their block raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .rows import (
    AuditEntry,
    CampaignRow,
    ContactRow,
    DataVersion,
    DeviceAuth,
    DeviceSummary,
    EnrolmentRow,
    LoggedUpdate,
    SendRow,
    SmtpRow,
    UserRow,
    UserSummary,
)


class AccountStore(Protocol):
    """Orgs, users and their devices."""

    def ensure_org(self, name: str) -> str: ...
    def org_id(self, name: str) -> str | None: ...
    def org_names(self) -> list[str]:
        """Every organisation's name, sorted (for an operator's command, never for an org)."""
        ...

    def create_user(self, *, org_id: str, email: str, password_hash: str, role: str) -> str:
        """Raises ``AlreadyExists`` when the email is taken in the org (emails are unique
        within an org only: another org's use of an email never shows)."""
        ...

    def user_by_email(self, email: str) -> UserRow | None:
        """The first of ``users_by_email``."""
        ...

    def users_by_email(self, email: str) -> list[UserRow]:
        """Every user with this email (case-insensitive) who may log in (not disabled), one
        per org, oldest first."""
        ...

    def users(self, org_id: str) -> list[UserSummary]: ...
    def create_device(
        self, *, user_id: str, org_id: str, name: str, token_hash: str, device_id: str | None = None
    ) -> str: ...
    def device_by_token_hash(self, token_hash: str) -> DeviceAuth | None: ...
    def touch_device(self, device_id: str, at_ms: int) -> None: ...
    def user_devices(self, user_id: str, *, org_id: str) -> list[DeviceSummary]: ...
    def revoke_device(self, device_id: str, *, org_id: str) -> bool:
        """Revoke the org's device's token; False if there was no such device to revoke."""
        ...

    def replace_token(self, device_id: str, token_hash: str) -> None:
        """The device's token is now this one (a rotation); the old one stops working."""
        ...

    def set_user_disabled(self, user_id: str, *, org_id: str, disabled: bool) -> bool:
        """A disabled user's tokens do not authenticate; False if no such user in the org."""
        ...

    def delete_user(self, user_id: str, *, org_id: str) -> bool:
        """Delete the org's user and their devices; False if no such user."""
        ...


class EventStore(Protocol):
    """Events (stored once per id) and the record of the writer's commits."""

    #: events inserted through this handle so far, rolled back or not (the writer tells by
    #: difference how many a job stored)
    events_inserted: int

    def insert_events(
        self,
        *,
        org_id: str,
        device_id: str,
        events: list[list[Any]],
        priority: int,
        commit_seq: int,
    ) -> tuple[int, int]:
        """Store validated wire arrays not stored before; (new, duplicates). In a transaction."""
        ...

    def begin_commit(self) -> int:
        """First thing inside the writer's transaction: the seq this commit takes, after every
        commit recorded so far by any process. On a store several server processes share, it
        also waits until no other process's commit is in progress (and excludes them until this
        transaction ends), so commits are made, numbered and logged in one order."""
        ...

    def record_commit(self, *, seq: int, priority: int, items: int, at_ms: int) -> None: ...
    def last_commit_seq(self) -> int: ...


class ReportReads(Protocol):
    """What reports read of events: rows, their time range, and a version to cache against."""

    def event_rows(self, org_id: str, from_ms: int | None, to_ms: int | None) -> Iterator[tuple]:
        """(id, kind, occurred_at_ms, contact, campaign, channel, value_cents, payload) rows,
        in the same order on every read."""
        ...

    def event_time_range(self, org_id: str) -> tuple[int | None, int | None]: ...
    def data_version(self, org_id: str) -> DataVersion: ...


class CampaignStore(Protocol):
    """Campaign documents and their update log."""

    def campaign(self, campaign_id: str, *, org_id: str) -> CampaignRow | None:
        """The org's campaign of that id (ids are keys within an org only)."""
        ...

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
    def last_update_seq(self, org_id: str) -> int:
        """The seq of the org's newest logged campaign update (0 if none)."""
        ...

    def updates_after(self, org_id: str, seq: int) -> list[LoggedUpdate]:
        """The org's logged campaign updates after ``seq``, oldest first."""
        ...


class ConflictStore(Protocol):
    """Guarded edits (the candidates of conflicts) and conflict records, as dicts."""

    def record_guarded_edit(self, edit: dict[str, Any]) -> None: ...
    def guarded_edits(self, edit_ids: list[str], *, org_id: str) -> dict[str, dict[str, Any]]: ...
    def open_conflict(
        self, campaign_id: str, field: str, kind: str, *, org_id: str
    ) -> dict[str, Any] | None: ...
    def save_conflict(self, conflict: dict[str, Any]) -> None: ...
    def conflict(self, conflict_id: str) -> dict[str, Any] | None: ...
    def conflicts(self, org_id: str, status: str | None = None) -> list[dict[str, Any]]: ...


class AuditStore(Protocol):
    """The append-only audit log of each org."""

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
        """Append an entry; its id."""
        ...

    def audit_repeated(self, entry_id: int, *, repeats: int, last_at_ms: int) -> None:
        """The entry happened ``repeats`` times in all, the last at ``last_at_ms`` (identical
        refusals in a row are one entry with a count)."""
        ...

    def audit_entries(self, org_id: str, limit: int) -> list[AuditEntry]:
        """The org's newest entries first."""
        ...


class ContactStore(Protocol):
    """Contacts, merged field by field (``shared.protocol.contacts``)."""

    def merge_contact(
        self, *, org_id: str, email: str, fields: dict[str, Any], hlc: int, device_id: str
    ) -> None: ...
    def contact(self, org_id: str, email: str) -> dict[str, Any] | None: ...
    def contacts_of(self, org_id: str) -> list[ContactRow]: ...


class StatsStore(Protocol):
    def stats(self) -> dict[str, Any]:
        """Counts of what the store holds, every org's (a JSON document): for the operator
        (`wedsync admin stats`), never for an org's users."""
        ...

    def org_stats(self, org_id: str) -> dict[str, Any]:
        """The same counts for one org (no count of orgs)."""
        ...

    def stored_events(self, *, after_commit_seq: int = 0) -> list[tuple[str, str, str, int]]:
        """Every stored event of every org committed after ``after_commit_seq``, as
        (id, device id, kind, commit seq): what an operator's consistency check (the
        simulator's exactly-once checker) compares with what devices captured."""
        ...

    def device_names(self) -> dict[str, str]:
        """Device id -> the name it was registered with, for every device."""
        ...


class AutomationStore(Protocol):
    """The automation's rows: enrolments, sends, suppressions, per-org SMTP settings and tracking
    keys, and the engine's bookmarks (``server.automation``).

    Claiming (see the SQLite backend's module for the SQL): due enrolments are selected, advanced
    and saved inside one transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``), so they need no
    lease; sends leave the transaction for the SMTP call, so they are claimed with a lease and
    ``reclaim_sends`` takes back the claims of a process that died. A send's idempotency key is
    unique: storing it twice stores it once.
    """

    def automation_meta(self, key: str) -> str | None: ...
    def set_automation_meta(self, key: str, value: str) -> None: ...
    def events_after(self, seq: int, event_id: str, limit: int) -> list[tuple[str, int, list[Any]]]:
        """Committed events after the cursor ``(commit seq, event id)``, in that order:
        ``(org id, commit seq, wire array)``."""
        ...

    def record_history(self, org_id: str, events: Sequence[Sequence[Any]]) -> int:
        """Keep events (wire arrays with a contact) in the automation's slice of history,
        each once; how many were new."""
        ...

    def contact_events(
        self,
        org_id: str,
        contact: str,
        *,
        kinds: Sequence[str] | None = None,
        since_ms: int | None = None,
        limit: int = 5_000,
    ) -> list[dict[str, Any]]:
        """The contact's events kept by ``record_history``, newest first, as dicts
        (``shared.automation.facts``)."""
        ...

    def contacts_page(
        self, org_id: str, after_email: str, limit: int
    ) -> list[tuple[str, dict[str, Any]]]: ...
    def insert_enrolment(self, row: EnrolmentRow, *, at_ms: int) -> bool:
        """False when an enrolment with its id exists (nothing changes)."""
        ...

    def save_enrolment(self, row: EnrolmentRow, *, expected_version: int, at_ms: int) -> bool:
        """False when the row moved past ``expected_version`` (nothing is written)."""
        ...

    def enrolment(self, enrolment_id: str) -> EnrolmentRow | None: ...
    def enrolments_of(
        self,
        org_id: str,
        contact: str,
        *,
        campaign_id: str | None = None,
        running_only: bool = False,
    ) -> list[EnrolmentRow]: ...
    def due_enrolments(self, now_ms: int, limit: int) -> list[EnrolmentRow]: ...
    def next_due_ms(self) -> int | None: ...
    def wake_enrolments(self, org_id: str, contact: str, kind: str, at_ms: int) -> int: ...
    def wake_campaign(self, campaign_id: str, at_ms: int) -> int: ...
    def wake_held(self, campaign_id: str, at_ms: int) -> int: ...
    def mark_converted(self, org_id: str, contact: str, *, at_ms: int, since_ms: int) -> int: ...
    def insert_send(self, row: SendRow) -> bool:
        """False when a send with its idempotency key exists (nothing changes)."""
        ...

    def send(self, send_id: str) -> SendRow | None: ...
    def send_by_key(self, key: str) -> SendRow | None: ...
    def send_times(self, org_id: str, contact: str, *, since_ms: int) -> list[int]: ...
    def sent_times(self, org_id: str, contact: str, *, since_ms: int) -> list[int]: ...
    def claim_sends(
        self, org_id: str, *, now_ms: int, limit: int, worker: str, lease_ms: int
    ) -> list[SendRow]: ...
    def orgs_with_due_sends(self, now_ms: int) -> list[str]: ...
    def next_send_due_ms(self) -> int | None: ...
    def update_send(self, send_id: str, *, at_ms: int, **changes: Any) -> None: ...
    def mark_tracked(self, send_id: str, column: str, at_ms: int) -> bool: ...
    def reclaim_sends(self, *, now_ms: int, worker: str | None = None) -> int: ...
    def cancel_contact(self, org_id: str, contact: str, *, reason: str, at_ms: int) -> int: ...
    def suppress(
        self, org_id: str, contact: str, *, reason: str, at_ms: int, source: str
    ) -> bool: ...
    def suppressions(self, org_id: str, contact: str) -> list[str]: ...
    def suppressed_since(self, org_id: str, contact: str) -> int | None:
        """When the contact was first suppressed (None: it is not)."""
        ...

    def smtp_settings(self, org_id: str) -> SmtpRow | None: ...
    def save_smtp_settings(self, row: SmtpRow) -> None: ...
    def tracking_keys(self, org_id: str) -> list[bytes]:
        """The org's sealed tracking keys, newest first."""
        ...

    def add_tracking_key(self, org_id: str, sealed: bytes, *, at_ms: int) -> None: ...
    def campaign_run_rows(
        self, campaign_id: str
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]: ...
    def variant_counts(self, campaign_id: str) -> list[tuple[str, str, int, int, int]]:
        """Per send step and variant: (step, variant, sent, clicked by a person, converted)."""
        ...


class Listening(Protocol):
    """A subscription to other processes' messages (``CommitBus.listen``)."""

    def close(self) -> None: ...


class CommitBus(Protocol):
    """Messages between the server processes that share one store (PostgreSQL's NOTIFY).

    A store only one process serves (SQLite) has ``shared = False``, announces nothing and
    listens to nothing."""

    #: several server processes may serve this store at once
    shared: bool

    def announce(self, message: str) -> None:
        """Inside a transaction: deliver ``message`` (at most 7,900 bytes of text) to every
        other listening process when the transaction commits; never if it rolls back."""
        ...

    def listen(
        self, on_message: Callable[[str], None], on_gap: Callable[[], None] | None = None
    ) -> Listening | None:
        """Call ``on_message`` (on a thread of the store's) with every message announced by any
        process, in commit order; ``on_gap`` after a lost connection came back (messages in
        between are lost). None when the store is not shared."""
        ...


class Storage(
    AccountStore,
    EventStore,
    ReportReads,
    CampaignStore,
    ConflictStore,
    AuditStore,
    ContactStore,
    StatsStore,
    AutomationStore,
    CommitBus,
    Protocol,
):
    """One handle on the server's store: every aggregate, and its transactions."""

    def transaction(self) -> AbstractContextManager[None]:
        """Writes inside commit together (nested: a savepoint)."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """Reads inside see one state of the store; not for writes."""
        ...

    def reader(self) -> Storage:
        """Another handle on the same store, for another thread."""
        ...

    @property
    def location(self) -> str:
        """Where the store is (a data directory, or a database URL without its password)."""
        ...

    def reachable(self, timeout_s: float = 2.0) -> bool:
        """Whether the store answers now (readiness): never waits on the writer or a pool."""
        ...

    def close(self) -> None: ...
