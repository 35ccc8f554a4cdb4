"""Campaign rules both sides apply: step kinds and their settings, triggers, audiences, frequency
caps, schedule and quiet hours, content variants, and what a campaign needs before it may run.

Pure functions over plain data: one value, or a whole campaign as ``campaign.snapshot`` returns
it. No pycrdt, no I/O. A broken rule is a ``CampaignRuleError`` with a stable ``code`` (below), a
message written for the person who made the edit, and the ``field`` it concerns
(``trigger``, ``steps.<id>.days``, ``variants.<id>.subject``, …).

Two families of problems:

* ``shape_problems``: a value malformed in itself (codes ``bad_field``, ``bad_step``,
  ``bad_step_config``, ``bad_trigger``, ``bad_audience``, ``bad_frequency_cap``,
  ``bad_schedule``, ``bad_quiet_hours``, ``bad_variant``). Never valid, whatever the status.
* ``launch_problems``: what a campaign needs before it runs (``missing_trigger``,
  ``missing_steps``, ``missing_content``, ``missing_schedule``) and a flow that can run
  (``bad_jump``: every jump leads forward to a step that exists, so every journey ends). Drafts
  may have these: they come from ordinary editing (a step moved or deleted on another device);
  ``active`` and ``scheduled`` campaigns may not.

One owner per rule: what a trigger, a step's settings, a jump, a condition, an audience, a
frequency cap, quiet hours, re-entry and the holdout may be is decided by the automation's own
parsers (``shared.automation``: ``parse_trigger``, ``parse_step``, ``jump_problems``,
``parse_conditions``, ``parse_audience``, ``parse_frequency_cap``, ``parse_quiet_hours``,
``parse_reentry``, ``parse_holdout``); this module calls them and turns their errors into
``CampaignRuleError`` with a field path. What is left here is the document's own business:
scalar fields, the schedule, content variants and what a campaign lacks before it may run. So
whatever these rules let run, the engine runs (``parse_journey`` and ``parse_trigger`` accept
every campaign with no problem; property-tested).

Invariant kept by the server: a campaign stored as ``active`` or ``scheduled`` has no problem at
all (``problems(snapshot) == []``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.automation import steps as automation_steps
from shared.automation.audience import parse_audience
from shared.automation.conditions import parse_conditions
from shared.automation.errors import AutomationCode, AutomationError
from shared.automation.guards import parse_frequency_cap, parse_quiet_hours
from shared.automation.steps import (  # noqa: F401 (BRANCH_EVENTS is re-exported)
    BRANCH_EVENTS,
    parse_holdout,
    parse_reentry,
    parse_step,
)
from shared.automation.triggers import TRIGGER_EVENTS, parse_trigger  # noqa: F401 (re-exported)

from .campaign import FIELDS, STEP_KINDS
from .events import MAX_VALUE_CENTS

#: Statuses in which a campaign runs or is about to: they need a complete, well-formed campaign.
RUNNING_STATUSES = ("active", "scheduled")
#: The notice kind (and code) the server sends when it holds a campaign or finds a bad value.
CAMPAIGN_INVALID = "campaign_invalid"

# ---------------------------------------------------------------------- codes

BAD_FIELD = "bad_field"  # a scalar field of the wrong type (status, type, budget, owner, …)
BAD_STEP = "bad_step"  # a step that is not {id, kind, config}, an unknown kind, a repeated id
BAD_STEP_CONFIG = "bad_step_config"  # a step setting out of range, unknown, or a dangling jump
BAD_TRIGGER = "bad_trigger"
BAD_AUDIENCE = "bad_audience"
BAD_FREQUENCY_CAP = "bad_frequency_cap"
BAD_SCHEDULE = "bad_schedule"
BAD_QUIET_HOURS = "bad_quiet_hours"
BAD_VARIANT = "bad_variant"
BAD_REENTRY = "bad_reentry"
BAD_HOLDOUT = "bad_holdout"
MISSING_TRIGGER = "missing_trigger"
MISSING_STEPS = "missing_steps"
MISSING_CONTENT = "missing_content"
MISSING_SCHEDULE = "missing_schedule"
BAD_JUMP = "bad_jump"  # a jump to a step that is gone, to itself, or back to an earlier step

# ---------------------------------------------------------------------- vocabulary

#: ``TRIGGER_EVENTS`` (events a trigger fires on, a goal or a wait-for waits for) and
#: ``BRANCH_EVENTS`` (events a branch can test) are the automation's vocabularies, imported above
#: and offered by the builder from here.
#: Comparison operators of trigger conditions and audience rules, with the words the builder shows.
RULE_OPS: dict[str, str] = {
    "eq": "is",
    "ne": "is not",
    "contains": "contains",
    "gte": "at least",
    "lte": "at most",
    "in": "is one of",
    "not_in": "is none of",
    "exists": "is set",
}
AUDIENCE_MATCH = ("all", "any")

#: The settings of each step kind with their defaults (a new step starts with these).
STEP_DEFAULTS: dict[str, dict[str, Any]] = {
    "send_email": {"variant": "auto"},
    "wait": {"days": 2, "hours": 0},
    "wait_for": {"event": "click", "timeout_days": 7, "on_timeout": None},
    "branch": {"event": "open", "within_days": 3, "then": None},
    "split": {"percent": 50, "then": None},
    "goal": {"event": "conversion"},
}
#: Settings that name another step of the campaign (a jump).
TARGET_KEYS = automation_steps.TARGET_KEYS

MAX_STEPS = 200
MAX_VARIANTS = 26  # labelled A to Z
MAX_NAME = 100  # a step or variant id
MAX_SUBJECT = 998  # RFC 5322 line limit
MAX_BODY = 100_000


class CampaignRuleError(ValueError):
    """A campaign value that breaks a rule: ``code`` (stable), ``message``, ``field``."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CampaignRuleError) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.code, self.field, self.message))

    def __repr__(self) -> str:
        return f"CampaignRuleError({self.code!r}, {self.message!r}, {self.field!r})"


