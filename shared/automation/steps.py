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

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from .conditions import Conditions, parse_conditions
from .errors import AutomationCode, AutomationError
from .guards import FrequencyCap, QuietHours, parse_frequency_cap, parse_quiet_hours
from .localtime import parse_hhmm
from .triggers import DateRule, parse_date_rule

NODE_KINDS = ("send_email", "wait", "wait_for", "branch", "split", "goal")
DEFAULT_GOAL_WINDOW_S = 30 * 86_400
MAX_WAIT_S = 3 * 365 * 86_400
MAX_HOLDOUT_PCT = 90.0
REENTRY_MODES = ("once", "every_time", "cooldown")

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


def _whole(config: Mapping[str, Any], key: str, low: int, high: int, where: str) -> int:
    value = config.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise AutomationError(_STEP, f"{where}: {key} must be a whole number from {low} to {high}")
    return value


def _event_kind(config: Mapping[str, Any], where: str) -> str:
    kind = config.get("event")
    if not isinstance(kind, str) or not kind:
        raise AutomationError(_STEP, f"{where}: needs an event kind")
    return kind


def _scope_any(config: Mapping[str, Any], where: str) -> bool:
    scope = config.get("scope", "campaign")
    if scope not in ("campaign", "any"):
        raise AutomationError(_STEP, f"{where}: scope must be 'campaign' or 'any'")
    return scope == "any"


def _target(config: Mapping[str, Any], key: str, where: str) -> str | None:
    value = config.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise AutomationError(_STEP, f"{where}: {key} must be a step id or null")
    return value


def _parse_wait(step_id: str, config: Mapping[str, Any], where: str) -> Wait:
    given = [k for k in ("duration_s", "until_local_time", "until_date_field") if k in config]
    legacy = "days" in config or "hours" in config
    if len(given) + legacy != 1:
        raise AutomationError(
            _STEP, f"{where}: give one of duration_s, until_local_time, until_date_field"
        )
    start = config.get("from", "step")
    if start not in ("step", "trigger"):
        raise AutomationError(_STEP, f"{where}: from must be 'step' or 'trigger'")
    missing = config.get("if_missing", "exit")
    if missing not in ("exit", "continue"):
        raise AutomationError(_STEP, f"{where}: if_missing must be 'exit' or 'continue'")
    common = {"from_trigger": start == "trigger", "exit_if_missing": missing == "exit"}
    if legacy:
        days = _whole({"days": config.get("days", 0)}, "days", 0, 1095, where)
        hours = _whole({"hours": config.get("hours", 0)}, "hours", 0, 23, where)
        return Wait(step_id, duration_s=days * 86_400 + hours * 3600, **common)
    if given[0] == "duration_s":
        return Wait(
            step_id, duration_s=_whole(config, "duration_s", 0, MAX_WAIT_S, where), **common
        )
    if given[0] == "until_local_time":
        try:
            return Wait(step_id, until_local=parse_hhmm(config["until_local_time"]), **common)
        except ValueError as exc:
            raise AutomationError(_STEP, f"{where}: {exc}") from None
    rule_raw = config["until_date_field"]
    if isinstance(rule_raw, str):
        rule_raw = {"field": rule_raw}
    rule = parse_date_rule(rule_raw, code=_STEP, where=f"{where}: until_date_field")
    return Wait(step_id, until_date=rule, **common)


def parse_step(raw: Any, position: int = 0) -> Node:
    """One step from its document form ``{"id", "kind", "config"}``."""
    if not isinstance(raw, Mapping):
        raise AutomationError(_STEP, f"step {position} must be an object")
    step_id, kind = raw.get("id"), raw.get("kind")
    if not isinstance(step_id, str) or not step_id:
        raise AutomationError(_STEP, f"step {position} needs an id")
    where = f"step {position} ({kind} {step_id})"
    config = raw.get("config") or {}
    if not isinstance(config, Mapping):
        raise AutomationError(_STEP, f"{where}: config must be an object")
    if kind == "send_email":
        variants = config.get("variants")
        if variants is None:
            one = config.get("variant", "auto")
            variants = [] if one in (None, "auto") else [one]
        if not isinstance(variants, list | tuple) or not all(
            isinstance(v, str) and v for v in variants
        ):
            raise AutomationError(_STEP, f"{where}: variants must be a list of variant ids")
        return SendEmail(step_id, tuple(variants))
    if kind == "wait":
        return _parse_wait(step_id, config, where)
    if kind == "wait_for" or (kind == "branch" and "event" in config and "condition" not in config):
        if kind == "branch":  # the builder's "opened within N days" branch
            timeout = _whole({"d": config.get("within_days", 3)}, "d", 1, 1095, where) * 86_400
        elif "timeout_days" in config:  # the builder's form
            timeout = _whole(config, "timeout_days", 1, 1095, where) * 86_400
        else:
            timeout = _whole(config, "timeout_s", 1, MAX_WAIT_S, where)
        otherwise_key = "on_timeout" if "on_timeout" in config else "else"
        return WaitFor(
            step_id,
            _event_kind(config, where),
            timeout,
            _target(config, "then", where),
            _target(config, otherwise_key, where),
            _scope_any(config, where),
        )
    if kind == "branch":
        condition = parse_conditions(config.get("condition"), code=_STEP, where=where)
        return Branch(
            step_id, condition, _target(config, "then", where), _target(config, "else", where)
        )
    if kind == "split":
        weights, targets = config.get("weights"), config.get("then")
        if weights is None and "percent" in config:  # the builder's two-way split
            percent = _whole(config, "percent", 1, 99, where)
            weights, targets = [percent, 100 - percent], [targets, None]
        if not isinstance(weights, list | tuple) or not 2 <= len(weights) <= 26:
            raise AutomationError(_STEP, f"{where}: weights must list 2 to 26 paths")
        if any(not isinstance(w, int | float) or isinstance(w, bool) or w < 0 for w in weights):
            raise AutomationError(_STEP, f"{where}: weights must be numbers >= 0")
        if sum(weights) <= 0:
            raise AutomationError(_STEP, f"{where}: weights must not all be 0")
        targets = [None] * len(weights) if targets is None else targets
        if not isinstance(targets, list | tuple) or len(targets) != len(weights):
            raise AutomationError(
                _STEP, f"{where}: then must give one step id (or null) per weight"
            )
        paths = tuple(_target({"then": t}, "then", where) for t in targets)
        return Split(step_id, tuple(float(w) for w in weights), paths)
    if kind == "goal":
        within = DEFAULT_GOAL_WINDOW_S
        if config.get("within_s") is not None:
            within = _whole(config, "within_s", 1, MAX_WAIT_S, where)
        return Goal(step_id, _event_kind(config, where), within, _scope_any(config, where))
    raise AutomationError(_STEP, f"step {position}: kind must be one of {', '.join(NODE_KINDS)}")


