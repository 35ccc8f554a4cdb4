from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shared.automation import journey as j
from shared.automation.errors import AutomationCode, AutomationError
from shared.automation.guards import FrequencyCap
from shared.automation.steps import DEFAULT_GOAL_WINDOW_S, parse_journey

from .conftest import CAMPAIGN, DAY_MS, DAY_S, NOW, campaign, event, step

ANA = "ana@example.com"


def start(data, contact=ANA, *, key="trigger-1", now=NOW, **kw):
    entered = j.enrol(parse_journey(data), contact, key=key, now_ms=now, **kw)
    assert isinstance(entered, j.Enrolment), entered
    return entered


def kinds(actions):
    return [type(a).__name__ for a in actions]


def test_send_wait_send_runs_to_completion_with_one_key_per_step():
    data = campaign(
        step("s1", "send_email"), step("w", "wait", duration_s=2 * DAY_S), step("s2", "send_email")
    )
    state = start(data)
    state, actions = j.advance(state, data, NOW)
    assert kinds(actions) == ["Send", "Schedule"]
    assert actions[0].key == f"{state.id}/s1"
    assert actions[1] == j.Schedule(NOW + 2 * DAY_MS, ())
    assert (state.status, state.node, state.due_ms) == (j.WAITING, "w", NOW + 2 * DAY_MS)
    # woken early (by anything): nothing happens, the same wait is scheduled again
    early, again = j.advance(state, data, NOW + DAY_MS)
    assert again == [j.Schedule(NOW + 2 * DAY_MS, ())]
    state, actions = j.advance(early, data, NOW + 2 * DAY_MS)
    assert kinds(actions) == ["Send", "Exit"]
    assert actions[0].key == f"{state.id}/s2" and actions[-1] == j.Exit(j.COMPLETED)
    assert state.status == j.EXITED and j.advance(state, data, NOW + 3 * DAY_MS) == (state, [])


def test_the_builders_step_forms_run():
    data = campaign(
        step("s1", "send_email", variant="auto"),
        step("w", "wait", days=1, hours=2),
        step("f", "wait_for", event="click", timeout_days=7, on_timeout="end"),
        step("sp", "split", percent=50, then="end"),
        step("mid", "send_email", variant="B"),
        step("end", "goal", event="conversion"),
    )
    journey = parse_journey(data)
    assert journey.nodes[1].duration_s == DAY_S + 7200
    assert (journey.nodes[2].timeout_s, journey.nodes[2].then, journey.nodes[2].otherwise) == (
        7 * DAY_S,
        None,
        "end",
    )
    assert journey.nodes[3].weights == (50.0, 50.0) and journey.nodes[3].then == ("end", None)
    assert journey.nodes[5].within_s == DEFAULT_GOAL_WINDOW_S


def test_a_send_in_quiet_hours_waits_for_the_window_to_open():
    london = ZoneInfo("Europe/London")
    late = int(datetime(2026, 6, 10, 22, 30, tzinfo=london).timestamp() * 1000)
    morning = int(datetime(2026, 6, 11, 8, 0, tzinfo=london).timestamp() * 1000)
    data = campaign(step("s1", "send_email"), quiet_hours="21:00-08:00")
    facts = j.Facts(contact={"time_zone": "Europe/London"})
    state = start(data, now=late)
    state, actions = j.advance(state, data, late, facts)
    assert actions == [j.Schedule(morning, ())] and state.node == "s1"
    state, actions = j.advance(state, data, morning, facts)
    assert kinds(actions) == ["Send", "Exit"]


def test_held_out_contacts_follow_the_journey_without_sends():
    data = campaign(
        step("s1", "send_email"),
        step("w", "wait", duration_s=60),
        step("s2", "send_email"),
        holdout_pct=100 * 0.9,
    )
    contacts = [f"c{i}@example.com" for i in range(200)]
    held = [c for c in contacts if j.in_holdout(CAMPAIGN, c, 90)]
    state = start(data, held[0])
    state, actions = j.advance(state, data, NOW)
    assert state.held_out and actions[0] == j.Skip(f"{state.id}/s1", "s1", j.HELD_OUT)
    state, actions = j.advance(state, data, NOW + 60_000)
    assert kinds(actions) == ["Skip", "Exit"]


def test_the_holdout_share_is_close_to_the_setting_and_fixed_per_contact():
    contacts = [f"c{i}@example.com" for i in range(20_000)]
    held = sum(j.in_holdout(CAMPAIGN, c, 10) for c in contacts)
    assert 0.09 < held / len(contacts) < 0.11
    assert [j.in_holdout(CAMPAIGN, c, 10) for c in contacts[:50]] == [
        j.in_holdout(CAMPAIGN, c, 10) for c in contacts[:50]
    ]
    assert not j.in_holdout(CAMPAIGN, ANA, 0)