def step_defaults(kind: str) -> dict[str, Any]:
    """A fresh copy of the default settings of a step ``kind``."""
    if kind not in STEP_DEFAULTS:
        raise CampaignRuleError(
            BAD_STEP, f"step kind must be one of {', '.join(STEP_KINDS)}; got {kind!r}", "steps"
        )
    return dict(STEP_DEFAULTS[kind])


# ---------------------------------------------------------------------- single values


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rule_error(exc: AutomationError, code: str, base: str) -> CampaignRuleError:
    field = f"{base}.{exc.field}" if exc.field else base
    return CampaignRuleError(code, exc.message, field)


def check_rule(rule: Any, field: str, code: str) -> None:
    """One condition or audience rule: ``{"field", "op", "value"}`` (``parse_conditions``)."""
    what = "a rule" if code == BAD_AUDIENCE else "a condition"
    try:
        parse_conditions(
            [rule], code=AutomationCode.TRIGGER_INVALID, where=what, what=what, field="r"
        )
    except AutomationError as exc:
        raise CampaignRuleError(code, exc.message, field) from None


def rule_value(op: str, text: str) -> Any:
    """The value of a rule typed as text: a list for ``in``/``not_in`` (comma separated), a
    number for ``gte``/``lte`` when it reads as one, nothing or a yes/no for ``exists``."""
    text = text.strip()
    if op in ("in", "not_in"):
        return [part.strip() for part in text.split(",") if part.strip()]
    if op == "exists":
        return None if not text else text.lower() in ("yes", "true", "1")
    if op in ("gte", "lte"):
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
    return text


