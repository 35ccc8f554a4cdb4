"""Journeys: a campaign's steps as data, and one interpreter that advances one contact's
enrolment through them.

``advance(enrolment, campaign, now_ms, facts)`` runs the enrolment node by node until it must
wait or leaves, and returns the new state with the side effects as values (``Send``, ``Skip``,
``Schedule``, ``Hold``, ``Exit``); it performs none of them. It is a pure function of its inputs,
so the engine can save the state, carry out the actions, and on a crash replay from the state it
saved: the replay yields the same actions with the same keys.

The steps and campaign settings are read by ``steps.parse_journey``; their schema is
documented there.

Invariants:

* **Jumps only go forward** (``parse_journey`` refuses others), so a journey always ends and
  each step runs at most once per enrolment; a send's idempotency key ``<enrolment>/<step>`` is
  therefore unique, and the state also records the sends it made (``done``) so that a step moved
  by a live edit is never sent twice.
* Events of kinds ``send``, ``open``, ``click``, ``unsubscribe`` count only when they belong to
  this campaign (``"scope": "any"`` widens that); events flagged as non-engagement never count.
  An event that happens after a decision was taken (a late open synced after the timeout) does
  not reopen it.
* **Status**: only an active campaign moves its enrolments; paused (or draft, scheduled) holds
  them in place (``Hold``; waits keep counting), archived ends them (``campaign_archived``).
* **Guards** at every send (``guards``): suppression exits, quiet hours hold, the frequency cap
  skips and moves on. A held-out contact (the control group) follows the journey, but each send
  becomes ``Skip(held_out)``.
* **Re-entry** (``may_enter``): ``once`` (the default), ``every_time`` or ``cooldown`` after a
  previous entry; never while an enrolment of the same campaign is still running. An enrolment's
  id is derived from the campaign, the contact and the trigger's key (the event id, or the date
  firing), so enrolling twice on the same trigger gives the same id.
* A step deleted while enrolments wait on it: they resume at the step now in its position.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .conditions import lookup
from .errors import AutomationCode, AutomationError
from .facts import Fact, as_fact
from .guards import FrequencyCap, capped_by, next_allowed_ms, suppression_reason
from .localtime import contact_zone, next_local_time_ms
from .steps import (
    Branch,
    Goal,
    Journey,
    Node,
    Reentry,
    SendEmail,
    Split,
    Wait,
    WaitFor,
    parse_journey,
)
from .triggers import fire_time_ms

CAMPAIGN_SCOPED_KINDS = frozenset({"send", "open", "click", "unsubscribe"})

# Enrolment statuses.
ACTIVE, WAITING, HELD, EXITED = "active", "waiting", "held", "exited"

# Exit, skip and refusal reasons (stable strings for the run view and the audit log).
COMPLETED = "completed"
GOAL_REACHED = "goal_reached"
GOAL_MISSED = "goal_missed"
CAMPAIGN_ARCHIVED = "campaign_archived"
STOPPED_MATCHING = "stopped_matching"
DATE_MISSING = "date_missing"
HELD_OUT = "held_out"
FREQUENCY_CAPPED = "frequency_capped"
NO_VARIANT = "no_variant"

_STATE = AutomationCode.STATE_INVALID

# ---------------------------------------------------------------------- state and actions


@dataclass(frozen=True, slots=True)
class Enrolment:
    """One contact's run through one campaign; saved by the engine after every ``advance``."""

    id: str
    campaign_id: str
    contact: str
    entered_at_ms: int  # when the engine enrolled the contact (goal windows count from here)
    trigger_at_ms: int  # when the trigger event happened (``wait`` ``"from": "trigger"``)
    node: str | None  # the current step; None once exited
    node_index: int  # its position when reached (a deleted step's waiters resume there)
    node_started_ms: int  # when the enrolment reached the current step
    held_out: bool = False
    status: str = ACTIVE
    due_ms: int | None = None  # while waiting: when to advance again (None: only on an event)
    wake_on: tuple[str, ...] = ()  # while waiting: event kinds that should advance it sooner
    exit_reason: str | None = None
    done: tuple[str, ...] = ()  # send steps already carried out (sent or skipped)
    choices: tuple[tuple[str, str], ...] = ()  # (step id, variant or split path) drawn

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "campaign_id": self.campaign_id,
            "contact": self.contact,
            "entered_at_ms": self.entered_at_ms,
            "trigger_at_ms": self.trigger_at_ms,
            "node": self.node,
            "node_index": self.node_index,
            "node_started_ms": self.node_started_ms,
            "held_out": self.held_out,
            "status": self.status,
            "due_ms": self.due_ms,
            "wake_on": list(self.wake_on),
            "exit_reason": self.exit_reason,
            "done": list(self.done),
            "choices": [list(c) for c in self.choices],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Enrolment:
        try:
            state = cls(
                id=str(data["id"]),
                campaign_id=str(data["campaign_id"]),
                contact=str(data["contact"]),
                entered_at_ms=int(data["entered_at_ms"]),
                trigger_at_ms=int(data["trigger_at_ms"]),
                node=data.get("node"),
                node_index=int(data.get("node_index") or 0),
                node_started_ms=int(data["node_started_ms"]),
                held_out=bool(data.get("held_out", False)),
                status=str(data.get("status") or ACTIVE),
                due_ms=None if data.get("due_ms") is None else int(data["due_ms"]),
                wake_on=tuple(str(k) for k in data.get("wake_on") or ()),
                exit_reason=data.get("exit_reason"),
                done=tuple(str(d) for d in data.get("done") or ()),
                choices=tuple((str(a), str(b)) for a, b in data.get("choices") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AutomationError(_STATE, f"saved enrolment is not readable: {exc!r}") from None
        if state.status not in (ACTIVE, WAITING, HELD, EXITED):
            raise AutomationError(_STATE, f"saved enrolment has unknown status {state.status!r}")
        return state


@dataclass(frozen=True, slots=True)
class Send:
    key: str  # idempotency key: "<enrolment id>/<step id>"; the Message-ID derives from it
    enrolment_id: str
    campaign_id: str
    contact: str
    node_id: str
    variant: str
    channel: str = "email"


@dataclass(frozen=True, slots=True)
class Skip:
    key: str
    node_id: str
    reason: str  # held_out | frequency_capped | no_variant


@dataclass(frozen=True, slots=True)
class Schedule:
    due_ms: int | None  # advance again at this time (None: only when a wake_on event arrives)
    wake_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hold:
    reason: str  # the campaign's status: paused, draft, scheduled


@dataclass(frozen=True, slots=True)
class Exit:
    reason: str


Action = Send | Skip | Schedule | Hold | Exit


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str  # campaign_not_active | no_steps | already_enrolled | entered_before | cooldown


@dataclass(frozen=True)
class Facts:
    """What the engine knows about the contact when it advances an enrolment."""

    contact: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[Any] = ()  # the contact's events since it entered (Event, Fact or dict)
    sends_ms: Sequence[int] = ()  # the contact's email sends across all campaigns
    suppressions: Collection[str] = ()  # unsubscribed, bounced, complained, do_not_contact
    org_caps: Sequence[FrequencyCap] = ()  # the org's caps, on top of the campaign's own
    allocation: Mapping[str, float] | None = None  # variant id -> share (the campaign's bandit)
    #: send step id -> (variant id -> share): each step's own bandit, before ``allocation``
    step_allocation: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    in_audience: bool | None = None  # None: not evaluated
    default_tz: str = "UTC"


# ---------------------------------------------------------------------- deterministic draws


def _unit(*parts: str) -> float:
    """A number in [0, 1) fixed by ``parts`` (the same on every server and every replay)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _draw(weights: Sequence[float], u: float) -> int:
    total = sum(weights)
    point, acc = u * total, 0.0
    for i, w in enumerate(weights):
        acc += w
        if point < acc and w > 0:
            return i
    return max(i for i, w in enumerate(weights) if w > 0)


def in_holdout(campaign_id: str, contact: str, holdout_pct: float) -> bool:
    """Whether the contact is in the campaign's control group (fixed by campaign and contact)."""
    return holdout_pct > 0 and _unit("holdout", campaign_id, contact) * 100 < holdout_pct


def split_path(campaign_id: str, contact: str, node_id: str, weights: Sequence[float]) -> int:
    """The path a split step sends the contact down (fixed by campaign, contact and step)."""
    return _draw(weights, _unit("split", campaign_id, contact, node_id))


def enrolment_id(campaign_id: str, contact: str, key: str) -> str:
    """The enrolment's id for one trigger (an event id or a date firing): enrolling twice on the
    same trigger gives the same id, which the store keeps once."""
    return "en" + hashlib.sha256(f"{campaign_id}\x1f{contact}\x1f{key}".encode()).hexdigest()[:30]


def send_key(enrolment: str, node_id: str) -> str:
    return f"{enrolment}/{node_id}"


# ---------------------------------------------------------------------- entry


def may_enter(reentry: Reentry, previous: Iterable[Enrolment], *, now_ms: int) -> str | None:
    """Why the contact may not enter the campaign again (None: it may). ``previous`` are its
    earlier enrolments in this campaign."""
    earlier = list(previous)
    if any(p.status != EXITED for p in earlier):
        return "already_enrolled"
    if not earlier or reentry.mode == "every_time":
        return None
    if reentry.mode == "once":
        return "entered_before"
    last = max(p.entered_at_ms for p in earlier)
    return "cooldown" if now_ms - last < reentry.cooldown_s * 1000 else None


def enrol(
    journey: Journey,
    contact: str,
    *,
    key: str,
    now_ms: int,
    trigger_at_ms: int | None = None,
    previous: Iterable[Enrolment] = (),
) -> Enrolment | Refused:
    """A new enrolment at the journey's first step, or why the contact may not enter."""
    if journey.status != "active":
        return Refused("campaign_not_active")
    if not journey.nodes:
        return Refused("no_steps")
    reason = may_enter(journey.reentry, previous, now_ms=now_ms)
    if reason is not None:
        return Refused(reason)
    return Enrolment(
        id=enrolment_id(journey.campaign_id, contact, key),
        campaign_id=journey.campaign_id,
        contact=contact,
        entered_at_ms=now_ms,
        trigger_at_ms=now_ms if trigger_at_ms is None else trigger_at_ms,
        node=journey.nodes[0].id,
        node_index=0,
        node_started_ms=now_ms,
        held_out=in_holdout(journey.campaign_id, contact, journey.holdout_pct),
    )


def cancel(enrolment: Enrolment, reason: str) -> tuple[Enrolment, list[Action]]:
    """End an enrolment from outside (an unsubscribe or a hard bounce, everywhere at once)."""
    if enrolment.status == EXITED:
        return enrolment, []
    return _exited(enrolment, reason), [Exit(reason)]


# ---------------------------------------------------------------------- the interpreter


def _exited(state: Enrolment, reason: str) -> Enrolment:
    return replace(state, status=EXITED, node=None, due_ms=None, wake_on=(), exit_reason=reason)


@dataclass
class _Run:
    journey: Journey
    facts: Facts
    events: list[Fact]
    now_ms: int
    sends: list[int]
    actions: list[Action]

    def counts(self, kind: str, *, since_ms: int, until_ms: int | None, scope_any: bool) -> int:
        campaign = self.journey.campaign_id
        return sum(
            1
            for f in self.events
            if f.kind == kind
            and f.engagement
            and since_ms <= f.occurred_at_ms
            and (until_ms is None or f.occurred_at_ms <= until_ms)
            and (scope_any or kind not in CAMPAIGN_SCOPED_KINDS or f.campaign == campaign)
        )


def _goal_met(run: _Run, state: Enrolment, goal: Goal) -> bool:
    until = state.entered_at_ms + goal.within_s * 1000
    return (
        run.counts(
            goal.event, since_ms=state.entered_at_ms, until_ms=until, scope_any=goal.scope_any
        )
        > 0
    )


def _wake_on(journey: Journey, node: Node | None) -> tuple[str, ...]:
    kinds = {g.event for g in journey.goals}
    if isinstance(node, WaitFor):
        kinds.add(node.event)
    return tuple(sorted(kinds))


def _choice(state: Enrolment, node_id: str) -> str | None:
    return next((value for step, value in state.choices if step == node_id), None)


def _pick_variant(run: _Run, state: Enrolment, node: SendEmail) -> str | None:
    candidates = node.variants or run.journey.variants
    if not candidates:
        return None
    allocation = run.facts.step_allocation.get(node.id) or run.facts.allocation or {}
    weights = [max(float(allocation.get(v, 0) or 0), 0.0) for v in candidates]
    if sum(weights) <= 0:
        weights = [1.0] * len(candidates)
    return candidates[_draw(weights, _unit("variant", state.id, node.id))]


def _send(run: _Run, state: Enrolment, node: SendEmail) -> tuple[Enrolment, int | None]:
    """Carry out a send step; returns the state and the time to hold until (quiet hours)."""
    if node.id in state.done:
        return state, None
    zone = contact_zone(run.facts.contact, run.facts.default_tz)
    allowed = next_allowed_ms(run.journey.quiet_hours, zone, run.now_ms)
    if allowed > run.now_ms:
        return state, allowed
    key = send_key(state.id, node.id)
    variant = _choice(state, node.id) or _pick_variant(run, state, node)
    caps = (*run.journey.caps, *run.facts.org_caps)
    if state.held_out:
        run.actions.append(Skip(key, node.id, HELD_OUT))
    elif capped_by(caps, run.sends, now_ms=run.now_ms, channel="email") is not None:
        run.actions.append(Skip(key, node.id, FREQUENCY_CAPPED))
    elif variant is None:
        run.actions.append(Skip(key, node.id, NO_VARIANT))
    else:
        run.actions.append(
            Send(key, state.id, state.campaign_id, state.contact, node.id, variant, "email")
        )
        run.sends.append(run.now_ms)
    choices = state.choices if variant is None else (*state.choices, (node.id, variant))
    return replace(state, done=(*state.done, node.id), choices=choices), None


def _wait_due(run: _Run, state: Enrolment, node: Wait) -> int | None | str:
    """When a wait step ends, or DATE_MISSING when the contact has no such date."""
    base = state.trigger_at_ms if node.from_trigger else state.node_started_ms
    if node.duration_s is not None:
        return base + node.duration_s * 1000
    zone = contact_zone(run.facts.contact, run.facts.default_tz)
    if node.until_local is not None:
        return next_local_time_ms(node.until_local, zone, base)
    assert node.until_date is not None
    fire = fire_time_ms(node.until_date, run.facts.contact, default_tz=run.facts.default_tz)
    if fire is None:
        return DATE_MISSING if node.exit_if_missing else base
    return fire


def _branch_value(run: _Run, state: Enrolment, path: str) -> Any:
    head, _, rest = path.partition(".")
    if head == "events" and rest:
        return run.counts(rest, since_ms=state.entered_at_ms, until_ms=None, scope_any=False)
    if head == "contact" and rest:
        return lookup(run.facts.contact, rest)
    if head == "enrolment" and rest == "held_out":
        return state.held_out
    return lookup(run.facts.contact, path)


def advance(
    enrolment: Enrolment,
    campaign: Journey | Mapping[str, Any],
    now_ms: int,
    facts: Facts | None = None,
) -> tuple[Enrolment, list[Action]]:
    """Advance one enrolment as far as it can go at ``now_ms``.

    Returns the new state and the actions for the engine to carry out, in order: any ``Send`` /
    ``Skip`` of the steps passed, then exactly one of ``Schedule``, ``Hold`` or ``Exit`` (or
    nothing for an enrolment that had already left). Persist the state together with the
    actions' rows; replaying from an older state repeats the same actions with the same keys.
    """
    journey = campaign if isinstance(campaign, Journey) else parse_journey(campaign)
    facts = facts if facts is not None else Facts()
    state = enrolment
    if state.status == EXITED:
        return state, []
    if state.campaign_id != journey.campaign_id:
        raise AutomationError(
            _STATE, f"enrolment {state.id} is not in campaign {journey.campaign_id}"
        )
    if journey.status == "archived":
        return _exited(state, CAMPAIGN_ARCHIVED), [Exit(CAMPAIGN_ARCHIVED)]
    if journey.status != "active":
        return replace(state, status=HELD), [Hold(journey.status)]
    reason = suppression_reason(facts.contact, facts.suppressions)
    if reason is not None:
        return _exited(state, reason), [Exit(reason)]
    if journey.exit_on_audience_exit and facts.in_audience is False:
        return _exited(state, STOPPED_MATCHING), [Exit(STOPPED_MATCHING)]
    events = [f for f in map(as_fact, facts.events) if f.contact == state.contact]
    run = _Run(journey, facts, events, now_ms, list(facts.sends_ms), [])
    if any(_goal_met(run, state, g) for g in journey.goals):
        return _exited(state, GOAL_REACHED), [Exit(GOAL_REACHED)]

    def leave(reason: str) -> tuple[Enrolment, list[Action]]:
        return _exited(state, reason), [*run.actions, Exit(reason)]

    def wait(due_ms: int | None, node: Node) -> tuple[Enrolment, list[Action]]:
        wake = _wake_on(journey, node)
        held = replace(state, status=WAITING, due_ms=due_ms, wake_on=wake)
        return held, [*run.actions, Schedule(due_ms, wake)]

    # Every move goes to a later position, so the loop ends within len(nodes) + 1 turns.
    for _ in range(len(journey.nodes) + 1):
        position = journey.index.get(state.node) if state.node is not None else None
        if position is None:
            position = state.node_index
        if position >= len(journey.nodes):
            return leave(COMPLETED)
        node = journey.nodes[position]
        target: str | None = None
        if isinstance(node, SendEmail):
            state, hold_until = _send(run, state, node)
            if hold_until is not None:
                return wait(hold_until, node)
        elif isinstance(node, Wait):
            due = _wait_due(run, state, node)
            if due == DATE_MISSING:
                return leave(DATE_MISSING)
            assert isinstance(due, int)
            if due > now_ms:
                return wait(due, node)
        elif isinstance(node, WaitFor):
            start = state.node_started_ms
            deadline = start + node.timeout_s * 1000
            if run.counts(node.event, since_ms=start, until_ms=deadline, scope_any=node.scope_any):
                target = node.then
            elif now_ms >= deadline:
                target = node.otherwise
            else:
                return wait(deadline, node)
        elif isinstance(node, Branch):
            met = node.condition.test(lambda path, at=state: _branch_value(run, at, path))
            target = node.then if met else node.otherwise
        elif isinstance(node, Split):
            chosen = _choice(state, node.id)
            path = int(chosen) if chosen is not None and chosen.isdigit() else None
            if path is None or path >= len(node.then):
                path = split_path(state.campaign_id, state.contact, node.id, node.weights)
                state = replace(state, choices=(*state.choices, (node.id, str(path))))
            target = node.then[path]
        elif isinstance(node, Goal):
            deadline = state.entered_at_ms + node.within_s * 1000
            if now_ms < deadline:
                return wait(deadline, node)
            if position == len(journey.nodes) - 1:
                return leave(GOAL_MISSED)
        next_position = journey.index[target] if target is not None else position + 1
        if next_position >= len(journey.nodes):
            return leave(COMPLETED)
        state = replace(
            state,
            node=journey.nodes[next_position].id,
            node_index=next_position,
            node_started_ms=now_ms,
            status=ACTIVE,
            due_ms=None,
            wake_on=(),
        )
    raise AssertionError("a journey whose jumps go forward always ends")  # pragma: no cover
