"""Demo campaigns, one plan per campaign type, built as real campaign documents.

Each plan is what a planner would build for that type: a trigger, an audience, a flow of steps
(emails, waits, a branch, a wait-for or a split, a goal), two content variants, quiet hours and
a frequency cap. Every campaign built here passes the campaign rules, so the demo's active
campaigns are ones the server would let run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pycrdt

from shared.protocol import campaign as schema
from shared.protocol import campaign_rules as rules

COUPLES = {"field": "role", "op": "eq", "value": "couple"}
SUPPLIERS = {"field": "role", "op": "eq", "value": "supplier"}


@dataclass(frozen=True)
class Plan:
    """A campaign type's flow. Steps are ``(key, kind, settings)``; a setting written ``@key``
    jumps to that step, ``variant: "@A"`` sends that variant."""

    trigger: dict[str, Any]
    audience: dict[str, Any]
    steps: tuple[tuple[str, str, dict[str, Any]], ...]
    variants: tuple[tuple[str, str], ...]  # (subject, body), labelled A, B, …
    quiet_hours: str = "21:00-08:00"
    frequency_cap: dict[str, int] = field(default_factory=lambda: {"max_sends": 3, "per_days": 7})


PLANS: dict[str, Plan] = {
    "nurture": Plan(
        trigger={
            "event": "lead",
            "conditions": [
                {"field": "channel", "op": "in", "value": ["wedding_fair", "venue_visit"]}
            ],
        },
        audience={"match": "all", "rules": [COUPLES]},
        steps=(
            ("welcome", "send_email", {"variant": "auto"}),
            ("pause", "wait", {"days": 3, "hours": 0}),
            ("clicked", "branch", {"event": "click", "within_days": 4, "then": "@goal"}),
            ("reminder", "send_email", {"variant": "auto"}),
            ("goal", "goal", {"event": "conversion"}),
        ),
        variants=(
            (
                "Lovely to meet you at the fair",
                "Thank you for stopping by. Here are the dates we still have free next "
                "summer, and a link to book a private viewing of the barn.",
            ),
            (
                "Your private viewing is one click away",
                "Couples tell us the barn is best seen at golden hour. Pick an evening and we "
                "will have the fairy lights on for you.",
            ),
        ),
    ),
    "viral_referral": Plan(
        trigger={
            "event": "conversion",
            "conditions": [{"field": "type", "op": "eq", "value": "booking"}],
        },
        audience={"match": "all", "rules": [COUPLES]},
        steps=(
            ("settle", "wait", {"days": 7, "hours": 0}),
            ("ask", "send_email", {"variant": "auto"}),
            (
                "invited",
                "wait_for",
                {"event": "invite_sent", "timeout_days": 10, "on_timeout": "@nudge"},
            ),
            ("goal", "goal", {"event": "invite_accepted"}),
            ("nudge", "send_email", {"variant": "auto"}),
        ),
        variants=(
            (
                "Know a couple who'd love this?",
                "You're booked in! Share your invite link with engaged friends: they get a "
                "free tasting, and you get a bottle of fizz on the day.",
            ),
            (
                "A gift for you and your friends",
                "Invite another couple to see the venue and we'll add a late-night "
                "grazing board to your wedding, on us.",
            ),
        ),
    ),
    "super_connector": Plan(
        trigger={
            "event": "invite_accepted",
            "conditions": [{"field": "invites_accepted", "op": "gte", "value": 5}],
        },
        audience={
            "match": "all",
            "rules": [{"field": "invites_accepted", "op": "gte", "value": 5}],
        },
        steps=(
            ("thanks", "send_email", {"variant": "@A"}),
            ("pause", "wait", {"days": 14, "hours": 0}),
            ("test", "split", {"percent": 50, "then": "@perk_b"}),
            ("perk_a", "send_email", {"variant": "@A"}),
            ("goal", "goal", {"event": "invite_sent"}),
            ("perk_b", "send_email", {"variant": "@B"}),
        ),
        variants=(
            (
                "Five couples found us through you",
                "You are one of our super-connectors. As a thank-you, your next referral "
                "comes with a framed print of your favourite wedding photo.",
            ),
            (
                "You're in our connectors' circle",
                "Join our connectors' evening in the barn: drinks, the new menu, and first "
                "look at next year's dates for the couples you send our way.",
            ),
        ),
    ),
    "churn_prevention": Plan(
        trigger={
            "event": "health_score",
            "conditions": [{"field": "score", "op": "lte", "value": 49}],
        },
        audience={"match": "all", "rules": [SUPPLIERS]},
        steps=(
            ("check_in", "send_email", {"variant": "auto"}),
            (
                "engaged",
                "wait_for",
                {"event": "click", "timeout_days": 5, "on_timeout": "@call"},
            ),
            ("goal", "goal", {"event": "conversion"}),
            ("call", "send_email", {"variant": "auto"}),
        ),
        variants=(
            (
                "How are enquiries looking this season?",
                "We noticed fewer couples reaching you lately. Here are three quick changes "
                "to your listing that brought other venues 20% more enquiries.",
            ),
            (
                "A 15-minute call to fill your calendar",
                "Our supplier team can review your profile with you this week. Pick a slot "
                "that suits you.",
            ),
        ),
        frequency_cap={"max_sends": 2, "per_days": 7},
    ),
    "milestone": Plan(
        trigger={"event": "milestone", "conditions": []},
        audience={"match": "any", "rules": [COUPLES, SUPPLIERS]},
        steps=(
            ("congrats", "send_email", {"variant": "auto"}),
            ("later", "wait", {"days": 30, "hours": 0}),
            ("follow_up", "send_email", {"variant": "auto"}),
            ("goal", "goal", {"event": "click"}),
        ),
        variants=(
            (
                "Congratulations on a big day!",
                "Every milestone deserves a toast. Here is a little something from all of us "
                "at WedSync.",
            ),
            (
                "A month on: how does it feel?",
                "We'd love to hear how it's going. Share a photo and we might feature you in "
                "our next newsletter.",
            ),
        ),
    ),
    "win_back": Plan(
        trigger={
            "event": "milestone",
            "conditions": [{"field": "type", "op": "eq", "value": "subscription_ended"}],
        },
        audience={
            "match": "all",
            "rules": [SUPPLIERS, {"field": "last_open_days", "op": "gte", "value": 60}],
        },
        steps=(
            ("breathe", "wait", {"days": 14, "hours": 0}),
            ("miss_you", "send_email", {"variant": "auto"}),
            ("clicked", "branch", {"event": "click", "within_days": 7, "then": "@goal"}),
            ("last_offer", "send_email", {"variant": "auto"}),
            ("goal", "goal", {"event": "conversion"}),
        ),
        variants=(
            (
                "We've kept your profile warm",
                "Couples are still finding your page. Come back this month and your first "
                "three months are half price.",
            ),
            (
                "Last chance: half price for three months",
                "The offer ends on Sunday. Reactivate in two clicks and pick up where you "
                "left off.",
            ),
        ),
    ),
    "premium": Plan(
        trigger={
            "event": "conversion",
            "conditions": [{"field": "type", "op": "eq", "value": "subscription"}],
        },
        audience={
            "match": "all",
            "rules": [SUPPLIERS, {"field": "health_score", "op": "gte", "value": 70}],
        },
        steps=(
            ("pitch", "send_email", {"variant": "@A"}),
            ("pause", "wait", {"days": 5, "hours": 0}),
            ("test", "split", {"percent": 50, "then": "@offer_b"}),
            ("offer_a", "send_email", {"variant": "@A"}),
            ("goal", "goal", {"event": "conversion"}),
            ("offer_b", "send_email", {"variant": "@B"}),
        ),
        variants=(
            (
                "Put your venue at the top of the list",
                "Premium suppliers appear first in search and get a monthly report of the "
                "couples who viewed them.",
            ),
            (
                "Premium, free for your first month",
                "Try featured placement and lead insights free for 30 days, then decide.",
            ),
        ),
    ),
}


def build_campaign(item: dict[str, Any]) -> pycrdt.Doc:
    """The document of one demo campaign: ``item`` gives its name, type, status, budget and
    schedule (a scheduled campaign needs its start); the rest comes from its type's plan."""
    plan = PLANS[item["type"]]
    doc = schema.new_doc()
    with doc.transaction():
        for name in ("name", "type", "budget_cents", "owner", "schedule_start", "schedule_end"):
            if item.get(name) is not None:
                schema.set_field(doc, name, item[name])
        schema.set_field(doc, "description", f"Demo {item['type'].replace('_', ' ')} campaign.")
        schema.set_field(doc, "trigger", plan.trigger)
        schema.set_field(doc, "audience_segment", plan.audience)
        schema.set_field(doc, "frequency_cap", plan.frequency_cap)
        schema.set_field(doc, "quiet_hours", plan.quiet_hours)
        labels = {}
        for subject, body in plan.variants:
            variant_id = schema.add_variant(doc, subject=subject, body=body)
            labels["@" + chr(ord("A") + len(labels))] = variant_id
        ids = {key: schema.add_step(doc, kind, {}) for key, kind, _ in plan.steps}
        steps = doc.get("steps", type=pycrdt.Array)
        for (_, _, settings), step in zip(plan.steps, steps, strict=True):
            config = step["config"]
            for name, value in sorted(settings.items()):
                if isinstance(value, str) and value.startswith("@"):
                    value = labels[value] if name == "variant" else ids[value[1:]]
                config[name] = value
        # the status last: a campaign becomes active only once it is complete
        schema.set_field(doc, "status", item.get("status") or "draft")
    rules.check_campaign(schema.snapshot(doc))
    return doc
