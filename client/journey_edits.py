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
    "reentry": "reentry",
    "holdout_pct": "holdout_pct",
}
CHECKS = {
    "trigger": rules.check_trigger,
    "audience_segment": rules.check_audience,
    "frequency_cap": rules.check_frequency_cap,
    "reentry": rules.check_reentry,
    "holdout_pct": rules.check_holdout,
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


def _jump_target(steps: list[dict[str, Any]], key: str, target: Any, position: int) -> Any:
    """A jump given by step number or id, as the id of an existing step after ``position``."""
    if target is None:
        return None
    if isinstance(target, int) and not isinstance(target, bool):
        target = str(target)
    if not isinstance(target, str):
        raise InvalidInput(f"{key} names a step by its number or its id")
    step_id = step_id_of(steps, target)
    number = [s["id"] for s in steps].index(step_id) + 1
    if number <= position:
        raise rules.CampaignRuleError(
            rules.BAD_JUMP,
            f"the new step {position + 1} would lead back to step {number} ({key}): "
            "jumps go forward, so every journey ends",
            f"steps.new.{key}",
        )
    return step_id


def _stored(value: Any) -> Any:
    """A setting as the document keeps it: objects as canonical JSON text (no plain dicts in
    the document, ``shared.protocol.campaign``), lists item by item."""
    from shared.protocol import campaign as schema

    if isinstance(value, dict):
        return schema.canonical_json(value)
    if isinstance(value, list):
        return [_stored(v) for v in value]
    return value


def add_step(
    replica: Replica,
    campaign_id: str,
    kind: str,
    config_text: str | None = None,
    *,
    at: int | None = None,
) -> str:
    """Add a step of ``kind`` at position ``at`` (from 1; default: last). ``config_text``
    (JSON) updates the step's default settings, or replaces them when it uses another form the
    engine reads (``{"duration_s": 3600}`` for a wait). A jump (``then``, ``on_timeout``,
    ``else``; a split's list) names a step by its number in the flow as it is before this step
    is added, or by id; it must lead forward."""
    given: dict[str, Any] = {}
    if config_text is not None:
        given = parse_json(config_text, "the step's settings")
        if not isinstance(given, dict):
            raise InvalidInput('the step\'s settings are a JSON object, e.g. {"days": 3}')
    steps = _steps(replica, campaign_id)
    position = len(steps) if at is None else at - 1
    if not 0 <= position <= len(steps):
        raise InvalidInput(f"--at is a position from 1 to {len(steps) + 1}")
    for key in rules.TARGET_KEYS:
        if key in given:
            value = given[key]
            given[key] = (
                [_jump_target(steps, key, v, position) for v in value]
                if isinstance(value, list)
                else _jump_target(steps, key, value, position)
            )
    ids = [s["id"] for s in steps] + ["new"]
    config = {**rules.step_defaults(kind), **given}
    try:
        rules.check_step_config(kind, config, own_id="new", step_ids=ids)
    except rules.CampaignRuleError:
        if not given:
            raise
        try:  # another form of the step's settings: the defaults do not mix with it
            rules.check_step_config(kind, given, own_id="new", step_ids=ids)
        except rules.CampaignRuleError:
            rules.check_step_config(kind, config, own_id="new", step_ids=ids)  # the first error
        config = given
    made: list[str] = []

    from shared.protocol import campaign as schema

    def edit(doc: pycrdt.Doc) -> None:
        stored = {key: _stored(value) for key, value in config.items()}
        made.append(schema.add_step(doc, kind, stored, position))

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