def rule_text(value: Any) -> str:
    """A rule's value as the builder shows it (the inverse of ``rule_value``)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def check_trigger(trigger: Any) -> None:
    """``None`` (not set yet) or a trigger as ``shared.automation.triggers`` reads it: an event
    kind with conditions (and a freshness window, supersession, a score band), or a date rule."""
    if trigger is None:
        return
    try:
        parse_trigger(trigger)
    except AutomationError as exc:
        raise _rule_error(exc, BAD_TRIGGER, "trigger") from None


def check_audience(audience: Any) -> None:
    """``None`` (nobody chosen yet), a named segment (text), or
    ``{"match": "all"|"any", "rules": [rule, …]}`` over contacts' fields (no rules: everyone)."""
    if audience is None:
        return
    try:
        parse_audience(audience)
    except AutomationError as exc:
        raise _rule_error(exc, BAD_AUDIENCE, "audience_segment") from None


def check_frequency_cap(cap: Any) -> None:
    """``None`` or ``{"max_sends": 0..1000, "per_days": 1..365}``: at most ``max_sends`` emails
    to one contact in any ``per_days`` days, across campaigns (0: no cap)."""
    if cap is None:
        return
    try:
        parse_frequency_cap(cap)
    except AutomationError as exc:
        raise _rule_error(exc, BAD_FREQUENCY_CAP, "frequency_cap") from None


def check_reentry(value: Any) -> None:
    """``None`` (once), ``"once"``, ``"every_time"`` or ``{"mode": "cooldown", "cooldown_s": N}``."""
    try:
        parse_reentry(value)
    except AutomationError as exc:
        raise CampaignRuleError(BAD_REENTRY, exc.message, "reentry") from None


def check_holdout(value: Any) -> None:
    """``None`` or a share in percent from 0 to 90 held out as the control group."""
    try:
        parse_holdout(value)
    except AutomationError as exc:
        raise CampaignRuleError(BAD_HOLDOUT, exc.message, "holdout_pct") from None


def parse_moment(text: str) -> datetime:
    """A schedule date: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (what the builder writes)."""
    if not isinstance(text, str) or not 10 <= len(text) <= 25:
        raise ValueError(text)
    return datetime.fromisoformat(text)


def check_schedule(start: Any, end: Any) -> None:
    """Start and end are empty (none) or dates; an end comes after its start."""
    moments = {}
    for field, value in (("schedule_start", start), ("schedule_end", end)):
        if value is None or value == "":
            continue
        try:
            moments[field] = parse_moment(value)
        except ValueError:
            raise CampaignRuleError(
                BAD_SCHEDULE, f"{field} must be a date like 2025-06-01T09:00; got {value!r}", field
            ) from None
    if len(moments) == 2:
        first, last = moments["schedule_start"], moments["schedule_end"]
        if (first.tzinfo is None) != (last.tzinfo is None):
            raise CampaignRuleError(
                BAD_SCHEDULE, "start and end must both have a time zone or neither", "schedule_end"
            )
        if last <= first:
            raise CampaignRuleError(
                BAD_SCHEDULE, "the campaign must end after it starts", "schedule_end"
            )


def check_quiet_hours(value: Any) -> None:
    """Empty (none) or ``HH:MM-HH:MM`` (may cross midnight: ``21:00-08:00``)."""
    try:
        parse_quiet_hours(value)
    except AutomationError as exc:
        raise CampaignRuleError(BAD_QUIET_HOURS, exc.message, "quiet_hours") from None


def check_step_config(
    kind: str,
    config: Any,
    *,
    own_id: str,
    step_ids: list[str] | tuple[str, ...] | set[str] | None = None,
) -> None:
    """The settings of one step (``shared.automation.steps.parse_step``). With ``step_ids`` (an
    edit in the builder), a jump must lead to another step among them; without, jumps are
    checked with the whole flow at launch."""
    if kind not in STEP_DEFAULTS:
        raise CampaignRuleError(
            BAD_STEP,
            f"step kind must be one of {', '.join(STEP_KINDS)}; got {kind!r}",
            f"steps.{own_id}",
        )
    base = f"steps.{own_id}"
    try:
        parse_step({"id": own_id, "kind": kind, "config": config})
    except AutomationError as exc:
        raise _rule_error(exc, BAD_STEP_CONFIG, base) from None
    if step_ids is not None:
        wrong = automation_steps.target_problem(config, own_id=own_id, step_ids=step_ids)
        if wrong is not None:
            raise CampaignRuleError(BAD_STEP_CONFIG, wrong[1], f"{base}.{wrong[0]}")


