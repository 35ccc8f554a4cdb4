"""Campaign steps, variants and triggers in the words the builder uses, for the terminal and the
run view: "3. Branch: if opened within 3 days → step 5; else next", "Variant A: Come and see
the barn". No Qt: the CLI and the app share these.
"""

from __future__ import annotations

from typing import Any

STEP_TITLES = {
    "send_email": "Send email",
    "wait": "Wait",
    "wait_for": "Wait for event",
    "branch": "Branch",
    "split": "A/B split",
    "goal": "Goal",
}
EVENT_WORDS = {
    "open": "opened",
    "click": "clicked",
    "conversion": "converted",
    "invite_accepted": "accepted an invite",
    "invite_sent": "sent an invite",
    "unsubscribe": "unsubscribed",
    "lead": "became a lead",
    "touchpoint": "a touchpoint",
    "health_score": "a health score",
    "milestone": "a milestone",
    "survey": "answered a survey",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _where(target: Any, steps: list[dict[str, Any]], otherwise: str) -> str:
    for number, step in enumerate(steps, 1):
        if target is not None and step.get("id") == target:
            return f"step {number}"
    return otherwise


def variant_name(variant: dict[str, Any]) -> str:
    """``Variant A: Come and see the barn`` (or ``Variant A (no subject yet)``)."""
    label = variant.get("label") or "?"
    subject = (variant.get("subject") or "").strip()
    return f"Variant {label}: {subject}" if subject else f"Variant {label} (no subject yet)"


def describe_step(
    step: dict[str, Any], steps: list[dict[str, Any]], variants: list[dict[str, Any]]
) -> str:
    """What one step does, e.g. ``Send email: Variant A: Come and see the barn``."""
    kind = step.get("kind") or ""
    config = step.get("config") if isinstance(step.get("config"), dict) else {}
    title = STEP_TITLES.get(kind, kind.replace("_", " ").capitalize() or "Step")
    if kind == "send_email":
        chosen = config.get("variant", "auto")
        for v in variants:
            if v.get("id") == chosen:
                return f"{title}: {variant_name(v)}"
        if chosen == "auto":
            return f"{title}: the best variant" if variants else f"{title}: no content yet"
        return f"{title}: a variant that is gone"
    if kind == "wait":
        if config.get("until_local_time"):
            return f"{title} until {config['until_local_time']}, the contact's local time"
        if config.get("until_date_field"):
            return f"{title} until a date of the contact's"
        if "duration_s" in config:
            seconds = _int(config.get("duration_s"), 0)
            days, hours, minutes = seconds // 86_400, seconds % 86_400 // 3600, seconds % 3600 // 60
            parts = [
                _plural(n, w) for n, w in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n
            ]
            return f"{title} {' '.join(parts)}" if parts else f"{title}: no delay"
        days, hours = _int(config.get("days"), 0), _int(config.get("hours"), 0)
        parts = [_plural(days, "day")] if days else []
        if hours:
            parts.append(_plural(hours, "hour"))
        return f"{title} {' '.join(parts)}" if parts else f"{title}: no delay"
    if kind == "wait_for":
        event = EVENT_WORDS.get(config.get("event"), str(config.get("event")))
        if "timeout_s" in config and "timeout_days" not in config:
            hours = _int(config.get("timeout_s"), 0) / 3600
            limit = _plural(int(hours), "hour") if hours >= 1 else "less than an hour"
        else:
            limit = _plural(_int(config.get("timeout_days"), 7), "day")
        where = _where(config.get("on_timeout", config.get("else")), steps, "the next step")
        return f"{title}: until {event}, at most {limit}; on timeout {where}"
    if kind == "branch" and "condition" in config:
        where = _where(config.get("then"), steps, "the next step")
        otherwise = _where(config.get("else"), steps, "the next step")
        return f"{title}: if its condition holds → {where}; else {otherwise}"
    if kind == "split" and isinstance(config.get("weights"), list):
        return f"{title}: {len(config['weights'])} paths at random"
    if kind == "branch":
        event = EVENT_WORDS.get(config.get("event"), str(config.get("event")))
        within = _int(config.get("within_days"), 3)
        where = _where(config.get("then"), steps, "the next step")
        return f"{title}: if {event} within {_plural(within, 'day')} → {where}; else next"
    if kind == "split":
        percent = _int(config.get("percent"), 50)
        where = _where(config.get("then"), steps, "the next step")
        return f"{title}: {percent} % at random → {where}; the others next"
    if kind == "goal":
        event = EVENT_WORDS.get(config.get("event"), str(config.get("event")))
        return f"{title}: leave when {event}"
    return title


def numbered_steps(campaign: dict[str, Any]) -> list[dict[str, Any]]:
    """The campaign's steps with their number (from 1) and description."""
    steps = [s for s in campaign.get("steps") or [] if isinstance(s, dict)]
    variants = [v for v in campaign.get("variants") or [] if isinstance(v, dict)]
    return [
        {
            "number": number,
            "id": step.get("id"),
            "kind": step.get("kind"),
            "title": STEP_TITLES.get(step.get("kind") or "", step.get("kind")),
            "label": describe_step(step, steps, variants),
            "config": step.get("config") if isinstance(step.get("config"), dict) else {},
        }
        for number, step in enumerate(steps, 1)
    ]


def describe_trigger(trigger: Any) -> str:
    """``On touchpoint · 1 condition`` or ``Not set``."""
    if not isinstance(trigger, dict) or not (trigger.get("event") or trigger.get("date")):
        return "Not set"
    date = trigger.get("date")
    if isinstance(date, dict):
        field = str(date.get("field") or "a date").replace("_", " ")
        offset = _int(date.get("offset_days"), 0)
        offset = offset or _int(date.get("days_after"), 0) or -_int(date.get("days_before"), 0)
        if offset < 0:
            return f"{_plural(-offset, 'day')} before the {field}"
        if offset > 0:
            return f"{_plural(offset, 'day')} after the {field}"
        return f"On the {field}"
    conditions = trigger.get("conditions") or []
    text = f"On {str(trigger['event']).replace('_', ' ')}"
    band = trigger.get("band")
    if isinstance(band, dict) and isinstance(band.get("enter"), list):
        bands = " or ".join(str(b).replace("_", " ") for b in band["enter"])
        text += f" entering {bands}"
    if conditions:
        text += f" · {_plural(len(conditions), 'condition')}"
    return text