def test_a_capped_contact_is_skipped_and_moves_on():
    data = campaign(
        step("s1", "send_email"),
        step("s2", "send_email"),
        frequency_cap={"max_sends": 1, "per_days": 7},
    )
    state = start(data)
    state, actions = j.advance(state, data, NOW, j.Facts(sends_ms=[NOW - DAY_MS]))
    assert [a.reason for a in actions[:2]] == [j.FREQUENCY_CAPPED, j.FREQUENCY_CAPPED]
    assert actions[-1] == j.Exit(j.COMPLETED)
    # the org's cap counts the sends this advance made itself
    state = start(campaign(step("s1", "send_email"), step("s2", "send_email")))
    org = j.Facts(org_caps=[FrequencyCap(1, 7 * DAY_S)])
    state, actions = j.advance(
        state, campaign(step("s1", "send_email"), step("s2", "send_email")), NOW, org
    )
    assert kinds(actions) == ["Send", "Skip", "Exit"]


def test_suppression_ends_the_enrolment_before_any_send():
    data = campaign(step("s1", "send_email"))
    state = start(data)
    for facts, reason in (
        (j.Facts(contact={"unsubscribed": True}), "unsubscribed"),
        (j.Facts(suppressions={"bounced"}), "bounced"),
        (j.Facts(contact={"do_not_contact": True}), "do_not_contact"),
    ):
        after, actions = j.advance(state, data, NOW, facts)
        assert actions == [j.Exit(reason)] and after.exit_reason == reason


def test_cancel_ends_a_waiting_enrolment_everywhere_once():
    data = campaign(step("w", "wait", duration_s=DAY_S), step("s", "send_email"))
    state, _ = j.advance(start(data), data, NOW)
    state, actions = j.cancel(state, "unsubscribed")
    assert actions == [j.Exit("unsubscribed")] and state.status == j.EXITED
    assert j.cancel(state, "bounced") == (state, [])


def test_pausing_holds_in_place_and_archiving_exits():
    data = campaign(step("w", "wait", duration_s=DAY_S), step("s", "send_email"))
    state, _ = j.advance(start(data), data, NOW)
    paused = {**data, "status": "paused"}
    held, actions = j.advance(state, paused, NOW + 2 * DAY_MS)
    assert actions == [j.Hold("paused")] and held.node == "w"
    resumed, actions = j.advance(held, data, NOW + 3 * DAY_MS)
    assert kinds(actions) == ["Send", "Exit"]
    gone, actions = j.advance(held, {**data, "status": "archived"}, NOW + 3 * DAY_MS)
    assert actions == [j.Exit(j.CAMPAIGN_ARCHIVED)] and gone.node is None


def test_wait_for_takes_the_then_path_on_the_event_and_the_else_path_on_timeout():
    data = campaign(
        step("s1", "send_email"),
        step(
            "f", "wait_for", event="open", timeout_s=3 * DAY_S, then="opened", **{"else": "nudge"}
        ),
        step("nudge", "send_email", variants=["B"]),
        step("opened", "goal", event="conversion", within_s=30 * DAY_S),
    )
    state, actions = j.advance(start(data), data, NOW)
    assert actions[-1] == j.Schedule(NOW + 3 * DAY_MS, ("conversion", "open"))
    opened = j.Facts(events=[event("open", NOW + DAY_MS)])
    after, actions = j.advance(state, data, NOW + DAY_MS, opened)
    assert after.node == "opened" and kinds(actions) == ["Schedule"]
    after, actions = j.advance(state, data, NOW + 3 * DAY_MS)
    assert kinds(actions) == ["Send", "Schedule"] and actions[0].variant == "B"


def test_opens_from_privacy_proxies_and_other_campaigns_do_not_count():
    data = campaign(
        step("f", "wait_for", event="open", timeout_s=DAY_S, then="yes"),
        step("no", "send_email"),
        step("yes", "goal", event="conversion"),
    )
    state = start(data)
    noise = j.Facts(
        events=[
            event("open", NOW + 10, payload={"non_engagement": "privacy_proxy"}),
            event("open", NOW + 20, campaign="01J0OTHER0000000000000000A"),
            event("open", NOW + 30, contact="someone@else.com"),
        ]
    )
    after, actions = j.advance(state, data, NOW + DAY_MS, noise)
    assert kinds(actions) == ["Send", "Schedule"] and actions[0].node_id == "no"


