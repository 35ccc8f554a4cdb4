"""The campaigns the engine runs, indexed per org by what starts them and what they wait for.

Kept on the writer thread (the engine's jobs run there) and brought up to date at the start of
each job from the org's campaign update log (``last_update_seq`` / ``updates_after``), so a
campaign edited on any device, by an admin's resolution or by another process is seen by the
next round; 10,000 campaigns load once and then cost what changes.

For each org:

* ``by_kind``: active campaigns with an event trigger, by the trigger's event kind, and within a
  kind by an equality rule of their trigger (``source == "wedding-fair-2026"``): matching an
  event costs the campaigns listening for its kind whose equality it meets, plus those without
  one, not all of them;
* ``dated``: active campaigns with a date trigger (the clock scan's work);
* ``watched``: event kinds the automation reads back (trigger kinds: for supersession, bands and
  a second look when the contact's fields arrive; what goals, wait-fors and branches count),
  kept in its slice of history;
* ``wakes``: kinds that some running enrolment may wait for (goals and wait-fors).

A campaign whose status moved (paused to active, to archived) is reported by ``refresh`` so the
engine makes its enrolments due at once: resumed ones continue, archived ones exit.
"""

from __future__ import annotations

import inspect
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.automation import (
    Audience,
    AutomationError,
    Journey,
    Trigger,
    parse_audience,
    parse_journey,
    parse_trigger,
)
from shared.automation.steps import Branch, Goal, WaitFor
from shared.automation.triggers import SUPERSEDING_KINDS

from ..storage import Storage

log = logging.getLogger(__name__)

#: statuses whose enrolments may still receive events (a paused campaign resumes)
LIVE_STATUSES = ("active", "paused")


@dataclass(frozen=True)
class Campaign:
    """One campaign as the engine runs it."""

    id: str
    status: str
    snapshot: dict[str, Any]
    journey: Journey | None  # None: the engine cannot run it (the server holds such as drafts)
    trigger: Trigger | None
    audience: Audience
    problem: str | None = None


def campaign_row(storage: Storage, campaign_id: str, org_id: str) -> Any:
    """The org's campaign row, or None (a campaign of another org is None too)."""
    if "org_id" in inspect.signature(storage.campaign).parameters:
        return storage.campaign(campaign_id, org_id=org_id)  # ids are keys within an org
    row = storage.campaign(campaign_id)  # type: ignore[call-arg]
    return row if row is not None and row.org_id == org_id else None


def load_campaign(campaign_id: str, snapshot: dict[str, Any]) -> Campaign:
    status = str(snapshot.get("status") or "draft")
    try:
        journey = parse_journey({**snapshot, "id": campaign_id})
        trigger = parse_trigger(snapshot["trigger"]) if snapshot.get("trigger") else None
        audience = parse_audience(snapshot.get("audience_segment"))
    except AutomationError as exc:
        return Campaign(campaign_id, status, snapshot, None, None, Audience(), exc.message)
    return Campaign(campaign_id, status, snapshot, journey, trigger, audience)


def _counted_kinds(journey: Journey) -> set[str]:
    """Event kinds the journey's steps count or wait for."""
    kinds: set[str] = set()
    for node in journey.nodes:
        if isinstance(node, Goal | WaitFor):
            kinds.add(node.event)
        elif isinstance(node, Branch):
            for rule in node.condition.rules:
                head, _, rest = rule.field.partition(".")
                if head == "events" and rest:
                    kinds.add(rest)
    return kinds


def _keyable(value: Any) -> bool:
    """A rule value an equality can be looked up by: text that does not read as a number (the
    rule language compares a number and a numeric text as numbers, so those are not keys)."""
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def _equality_key(trigger: Trigger) -> tuple[str, str] | None:
    """A rule every firing must meet, ``path == text``, to look the campaign up by (None: the
    campaign is matched against every event of its kind)."""
    conditions = trigger.conditions
    if conditions.match != "all" and len(conditions.rules) > 1:
        return None
    for rule in conditions.rules:
        if rule.op == "eq" and _keyable(rule.value):
            return rule.field, rule.value
    return None


