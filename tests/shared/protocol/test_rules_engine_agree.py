"""The campaign rules and the automation engine agree: whatever the rules let run, the engine
reads and runs, over the wider forms too (score bands, date triggers, re-entry, holdout, every
step form, jumps anywhere, settings stored as JSON text as the builder stores them). The rules'
own checks must find every problem: the last-resort engine check never has to."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.automation import Enrolment, Facts, advance, parse_journey, parse_trigger
from shared.automation.steps import BRANCH_EVENTS
from shared.automation.triggers import TRIGGER_EVENTS
from shared.protocol import campaign_rules as rules

NOW = 1_780_000_000_000
DAY_MS = 86_400_000
KINDS = ("send_email", "wait", "wait_for", "branch", "split", "goal")


class _Draw:
    """``draw`` that picks mostly good values and, when ``bad`` allows, now and then a bad one
    (hypothesis favours the ends of a range: the bad values sit in its middle)."""

    def __init__(self, draw, bad: bool) -> None:  # noqa: ANN001
        self.draw, self.bad = draw, bad

    def __call__(self, strategy: Any) -> Any:
        return self.draw(strategy)


def _pick(draw: _Draw, good: list[Any], bad: list[Any]) -> Any:
    if draw.bad and bad and draw(st.integers(0, 99)) % 10 == 3:
        return draw(st.sampled_from(bad))
    return draw(st.sampled_from(good))


def _maybe_text(draw, value: Any) -> Any:  # noqa: ANN001
    """Objects as the builder stores them in a step's config: canonical JSON text."""
    if isinstance(value, dict | list) and draw(st.booleans()):
        return json.dumps(value, sort_keys=True)
    return value


def _target(draw, ids: list[str]) -> Any:  # noqa: ANN001
    return _pick(draw, [None, *ids], ["gone"])


def _config(draw, kind: str, ids: list[str]) -> Any:  # noqa: ANN001, C901
    if draw.bad and draw(st.integers(0, 99)) == 41:  # now and then something malformed as a whole
        return draw(st.sampled_from([[], "x", {"nonsense": 1}]))

    def number(low: int = 1, high: int = 30) -> Any:
        return _pick(draw, list(range(low, high)), [-2, 400, 1.5, "3", None, True])

    if kind == "send_email":
        return _pick(
            draw,
            [{}, {"variant": "auto"}, {"variant": "v1"}, {"variants": ["v1", "v2"]}],
            [{"variant": "v9"}, {"variants": []}, {"variant": 7}],
        )
    if kind == "wait":
        form = draw(st.integers(0, 4))
        if form == 0:
            return {"days": number(0), "hours": _pick(draw, [0, 5, 23], [24])}
        if form == 1:
            return {"duration_s": number()}
        if form == 2:
            return {"until_local_time": _pick(draw, ["09:00", "9:30"], ["25:00"])}
        if form == 3:
            rule = {"field": "wedding_date", "days_before": number()}
            return {"until_date_field": _maybe_text(draw, rule), "if_missing": "continue"}
        return {"days": 1, "from": _pick(draw, ["step", "trigger"], ["later"])}
    if kind == "wait_for":
        config = {
            "event": _pick(draw, list(TRIGGER_EVENTS), ["nap"]),
            draw(st.sampled_from(["timeout_days", "timeout_s"])): number(),
            draw(st.sampled_from(["on_timeout", "else"])): _target(draw, ids),
        }
        if draw(st.booleans()):
            config["then"] = _target(draw, ids)
        return config
    if kind == "branch":
        if draw(st.booleans()):
            return {
                "event": _pick(draw, list(BRANCH_EVENTS), ["lead"]),
                "within_days": number(),
                "then": _target(draw, ids),
            }
        condition = {
            "match": _pick(draw, ["all", "any"], ["most"]),
            "rules": [{"field": "events.open", "op": _pick(draw, ["gte", "lt"], ["="]),
                       "value": 1}],
        }  # fmt: skip
        return {
            "condition": _maybe_text(draw, condition),
            "then": _target(draw, ids),
            "else": _target(draw, ids),
        }
    if kind == "split":
        if draw(st.booleans()):
            return {"percent": number(), "then": _target(draw, ids)}
        n = _pick(draw, [2, 3], [1])
        weights = [_pick(draw, [1, 5], [0, -1]) for _ in range(n)]
        then = [_target(draw, ids) for _ in range(_pick(draw, [n], [n + 1]))]
        return {"weights": _maybe_text(draw, weights), "then": _maybe_text(draw, then)}
    config = {"event": _pick(draw, list(TRIGGER_EVENTS), ["send"])}
    if draw(st.booleans()):
        config[draw(st.sampled_from(["within_s", "within_days"]))] = number()
    return config


