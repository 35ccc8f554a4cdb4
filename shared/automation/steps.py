"""Journey steps as data: the schema of a campaign's ``steps`` and of the settings that govern
its enrolments, read and validated into frozen values (``parse_journey``).

Steps (``{"id", "kind", "config"}``, in order; a step without a jump continues with the next):

* ``send_email {"variants": [ids] | "variant": id | "auto"}``: one email, the variant drawn by
  the campaign's allocation, deterministically per enrolment and step.
* ``wait {"duration_s": N | "until_local_time": "09:00" | "until_date_field": DATE_RULE,
  "from": "step" | "trigger", "if_missing": "exit" | "continue"}``: a duration (the builder's
  ``days``/``hours`` too), the next local time of day, or a contact date (``triggers``' date rule).
  Counted from reaching the step, or from when the trigger event happened (``"from":
  "trigger"``). A contact without the date leaves with ``date_missing`` unless told to continue.
* ``wait_for {"event": KIND, "timeout_s": N, "then": id, "else": id, "scope": "campaign" |
  "any"}``: the ``then`` path when the event happens between reaching the step and the timeout,
  else the ``else`` path. The builder's ``{"event", "timeout_days", "on_timeout"}`` is the same
  step, and its ``branch {"event", "within_days", "then"}`` is read as this step too.
* ``branch {"condition": CONDITIONS, "then": id, "else": id}``: on the contact's fields
  (``contact.<field>``) and counts of its events since it entered (``events.<kind>``).
* ``split {"weights": [w, ...], "then": [id | null, ...]}``: a random A/B/n path,
  deterministic by campaign, contact and step. The builder's ``{"percent": P, "then": id}``
  sends P % to ``then`` and the rest on to the next step.
* ``goal {"event": KIND, "within_s": N, "scope": ...}``: the enrolment leaves with
  ``goal_reached`` as soon as the event happens within ``within_s`` (default 30 days) of
  entering, wherever it is in the journey; reaching the goal step waits for it until the window
  ends (``goal_missed`` when it was the last step).

A missing ``then``/``else`` means the next step. **Jumps only go forward**: a jump to the same
or an earlier step is refused, so every journey ends and each step runs at most once per
enrolment.

Campaign settings read here: ``status``, ``variants``, ``quiet_hours`` and ``frequency_cap``
(``guards``), ``reentry`` (``"once"`` by default, ``"every_time"``, or ``{"mode": "cooldown",
"cooldown_s": N}``), ``holdout_pct`` (0-90, the control group's share) and
``exit_on_audience_exit``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from .conditions import Conditions, parse_conditions
from .errors import AutomationCode, AutomationError
from .guards import FrequencyCap, QuietHours, parse_frequency_cap, parse_quiet_hours
from .localtime import parse_hhmm
from .triggers import TRIGGER_EVENTS, DateRule, parse_date_rule

NODE_KINDS = ("send_email", "wait", "wait_for", "branch", "split", "goal")
DEFAULT_GOAL_WINDOW_S = 30 * 86_400
MAX_WAIT_S = 3 * 365 * 86_400
MAX_HOLDOUT_PCT = 90.0
REENTRY_MODES = ("once", "every_time", "cooldown")
#: Events a branch step can test ("did the contact … within N days?").
BRANCH_EVENTS = ("open", "click", "conversion", "invite_accepted", "unsubscribe")

_STEP = AutomationCode.STEP_INVALID
_GUARD = AutomationCode.GUARD_INVALID
_STATE = AutomationCode.STATE_INVALID


@dataclass(frozen=True, slots=True)
class SendEmail:
    id: str
    variants: tuple[str, ...] = ()  # empty: any of the campaign's variants
    kind: str = "send_email"


@dataclass(frozen=True, slots=True)
class Wait:
    id: str
    duration_s: int | None = None
    until_local: time | None = None
    until_date: DateRule | None = None
    from_trigger: bool = False
    exit_if_missing: bool = True
    kind: str = "wait"


@dataclass(frozen=True, slots=True)
class WaitFor:
    id: str
    event: str
    timeout_s: int
    then: str | None = None
    otherwise: str | None = None
    scope_any: bool = False
    kind: str = "wait_for"


@dataclass(frozen=True, slots=True)
class Branch:
    id: str
    condition: Conditions
    then: str | None = None
    otherwise: str | None = None
    kind: str = "branch"


@dataclass(frozen=True, slots=True)
class Split:
    id: str
    weights: tuple[float, ...]
    then: tuple[str | None, ...]
    kind: str = "split"


@dataclass(frozen=True, slots=True)
class Goal:
    id: str
    event: str
    within_s: int = DEFAULT_GOAL_WINDOW_S
    scope_any: bool = False
    kind: str = "goal"


Node = SendEmail | Wait | WaitFor | Branch | Split | Goal


@dataclass(frozen=True, slots=True)
class Reentry:
    mode: str = "once"  # "once" | "every_time" | "cooldown"
    cooldown_s: int = 0


@dataclass(frozen=True)
class Journey:
    """A campaign as the interpreter reads it (``parse_journey``); cheap to keep per campaign."""

    campaign_id: str
    status: str
    nodes: tuple[Node, ...]
    variants: tuple[str, ...] = ()
    reentry: Reentry = Reentry()
    holdout_pct: float = 0.0
    quiet_hours: QuietHours | None = None
    caps: tuple[FrequencyCap, ...] = ()
    exit_on_audience_exit: bool = False
    index: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {n.id: i for i, n in enumerate(self.nodes)})

    @property
    def goals(self) -> tuple[Goal, ...]:
        return tuple(n for n in self.nodes if isinstance(n, Goal))


#: The settings each step kind may have (anything else is refused).
SETTINGS: dict[str, tuple[str, ...]] = {
    "send_email": ("variant", "variants"),
    "wait": ("days", "hours", "duration_s", "until_local_time", "until_date_field", "from",
             "if_missing"),
    "wait_for": ("event", "timeout_days", "timeout_s", "then", "on_timeout", "else", "scope"),
    "branch": ("event", "within_days", "condition", "then", "else", "scope"),
    "split": ("percent", "weights", "then"),
    "goal": ("event", "within_s", "within_days", "scope"),
}  # fmt: skip
#: Settings that name another step (a jump); a split's ``then`` may be a list of them.
TARGET_KEYS = ("then", "on_timeout", "else")
MAX_ID = 100
MAX_DAYS = 365


def _what(kind: str) -> str:
    return f"a {kind.replace('_', ' ')} step"


def _whole(config: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = config.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise AutomationError(
            _STEP, f"{key.replace('_', ' ')} must be a whole number from {low} to {high}", key
        )
    return value


def _event_kind(config: Mapping[str, Any], choices: tuple[str, ...], sentence: str) -> str:
    kind = config.get("event")
    if kind not in choices:
        raise AutomationError(_STEP, f"{sentence} one of {', '.join(choices)}", "event")
    return kind


def _scope_any(config: Mapping[str, Any]) -> bool:
    scope = config.get("scope", "campaign")
    if scope not in ("campaign", "any"):
        raise AutomationError(_STEP, "scope must be 'campaign' or 'any'", "scope")
    return scope == "any"


def _target(value: Any, key: str, sentence: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value or len(value) > MAX_ID):
        raise AutomationError(_STEP, sentence, key)
    return value


def _object(value: Any) -> Any:
    """A setting that holds an object: the builder keeps nested objects in a step's config as
    canonical JSON text (a CRDT map holds no plain dicts), so text that is JSON is read as it."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _one_of(config: Mapping[str, Any], keys: tuple[str, ...], message: str) -> str | None:
    given = [k for k in keys if k in config]
    if len(given) > 1:
        raise AutomationError(_STEP, message, given[1])
    return given[0] if given else None