def _targets(node: Node) -> tuple[str | None, ...]:
    if isinstance(node, WaitFor | Branch):
        return (node.then, node.otherwise)
    if isinstance(node, Split):
        return node.then
    return ()


def parse_reentry(raw: Any) -> Reentry:
    """``"once"`` (default), ``"every_time"``, or ``{"mode": "cooldown", "cooldown_s": N}``."""
    if raw is None:
        return Reentry()
    if isinstance(raw, str):
        raw = {"mode": raw}
    if not isinstance(raw, Mapping):
        raise AutomationError(_GUARD, "reentry must be 'once', 'every_time' or a cooldown")
    mode = raw.get("mode", "cooldown" if "cooldown_s" in raw else "once")
    if mode not in REENTRY_MODES:
        raise AutomationError(_GUARD, f"reentry mode must be one of {', '.join(REENTRY_MODES)}")
    if mode != "cooldown":
        return Reentry(mode)
    cooldown = raw.get("cooldown_s")
    if (
        not isinstance(cooldown, int)
        or isinstance(cooldown, bool)
        or not 0 < cooldown <= MAX_WAIT_S
    ):
        raise AutomationError(_GUARD, "reentry cooldown_s must be a whole number of seconds > 0")
    return Reentry("cooldown", cooldown)


def parse_journey(campaign: Mapping[str, Any]) -> Journey:
    """A campaign snapshot (``shared.protocol.campaign.snapshot`` plus the automation settings
    ``reentry``, ``holdout_pct``, ``exit_on_audience_exit``) as a ``Journey``;
    AutomationError(STEP_INVALID or GUARD_INVALID) says what is wrong."""
    campaign_id = campaign.get("id") or campaign.get("campaign_id")
    if not isinstance(campaign_id, str) or not campaign_id:
        raise AutomationError(_STATE, "a campaign needs its id")
    raw_steps = campaign.get("steps") or []
    if not isinstance(raw_steps, list | tuple):
        raise AutomationError(_STEP, "steps must be a list")
    nodes = tuple(parse_step(raw, i) for i, raw in enumerate(raw_steps))
    index: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if node.id in index:
            raise AutomationError(_STEP, f"step {i}: id {node.id} is used twice")
        index[node.id] = i
    for i, node in enumerate(nodes):
        for target in _targets(node):
            if target is None:
                continue
            if target not in index:
                raise AutomationError(
                    _STEP, f"step {i} ({node.kind}) leads to unknown step {target}"
                )
            if index[target] <= i:
                raise AutomationError(
                    _STEP,
                    f"step {i} ({node.kind}) leads back to step {index[target]}: jumps go forward",
                )
    variants = tuple(
        v["id"]
        for v in campaign.get("variants") or []
        if isinstance(v, Mapping) and isinstance(v.get("id"), str)
    )
    holdout = campaign.get("holdout_pct") or 0
    if not isinstance(holdout, int | float) or isinstance(holdout, bool):
        raise AutomationError(_GUARD, "holdout_pct must be a number")
    if not 0 <= holdout <= MAX_HOLDOUT_PCT:
        raise AutomationError(_GUARD, f"holdout_pct must be from 0 to {MAX_HOLDOUT_PCT:g}")
    cap = parse_frequency_cap(campaign.get("frequency_cap"))
    return Journey(
        campaign_id=campaign_id,
        status=str(campaign.get("status") or "draft"),
        nodes=nodes,
        variants=variants,
        reentry=parse_reentry(campaign.get("reentry")),
        holdout_pct=float(holdout),
        quiet_hours=parse_quiet_hours(campaign.get("quiet_hours")),
        caps=(cap,) if cap else (),
        exit_on_audience_exit=bool(campaign.get("exit_on_audience_exit", False)),
    )