def check_variant(variant: Any, index: int) -> None:
    """``{"id", "label", "subject", "body"}`` with text of bounded length."""
    field = f"variants[{index}]"
    if not isinstance(variant, dict) or not isinstance(variant.get("id"), str):
        raise CampaignRuleError(BAD_VARIANT, "a variant needs an id", field)
    field = f"variants.{variant['id']}"
    for key, limit in (("label", 8), ("subject", MAX_SUBJECT), ("body", MAX_BODY)):
        value = variant.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            raise CampaignRuleError(
                BAD_VARIANT, f"a variant's {key} is text of at most {limit:,} characters", field
            )


# ---------------------------------------------------------------------- whole campaign


def _collect(found: list[CampaignRuleError], check: Any, *args: Any, **kwargs: Any) -> None:
    try:
        check(*args, **kwargs)
    except CampaignRuleError as exc:
        found.append(exc)


def _check_scalars(campaign: dict[str, Any]) -> list[CampaignRuleError]:
    found = []
    for name, spec in FIELDS.items():
        if name not in campaign or spec.kind not in ("enum", "int", "str"):
            continue
        value = campaign[name]
        ok = (
            value in spec.choices
            if spec.kind == "enum"
            else (_whole(value) and 0 <= value <= MAX_VALUE_CENTS)
            if spec.kind == "int"
            else isinstance(value, str)
        )
        if not ok:
            found.append(CampaignRuleError(BAD_FIELD, f"{name} cannot be {value!r}", name))
    return found


def shape_problems(campaign: dict[str, Any]) -> list[CampaignRuleError]:
    """Every malformed value of ``campaign`` (a snapshot), in a stable order."""
    found = _check_scalars(campaign)
    _collect(found, check_trigger, campaign.get("trigger"))
    _collect(found, check_audience, campaign.get("audience_segment"))
    _collect(found, check_frequency_cap, campaign.get("frequency_cap"))
    _collect(found, check_schedule, campaign.get("schedule_start"), campaign.get("schedule_end"))
    _collect(found, check_quiet_hours, campaign.get("quiet_hours"))
    _collect(found, check_reentry, campaign.get("reentry"))
    _collect(found, check_holdout, campaign.get("holdout_pct"))
    variants = campaign.get("variants") or []
    if not isinstance(variants, list) or len(variants) > MAX_VARIANTS:
        found.append(CampaignRuleError(BAD_VARIANT, f"at most {MAX_VARIANTS} variants", "variants"))
        variants = []
    for i, variant in enumerate(variants):
        _collect(found, check_variant, variant, i)
    steps = campaign.get("steps") or []
    if not isinstance(steps, list) or len(steps) > MAX_STEPS:
        found.append(CampaignRuleError(BAD_STEP, f"at most {MAX_STEPS} steps", "steps"))
        steps = []
    seen: set[str] = set()
    for i, step in enumerate(steps):
        step_id = step.get("id") if isinstance(step, dict) else None
        if not isinstance(step_id, str) or not step_id or len(step_id) > MAX_NAME:
            found.append(CampaignRuleError(BAD_STEP, "a step needs an id", f"steps[{i}]"))
            continue
        if step_id in seen:
            found.append(CampaignRuleError(BAD_STEP, "two steps share one id", f"steps.{step_id}"))
            continue
        seen.add(step_id)
        _collect(
            found,
            check_step_config,
            step.get("kind"),
            step.get("config") if "config" in step else {},
            own_id=step_id,
        )
    return found