def _parse_wait(step_id: str, config: Mapping[str, Any]) -> Wait:
    general = ("duration_s", "until_local_time", "until_date_field")
    builder = "days" in config or "hours" in config
    given = [k for k in general if k in config]
    if len(given) + builder != 1:
        raise AutomationError(
            _STEP,
            "a wait needs days or hours (or one of duration_s, until_local_time, "
            "until_date_field): give one of them",
            "config",
        )
    start = config.get("from", "step")
    if start not in ("step", "trigger"):
        raise AutomationError(_STEP, "from must be 'step' or 'trigger'", "from")
    missing = config.get("if_missing", "exit")
    if missing not in ("exit", "continue"):
        raise AutomationError(_STEP, "if_missing must be 'exit' or 'continue'", "if_missing")
    common = {"from_trigger": start == "trigger", "exit_if_missing": missing == "exit"}
    if builder:
        days = _whole({"days": config.get("days", 0)}, "days", 0, MAX_DAYS)
        hours = _whole({"hours": config.get("hours", 0)}, "hours", 0, 23)
        return Wait(step_id, duration_s=days * 86_400 + hours * 3600, **common)
    if given[0] == "duration_s":
        return Wait(step_id, duration_s=_whole(config, "duration_s", 0, MAX_WAIT_S), **common)
    if given[0] == "until_local_time":
        try:
            return Wait(step_id, until_local=parse_hhmm(config["until_local_time"]), **common)
        except ValueError as exc:
            raise AutomationError(_STEP, f"until_local_time: {exc}", "until_local_time") from None
    rule_raw = _object(config["until_date_field"])
    if isinstance(rule_raw, str):
        rule_raw = {"field": rule_raw}
    rule = parse_date_rule(rule_raw, code=_STEP, where="until_date_field", field="until_date_field")
    return Wait(step_id, until_date=rule, **common)


