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

Invariant kept by the server: a campaign stored as ``active`` or ``scheduled`` has no problem at
all (``problems(snapshot) == []``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

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
MISSING_TRIGGER = "missing_trigger"
MISSING_STEPS = "missing_steps"
MISSING_CONTENT = "missing_content"
MISSING_SCHEDULE = "missing_schedule"
BAD_JUMP = "bad_jump"  # a jump to a step that is gone, to itself, or back to an earlier step

# ---------------------------------------------------------------------- vocabulary

#: Events a trigger can fire on, a goal or a wait-for can wait for (all of them event kinds).
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
#: Events a branch can test.
BRANCH_EVENTS = ("open", "click", "conversion", "invite_accepted", "unsubscribe")
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
TARGET_KEYS = ("then", "on_timeout")

MAX_STEPS = 200
MAX_VARIANTS = 26  # labelled A to Z
MAX_RULES = 50
MAX_RULE_LIST = 1_000
MAX_NAME = 100  # a rule's field name, a named segment, a step or variant id
MAX_SUBJECT = 998  # RFC 5322 line limit
MAX_BODY = 100_000
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\- ]*$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


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


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _object(value: Any, code: str, field: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CampaignRuleError(code, f"{what} must be a JSON object", field)
    return value


def _known_keys(value: dict[str, Any], allowed: tuple[str, ...], code: str, field: str, what: str):
    for key in value:
        if key not in allowed:
            raise CampaignRuleError(
                code, f"{what} has no setting {key!r} (settings: {', '.join(allowed)})", field
            )


def check_rule(rule: Any, field: str, code: str) -> None:
    """One condition or audience rule: ``{"field", "op", "value"}``."""
    what = "a rule" if code == BAD_AUDIENCE else "a condition"
    rule = _object(rule, code, field, what)
    _known_keys(rule, ("field", "op", "value"), code, field, what)
    name = rule.get("field")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise CampaignRuleError(
            code, f"{what} needs a field name of 1 to {MAX_NAME} characters", field
        )
    if not _FIELD_NAME.match(name):
        raise CampaignRuleError(
            code, f"{what}'s field {name!r} has characters a field cannot", field
        )
    op = rule.get("op")
    if op not in RULE_OPS:
        raise CampaignRuleError(
            code, f"{what}'s operator must be one of {', '.join(RULE_OPS)}; got {op!r}", field
        )
    value = rule.get("value")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or len(value) > MAX_RULE_LIST:
            raise CampaignRuleError(
                code, f"'{op}' compares with a list of at most {MAX_RULE_LIST} values", field
            )
        if not all(_scalar(v) for v in value):
            raise CampaignRuleError(code, f"'{op}' compares with a list of plain values", field)
    elif op == "exists":
        if value is not None and not isinstance(value, bool):
            raise CampaignRuleError(code, "'exists' takes true, false or nothing", field)
    elif op in ("gte", "lte"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise CampaignRuleError(code, f"'{op}' compares with a number or a date", field)
    elif not _scalar(value):
        raise CampaignRuleError(code, f"'{op}' compares with one plain value", field)
    if isinstance(value, str) and len(value) > MAX_BODY:
        raise CampaignRuleError(code, f"{what}'s value is too long", field)


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


def _check_rules(rules: Any, code: str, field: str) -> None:
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise CampaignRuleError(code, f"{field} must be a list of at most {MAX_RULES} rules", field)
    for i, rule in enumerate(rules):
        check_rule(rule, f"{field}[{i}]", code)


def check_trigger(trigger: Any) -> None:
    """``None`` (not set yet) or ``{"event": <TRIGGER_EVENTS>, "conditions": [rule, …]}``;
    conditions test the triggering event's fields and payload."""
    if trigger is None:
        return
    trigger = _object(trigger, BAD_TRIGGER, "trigger", "the trigger")
    _known_keys(trigger, ("event", "conditions"), BAD_TRIGGER, "trigger", "the trigger")
    if trigger.get("event") not in TRIGGER_EVENTS:
        raise CampaignRuleError(
            BAD_TRIGGER,
            f"the trigger fires on one of {', '.join(TRIGGER_EVENTS)}; got {trigger.get('event')!r}",
            "trigger.event",
        )
    _check_rules(trigger.get("conditions", []), BAD_TRIGGER, "trigger.conditions")


def check_audience(audience: Any) -> None:
    """``None`` (nobody chosen yet), a named segment (text), or
    ``{"match": "all"|"any", "rules": [rule, …]}`` over contacts' fields (no rules: everyone)."""
    if audience is None:
        return
    if isinstance(audience, str):
        if not audience.strip() or len(audience) > MAX_NAME:
            raise CampaignRuleError(
                BAD_AUDIENCE,
                f"a named segment has 1 to {MAX_NAME} characters",
                "audience_segment",
            )
        return
    audience = _object(audience, BAD_AUDIENCE, "audience_segment", "the audience")
    _known_keys(audience, ("match", "rules"), BAD_AUDIENCE, "audience_segment", "the audience")
    if audience.get("match", "all") not in AUDIENCE_MATCH:
        raise CampaignRuleError(
            BAD_AUDIENCE, "the audience matches 'all' or 'any' of its rules", "audience_segment"
        )
    _check_rules(audience.get("rules", []), BAD_AUDIENCE, "audience_segment.rules")


def check_frequency_cap(cap: Any) -> None:
    """``None`` or ``{"max_sends": 0..1000, "per_days": 1..365}``: at most ``max_sends`` emails
    to one contact in any ``per_days`` days, across campaigns (0: no cap)."""
    if cap is None:
        return
    field = "frequency_cap"
    cap = _object(cap, BAD_FREQUENCY_CAP, field, "the frequency cap")
    _known_keys(cap, ("max_sends", "per_days"), BAD_FREQUENCY_CAP, field, "the frequency cap")
    for key, low, high in (("max_sends", 0, 1_000), ("per_days", 1, 365)):
        value = cap.get(key)
        if not _whole(value) or not low <= value <= high:
            raise CampaignRuleError(
                BAD_FREQUENCY_CAP,
                f"the frequency cap's {key} must be a whole number from {low} to {high}",
                f"{field}.{key}",
            )


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
    if value is None or value == "":
        return
    parts = value.split("-") if isinstance(value, str) else []
    if len(parts) != 2 or not all(_CLOCK.match(p.strip()) for p in parts):
        raise CampaignRuleError(
            BAD_QUIET_HOURS, f"quiet hours look like 21:00-08:00; got {value!r}", "quiet_hours"
        )
    if parts[0].strip() == parts[1].strip():
        raise CampaignRuleError(
            BAD_QUIET_HOURS, "quiet hours must start and end at different times", "quiet_hours"
        )


def check_step_config(
    kind: str,
    config: Any,
    *,
    own_id: str,
    step_ids: list[str] | tuple[str, ...] | set[str] | None = None,
) -> None:
    """The settings of one step. With ``step_ids`` (an edit in the builder), a jump must lead
    to another step among them; without, jumps are checked with the whole flow at launch."""
    if kind not in STEP_DEFAULTS:
        raise CampaignRuleError(
            BAD_STEP,
            f"step kind must be one of {', '.join(STEP_KINDS)}; got {kind!r}",
            f"steps.{own_id}",
        )
    base = f"steps.{own_id}"
    what = f"a {kind.replace('_', ' ')} step"
    config = _object(config, BAD_STEP_CONFIG, f"{base}.config", f"{what}'s settings")
    _known_keys(config, tuple(STEP_DEFAULTS[kind]), BAD_STEP_CONFIG, f"{base}.config", what)

    def whole(key: str, low: int, high: int) -> None:
        value = config.get(key, 0)
        if not _whole(value) or not low <= value <= high:
            raise CampaignRuleError(
                BAD_STEP_CONFIG,
                f"{key.replace('_', ' ')} must be a whole number from {low} to {high}",
                f"{base}.{key}",
            )

    def event(key: str, choices: tuple[str, ...], sentence: str) -> None:
        if config.get(key) not in choices:
            raise CampaignRuleError(
                BAD_STEP_CONFIG, f"{sentence} one of {', '.join(choices)}", f"{base}.{key}"
            )

    def target(key: str, sentence: str) -> None:
        value = config.get(key)
        if value is not None and not isinstance(value, str):
            raise CampaignRuleError(BAD_STEP_CONFIG, sentence, f"{base}.{key}")
        if (
            value is not None
            and step_ids is not None
            and (value == own_id or value not in step_ids)
        ):
            raise CampaignRuleError(BAD_STEP_CONFIG, sentence, f"{base}.{key}")

    if kind == "send_email":
        variant = config.get("variant", "auto")
        if not isinstance(variant, str) or not variant or len(variant) > MAX_NAME:
            raise CampaignRuleError(
                BAD_STEP_CONFIG, "an email uses 'auto' or one variant's id", f"{base}.variant"
            )
    elif kind == "wait":
        if not config:
            raise CampaignRuleError(BAD_STEP_CONFIG, "a wait needs days or hours", f"{base}.config")
        whole("days", 0, 365)
        whole("hours", 0, 23)
    elif kind == "wait_for":
        event("event", TRIGGER_EVENTS, "a wait waits for")
        whole("timeout_days", 1, 365)
        target("on_timeout", "after a timeout a wait must lead to another step of this campaign")
    elif kind == "branch":
        event("event", BRANCH_EVENTS, "a branch tests")
        whole("within_days", 1, 365)
        target("then", "a branch must lead to another step of this campaign")
    elif kind == "split":
        whole("percent", 1, 99)
        target("then", "a split must lead to another step of this campaign")
    elif kind == "goal":
        event("event", TRIGGER_EVENTS, "a goal waits for")


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
    position = {s.get("id"): n for n, s in enumerate(steps, 1)}
    found = []
    for number, step in enumerate(steps, 1):
        config = step.get("config") if isinstance(step.get("config"), dict) else {}
        for key in TARGET_KEYS:
            target = config.get(key)
            if target is None:
                continue
            field = f"steps.{step.get('id')}.{key}"
            if target not in position:
                message = f"step {number} leads to a step that is gone"
            elif position[target] <= number:
                message = f"step {number} leads back to step {position[target]}: jumps go forward"
            else:
                continue
            found.append(CampaignRuleError(BAD_JUMP, message, field))
    return found


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
        chosen = config.get("variant", "auto")
        if chosen == "auto":
            if not any(_complete(v) for v in variants):
                found.append(
                    CampaignRuleError(
                        MISSING_CONTENT,
                        f"step {number} sends an email: write a variant with a subject and a body",
                        f"steps.{step.get('id')}.variant",
                    )
                )
        elif not _complete(by_id.get(chosen)):
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
    return found


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
