"""What a device's PUSH becomes on the writer: the jobs that store its events and merge its
campaign updates, each declaring what it changed (``server.commits``).

Both run on the writer thread inside its transaction and act for the pushing device's principal
only: the org is always the principal's, never one the device names. Likewise the metadata of a
device's campaign update is the device's word only on what a device may say (its hybrid clock,
the guarded edits it made); who made it comes from the principal, and anything else in it (such
as the marks of an update the server made itself, ``by_server_for``) is dropped
(``device_meta``).
"""

from __future__ import annotations

import math
from typing import Any

from shared.protocol.events import event_from_row
from shared.protocol.kinds import CONTACTS

from .auth import Principal
from .campaigns import AppliedUpdate, CampaignDocs
from .commits import Changes, Outcome, campaign_changes
from .storage import Storage
from .writer import EventsJob


class StoreEvents(EventsJob):
    """Store one batch of validated events of one priority class; contact events also merge
    their fields into the org's contacts. Declares the new events, or, when some were stored
    before, that its org's new events are unknown."""

    def __init__(self, principal: Principal, priority: int, events: list[list[Any]]) -> None:
        self.principal = principal
        self.org_id = principal.org_id
        self.priority = priority
        self.events = events

    def __call__(self, storage: Storage, seq: int) -> Outcome[tuple[int, int]]:
        principal, priority, events = self.principal, self.priority, self.events
        device_id = principal.device_id or ""
        stored, duplicates = storage.insert_events(
            org_id=principal.org_id,
            device_id=device_id,
            events=events,
            priority=priority,
            commit_seq=seq,
        )
        if priority == CONTACTS:
            for event in map(event_from_row, events):
                if event.contact and isinstance(event.payload.get("fields"), dict):
                    storage.merge_contact(
                        org_id=principal.org_id,
                        email=event.contact,
                        fields=event.payload["fields"],
                        hlc=event.hlc,
                        device_id=device_id,
                    )
        if stored == len(events):
            new: tuple[list[Any], ...] | None = tuple(events)
        else:  # some were stored before: which ones, only the store knows
            new = None if stored else ()
        return Outcome((stored, duplicates), Changes(principal.org_id, events=new))


#: what a device's update metadata may hold, and its bounds
MAX_GUARDS = 100
MAX_BASES = 100
MAX_GUARD_VALUE_CHARS = 100_000


def device_meta(meta: Any, principal: Principal) -> dict[str, Any]:
    """The metadata of a device's campaign update as the server keeps it: the device's hybrid
    clock stamp and its guarded edits when well formed, its author and device from the
    principal, and nothing else."""
    meta = meta if isinstance(meta, dict) else {}
    clean: dict[str, Any] = {"author": principal.email, "device": principal.device_id}
    hlc = meta.get("hlc")
    if isinstance(hlc, int) and not isinstance(hlc, bool) and 0 <= hlc < 2**63:
        clean["hlc"] = hlc
    guards = meta.get("guards")
    if isinstance(guards, list):
        clean["guards"] = [g for g in guards[:MAX_GUARDS] if _guard_ok(g)]
    return clean


def _guard_ok(guard: Any) -> bool:
    if not isinstance(guard, dict):
        return False
    field, edit, base = guard.get("field"), guard.get("edit"), guard.get("base", [])
    return (
        isinstance(field, str)
        and 0 < len(field) <= 200
        and isinstance(edit, str)
        and 0 < len(edit) <= 64
        and isinstance(base, list)
        and len(base) <= MAX_BASES
        and all(isinstance(b, str) and len(b) <= 64 for b in base)
        and _json_like(guard.get("value"))
    )


def _json_like(value: Any, depth: int = 0) -> bool:
    """A value that can be stored as JSON within bounds (a guarded field's value)."""
    if depth > 8:
        return False
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= MAX_GUARD_VALUE_CHARS
    if isinstance(value, list):
        return len(value) <= 1_000 and all(_json_like(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return len(value) <= 1_000 and all(
            isinstance(k, str) and _json_like(v, depth + 1) for k, v in value.items()
        )
    return False


class ApplyCampaignUpdates:
    """Merge one batch of campaign updates ``(campaign id, update, meta)`` from a device."""

    def __init__(
        self, docs: CampaignDocs, principal: Principal, updates: list[tuple[str, bytes, dict]]
    ) -> None:
        self.docs = docs
        self.principal = principal
        self.updates = updates

    def __call__(self, storage: Storage, seq: int) -> Outcome[list[AppliedUpdate]]:
        p = self.principal
        try:
            applied = [
                self.docs.apply(storage, p, c, u, device_meta(meta, p))
                for c, u, meta in self.updates
            ]
        except BaseException:
            # the batch's savepoint rolls back: so must the docs merged before the failing one
            for campaign_id, _update, _meta in self.updates:
                self.docs.evict(campaign_id, p.org_id)
            raise
        return Outcome(applied, campaign_changes(p.org_id, applied, device_id=p.device_id))