def _parse_wait_for(step_id: str, kind: str, config: Mapping[str, Any]) -> WaitFor:
    """A ``wait_for`` step, or the builder's event ``branch`` (read as one)."""
    if kind == "branch":  # "did the contact do EVENT within N days? then … else …"
        event = _event_kind(config, BRANCH_EVENTS, "a branch tests")
        timeout = _whole({"within_days": config.get("within_days", 3)}, "within_days", 1, MAX_DAYS)
        timeout *= 86_400
        then = _target(config.get("then"), "then", "a branch must lead to another step")
        otherwise = _target(config.get("else"), "else", "a branch must lead to another step")
    else:
        event = _event_kind(config, TRIGGER_EVENTS, "a wait waits for")
        which = _one_of(config, ("timeout_days", "timeout_s"), "give timeout_days or timeout_s")
        if which == "timeout_s":
            timeout = _whole(config, "timeout_s", 1, MAX_WAIT_S)
        else:
            timeout = _whole(
                {"timeout_days": config.get("timeout_days", 7)}, "timeout_days", 1, MAX_DAYS
            )
            timeout *= 86_400
        sentence = "after a timeout a wait must lead to another step"
        key = _one_of(config, ("on_timeout", "else"), "give on_timeout or else") or "else"
        then = _target(config.get("then"), "then", "a wait must lead to another step")
        otherwise = _target(config.get(key), key, sentence)
    return WaitFor(step_id, event, timeout, then, otherwise, _scope_any(config))


def _parse_split(step_id: str, config: Mapping[str, Any]) -> Split:
    sentence = "a split must lead to another step"
    if "weights" not in config:  # the builder's two-way split
        percent = _whole({"percent": config.get("percent", 50)}, "percent", 1, 99)
        then = _target(config.get("then"), "then", sentence)
        return Split(step_id, (float(percent), float(100 - percent)), (then, None))
    if "percent" in config:
        raise AutomationError(_STEP, "give percent or weights, not both", "percent")
    weights, targets = _object(config.get("weights")), _object(config.get("then"))
    if not isinstance(weights, list | tuple) or not 2 <= len(weights) <= 26:
        raise AutomationError(_STEP, "weights must list 2 to 26 paths", "weights")
    if any(
        not isinstance(w, int | float) or isinstance(w, bool) or not 0 <= w < 1e9 for w in weights
    ):
        raise AutomationError(_STEP, "weights must be numbers >= 0", "weights")
    if sum(weights) <= 0:
        raise AutomationError(_STEP, "weights must not all be 0", "weights")
    targets = [None] * len(weights) if targets is None else targets
    if not isinstance(targets, list | tuple) or len(targets) != len(weights):
        raise AutomationError(_STEP, "then must give one step id (or null) per weight", "then")
    paths = tuple(_target(t, "then", sentence) for t in targets)
    return Split(step_id, tuple(float(w) for w in weights), paths)


