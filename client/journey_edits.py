"""Scripted edits of a campaign's trigger, audience, steps, variants and status, checked with the
campaign rules (``shared.protocol.campaign_rules``) before anything is written.

Each function is one replica write (one undoable document update, queued for sync like an edit in
the builder) or a refusal that changes nothing: a ``CampaignRuleError`` (its stable ``code``,
``message`` and ``field``) or an ``InvalidInput``. Steps are named the way ``step list`` shows
them: by number from 1, or by id.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from shared.protocol import campaign_rules as rules

from .store import InvalidInput, NotFound

if TYPE_CHECKING:
    import pycrdt

    from .store import Replica

#: ``campaign set ID NAME JSON`` names -> the document field they set
RULE_FIELDS = {
    "trigger": "trigger",
    "audience": "audience_segment",
    "audience_segment": "audience_segment",
    "frequency_cap": "frequency_cap",
}
CHECKS = {
    "trigger": rules.check_trigger,
    "audience_segment": rules.check_audience,
    "frequency_cap": rules.check_frequency_cap,
}
STATUS_VERBS = {"active": "activated", "paused": "paused", "archived": "archived"}


def parse_json(text: str, what: str) -> Any:
    """``text`` as JSON, or an ``InvalidInput`` that says where it stops being JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not JSON: {exc.msg} at character {exc.pos + 1}") from None


def set_rules_field(replica: Replica, campaign_id: str, name: str, text: str) -> str:
    """Set the trigger, the audience or the frequency cap from JSON text; returns the field."""
    field = RULE_FIELDS[name]
    value = parse_json(text, f"the {name.replace('_', ' ')}")
    CHECKS[field](value)
    replica.campaign(campaign_id)  # NotFound before anything is written

    from shared.protocol import campaign as schema

    replica.edit_campaign(campaign_id, lambda doc: [schema.set_field(doc, field, value)])
    return field


def _steps(replica: Replica, campaign_id: str) -> list[dict[str, Any]]:
    return [s for s in replica.campaign(campaign_id).get("steps") or [] if isinstance(s, dict)]


def step_id_of(steps: list[dict[str, Any]], ref: str | int) -> str:
    """The id of the step named by its number (from 1) or its id."""
    text = str(ref).strip()
    if text.isdigit():
        number = int(text)
        if not 1 <= number <= len(steps):
            where = f"steps 1 to {len(steps)}" if steps else "no steps yet"
            raise NotFound(f"there is no step {number} (this campaign has {where})")
        return steps[number - 1]["id"]
    for step in steps:
        if step.get("id") == text:
            return text
    raise NotFound(f"no step {text!r} in this campaign (name a step by its number)")


def add_step(
    replica: Replica,
    campaign_id: str,
    kind: str,
    config_text: str | None = None,
    *,
    at: int | None = None,
) -> str:
    """Add a step of ``kind`` with its default settings updated by ``config_text`` (JSON), at
    position ``at`` (from 1; default: last). A jump (``then``, ``on_timeout``) names a step by
    its number in the flow as it is before this step is added, or by id; it must lead forward."""
    config = rules.step_defaults(kind)
    if config_text is not None:
        given = parse_json(config_text, "the step's settings")
        if not isinstance(given, dict):
            raise InvalidInput('the step\'s settings are a JSON object, e.g. {"days": 3}')
        config.update(given)
    steps = _steps(replica, campaign_id)
    position = len(steps) if at is None else at - 1
    if not 0 <= position <= len(steps):
        raise InvalidInput(f"--at is a position from 1 to {len(steps) + 1}")
    for key in rules.TARGET_KEYS:
        target = config.get(key)
        if target is None:
            continue
        if isinstance(target, int) and not isinstance(target, bool):
            target = str(target)
        if not isinstance(target, str):
            raise InvalidInput(f"{key} names a step by its number or its id")
        config[key] = step_id_of(steps, target)
        target_number = [s["id"] for s in steps].index(config[key]) + 1
        if target_number <= position:
            raise rules.CampaignRuleError(
                rules.BAD_JUMP,
                f"the new step {position + 1} would lead back to step {target_number} "
                f"({key}): jumps go forward, so every journey ends",
                f"steps.new.{key}",
            )
    rules.check_step_config(kind, config, own_id="new", step_ids=[s["id"] for s in steps] + ["new"])
    made: list[str] = []

    from shared.protocol import campaign as schema

    def edit(doc: pycrdt.Doc) -> None:
        made.append(schema.add_step(doc, kind, config, position))

    replica.edit_campaign(campaign_id, edit)
    return made[0]


