"""What a device's PUSH becomes on the writer: the jobs that store its events and merge its
campaign updates, each declaring what it changed (``server.commits``).

Both run on the writer thread inside its transaction and act for the pushing device's principal
only: the org is always the principal's, never one the device names.
"""

from __future__ import annotations

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
            applied = [self.docs.apply(storage, p, c, u, meta) for c, u, meta in self.updates]
        except BaseException:
            # the batch's savepoint rolls back: so must the docs merged before the failing one
            for campaign_id, _update, _meta in self.updates:
                self.docs.evict(campaign_id, p.org_id)
            raise
        return Outcome(applied, campaign_changes(p.org_id, applied, device_id=p.device_id))