@st.composite
def campaigns(raw_draw, bad: bool = True) -> dict[str, Any]:  # noqa: ANN001
    draw = _Draw(raw_draw, bad)
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=7))
    ids = [f"s{i}" for i in range(len(kinds))]
    steps = [
        {"id": ids[i], "kind": k, "config": _config(draw, k, ids)} for i, k in enumerate(kinds)
    ]
    trigger = _pick(
        draw,
        [
            {"event": "lead"},
            {"event": "health_score", "band": {"enter": ["at_risk", "critical"]}},
            {"event": "conversion", "supersede": True, "freshness_s": 86_400},
            {"date": {"field": "wedding_date", "days_before": 90}},
            {"event": "lead", "conditions": [{"field": "channel", "op": "eq",
                                              "value": "wedding_fair"}]},
        ],
        [
            {"event": "health_score", "band": {"enter": ["sad"]}},
            {"event": "conversion", "freshness_s": 0},
            {"date": {"field": "wedding_date", "at": "25:00"}},
            {"event": "send"},
            {"kind": "lead"},
        ],
    )  # fmt: skip
    return {
        "id": "01J0CAMPA1GN0000000000000A",
        "status": "active",
        "trigger": trigger,
        "reentry": _pick(
            draw,
            [None, "once", "every_time", {"mode": "cooldown", "cooldown_s": 3600}],
            [{"cooldown_s": -1}, "sometimes"],
        ),
        "holdout_pct": _pick(draw, [None, 0, 10, 12.5, 90], [95, "10"]),
        "quiet_hours": _pick(draw, ["", "21:00-08:00"], ["09:00-09:00"]),
        "frequency_cap": _pick(
            draw, [None, {"max_sends": 2, "per_days": 7}], [{"max_sends": 2, "max": 1}]
        ),
        "steps": steps,
        "variants": [
            {"id": "v1", "label": "A", "subject": "Hi {{ first_name }}", "body": "Come"},
            {"id": "v2", "label": "B", "subject": "Hello", "body": "See the barn"},
        ],
    }


@settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(campaigns(bad=False), st.lists(st.sampled_from(["open", "click", "conversion"]), max_size=4))
def test_what_the_rules_let_run_the_engine_runs(campaign, kinds):
    found = rules.shape_problems(campaign) + rules.launch_problems(campaign)
    if found:  # only jumps may be wrong in these
        assert {p.code for p in found} <= {rules.BAD_JUMP, rules.MISSING_CONTENT}
        return
    trigger = parse_trigger(campaign["trigger"])
    journey = parse_journey(campaign)
    assert [n.id for n in journey.nodes] == [s["id"] for s in campaign["steps"]]
    state = Enrolment("e1", journey.campaign_id, "ana@example.com", NOW, NOW, journey.nodes[0].id,
                      0, NOW)  # fmt: skip
    events = [
        {"id": f"e{i}", "kind": k, "occurred_at_ms": NOW + i * DAY_MS, "contact": state.contact,
         "campaign": journey.campaign_id}
        for i, k in enumerate(kinds)
    ]  # fmt: skip
    facts = Facts(contact={"wedding_date": "2027-06-01"}, events=events)
    for at in (NOW, NOW + DAY_MS, NOW + 40 * DAY_MS, NOW + 800 * DAY_MS):
        state, actions = advance(state, journey, at, facts)
    assert state.status == "exited" or trigger is not None


@settings(deadline=None, max_examples=200)
@given(campaigns())
def test_what_the_engine_refuses_the_rules_refuse(campaign):
    """The other direction: a running campaign the engine cannot read always has a problem the
    rules name, so the server holds it as a draft and the builder shows why."""
    try:
        parse_trigger(campaign["trigger"])
        parse_journey(campaign)
    except ValueError:
        assert rules.problems(campaign)