def remove_step(replica: Replica, campaign_id: str, ref: str) -> dict[str, Any]:
    """Remove a step; steps that jumped to it go on to their next step instead. Returns the
    removed step."""
    steps = _steps(replica, campaign_id)
    step_id = step_id_of(steps, ref)
    removed = next(s for s in steps if s["id"] == step_id)

    import pycrdt

    def edit(doc: pycrdt.Doc) -> None:
        array = doc.get("steps", type=pycrdt.Array)
        for index, item in enumerate(array):
            if item.get("id") == step_id:
                del array[index]
                break
        for item in array:
            config = item.get("config")
            if not isinstance(config, pycrdt.Map):
                continue
            for key in rules.TARGET_KEYS:
                if key in config and config[key] == step_id:
                    config[key] = None

    replica.edit_campaign(campaign_id, edit)
    return removed


def add_variant(
    replica: Replica, campaign_id: str, *, subject: str, body: str, html: str | None = None
) -> dict[str, Any]:
    """Add a content variant (the next free label, A to Z); ``html`` is an optional HTML part
    (without one, the server makes the HTML from the text). Returns the new variant."""
    count = len(replica.campaign(campaign_id).get("variants") or [])
    if count >= rules.MAX_VARIANTS:
        raise rules.CampaignRuleError(
            rules.BAD_VARIANT, f"a campaign has at most {rules.MAX_VARIANTS} variants", "variants"
        )
    candidate = {"id": "new", "label": "A", "subject": subject, "body": body}
    rules.check_variant(candidate, count)
    if not subject.strip() or not body.strip():
        raise rules.CampaignRuleError(
            rules.MISSING_CONTENT, "a variant needs a subject and a body", "variants.new"
        )
    if html is not None and len(html) > rules.MAX_BODY:
        raise rules.CampaignRuleError(
            rules.BAD_VARIANT,
            f"a variant's HTML is text of at most {rules.MAX_BODY:,} characters",
            "variants.new.html",
        )
    made: list[str] = []

    import pycrdt

    from shared.protocol import campaign as schema

    def edit(doc: pycrdt.Doc) -> None:
        variant_id = schema.add_variant(doc, subject=subject, body=body)
        if html is not None:
            for item in doc.get("variants", type=pycrdt.Array):
                if item.get("id") == variant_id:
                    item["html"] = html
        made.append(variant_id)

    replica.edit_campaign(campaign_id, edit)
    return next(v for v in replica.campaign(campaign_id)["variants"] if v["id"] == made[0])


def variant_id_of(campaign: dict[str, Any], ref: str) -> str:
    """The id of the variant named by its label (``A``) or its id."""
    variants = [v for v in campaign.get("variants") or [] if isinstance(v, dict)]
    for v in variants:
        if ref.strip().upper() == str(v.get("label") or "").upper() or ref == v.get("id"):
            return v["id"]
    labels = ", ".join(str(v.get("label")) for v in variants) or "none yet"
    raise NotFound(f"no variant {ref!r} in this campaign (variants: {labels})")


def set_status(replica: Replica, campaign_id: str, status: str) -> str:
    """Move the campaign to ``status`` if the move is allowed from where it is now; returns the
    status it had. Whether it may *run* is the server's decision (it holds an incomplete
    campaign as a draft and says why)."""
    from shared.protocol import campaign as schema

    current = replica.campaign(campaign_id).get("status") or "draft"
    if current == "archived":
        raise InvalidInput("an archived campaign cannot change")
    if status != current and status not in schema.TRANSITIONS.get(current, ()):
        raise InvalidInput(
            f"a {current} campaign cannot be {STATUS_VERBS.get(status, status)} "
            f"(from {current}: {', '.join(schema.TRANSITIONS.get(current, ())) or 'nothing'})"
        )
    if status != current:
        replica.set_campaign_field(campaign_id, "status", status)
    return current
