"""The campaign rules: each malformed value is named by a stable code and field, a complete
campaign passes, drafts may be incomplete, and no input whatever makes the checks crash."""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.protocol import campaign as schema
from shared.protocol import campaign_rules as rules
from shared.protocol.kinds import EVENT_KINDS


def complete(**changes: Any) -> dict[str, Any]:
    """A launchable campaign snapshot, built through the document like any other: an email, a
    wait, "clicked within 3 days? straight to the goal", a reminder email, the goal."""
    doc = schema.new_doc()
    with doc.transaction():
        schema.set_field(doc, "name", "Spring open day")
        schema.set_field(doc, "type", "nurture")
        schema.set_field(doc, "status", "active")
        schema.set_field(doc, "trigger", {"event": "lead", "conditions": []})
        for kind in ("send_email", "wait", "branch", "send_email", "goal"):
            schema.add_step(doc, kind, rules.step_defaults(kind))
        steps = doc.get("steps", type=pycrdt.Array)
        steps[2]["config"]["then"] = steps[4]["id"]
        schema.add_variant(doc, subject="See the barn", body="Hello")
    snap = schema.snapshot(doc)
    snap.update(changes)
    return snap


def codes(found: list[rules.CampaignRuleError]) -> list[tuple[str, str]]:
    return [(p.code, p.field) for p in found]


def test_a_complete_campaign_breaks_no_rule():
    assert rules.problems(complete()) == []
    rules.check_campaign(complete())


def test_the_vocabularies_name_real_event_kinds_and_every_step_kind_has_defaults():
    assert set(rules.TRIGGER_EVENTS) <= EVENT_KINDS
    assert set(rules.BRANCH_EVENTS) <= set(rules.TRIGGER_EVENTS)
    assert set(rules.STEP_DEFAULTS) == set(schema.STEP_KINDS)
    for kind in schema.STEP_KINDS:
        rules.check_step_config(kind, rules.step_defaults(kind), own_id="s", step_ids=["s"])


def test_an_empty_running_campaign_lacks_a_trigger_and_steps():
    found = rules.problems({"status": "active"})
    assert codes(found) == [(rules.MISSING_TRIGGER, "trigger"), (rules.MISSING_STEPS, "steps")]
    assert rules.summary(found) == (
        "choose the event that starts the campaign (its trigger) (and 1 more problem)"
    )


def test_a_draft_may_be_incomplete_but_not_malformed():
    assert rules.problems({"status": "draft"}) == []
    found = rules.problems({"status": "draft", "trigger": {"kind": "lead"}})
    assert codes(found) == [(rules.BAD_TRIGGER, "trigger")]
    assert "no setting 'kind'" in found[0].message


@pytest.mark.parametrize(
    ("variants", "variant", "expected"),
    [
        ([], "auto", "write a variant with a subject and a body"),
        ([{"id": "v1", "label": "A", "subject": "Hi", "body": "  "}], "auto", "write a variant"),
        ([{"id": "v1", "label": "A", "subject": "", "body": "Hi"}], "v1", "lacks a subject"),
        ([], "v-deleted-elsewhere", "sends a variant that is gone"),
    ],
)
def test_every_send_step_needs_a_variant_with_a_subject_and_a_body(variants, variant, expected):
    snap = complete(variants=variants)
    snap["steps"][0]["config"] = {"variant": variant}
    found = rules.launch_problems(snap)
    # the first email's and the reminder's (automatic: no complete variant to choose from)
    assert [p.code for p in found] == [rules.MISSING_CONTENT] * 2
    assert expected in found[0].message and found[0].field.endswith(".variant")


def test_jumps_lead_forward_to_a_step_that_exists():
    snap = complete()
    first, branch, goal = (snap["steps"][i]["id"] for i in (0, 2, 4))
    snap["steps"][2]["config"]["then"] = first
    snap["steps"][1] = {
        "id": "w",
        "kind": "wait_for",
        "config": {**rules.step_defaults("wait_for"), "on_timeout": "deleted-elsewhere"},
    }
    assert codes(rules.launch_problems(snap)) == [
        (rules.BAD_JUMP, "steps.w.on_timeout"),
        (rules.BAD_JUMP, f"steps.{branch}.then"),
    ]
    assert "leads back to step 1: jumps go forward" in rules.launch_problems(snap)[1].message
    assert rules.problems({**snap, "status": "draft"}) == []  # a draft may be mid-rework
    snap["steps"][2]["config"]["then"] = goal
    snap["steps"][1]["config"]["on_timeout"] = goal
    assert rules.problems(snap) == []


