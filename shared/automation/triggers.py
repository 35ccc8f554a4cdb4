"""Campaign triggers: whether a committed event starts a campaign for its contact, and when a
date-relative trigger fires.

A trigger is the campaign's ``trigger`` field (JSON). Three shapes:

* **event**: ``{"event": KIND, "conditions": CONDITIONS, "freshness_s": N, "supersede": BOOL}``;
  fires on an event of that kind whose fields, payload and contact meet the conditions.
* **band**: an event trigger plus ``"band": {"enter": ["at_risk", "critical"], "field":
  "score", "at_risk_below": 50, "critical_below": 35}``; fires when the score in the event's
  payload moves the contact *into* one of the listed bands: healthy (>= at_risk_below), at_risk
  (< at_risk_below), critical (< critical_below).
* **date**: ``{"date": {"field": "wedding_date", "offset_days": -90, "at": "09:00",
  "repeat": "yearly" | null}}`` (``days_before: N`` / ``days_after: N`` may stand for
  ``offset_days``); fires on the clock, not on an event (``fire_time_ms``).

Condition paths (see ``conditions`` for operators): ``event.<attr>`` (id, kind, occurred_at_ms,
contact, campaign, channel, value_cents), ``payload.<key>``, ``contact.<field>``; a bare name is
an event attribute if it is one, else a payload key if the payload has it, else a contact field.

Rules for events that arrive late (a laptop syncing a week of captures at once):

1. **Freshness.** An event whose occurrence is more than ``freshness_s`` (default 7 days) before
   the moment it is evaluated does not trigger. Date triggers apply the same window to their fire
   time, so a contact imported with a wedding date long past is not greeted as if it were today.
2. **Supersession.** For a superseding trigger an event does not trigger when the contact has a
   *later* event of the same kind (hybrid-clock order, see ``facts``). For band triggers only a
   later score in a *different* band supersedes: with the default bands a score of 31 then 70
   starts nothing (the contact is healthy again), 45 then 40 starts at-risk once, from the 45
   (the state it entered still holds), 45 then 31 starts critical once, from the 31.
   Supersession is on by default for state-like kinds (``health_score``) and off for facts (a
   second conversion does not undo the first); ``"supersede"`` overrides.
3. **Entering a band** compares with the contact's previous score: the latest earlier score in
   its history (or the ``previous_score`` the caller knows), from either side: critical to
   at-risk enters at-risk too (re-entry rules keep a contact already enrolled from entering
   twice). A contact with no earlier score enters the band of its first score.
4. Otherwise an event triggers when it arrives, however late; journeys then count relative waits
   from when the event happened where a step asks for that (``wait`` with ``"from":
   "trigger"``).

Whether a contact may enter again (once, every time, after a cooldown) is the journey's rule
(``journey.may_enter``), not the trigger's.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from .conditions import MISSING, Conditions, lookup, parse_conditions
from .errors import AutomationCode, AutomationError
from .facts import EVENT_ATTRS, Fact, as_fact
from .localtime import contact_zone, local_datetime, local_to_ms, parse_date, parse_hhmm

DEFAULT_FRESHNESS_S = 7 * 86_400
MAX_FRESHNESS_S = 3650 * 86_400
#: Kinds whose later event replaces the earlier one as the contact's state.
SUPERSEDING_KINDS = frozenset({"health_score"})
BANDS = ("healthy", "at_risk", "critical")
DEFAULT_AT_RISK_BELOW = 50.0
DEFAULT_CRITICAL_BELOW = 35.0
DEFAULT_FIRE_TIME = time(9, 0)

# Why a trigger did or did not fire (stable strings for the run view and the audit log).
MATCHED = "matched"
WRONG_KIND = "kind_mismatch"
NO_CONTACT = "no_contact"
STALE = "stale"
SUPERSEDED = "superseded"
CONDITIONS_NOT_MET = "conditions_not_met"
NO_SCORE = "no_score"
BAND_NOT_ENTERED = "band_not_entered"
NOT_AN_EVENT_TRIGGER = "not_an_event_trigger"

_INVALID = AutomationCode.TRIGGER_INVALID

#: Event kinds a trigger fires on (and a ``wait_for`` or ``goal`` step waits for).
TRIGGER_EVENTS = (
    "lead",
    "touchpoint",
    "conversion",
    "open",
    "click",
    "invite_sent",
    "invite_accepted",
    "health_score",
    "milestone",
    "unsubscribe",
    "survey",
)
EVENT_TRIGGER_SETTINGS = ("event", "conditions", "freshness_s", "supersede", "band")
DATE_TRIGGER_SETTINGS = ("date", "conditions", "freshness_s")
BAND_SETTINGS = ("enter", "field", "at_risk_below", "critical_below")
DATE_SETTINGS = ("field", "offset_days", "days_before", "days_after", "at", "repeat")


@dataclass(frozen=True, slots=True)
class Bands:
    enter: tuple[str, ...] = ("at_risk", "critical")
    field: str = "score"
    at_risk_below: float = DEFAULT_AT_RISK_BELOW
    critical_below: float = DEFAULT_CRITICAL_BELOW

    def band_of(self, score: float) -> str:
        if score < self.critical_below:
            return "critical"
        if score < self.at_risk_below:
            return "at_risk"
        return "healthy"


@dataclass(frozen=True, slots=True)
class DateRule:
    field: str
    offset_days: int = 0
    at: time = DEFAULT_FIRE_TIME
    yearly: bool = False


@dataclass(frozen=True, slots=True)
class Trigger:
    event: str | None  # the event kind; None for a date trigger
    conditions: Conditions = Conditions()
    freshness_s: int = DEFAULT_FRESHNESS_S
    supersede: bool = False
    bands: Bands | None = None
    date: DateRule | None = None

    @property
    def shape(self) -> str:
        return "date" if self.date is not None else "band" if self.bands is not None else "event"


@dataclass(frozen=True, slots=True)
class TriggerMatch:
    """The verdict on one event: ``fired`` and why (one of the reason strings above)."""

    fired: bool
    reason: str
    band: str | None = None
    previous_band: str | None = None

    def __bool__(self) -> bool:
        return self.fired


def _whole(raw: Mapping[str, Any], key: str, default: int, low: int, high: int, where: str) -> int:
    value = raw.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise AutomationError(_INVALID, f"{where}{key} must be a whole number from {low} to {high}")
    return value


def _known(raw: Mapping[str, Any], allowed: tuple[str, ...], what: str, field: str) -> None:
    for key in raw:
        if key not in allowed:
            raise AutomationError(
                _INVALID, f"{what} has no setting {key!r} (settings: {', '.join(allowed)})", field
            )


def _parse_bands(raw: Any) -> Bands:
    if not isinstance(raw, Mapping):
        raise AutomationError(_INVALID, "band must be an object", "band")
    _known(raw, BAND_SETTINGS, "the band", "band")
    enter = raw.get("enter", ["at_risk", "critical"])
    if isinstance(enter, str):
        enter = [enter]
    if not isinstance(enter, list | tuple) or not enter or any(b not in BANDS for b in enter):
        raise AutomationError(
            _INVALID, f"band.enter must list some of {', '.join(BANDS)}", "band.enter"
        )
    at_risk = raw.get("at_risk_below", DEFAULT_AT_RISK_BELOW)
    critical = raw.get("critical_below", DEFAULT_CRITICAL_BELOW)
    for name, value in (("at_risk_below", at_risk), ("critical_below", critical)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not -1e9 < value < 1e9:
            raise AutomationError(_INVALID, f"band.{name} must be a number", f"band.{name}")
    if critical > at_risk:
        raise AutomationError(
            _INVALID, "band.critical_below must not be above at_risk_below", "band.critical_below"
        )
    field = raw.get("field", "score")
    if not isinstance(field, str) or not field or len(field) > 100:
        raise AutomationError(
            _INVALID, "band.field must name the payload's score key", "band.field"
        )
    return Bands(tuple(dict.fromkeys(enter)), field, float(at_risk), float(critical))


def parse_date_rule(
    raw: Any, *, code: AutomationCode = _INVALID, where: str = "date", field: str = "date"
) -> DateRule:
    """Validate a date rule (also used by ``wait`` steps with ``until_date_field``)."""
    if not isinstance(raw, Mapping):
        raise AutomationError(code, f"{where} must be an object", field)
    for key in raw:
        if key not in DATE_SETTINGS:
            raise AutomationError(
                code,
                f"{where} has no setting {key!r} (settings: {', '.join(DATE_SETTINGS)})",
                field,
            )
    name = raw.get("field")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise AutomationError(code, f"{where}.field must name a contact date field", field)
    given = [k for k in ("offset_days", "days_before", "days_after") if k in raw]
    if len(given) > 1:
        raise AutomationError(
            code, f"{where}: give one of offset_days, days_before, days_after", field
        )
    try:
        offset = 0
        if given:
            offset = _whole(raw, given[0], 0, -36_500, 36_500, f"{where}.")
            offset = -offset if given[0] == "days_before" else offset
        at = parse_hhmm(raw["at"]) if raw.get("at") is not None else DEFAULT_FIRE_TIME
    except AutomationError as exc:
        raise AutomationError(code, exc.message, field) from None
    except ValueError as exc:
        raise AutomationError(code, f"{where}.at: {exc}", field) from None
    repeat = raw.get("repeat")
    if repeat not in (None, "yearly"):
        raise AutomationError(code, f"{where}.repeat must be 'yearly' or absent", field)
    return DateRule(name.strip(), offset, at, repeat == "yearly")


def parse_trigger(raw: Any) -> Trigger:
    """Validate a campaign trigger (the one place that decides what a trigger may be: the
    campaign rules call this); AutomationError(TRIGGER_INVALID) says what is wrong and, in its
    ``field``, which setting."""
    if not isinstance(raw, Mapping):
        raise AutomationError(_INVALID, "a trigger must be a JSON object")
    if raw.get("date") is not None:
        if raw.get("event") is not None or raw.get("band") is not None:
            raise AutomationError(_INVALID, "a date trigger has no event or band", "event")
        _known(raw, DATE_TRIGGER_SETTINGS, "a date trigger", None)
        freshness = _freshness(raw)
        rule = parse_date_rule(raw["date"])
        conditions = parse_conditions(raw.get("conditions"), code=_INVALID, where="trigger")
        return Trigger(None, conditions, freshness, False, None, rule)
    _known(raw, EVENT_TRIGGER_SETTINGS, "the trigger", None)
    kind = raw.get("event")
    if not isinstance(kind, str) or not kind:
        raise AutomationError(_INVALID, "a trigger needs an event kind (or a date rule)", "event")
    if kind not in TRIGGER_EVENTS:
        raise AutomationError(
            _INVALID,
            f"the trigger fires on one of {', '.join(TRIGGER_EVENTS)}; got {kind!r}",
            "event",
        )
    freshness = _freshness(raw)
    supersede = raw.get("supersede", kind in SUPERSEDING_KINDS)
    if not isinstance(supersede, bool):
        raise AutomationError(_INVALID, "supersede must be true or false", "supersede")
    bands = _parse_bands(raw["band"]) if raw.get("band") is not None else None
    conditions = parse_conditions(raw.get("conditions"), code=_INVALID, where="trigger")
    return Trigger(kind, conditions, freshness, supersede or bands is not None, bands, None)


def _freshness(raw: Mapping[str, Any]) -> int:
    try:
        return _whole(raw, "freshness_s", DEFAULT_FRESHNESS_S, 1, MAX_FRESHNESS_S, "")
    except AutomationError as exc:
        raise AutomationError(_INVALID, exc.message, "freshness_s") from None


def resolve_path(event: Fact, contact: Mapping[str, Any], path: str) -> Any:
    """A condition path's value for ``event`` and ``contact`` (see the module rules)."""
    head, _, rest = path.partition(".")
    if rest and head == "event" and rest in EVENT_ATTRS:
        value = event.attr(rest)
        return MISSING if value is None else value
    if rest and head == "payload":
        return lookup(event.payload, rest)
    if rest and head == "contact":
        return lookup(contact, rest)
    if path in EVENT_ATTRS:
        value = event.attr(path)
        return MISSING if value is None else value
    found = lookup(event.payload, path)
    return found if found is not MISSING else lookup(contact, path)