def parse_step(raw: Any, position: int = 0) -> Node:
    """One step from its document form ``{"id", "kind", "config"}``: the one place that decides
    what a step's settings may be (the campaign rules call it). AutomationError(STEP_INVALID)
    names the setting at fault in ``field`` (``config`` for the settings as a whole)."""
    if not isinstance(raw, Mapping):
        raise AutomationError(_STEP, f"step {position} must be an object", "config")
    step_id, kind = raw.get("id"), raw.get("kind")
    if not isinstance(step_id, str) or not step_id or len(step_id) > MAX_ID:
        raise AutomationError(_STEP, f"step {position} needs an id", "id")
    if kind not in NODE_KINDS:
        raise AutomationError(
            _STEP, f"step kind must be one of {', '.join(NODE_KINDS)}; got {kind!r}", "kind"
        )
    config = raw.get("config")
    config = {} if config is None else config
    if not isinstance(config, Mapping):
        raise AutomationError(_STEP, f"{_what(kind)}'s settings must be a JSON object", "config")
    allowed = SETTINGS[kind]
    for key in config:
        if key not in allowed:
            raise AutomationError(
                _STEP, f"{_what(kind)} has no setting {key!r} (settings: {', '.join(allowed)})",
                "config",
            )  # fmt: skip
    if kind == "send_email":
        which = _one_of(config, ("variant", "variants"), "give variant or variants, not both")
        if which == "variants":
            variants = _object(config["variants"])
            if not isinstance(variants, list | tuple) or not all(
                isinstance(v, str) and v and len(v) <= MAX_ID for v in variants
            ):
                raise AutomationError(_STEP, "variants must be a list of variant ids", "variants")
            return SendEmail(step_id, tuple(variants))
        one = config.get("variant", "auto")
        if not isinstance(one, str) or not one or len(one) > MAX_ID:
            raise AutomationError(_STEP, "an email uses 'auto' or one variant's id", "variant")
        return SendEmail(step_id, () if one == "auto" else (one,))
    if kind == "wait":
        return _parse_wait(step_id, config)
    if kind == "wait_for" or (kind == "branch" and "condition" not in config):
        return _parse_wait_for(step_id, kind, config)
    if kind == "branch":
        for key in ("event", "within_days", "scope"):
            if key in config:
                raise AutomationError(
                    _STEP, f"a branch tests a condition or an event, not both ({key})", key
                )
        condition = parse_conditions(
            _object(config.get("condition")), code=_STEP, where="condition", field="condition"
        )
        sentence = "a branch must lead to another step"
        return Branch(
            step_id,
            condition,
            _target(config.get("then"), "then", sentence),
            _target(config.get("else"), "else", sentence),
        )
    if kind == "split":
        return _parse_split(step_id, config)
    which = _one_of(config, ("within_s", "within_days"), "give within_s or within_days")
    within = DEFAULT_GOAL_WINDOW_S
    if which == "within_s":
        within = _whole(config, "within_s", 1, MAX_WAIT_S)
    elif which == "within_days":
        within = _whole(config, "within_days", 1, 3 * MAX_DAYS) * 86_400
    event = _event_kind(config, TRIGGER_EVENTS, "a goal waits for")
    return Goal(step_id, event, within, _scope_any(config))


def step_targets(config: Any) -> list[tuple[str, str]]:
    """The jumps a step's config (as stored, parsed or not) names: ``(setting, step id)``."""
    if not isinstance(config, Mapping):
        return []
    found = []
    for key in TARGET_KEYS:
        value = _object(config.get(key))
        for target in value if isinstance(value, list | tuple) else [value]:
            if isinstance(target, str) and target:
                found.append((key, target))
    return found


@dataclass(frozen=True, slots=True)
class JumpProblem:
    step: str  # the jumping step's id
    setting: str  # then | on_timeout | else
    message: str


def jump_problems(steps: Any) -> list[JumpProblem]:
    """Every jump that does not lead forward to a step that exists (steps as stored: each
    ``{"id", "kind", "config"}``). Forward jumps only, so every journey ends and each step runs
    at most once per enrolment; the campaign rules report these, ``parse_journey`` refuses them."""
    items = [s for s in steps if isinstance(s, Mapping)] if isinstance(steps, list | tuple) else []
    position: dict[Any, int] = {}
    for number, item in enumerate(items, 1):
        position.setdefault(item.get("id"), number)
    found = []
    for number, item in enumerate(items, 1):
        for key, target in step_targets(item.get("config")):
            if target not in position:
                message = f"step {number} leads to a step that is gone"
            elif position[target] <= number:
                message = f"step {number} leads back to step {position[target]}: jumps go forward"
            else:
                continue
            found.append(JumpProblem(str(item.get("id")), key, message))
    return found


def target_problem(config: Any, *, own_id: str, step_ids: Any) -> tuple[str, str] | None:
    """For an edit in the builder: a jump to a step that is not another step of the campaign,
    as ``(setting, message)``; None when every jump names one (order is checked at launch)."""
    ids = set(step_ids)
    for key, target in step_targets(config):
        if target == own_id or target not in ids:
            return key, "a jump must lead to another step of this campaign"
    return None