def test_a_scheduled_campaign_needs_a_start_date():
    assert codes(rules.problems(complete(status="scheduled"))) == [
        (rules.MISSING_SCHEDULE, "schedule_start")
    ]
    assert rules.problems(complete(status="scheduled", schedule_start="2026-05-01T09:00")) == []


@pytest.mark.parametrize(
    ("kind", "config", "field", "message"),
    [
        ("wait", {"days": 400, "hours": 0}, "days", "days must be a whole number from 0 to 365"),
        ("wait", {"days": 1, "hours": 1.5}, "hours", "hours must be a whole number from 0 to 23"),
        ("wait", {"days": 1, "minutes": 5}, "config", "has no setting 'minutes'"),
        ("branch", {"event": "lead", "within_days": 3, "then": None}, "event", "a branch tests"),
        ("branch", {"event": "open", "within_days": 3, "then": "a"}, "then", "another step"),
        ("branch", {"event": "open", "within_days": 3, "then": "zz"}, "then", "another step"),
        ("wait", {}, "config", "a wait needs days or hours"),
        ("split", {"percent": 100, "then": None}, "percent", "from 1 to 99"),
        ("wait_for", {"event": "nap", "timeout_days": 7, "on_timeout": None}, "event", "waits"),
        ("wait_for", {"event": "open", "timeout_days": 0, "on_timeout": None}, "timeout_days", ""),
        ("goal", {"event": "send"}, "event", "a goal waits for one of lead"),
        ("send_email", {"variant": 7}, "variant", "'auto' or one variant's id"),
        ("send_email", [], "config", "must be a JSON object"),
    ],
)
def test_malformed_step_settings_are_named_precisely(kind, config, field, message):
    with pytest.raises(rules.CampaignRuleError) as info:
        rules.check_step_config(kind, config, step_ids=["a", "b"], own_id="a")
    assert info.value.code == rules.BAD_STEP_CONFIG
    assert info.value.field == f"steps.a.{field}"
    assert message in info.value.message


def test_an_unknown_step_kind_is_a_bad_step():
    snap = complete()
    snap["steps"].append({"id": "x1", "kind": "teleport", "config": {}})
    snap["steps"].append({"kind": "wait", "config": {}})
    assert codes(rules.shape_problems(snap)) == [
        (rules.BAD_STEP, "steps.x1"),
        (rules.BAD_STEP, "steps[6]"),
    ]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("trigger", "lead", rules.BAD_TRIGGER),
        (
            "trigger",
            {"event": "lead", "conditions": [{"field": "score", "op": "="}]},
            "bad_trigger",
        ),
        ("trigger", {"event": "lead", "conditions": {"a": 1}}, rules.BAD_TRIGGER),
        ("audience_segment", {"all": []}, rules.BAD_AUDIENCE),
        ("audience_segment", {"match": "most", "rules": []}, rules.BAD_AUDIENCE),
        (
            "audience_segment",
            {"rules": [{"field": "role", "op": "in", "value": "x"}]},
            "bad_audience",
        ),
        ("audience_segment", "", rules.BAD_AUDIENCE),
        ("frequency_cap", {"per_days": 7, "max": 2}, rules.BAD_FREQUENCY_CAP),
        ("frequency_cap", {"per_days": 0, "max_sends": 2}, rules.BAD_FREQUENCY_CAP),
        ("quiet_hours", "late", rules.BAD_QUIET_HOURS),
        ("quiet_hours", "25:00-08:00", rules.BAD_QUIET_HOURS),
        ("schedule_start", "next tuesday", rules.BAD_SCHEDULE),
        ("budget_cents", -5, rules.BAD_FIELD),
        ("status", "running", rules.BAD_FIELD),
    ],
)
def test_malformed_values_have_their_own_code(field, value, code):
    found = rules.shape_problems(complete(**{field: value}))
    assert [p.code for p in found] == [code]
    assert found[0].field.split(".")[0].split("[")[0] == field or field.startswith("schedule")


def test_well_formed_rules_schedules_and_caps_pass():
    snap = complete(
        trigger={
            "event": "health_score",
            "conditions": [{"field": "score", "op": "lte", "value": 40}],
        },
        audience_segment={
            "match": "any",
            "rules": [
                {"field": "role", "op": "in", "value": ["supplier", "venue"]},
                {"field": "wedding_date", "op": "exists", "value": True},
            ],
        },
        frequency_cap={"max_sends": 2, "per_days": 7},
        quiet_hours="21:00-08:00",
        schedule_start="2026-05-01T09:00",
        schedule_end="2026-06-01",
    )
    assert rules.problems(snap) == []
    assert rules.problems(complete(audience_segment="vip_couples")) == []