def test_a_late_event_does_not_reopen_a_decision_taken():
    data = campaign(
        step("f", "wait_for", event="open", timeout_s=DAY_S, then="yes"),
        step("no", "wait", duration_s=DAY_S),
        step("yes", "send_email"),
    )
    state, _ = j.advance(start(data), data, NOW)
    timed_out, _ = j.advance(state, data, NOW + DAY_MS)
    assert timed_out.node == "no"
    late = j.Facts(events=[event("open", NOW + 100)])  # opened in time, synced after the timeout
    again, _ = j.advance(timed_out, data, NOW + DAY_MS + 5, late)
    assert again.node == "no"


def test_branch_on_contact_fields_and_event_counts():
    data = campaign(
        step(
            "b",
            "branch",
            condition={
                "match": "any",
                "rules": [
                    {"field": "contact.tier", "op": "eq", "value": "gold"},
                    {"field": "events.click", "op": "gte", "value": 1},
                ],
            },
            then="vip",
        ),
        step("plain", "send_email", variants=["A"]),
        step("vip", "send_email", variants=["B"]),
    )
    state = start(data)
    _, actions = j.advance(state, data, NOW, j.Facts(contact={"tier": "gold"}))
    assert actions[0].node_id == "vip"
    _, actions = j.advance(state, data, NOW, j.Facts(events=[event("click", NOW)]))
    assert actions[0].node_id == "vip"
    _, actions = j.advance(state, data, NOW, j.Facts(events=[event("click", NOW - 1)]))
    assert [a.node_id for a in actions[:-1]] == ["plain", "vip"]


def test_a_split_is_deterministic_and_near_its_weights():
    data = campaign(
        step("sp", "split", weights=[70, 30], then=[None, "b"]),
        step("a", "goal", event="conversion"),
        step("b", "goal", event="conversion"),
    )
    paths = Counter()
    for i in range(4000):
        state, _ = j.advance(start(data, f"c{i}@x"), data, NOW)
        paths[state.node] += 1
        again, _ = j.advance(start(data, f"c{i}@x", key="other"), data, NOW)
        assert again.node == state.node  # the same contact takes the same path each time
    assert 0.67 < paths["a"] / 4000 < 0.73


def test_the_variant_follows_the_allocation_and_is_recorded():
    data = campaign(step("s", "send_email"), step("w", "wait", duration_s=60))
    only_b = j.Facts(allocation={"A": 0.0, "B": 1.0})
    state, actions = j.advance(start(data), data, NOW, only_b)
    assert actions[0].variant == "B" and ("s", "B") in state.choices
    chosen = Counter(j.advance(start(data, f"c{i}"), data, NOW)[1][0].variant for i in range(2000))
    assert 900 < chosen["A"] < 1100  # no allocation: even shares


def test_each_send_step_follows_its_own_allocation_before_the_campaigns():
    data = campaign(step("s", "send_email"), step("t", "send_email"))
    facts = j.Facts(allocation={"A": 1.0, "B": 0.0}, step_allocation={"t": {"A": 0.0, "B": 1.0}})
    _, actions = j.advance(start(data), data, NOW, facts)
    assert [a.variant for a in actions if isinstance(a, j.Send)] == ["A", "B"]
    shifted = j.Facts(step_allocation={"s": {"A": 0.9, "B": 0.1}})
    chosen = Counter(
        j.advance(start(data, f"c{i}"), data, NOW, shifted)[1][0].variant for i in range(2000)
    )
    assert 1700 < chosen["A"] < 1900


def test_a_send_without_content_is_skipped():
    data = {**campaign(step("s", "send_email")), "variants": []}
    _, actions = j.advance(start(data), data, NOW)
    assert actions[0] == j.Skip(actions[0].key, "s", j.NO_VARIANT)


def test_a_goal_anywhere_exits_and_the_goal_step_waits_for_its_window():
    data = campaign(
        step("w", "wait", duration_s=5 * DAY_S),
        step("s", "send_email"),
        step("g", "goal", event="conversion", within_s=10 * DAY_S, scope="any"),
    )
    state, actions = j.advance(start(data), data, NOW)
    assert actions == [j.Schedule(NOW + 5 * DAY_MS, ("conversion",))]
    booked = j.Facts(events=[event("conversion", NOW + DAY_MS, campaign=None)])
    done, actions = j.advance(state, data, NOW + DAY_MS, booked)
    assert actions == [j.Exit(j.GOAL_REACHED)]
    # a conversion from before the enrolment is not this campaign's goal
    _, actions = j.advance(
        state, data, NOW + DAY_MS, j.Facts(events=[event("conversion", NOW - 1)])
    )
    assert actions == [j.Schedule(NOW + 5 * DAY_MS, ("conversion",))]
    at_goal, actions = j.advance(state, data, NOW + 5 * DAY_MS)
    assert kinds(actions) == ["Send", "Schedule"] and actions[-1].due_ms == NOW + 10 * DAY_MS
    _, actions = j.advance(at_goal, data, NOW + 10 * DAY_MS)
    assert actions == [j.Exit(j.GOAL_MISSED)]