@dataclass
class KindIndex:
    """The active campaigns listening for one event kind: those with an equality rule by the
    rule's path and text, the others in ``scan`` (matched against every event)."""

    scan: list[Campaign] = field(default_factory=list)
    by_value: dict[str, dict[str, list[Campaign]]] = field(default_factory=dict)
    count: int = 0

    def add(self, campaign: Campaign) -> None:
        assert campaign.trigger is not None
        self.count += 1
        key = _equality_key(campaign.trigger)
        if key is None:
            self.scan.append(campaign)
        else:
            self.by_value.setdefault(key[0], {}).setdefault(key[1], []).append(campaign)

    def candidates(self, resolve: Callable[[str], Any]) -> list[Campaign]:
        """The campaigns an event may start: those that scan every event, and those whose
        equality rule the event meets (``resolve(path)`` is the event's value at a path). The
        full trigger is still matched against each: this only leaves out the certain misses."""
        found = list(self.scan)
        for path, campaigns in self.by_value.items():
            value = resolve(path)
            if isinstance(value, str):
                found.extend(campaigns.get(value, ()))
        return found

    def __iter__(self):  # noqa: ANN204
        yield from self.scan
        for campaigns in self.by_value.values():
            for group in campaigns.values():
                yield from group

    def __len__(self) -> int:
        return self.count


@dataclass
class OrgIndex:
    org_id: str
    update_seq: int = 0
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    by_kind: dict[str, KindIndex] = field(default_factory=dict)
    dated: list[Campaign] = field(default_factory=list)
    watched: frozenset[str] = frozenset()
    wakes: frozenset[str] = frozenset()

    def rebuild(self) -> None:
        by_kind: dict[str, KindIndex] = defaultdict(KindIndex)
        dated, watched, wakes = [], set(SUPERSEDING_KINDS), set()
        for campaign in sorted(self.campaigns.values(), key=lambda c: c.id):
            if campaign.journey is None or campaign.status not in LIVE_STATUSES:
                continue
            counted = _counted_kinds(campaign.journey)
            watched |= counted
            wakes |= {n.event for n in campaign.journey.nodes if isinstance(n, Goal | WaitFor)}
            trigger = campaign.trigger
            if campaign.status != "active" or trigger is None:
                continue
            if trigger.date is not None:
                dated.append(campaign)
            elif trigger.event is not None:
                by_kind[trigger.event].add(campaign)
                watched.add(trigger.event)
        self.by_kind, self.dated = dict(by_kind), dated
        self.watched, self.wakes = frozenset(watched), frozenset(wakes)


class CampaignIndex:
    """Every org's ``OrgIndex`` (writer thread only)."""

    def __init__(self) -> None:
        self._orgs: dict[str, OrgIndex] = {}

    def clear(self) -> None:
        """Forget everything (a transaction rolled back): the next job reloads from the store."""
        self._orgs.clear()

    def refresh(self, storage: Storage, org_id: str) -> tuple[OrgIndex, list[str], bool]:
        """The org's index brought up to date; the campaigns whose status moved since the last
        refresh; and whether the org was loaded just now (nothing known about it before)."""
        index = self._orgs.get(org_id)
        latest = storage.last_update_seq(org_id)
        if index is None:
            index = OrgIndex(org_id, latest)
            for row in storage.campaigns(org_id):
                index.campaigns[row.id] = load_campaign(row.id, row.snapshot)
            index.rebuild()
            self._orgs[org_id] = index
            return index, [], True
        if latest == index.update_seq:
            return index, [], False
        changed = {u.campaign_id for u in storage.updates_after(org_id, index.update_seq)}
        moved = []
        for campaign_id in sorted(changed):
            row = campaign_row(storage, campaign_id, org_id)
            if row is None:
                continue
            before = index.campaigns.get(campaign_id)
            campaign = load_campaign(campaign_id, row.snapshot)
            index.campaigns[campaign_id] = campaign
            if before is not None and before.status != campaign.status:
                moved.append(campaign_id)
        index.update_seq = latest
        index.rebuild()
        return index, moved, False

    def known(self, org_id: str) -> OrgIndex | None:
        return self._orgs.get(org_id)