def _score(event: Fact, bands: Bands) -> float | None:
    value = lookup(event.payload, bands.field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def match_event(
    trigger: Trigger,
    event: Any,
    *,
    contact: Mapping[str, Any] | None = None,
    now_ms: int,
    history: Iterable[Any] = (),
    previous_score: float | None = None,
) -> TriggerMatch:
    """Whether ``event`` fires ``trigger`` at ``now_ms``.

    ``contact`` is the contact's current fields; ``history`` the contact's other events of the
    trigger's kind that the store holds (any order, the event itself may be among them), used
    for supersession and for the previous score; ``previous_score`` overrides the latter when
    the caller keeps only the last score.
    """
    if trigger.event is None:
        return TriggerMatch(False, NOT_AN_EVENT_TRIGGER)
    fact = as_fact(event)
    if fact.kind != trigger.event:
        return TriggerMatch(False, WRONG_KIND)
    if not fact.contact:
        return TriggerMatch(False, NO_CONTACT)
    if now_ms - fact.occurred_at_ms > trigger.freshness_s * 1000:
        return TriggerMatch(False, STALE)
    fields = contact or {}
    if not trigger.conditions.test(lambda path: resolve_path(fact, fields, path)):
        return TriggerMatch(False, CONDITIONS_NOT_MET)
    others = [
        f
        for f in map(as_fact, history)
        if f.kind == fact.kind and f.contact == fact.contact and f.id != fact.id
    ]
    band = previous_band = None
    if trigger.bands is not None:
        score = _score(fact, trigger.bands)
        if score is None:
            return TriggerMatch(False, NO_SCORE)
        band = trigger.bands.band_of(score)
        if previous_score is None:
            scored = [
                (f.order, s)
                for f in others
                if f.order < fact.order and (s := _score(f, trigger.bands)) is not None
            ]
            previous_score = max(scored)[1] if scored else None
        if previous_score is not None:
            previous_band = trigger.bands.band_of(previous_score)
        if band not in trigger.bands.enter or band == previous_band:
            return TriggerMatch(False, BAND_NOT_ENTERED, band, previous_band)
    if trigger.supersede:
        for later in (f for f in others if f.order > fact.order):
            if trigger.bands is None:
                return TriggerMatch(False, SUPERSEDED, band, previous_band)
            later_score = _score(later, trigger.bands)
            if later_score is not None and trigger.bands.band_of(later_score) != band:
                return TriggerMatch(False, SUPERSEDED, band, previous_band)
    return TriggerMatch(True, MATCHED, band, previous_band)


def _shift_year(day: date, year: int) -> date:
    """``day`` in ``year``; 29 February becomes 28 February in a common year."""
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def fire_time_ms(
    rule: DateRule,
    contact: Mapping[str, Any] | None,
    *,
    after_ms: int | None = None,
    default_tz: str = "UTC",
) -> int | None:
    """When a date rule fires for ``contact``: ``offset_days`` from the contact's date field, at
    ``rule.at`` in the contact's time zone. With ``after_ms``, the first firing at or after it
    (a yearly rule recurs; a one-off rule that fired earlier gives None). None when the contact
    has no readable date in that field."""
    fields = contact or {}
    tz = contact_zone(fields, default_tz)
    base = parse_date(lookup(fields, rule.field) if rule.field else None, tz)
    if base is None:
        return None
    if not rule.yearly:
        fire = local_to_ms(base + timedelta(days=rule.offset_days), rule.at, tz)
        return fire if after_ms is None or fire >= after_ms else None
    first_year = base.year
    if after_ms is not None:
        # start a year early: the offset can move an anniversary's firing across New Year
        first_year = max(
            first_year, local_datetime(after_ms, tz).year - 1 - abs(rule.offset_days) // 365
        )
    for year in range(first_year, first_year + 3 + abs(rule.offset_days) // 365):
        day = _shift_year(base, year) + timedelta(days=rule.offset_days)
        fire = local_to_ms(day, rule.at, tz)
        if after_ms is None or fire >= after_ms:
            return fire
    return None  # pragma: no cover - the loop spans enough years to reach after_ms


def due_fire_ms(
    trigger: Trigger,
    contact: Mapping[str, Any] | None,
    *,
    now_ms: int,
    default_tz: str = "UTC",
) -> int | None:
    """The date trigger's firing that is due at ``now_ms`` (at or before it, within the
    freshness window), or None. The enrolment key for it is ``date_key(fire)``, so a scan that
    runs twice enrols once."""
    if trigger.date is None:
        return None
    fields = contact or {}
    if not trigger.conditions.test(lambda path: lookup(fields, path.removeprefix("contact."))):
        return None
    fire = fire_time_ms(
        trigger.date, fields, after_ms=now_ms - trigger.freshness_s * 1000, default_tz=default_tz
    )
    return fire if fire is not None and fire <= now_ms else None


def date_key(fire_ms: int) -> str:
    """The enrolment key of a date trigger's firing (one enrolment per firing)."""
    return f"date:{fire_ms}"