def test_waits_until_a_local_time_a_date_field_or_from_the_trigger():
    tokyo = ZoneInfo("Asia/Tokyo")
    nine = int(datetime(2026, 5, 29, 9, 0, tzinfo=tokyo).timestamp() * 1000)
    contact = j.Facts(contact={"time_zone": "Asia/Tokyo", "wedding_date": "2026-09-12"})
    local = campaign(step("w", "wait", until_local_time="09:00"), step("s", "send_email"))
    _, actions = j.advance(start(local), local, NOW, contact)
    assert actions == [j.Schedule(nine, ())]
    dated = campaign(
        step("w", "wait", until_date_field={"field": "wedding_date", "days_before": 7}),
        step("s", "send_email"),
    )
    _, actions = j.advance(start(dated), dated, NOW, contact)
    assert actions == [
        j.Schedule(int(datetime(2026, 9, 5, 9, 0, tzinfo=tokyo).timestamp() * 1000), ())
    ]
    _, actions = j.advance(start(dated), dated, NOW)
    assert actions == [j.Exit(j.DATE_MISSING)]
    lenient = campaign(
        step("w", "wait", until_date_field="wedding_date", if_missing="continue"),
        step("s", "send_email"),
    )
    _, actions = j.advance(start(lenient), lenient, NOW)
    assert kinds(actions) == ["Send", "Exit"]
    from_trigger = campaign(
        step("w", "wait", duration_s=3 * DAY_S, **{"from": "trigger"}), step("s", "send_email")
    )
    late = start(from_trigger, trigger_at_ms=NOW - 2 * DAY_MS)  # the event synced two days late
    _, actions = j.advance(late, from_trigger, NOW)
    assert actions == [j.Schedule(NOW + DAY_MS, ())]


def test_reentry_rules():
    journey = parse_journey(campaign(step("s", "send_email")))
    first = j.enrol(journey, ANA, key="e1", now_ms=NOW)
    running = [first]
    done = [j.cancel(first, j.COMPLETED)[0]]
    assert j.enrol(journey, ANA, key="e2", now_ms=NOW, previous=running) == j.Refused(
        "already_enrolled"
    )
    assert j.enrol(journey, ANA, key="e2", now_ms=NOW, previous=done) == j.Refused("entered_before")
    every = parse_journey(campaign(step("s", "send_email"), reentry="every_time"))
    assert isinstance(j.enrol(every, ANA, key="e2", now_ms=NOW, previous=done), j.Enrolment)
    cool = parse_journey(
        campaign(step("s", "send_email"), reentry={"mode": "cooldown", "cooldown_s": DAY_S})
    )
    assert j.enrol(cool, ANA, key="e2", now_ms=NOW + DAY_MS - 1, previous=done) == j.Refused(
        "cooldown"
    )
    assert isinstance(j.enrol(cool, ANA, key="e2", now_ms=NOW + DAY_MS, previous=done), j.Enrolment)
    assert j.enrol(
        parse_journey({**campaign(), "status": "draft"}), ANA, key="x", now_ms=NOW
    ) == j.Refused("campaign_not_active")
    assert j.enrol(journey, ANA, key="e1", now_ms=NOW + 5).id == first.id  # same trigger, same id


def test_a_replay_from_a_state_saved_before_the_send_repeats_its_key_and_after_it_does_not():
    data = campaign(
        step("s1", "send_email"), step("w", "wait", duration_s=DAY_S), step("s2", "send_email")
    )
    before = start(data)
    after, actions = j.advance(before, data, NOW)
    replayed, again = j.advance(j.Enrolment.from_dict(before.to_dict()), data, NOW + 5)
    assert [a.key for a in again if isinstance(a, j.Send)] == [
        a.key for a in actions if isinstance(a, j.Send)
    ]
    _, later = j.advance(j.Enrolment.from_dict(after.to_dict()), data, NOW + 10)
    assert not [a for a in later if isinstance(a, j.Send)]