def _jump_problems(steps: list[dict[str, Any]]) -> list[CampaignRuleError]:
    """Every jump leads forward to a step that exists: the journey always ends."""
    return [
        CampaignRuleError(BAD_JUMP, p.message, f"steps.{p.step}.{p.setting}")
        for p in automation_steps.jump_problems(steps)
    ]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _complete(variant: Any) -> bool:
    return (
        isinstance(variant, dict)
        and isinstance(variant.get("subject"), str)
        and isinstance(variant.get("body"), str)
        and bool(variant["subject"].strip())
        and bool(variant["body"].strip())
    )


def launch_problems(campaign: dict[str, Any]) -> list[CampaignRuleError]:
    """What ``campaign`` lacks before it may be scheduled or activated."""
    found = []
    if not campaign.get("trigger"):
        found.append(
            CampaignRuleError(
                MISSING_TRIGGER,
                "choose the event that starts the campaign (its trigger)",
                "trigger",
            )
        )
    steps = [s for s in _list(campaign.get("steps")) if isinstance(s, dict)]
    if not steps:
        found.append(CampaignRuleError(MISSING_STEPS, "add at least one step", "steps"))
    found.extend(_jump_problems(steps))
    variants = [v for v in _list(campaign.get("variants")) if isinstance(v, dict)]
    by_id = {v.get("id"): v for v in variants}
    for number, step in enumerate(steps, 1):
        if step.get("kind") != "send_email":
            continue
        config = step.get("config") if isinstance(step.get("config"), dict) else {}
        chosen = config.get("variants", [config.get("variant", "auto")])
        chosen = chosen if isinstance(chosen, list) and chosen else ["auto"]
        if chosen == ["auto"]:
            if not any(_complete(v) for v in variants):
                found.append(
                    CampaignRuleError(
                        MISSING_CONTENT,
                        f"step {number} sends an email: write a variant with a subject and a body",
                        f"steps.{step.get('id')}.variant",
                    )
                )
        elif not all(_complete(by_id.get(c)) for c in chosen if isinstance(c, str)):
            found.append(
                CampaignRuleError(
                    MISSING_CONTENT,
                    f"step {number} sends a variant that is gone or lacks a subject or a body",
                    f"steps.{step.get('id')}.variant",
                )
            )
    if campaign.get("status") == "scheduled" and not campaign.get("schedule_start"):
        found.append(
            CampaignRuleError(
                MISSING_SCHEDULE, "a scheduled campaign needs a start date", "schedule_start"
            )
        )
    return found


def problems(campaign: dict[str, Any]) -> list[CampaignRuleError]:
    """Every rule ``campaign`` breaks in its current status: malformed values always, missing
    parts only when it is active or scheduled."""
    found = shape_problems(campaign)
    if campaign.get("status") in RUNNING_STATUSES:
        found.extend(launch_problems(campaign))
        if not found:
            found.extend(_engine_problems(campaign))
    return found


def _engine_problems(campaign: dict[str, Any]) -> list[CampaignRuleError]:
    """What the automation engine itself would refuse in a campaign no other rule faults: by
    construction nothing, kept so that "the rules let it run" always means "the engine runs it"."""
    from shared.automation.steps import parse_journey

    try:
        parse_trigger(campaign.get("trigger"))
        parse_journey({**campaign, "id": campaign.get("id") or "campaign"})
    except AutomationError as exc:
        code = BAD_TRIGGER if exc.code == AutomationCode.TRIGGER_INVALID else BAD_STEP_CONFIG
        return [CampaignRuleError(code, exc.message, exc.field or "steps")]
    return []


def check_campaign(campaign: dict[str, Any]) -> None:
    """Raise the first rule ``campaign`` breaks in its current status."""
    found = problems(campaign)
    if found:
        raise found[0]


def summary(found: list[CampaignRuleError]) -> str:
    """One line naming the first problem and how many more there are."""
    if not found:
        return ""
    more = len(found) - 1
    if not more:
        return found[0].message
    return f"{found[0].message} (and {more} more problem{'s' if more > 1 else ''})"
