"""The engine's work inside the writer's transaction: triggers on committed events, due
enrolments, the clock scan of date triggers.

Each round runs on the writer thread as one writer job (``server.automation.engine``), reads
what it needs through the store in that same transaction and writes its results there: new
enrolments with their first steps, saved states, sends (queued with their idempotency keys) and
skips, suppressions, and the server's own events (``records``). So a round is all or nothing:
a crash before its commit leaves no trace and the round runs again from the same cursor; after
its commit every effect is durable, and its sends are on the queue the mailer drains.

Rules kept here (``docs/automation.md``, *The engine*):

* **Events in commit order.** A cursor ``(commit seq, event id)`` in the store says how far the
  engine has read; it moves in the transaction that writes the round's effects, so each event
  is handled once, also across crashes. One round reads events of one org only (the first one's)
  so its own events are declared to the writer as that org's.
* **Late events** follow ``shared.automation.triggers``: a round first keeps the batch in the
  automation's history, then matches, so a score of 31 that arrives in the same sync as a later
  70 is superseded; events of kinds no running campaign watches are not kept.
* **One contact at a time.** Due enrolments are advanced one by one in the round, each reading
  the contact's sends from the store (which includes those this round made), so the frequency
  cap counts every send across campaigns.
* **Never lose an enrolment.** A bug or bad data while advancing one enrolment rolls back that
  enrolment alone (a savepoint) and makes it due again later (``RETRY_S``); the round goes on.
  An event that cannot be handled is rolled back alone, logged and passed over, so one bad
  event never holds the cursor back.
* An unsubscribe or a hard bounce suppresses the contact, cancels its queued sends and ends its
  running enrolments in every campaign.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shared.automation import (
    Enrolment,
    Exit,
    Facts,
    Hold,
    Refused,
    Send,
    Skip,
    advance,
    cancel,
    date_key,
    due_fire_ms,
    enrol,
    match_event,
)
from shared.automation.facts import Fact, as_fact
from shared.automation.journey import EXITED, HELD
from shared.automation.steps import DEFAULT_GOAL_WINDOW_S
from shared.automation.triggers import resolve_path
from shared.protocol.events import (
    WIRE_CONTACT,
    WIRE_ID,
    WIRE_KIND,
    WIRE_OCCURRED_AT_MS,
    WIRE_PAYLOAD,
)

from ..storage import EnrolmentRow, SendRow, Storage
from . import records
from .allocation import Allocator
from .index import Campaign, CampaignIndex, OrgIndex

log = logging.getLogger(__name__)

CURSOR_KEY = "event_cursor"
RETRY_S = 300  # an enrolment that failed to advance is tried again this much later
CONVERSION_WINDOW_S = DEFAULT_GOAL_WINDOW_S  # a conversion counts for enrolments this recent


@dataclass
class Round:
    """What one round did (its outcome for the writer, and for the engine's pacing)."""

    org_id: str | None = None
    events: list[list[Any]] = field(default_factory=list)  # server events stored, in order
    read: int = 0  # committed events read (an event round)
    enrolled: int = 0
    advanced: int = 0
    queued: int = 0  # sends queued for the mailer
    more: bool = False  # work was left for another round right away
    next_due_ms: int | None = None  # (a due round) when the next enrolment falls due
    woken: int = 0  # waiting enrolments an event made due at once
    #: per trigger evaluated: (kind, seconds spent matching it against the org's campaigns)
    timings: list[tuple[str, float]] = field(default_factory=list)


def row_of(
    state: Enrolment, org_id: str, *, version: int = 0, converted_at_ms: int | None = None
) -> EnrolmentRow:
    return EnrolmentRow(
        id=state.id,
        org_id=org_id,
        campaign_id=state.campaign_id,
        contact=state.contact,
        status=state.status,
        held_out=state.held_out,
        node=state.node,
        due_ms=None if state.status in (HELD, EXITED) else state.due_ms,
        wake_on=() if state.status in (HELD, EXITED) else state.wake_on,
        state=state.to_dict(),
        entered_at_ms=state.entered_at_ms,
        exit_reason=state.exit_reason,
        converted_at_ms=converted_at_ms,
        version=version,
    )


#: kinds the engine acts on whatever the org's campaigns (suppression, goals, contact fields)
ACTING_KINDS = frozenset({"unsubscribe", "bounce", "conversion", "contact"})


def _acts(index: OrgIndex, kind: str) -> bool:
    """Whether an event of ``kind`` can change anything in the org's automation: the others
    (most of a sync's touchpoints) are passed over without a savepoint or a read."""
    return kind in ACTING_KINDS or kind in index.wakes or kind in index.by_kind


def _mark(done: Round) -> tuple[int, int, int, int, int, int]:
    return (
        len(done.events),
        done.enrolled,
        done.advanced,
        done.queued,
        done.woken,
        len(done.timings),
    )


def _reset(done: Round, mark: tuple[int, int, int, int, int, int]) -> None:
    """Forget what an event (or a batch) rolled back had counted."""
    del done.events[mark[0] :]
    done.enrolled, done.advanced, done.queued, done.woken = mark[1:5]
    del done.timings[mark[5] :]


class _LazyFields:
    """A contact's fields read only when a path falls through to them."""

    def __init__(self, contacts: _Contacts, contact: str) -> None:
        self._contacts, self._contact = contacts, contact

    def get(self, key: str, default: Any = None) -> Any:
        return self._contacts.fields(self._contact).get(key, default)


class _Contacts:
    """Contact fields and same-kind histories read once per round."""

    def __init__(self, storage: Storage, org_id: str) -> None:
        self.storage, self.org_id = storage, org_id
        self._fields: dict[str, dict[str, Any]] = {}
        self._history: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def fields(self, contact: str) -> dict[str, Any]:
        found = self._fields.get(contact)
        if found is None:
            found = self._fields[contact] = self.storage.contact(self.org_id, contact) or {}
        return found

    def forget(self, contact: str) -> None:
        """The contact's fields changed in this round: read them again."""
        self._fields.pop(contact, None)

    def history(self, contact: str, kind: str) -> list[dict[str, Any]]:
        key = (contact, kind)
        if key not in self._history:
            self._history[key] = self.storage.contact_events(self.org_id, contact, kinds=[kind])
        return self._history[key]


class Rounds:
    """The engine's rounds (writer thread only; one ``CampaignIndex`` kept across rounds)."""

    def __init__(
        self,
        index: CampaignIndex,
        *,
        default_tz: str = "UTC",
        event_batch: int = 500,
        due_batch: int = 200,
        scan_batch: int = 1_000,
        scan_interval_s: int = 900,
        perf_counter: Any = None,
        allocator: Allocator | None = None,
    ) -> None:
        import time

        self.index = index
        #: each send step's live allocation between its variants (None: even shares)
        self.allocator = allocator
        self.default_tz = default_tz
        self.event_batch = event_batch
        self.due_batch = due_batch
        self.scan_batch = scan_batch
        self.scan_interval_s = scan_interval_s
        self._clock = perf_counter or time.perf_counter
        self._device: str | None = None

    # ------------------------------------------------------------------ helpers

    def device_id(self, storage: Storage) -> str:
        if self._device is None:
            self._device = records.server_device_id(storage)
        return self._device

    def refresh(
        self, storage: Storage, org_id: str, now_ms: int, done: Round | None = None
    ) -> OrgIndex:
        """The org's campaign index, up to date; enrolments of campaigns whose status moved
        are made due (resumed ones continue, archived ones exit, paused ones hold), counted in
        ``done.woken``."""
        return self._refresh(storage, org_id, now_ms, done)

    def _refresh(
        self, storage: Storage, org_id: str, now_ms: int, done: Round | None = None
    ) -> OrgIndex:
        index, moved, fresh = self.index.refresh(storage, org_id)
        woken = 0
        for campaign_id in moved:  # resumed: continue; archived: exit; paused: hold
            woken += storage.wake_campaign(campaign_id, now_ms)
        if fresh:  # nothing known from before (a start): held ones may have been resumed
            for campaign in index.campaigns.values():
                if campaign.status in ("active", "archived"):
                    woken += storage.wake_held(campaign.id, now_ms)
        if done is not None:
            done.woken += woken + len(moved)
        return index

    # ------------------------------------------------------------------ committed events

    def cursor(self, storage: Storage) -> tuple[int, str]:
        raw = storage.automation_meta(CURSOR_KEY)
        if raw is None:  # a store the engine never ran on: start at what is committed now
            start = (storage.last_commit_seq(), "")
            storage.set_automation_meta(CURSOR_KEY, f"{start[0]}:")
            return start
        seq, _, event_id = raw.partition(":")
        return int(seq), event_id

    def events(self, storage: Storage, seq: int, now_ms: int) -> Round:
        """Handle the next committed events (one org's) after the cursor."""
        done = Round()
        at_seq, at_id = self.cursor(storage)
        rows = storage.events_after(at_seq, at_id, self.event_batch)
        if not rows:
            return done
        org_id = rows[0][0]
        batch = []
        for row in rows:
            if row[0] != org_id:
                break
            batch.append(row)
        done.org_id = org_id
        done.read = len(batch)
        done.more = len(batch) < len(rows) or len(rows) == self.event_batch
        index = self._refresh(storage, org_id, now_ms, done)
        events = [r[2] for r in batch]
        storage.record_history(
            org_id, [e for e in events if e[WIRE_CONTACT] and e[WIRE_KIND] in index.watched]
        )
        acting = [e for e in events if e[WIRE_CONTACT] and _acts(index, e[WIRE_KIND])]
        mark = _mark(done)
        try:
            with storage.transaction():  # one savepoint for the batch: the common case
                contacts = _Contacts(storage, org_id)
                for event in acting:
                    self._event(storage, index, contacts, event, now_ms, done)
        except Exception:  # an event failed: again one by one, so it rolls back alone
            _reset(done, mark)
            contacts = _Contacts(storage, org_id)
            for event in acting:
                one = _mark(done)
                try:
                    with storage.transaction():
                        self._event(storage, index, contacts, event, now_ms, done)
                except Exception:  # a bug must not stall the cursor behind one event for ever
                    log.exception("event %s could not be handled; skipped", event[WIRE_ID])
                    _reset(done, one)
                    contacts.forget(event[WIRE_CONTACT] or "")
        last = batch[-1]
        storage.set_automation_meta(CURSOR_KEY, f"{last[1]}:{last[2][WIRE_ID]}")
        return done

    def _event(
        self,
        storage: Storage,
        index: OrgIndex,
        contacts: _Contacts,
        event: list[Any],
        now_ms: int,
        done: Round,
    ) -> None:
        kind, contact = event[WIRE_KIND], event[WIRE_CONTACT]
        if not contact:
            return
        payload = event[WIRE_PAYLOAD] or {}
        if kind == "unsubscribe":
            self.stop_contact(storage, index.org_id, contact, "unsubscribed", now_ms, "event")
        elif kind == "bounce" and payload.get("kind") == "hard":
            self.stop_contact(storage, index.org_id, contact, "bounced", now_ms, "event")
        elif kind == "conversion":
            at = event[WIRE_OCCURRED_AT_MS]
            storage.mark_converted(
                index.org_id, contact, at_ms=at, since_ms=at - CONVERSION_WINDOW_S * 1000
            )
        if kind in index.wakes:
            done.woken += storage.wake_enrolments(index.org_id, contact, kind, now_ms)
        if kind == "contact":
            self._second_look(storage, index, contacts, contact, now_ms, done)
            return
        listening = index.by_kind.get(kind)
        if not listening:
            return
        started = self._clock()
        fact = Fact(*event[:WIRE_PAYLOAD], payload=payload)  # a wire array is in Fact's order
        candidates = listening.candidates(
            lambda path: resolve_path(fact, _LazyFields(contacts, contact), path)
        )
        fired = [c for c in candidates if self._fires(c, contacts, fact, now_ms)]
        done.timings.append((kind, self._clock() - started))  # evaluation, not enrolment
        for campaign in fired:
            self._enter_on(storage, index.org_id, campaign, fact, now_ms, done)

    def _second_look(
        self,
        storage: Storage,
        index: OrgIndex,
        contacts: _Contacts,
        contact: str,
        now_ms: int,
        done: Round,
    ) -> None:
        """The contact's fields changed: match its recent trigger events again. A device syncs
        a contact (class 2) after the events that concern it (class 1), so an audience or a
        condition on the contact may hold only now. Enrolment ids come from the trigger event,
        so an event that enrolled the contact before cannot enrol it twice."""
        if not index.by_kind:
            return
        contacts.forget(contact)
        freshest = max(
            (c.trigger.freshness_s for cs in index.by_kind.values() for c in cs if c.trigger),
            default=0,
        )
        recent = storage.contact_events(
            index.org_id, contact, kinds=sorted(index.by_kind), since_ms=now_ms - freshest * 1000
        )
        for event in reversed(recent):  # oldest first, as they happened
            fact = as_fact(event)
            listening = index.by_kind.get(fact.kind)
            candidates = listening.candidates(
                lambda path, f=fact: resolve_path(f, _LazyFields(contacts, contact), path)
            ) if listening else ()  # fmt: skip
            for campaign in candidates:
                if self._fires(campaign, contacts, fact, now_ms):
                    self._enter_on(storage, index.org_id, campaign, fact, now_ms, done)

    def _fires(self, campaign: Campaign, contacts: _Contacts, fact: Fact, now_ms: int) -> bool:
        """Whether the event starts the campaign for its contact (trigger and audience)."""
        trigger = campaign.trigger
        assert trigger is not None and campaign.journey is not None
        fields = contacts.fields(fact.contact or "")
        history: Sequence[Any] = ()
        if trigger.supersede or trigger.bands is not None:
            history = contacts.history(fact.contact or "", fact.kind)
        if not match_event(trigger, fact, contact=fields, now_ms=now_ms, history=history):
            return False
        return campaign.audience.matches(fields)

    def _enter_on(
        self,
        storage: Storage,
        org_id: str,
        campaign: Campaign,
        fact: Fact,
        now_ms: int,
        done: Round,
    ) -> None:
        self.enter(
            storage,
            org_id,
            campaign,
            fact.contact or "",
            key=fact.id,
            trigger_at_ms=fact.occurred_at_ms,
            now_ms=now_ms,
            done=done,
        )

    def enter(
        self,
        storage: Storage,
        org_id: str,
        campaign: Campaign,
        contact: str,
        *,
        key: str,
        trigger_at_ms: int,
        now_ms: int,
        done: Round,
    ) -> EnrolmentRow | None:
        """Enrol the contact (unless its re-entry rule refuses) and run its first steps."""
        assert campaign.journey is not None
        previous = [
            Enrolment.from_dict(r.state)
            for r in storage.enrolments_of(org_id, contact, campaign_id=campaign.id)
        ]
        state = enrol(
            campaign.journey,
            contact,
            key=key,
            now_ms=now_ms,
            trigger_at_ms=trigger_at_ms,
            previous=previous,
        )
        if isinstance(state, Refused):
            return None
        row = row_of(state, org_id)
        if not storage.insert_enrolment(row, at_ms=now_ms):
            return None  # the same trigger enrolled it before
        done.enrolled += 1
        done.events.append(
            records.enrolment_event(
                enrolment_id=state.id,
                campaign_id=campaign.id,
                contact=contact,
                held_out=state.held_out,
                at_ms=now_ms,
            )
        )
        self.advance_one(storage, org_id, campaign, row, now_ms, done)
        return row

    # ------------------------------------------------------------------ advancing

    def facts(
        self, storage: Storage, org_id: str, campaign: Campaign, state: Enrolment, now_ms: int
    ) -> Facts:
        assert campaign.journey is not None
        fields = storage.contact(org_id, state.contact) or {}
        since = min(state.entered_at_ms, state.trigger_at_ms)
        caps = campaign.journey.caps
        window_s = max((c.per_s for c in caps), default=0)
        sends = (
            storage.send_times(org_id, state.contact, since_ms=now_ms - window_s * 1000)
            if caps
            else []
        )
        return Facts(
            contact=fields,
            events=storage.contact_events(org_id, state.contact, since_ms=since),
            sends_ms=sends,
            suppressions=storage.suppressions(org_id, state.contact),
            in_audience=(
                campaign.audience.matches(fields)
                if campaign.journey.exit_on_audience_exit
                else None
            ),
            default_tz=self.default_tz,
            step_allocation=(
                self.allocator.shares(storage, campaign.id, campaign.journey)
                if self.allocator is not None
                else {}
            ),
        )

    def advance_one(
        self,
        storage: Storage,
        org_id: str,
        campaign: Campaign | None,
        row: EnrolmentRow,
        now_ms: int,
        done: Round,
    ) -> None:
        state = Enrolment.from_dict(row.state)
        if campaign is None or campaign.journey is None:
            # gone or unreadable (the server keeps unreadable campaigns as drafts): hold it
            new, actions = replace(state, status=HELD), [Hold("campaign_unavailable")]
        else:
            facts = self.facts(storage, org_id, campaign, state, now_ms)
            new, actions = advance(state, campaign.journey, now_ms, facts)
        done.advanced += 1
        for action in actions:
            if isinstance(action, Send | Skip):
                assert campaign is not None and campaign.journey is not None
                self._send_row(storage, org_id, campaign, new, action, now_ms, done)
        saved = row_of(new, org_id, version=row.version, converted_at_ms=row.converted_at_ms)
        if isinstance(actions[-1] if actions else None, Exit):
            saved = replace(saved, exited_at_ms=now_ms)
        if not storage.save_enrolment(saved, expected_version=row.version, at_ms=now_ms):
            # written meanwhile in this transaction (a wake-up): the next round reads it anew
            log.debug("enrolment %s moved while advancing; left for the next round", row.id)

    def _send_row(
        self,
        storage: Storage,
        org_id: str,
        campaign: Campaign,
        state: Enrolment,
        action: Send | Skip,
        now_ms: int,
        done: Round,
    ) -> None:
        journey = campaign.journey
        assert journey is not None
        variant = (
            action.variant
            if isinstance(action, Send)
            else next((v for s, v in state.choices if s == action.node_id), None)
        )
        queued = isinstance(action, Send)
        stored = storage.insert_send(
            SendRow(
                id=records.stable_id(now_ms, f"sendrow:{action.key}"),
                key=action.key,
                org_id=org_id,
                campaign_id=campaign.id,
                enrolment_id=state.id,
                contact=state.contact,
                step=action.node_id,
                step_index=journey.index.get(action.node_id, -1),
                variant=variant,
                held_out=state.held_out,
                status="queued" if queued else "skipped",
                reason=None if queued else action.reason,
                due_ms=now_ms if queued else None,
                attempts=0,
                message_id=None,
                links=(),
                raw=None,
                created_at_ms=now_ms,
            )
        )
        if stored and queued:
            done.queued += 1

    def due(self, storage: Storage, now_ms: int) -> Round:
        """Advance the enrolments due now (one org's, the most overdue first)."""
        done = Round()
        rows = storage.due_enrolments(now_ms, self.due_batch)
        if not rows:
            return done
        org_id = rows[0].org_id
        mine = [r for r in rows if r.org_id == org_id]
        done.org_id = org_id
        done.more = len(mine) < len(rows) or len(rows) == self.due_batch
        index = self._refresh(storage, org_id, now_ms)
        mark = _mark(done)
        try:
            # one savepoint for the batch, the common case; the rows were read in this
            # transaction, and advancing one enrolment writes no other
            with storage.transaction():
                for row in mine:
                    campaign = index.campaigns.get(row.campaign_id)
                    self.advance_one(storage, org_id, campaign, row, now_ms, done)
        except Exception:  # one failed: again one by one, so it rolls back alone
            _reset(done, mark)
            for row in mine:
                self._advance_alone(storage, org_id, index, row, now_ms, done)
        return done

    def _advance_alone(
        self,
        storage: Storage,
        org_id: str,
        index: OrgIndex,
        row: EnrolmentRow,
        now_ms: int,
        done: Round,
    ) -> None:
        """Advance one enrolment in a savepoint of its own; a failure is logged and the
        enrolment tried again later (``RETRY_S``)."""
        current = storage.enrolment(row.id)
        if current is None or current.status == EXITED:
            return
        try:
            with storage.transaction():
                campaign = index.campaigns.get(row.campaign_id)
                self.advance_one(storage, org_id, campaign, current, now_ms, done)
        except Exception:
            log.exception("enrolment %s could not advance; tried again later", row.id)
            storage.save_enrolment(
                replace(current, due_ms=now_ms + RETRY_S * 1000),
                expected_version=current.version,
                at_ms=now_ms,
            )

    # ------------------------------------------------------------------ stopping a contact

    def stop_contact(
        self, storage: Storage, org_id: str, contact: str, reason: str, now_ms: int, source: str
    ) -> int:
        """Suppress the contact, cancel its queued sends and end its running enrolments
        everywhere; how many enrolments ended."""
        storage.suppress(org_id, contact, reason=reason, at_ms=now_ms, source=source)
        storage.cancel_contact(org_id, contact, reason=reason, at_ms=now_ms)
        ended = 0
        for row in storage.enrolments_of(org_id, contact, running_only=True):
            state, actions = cancel(Enrolment.from_dict(row.state), reason)
            if not actions:
                continue
            saved = replace(
                row_of(state, org_id, version=row.version, converted_at_ms=row.converted_at_ms),
                exited_at_ms=now_ms,
            )
            if storage.save_enrolment(saved, expected_version=row.version, at_ms=now_ms):
                ended += 1
        return ended

    # ------------------------------------------------------------------ the clock scan

    def _dates(
        self,
        storage: Storage,
        org_id: str,
        index: OrgIndex,
        contact: str,
        fields: dict[str, Any],
        now_ms: int,
        done: Round,
    ) -> None:
        for campaign in index.dated:
            assert campaign.trigger is not None
            fire = due_fire_ms(campaign.trigger, fields, now_ms=now_ms, default_tz=self.default_tz)
            if fire is None or not campaign.audience.matches(fields):
                continue
            self.enter(
                storage,
                org_id,
                campaign,
                contact,
                key=date_key(fire),
                trigger_at_ms=fire,
                now_ms=now_ms,
                done=done,
            )

    def scan(self, storage: Storage, now_ms: int) -> Round:
        """One page of the date-trigger scan: the next contacts of the next org that has date
        campaigns and whose pass is due; enrols the contacts whose date fires now."""
        done = Round()
        for name in storage.org_names():
            org_id = storage.org_id(name)
            if org_id is None:
                continue
            index = self._refresh(storage, org_id, now_ms)
            if not index.dated:
                continue
            started = storage.automation_meta(f"date_scan_started:{org_id}")
            position = storage.automation_meta(f"date_scan_at:{org_id}") or ""
            if position == "" and started is not None:
                if now_ms - int(started) < self.scan_interval_s * 1000:
                    continue  # this org's last pass is recent enough
            if position == "":
                storage.set_automation_meta(f"date_scan_started:{org_id}", str(now_ms))
            page = storage.contacts_page(org_id, position, self.scan_batch)
            done.org_id = org_id
            for contact, fields in page:
                mark = (len(done.events), done.enrolled, done.advanced, done.queued)
                try:
                    with storage.transaction():  # a savepoint: one contact's failure alone
                        self._dates(storage, org_id, index, contact, fields, now_ms, done)
                except Exception:
                    log.exception("date triggers of %s could not run; skipped", contact)
                    del done.events[mark[0] :]
                    done.enrolled, done.advanced, done.queued = mark[1:]
            last = page[-1][0] if len(page) == self.scan_batch else ""
            storage.set_automation_meta(f"date_scan_at:{org_id}", last)
            done.more = bool(last)
            done.read = len(page)
            return done
        return done