def test_a_campaign_must_end_after_it_starts():
    found = rules.shape_problems(
        complete(schedule_start="2026-06-01T09:00", schedule_end="2026-05-01T09:00")
    )
    assert codes(found) == [(rules.BAD_SCHEDULE, "schedule_end")]


def test_rule_values_typed_in_the_builder_read_back_as_typed():
    assert rules.rule_value("gte", " 40 ") == 40
    assert rules.rule_value("lte", "2.5") == 2.5
    assert rules.rule_value("in", "venue, florist,") == ["venue", "florist"]
    assert rules.rule_value("exists", "") is None
    assert rules.rule_value("eq", "01234") == "01234"  # a code, not a number
    for op, text in (("in", "venue, florist"), ("gte", "40"), ("eq", "north")):
        assert rules.rule_text(rules.rule_value(op, text)) == text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
campaign_keys = st.sampled_from(
    [*schema.FIELDS, "steps", "variants", "trigger", "audience_segment", "frequency_cap"]
)


@settings(deadline=None)  # the first examples pay for imports and warm-up
@given(st.dictionaries(campaign_keys, json_values, max_size=8))
def test_no_campaign_data_makes_the_checks_crash(snapshot):
    found = rules.problems(snapshot)
    assert all(isinstance(p, rules.CampaignRuleError) and p.code and p.field for p in found)
    rules.launch_problems(snapshot)


def _config(draw, kind: str, later: list[str]) -> dict[str, Any]:  # noqa: ANN001
    target = st.sampled_from([None, *later])
    if kind == "send_email":
        return {"variant": draw(st.sampled_from(["auto", "v1"]))}
    if kind == "wait":
        return {"days": draw(st.integers(0, 365)), "hours": draw(st.integers(0, 23))}
    if kind == "wait_for":
        return {
            "event": draw(st.sampled_from(rules.TRIGGER_EVENTS)),
            "timeout_days": draw(st.integers(1, 365)),
            "on_timeout": draw(target),
        }
    if kind == "branch":
        return {
            "event": draw(st.sampled_from(rules.BRANCH_EVENTS)),
            "within_days": draw(st.integers(1, 365)),
            "then": draw(target),
        }
    if kind == "split":
        return {"percent": draw(st.integers(1, 99)), "then": draw(target)}
    return {"event": draw(st.sampled_from(rules.TRIGGER_EVENTS))}


@st.composite
def runnable_campaigns(draw) -> dict[str, Any]:  # noqa: ANN001
    kinds = draw(st.lists(st.sampled_from(schema.STEP_KINDS), min_size=1, max_size=8))
    ids = [f"s{i}" for i in range(len(kinds))]
    steps = [
        {"id": ids[i], "kind": kind, "config": _config(draw, kind, ids[i + 1 :])}
        for i, kind in enumerate(kinds)
    ]
    rule = st.fixed_dictionaries(
        {
            "field": st.sampled_from(["score", "channel", "type"]),
            "op": st.sampled_from(["eq", "ne", "gte", "lte", "contains"]),
            "value": st.integers(0, 100) | st.sampled_from(["booking", "wedding_fair"]),
        }
    )
    return {
        "id": "c1",
        "status": "active",
        "trigger": {
            "event": draw(st.sampled_from(rules.TRIGGER_EVENTS)),
            "conditions": draw(st.lists(rule, max_size=3)),
        },
        "frequency_cap": draw(
            st.none()
            | st.fixed_dictionaries(
                {"max_sends": st.integers(0, 1000), "per_days": st.integers(1, 365)}
            )
        ),
        "quiet_hours": draw(st.sampled_from(["", "21:00-08:00", "12:30-13:30"])),
        "steps": steps,
        "variants": [{"id": "v1", "label": "A", "subject": "Hello", "body": "Come and see"}],
    }


@settings(deadline=None)
@given(runnable_campaigns())
def test_a_campaign_the_rules_let_run_is_one_the_journey_engine_can_read(campaign):
    """The rules are never laxer than the automation engine: whatever may run, it can run."""
    from shared.automation import parse_journey, parse_trigger

    assert rules.problems(campaign) == []
    parse_trigger(campaign["trigger"])
    journey = parse_journey(campaign)
    assert [node.id for node in journey.nodes] == [s["id"] for s in campaign["steps"]]