def _targets(node: Node) -> tuple[str | None, ...]:
    if isinstance(node, WaitFor | Branch):
        return (node.then, node.otherwise)
    if isinstance(node, Split):
        return node.then
    return ()


def parse_reentry(raw: Any) -> Reentry:
    """``"once"`` (default), ``"every_time"``, or ``{"mode": "cooldown", "cooldown_s": N}``."""
    raw = _object(raw)
    if raw is None:
        return Reentry()
    if isinstance(raw, str):
        raw = {"mode": raw}
    if not isinstance(raw, Mapping):
        raise AutomationError(
            _GUARD, "reentry must be 'once', 'every_time' or a cooldown", "reentry"
        )
    for key in raw:
        if key not in ("mode", "cooldown_s"):
            raise AutomationError(
                _GUARD, f"reentry has no setting {key!r} (settings: mode, cooldown_s)", "reentry"
            )
    mode = raw.get("mode", "cooldown" if "cooldown_s" in raw else "once")
    if mode not in REENTRY_MODES:
        raise AutomationError(
            _GUARD, f"reentry mode must be one of {', '.join(REENTRY_MODES)}", "reentry"
        )
    if mode != "cooldown":
        if "cooldown_s" in raw:
            raise AutomationError(_GUARD, f"reentry {mode} takes no cooldown_s", "reentry")
        return Reentry(mode)
    cooldown = raw.get("cooldown_s")
    if isinstance(cooldown, float) and cooldown.is_integer():
        cooldown = int(cooldown)
    if (
        not isinstance(cooldown, int)
        or isinstance(cooldown, bool)
        or not 0 < cooldown <= MAX_WAIT_S
    ):
        raise AutomationError(
            _GUARD, "reentry cooldown_s must be a whole number of seconds > 0", "reentry"
        )
    return Reentry("cooldown", cooldown)


def parse_holdout(raw: Any) -> float:
    """The control group's share in percent: 0 (none) to ``MAX_HOLDOUT_PCT``."""
    if raw is None or raw == "":
        return 0.0
    if not isinstance(raw, int | float) or isinstance(raw, bool):
        raise AutomationError(_GUARD, "holdout_pct must be a number", "holdout_pct")
    if not 0 <= raw <= MAX_HOLDOUT_PCT:
        raise AutomationError(
            _GUARD, f"holdout_pct must be from 0 to {MAX_HOLDOUT_PCT:g}", "holdout_pct"
        )
    return float(raw)


def parse_journey(campaign: Mapping[str, Any]) -> Journey:
    """A campaign snapshot (``shared.protocol.campaign.snapshot`` with its id) as a ``Journey``;
    AutomationError(STEP_INVALID or GUARD_INVALID) says what is wrong."""
    campaign_id = campaign.get("id") or campaign.get("campaign_id")
    if not isinstance(campaign_id, str) or not campaign_id:
        raise AutomationError(_STATE, "a campaign needs its id")
    raw_steps = campaign.get("steps") or []
    if not isinstance(raw_steps, list | tuple):
        raise AutomationError(_STEP, "steps must be a list", "steps")
    nodes = []
    for i, raw in enumerate(raw_steps):
        try:
            nodes.append(parse_step(raw, i))
        except AutomationError as exc:
            step_id = raw.get("id") if isinstance(raw, Mapping) else None
            raise AutomationError(
                _STEP, f"step {i + 1} ({step_id}): {exc.message}", exc.field
            ) from None
    index: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if node.id in index:
            raise AutomationError(_STEP, f"step {i + 1}: id {node.id} is used twice", "id")
        index[node.id] = i
    jumps = jump_problems(raw_steps)
    if jumps:
        raise AutomationError(_STEP, jumps[0].message, jumps[0].setting)
    variants = tuple(
        v["id"]
        for v in campaign.get("variants") or []
        if isinstance(v, Mapping) and isinstance(v.get("id"), str)
    )
    cap = parse_frequency_cap(campaign.get("frequency_cap"))
    return Journey(
        campaign_id=campaign_id,
        status=str(campaign.get("status") or "draft"),
        nodes=tuple(nodes),
        variants=variants,
        reentry=parse_reentry(campaign.get("reentry")),
        holdout_pct=parse_holdout(campaign.get("holdout_pct")),
        quiet_hours=parse_quiet_hours(campaign.get("quiet_hours")),
        caps=(cap,) if cap else (),
        exit_on_audience_exit=bool(campaign.get("exit_on_audience_exit", False)),
    )