def test_a_moved_step_is_not_sent_twice_and_a_deleted_step_resumes_in_place():
    data = campaign(
        step("s1", "send_email"), step("w", "wait", duration_s=DAY_S), step("s2", "send_email")
    )
    state, _ = j.advance(start(data), data, NOW)
    moved = {**data, "steps": [data["steps"][1], data["steps"][0], data["steps"][2]]}
    _, actions = j.advance(state, moved, NOW + DAY_MS)
    assert [a.node_id for a in actions if isinstance(a, j.Send)] == ["s2"]
    deleted = {**data, "steps": [data["steps"][0], data["steps"][2]]}
    _, actions = j.advance(state, deleted, NOW + DAY_MS)
    assert [a.node_id for a in actions if isinstance(a, j.Send)] == ["s2"]


@pytest.mark.parametrize(
    ("steps", "fragment"),
    [
        (
            [step("a", "send_email"), step("b", "branch", condition=[], then="a")],
            "jumps go forward",
        ),
        ([step("a", "wait_for", event="open", timeout_s=5, then="zz")], "a step that is gone"),
        ([step("a", "send_email"), step("a", "send_email")], "used twice"),
        ([step("a", "teleport")], "kind must be one of"),
        ([step("a", "wait")], "give one of"),
        ([step("a", "wait", duration_s=5, until_local_time="09:00")], "give one of"),
        ([step("a", "split", weights=[1])], "2 to 26"),
        ([step("a", "split", weights=[1, 1], then=["x"])], "one step id"),
        ([step("a", "goal")], "a goal waits for one of"),
        ([step("a", "wait", days=1, minutes=5)], "has no setting 'minutes'"),
        ([step("a", "split", percent=50, weights=[1, 1])], "not both"),
        ([step("a", "wait", until_date_field={"field": "d", "at": "9am"})], "until_date_field.at"),
    ],
)
def test_bad_steps_are_refused_with_step_invalid(steps, fragment):
    with pytest.raises(AutomationError) as err:
        parse_journey(campaign(*steps))
    assert err.value.code == AutomationCode.STEP_INVALID
    assert fragment in err.value.message


@pytest.mark.parametrize(
    "fields",
    [
        {"holdout_pct": 95},
        {"reentry": "sometimes"},
        {"reentry": {"cooldown_s": -1}},
        {"quiet_hours": "late"},
    ],
)
def test_bad_settings_are_refused_with_guard_invalid(fields):
    with pytest.raises(AutomationError) as err:
        parse_journey(campaign(step("s", "send_email"), **fields))
    assert err.value.code == AutomationCode.GUARD_INVALID


def test_a_saved_state_that_is_not_readable_or_not_this_campaigns():
    with pytest.raises(AutomationError) as err:
        j.Enrolment.from_dict({"id": "x"})
    assert err.value.code == AutomationCode.STATE_INVALID
    data = campaign(step("s", "send_email"))
    stranger = j.Enrolment("e", "OTHER", ANA, NOW, NOW, "s", 0, NOW)
    with pytest.raises(AutomationError):
        j.advance(stranger, data, NOW)


def test_the_churn_prevention_story():
    """Send A/B, wait until opened or 3 days, branch, follow up, goal: conversion in 30 days."""
    data = campaign(
        step("hello", "send_email"),
        step(
            "opened", "wait_for", event="open", timeout_s=3 * DAY_S, then="warm", **{"else": "cold"}
        ),
        step("cold", "send_email", variants=["B"]),
        step(
            "warm",
            "branch",
            condition=[{"field": "events.click", "op": "gte", "value": 1}],
            then="goal",
        ),
        step("follow", "send_email", variants=["A"]),
        step("goal", "goal", event="conversion", within_s=30 * DAY_S, scope="any"),
        holdout_pct=10,
        reentry={"mode": "cooldown", "cooldown_s": 90 * DAY_S},
    )
    state = start(data, key="score-31")
    state, actions = j.advance(state, data, NOW)
    assert kinds(actions) == ["Send", "Schedule"]
    engaged = [event("open", NOW + 3600_000), event("click", NOW + 3700_000)]
    state, actions = j.advance(state, data, NOW + 3700_000, j.Facts(events=engaged))
    assert state.node == "goal" and kinds(actions) == ["Schedule"]
    booked = [*engaged, event("conversion", NOW + 2 * DAY_MS, campaign=None, value_cents=250_000)]
    state, actions = j.advance(state, data, NOW + 2 * DAY_MS, j.Facts(events=booked))
    assert actions == [j.Exit(j.GOAL_REACHED)]
