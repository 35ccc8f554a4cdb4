"""Properties of the journey interpreter and the guards, over random journeys and schedules."""

from __future__ import annotations

import heapq
import json
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.automation import journey as j
from shared.automation.errors import AutomationError
from shared.automation.guards import in_quiet_hours, parse_frequency_cap, parse_quiet_hours
from shared.automation.steps import parse_journey

from .conftest import CAMPAIGN, DAY_S, NOW, campaign, event, step

ZONES = ("UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Pacific/Auckland")
QUIET = ("", "21:00-08:00", "12:00-13:30", "00:00-06:00", "22:30-23:00")
HOUR_MS = 3_600_000
#: Clock changes in 2026 (UTC ms): London and New York, forward and back.
CLOCK_CHANGES = (1_774_746_000_000, 1_792_890_000_000, 1_772_953_200_000, 1_793_512_800_000)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def journeys(draw, kinds=("send_email", "wait", "wait_for", "branch", "split", "goal")):
    n = draw(st.integers(1, 8))
    ids = [f"n{i}" for i in range(n)]
    steps = []
    for i in range(n):
        later = st.one_of(st.none(), st.sampled_from(ids[i + 1 :])) if i + 1 < n else st.none()
        kind = draw(st.sampled_from(kinds))
        if kind == "send_email":
            config = {}
        elif kind == "wait":
            config = draw(
                st.one_of(
                    st.builds(lambda s: {"duration_s": s}, st.integers(0, 3 * DAY_S)),
                    st.builds(
                        lambda t: {"until_local_time": t},
                        st.sampled_from(["09:00", "18:30", "02:30"]),
                    ),
                )
            )
        elif kind == "wait_for":
            config = {
                "event": "open",
                "timeout_s": draw(st.integers(1, 3 * DAY_S)),
                "then": draw(later),
                "else": draw(later),
            }
        elif kind == "branch":
            condition = [{"field": "events.click", "op": "gte", "value": 1}]
            config = {"condition": condition, "then": draw(later), "else": draw(later)}
        elif kind == "split":
            config = {"weights": [1, 2], "then": [draw(later), draw(later)]}
        else:
            config = {
                "event": "conversion",
                "within_s": draw(st.integers(3600, 10 * DAY_S)),
                "scope": "any",
            }
        steps.append(step(ids[i], kind, **config))
    return campaign(
        *steps,
        quiet_hours=draw(st.sampled_from(QUIET)),
        holdout_pct=draw(st.sampled_from([0, 50])),
    )


inputs = st.lists(
    st.tuples(
        st.integers(0, 2 * DAY_S * 1000),  # time to the next advance
        st.sampled_from([None, "open", "click", "conversion"]),  # an event that happened meanwhile
        st.booleans(),  # whether an edit reordered the campaign's steps meanwhile
    ),
    min_size=1,
    max_size=25,
)


def _run(state, data, start_ms, steps, facts_events, zone):
    """Advance through ``steps`` (the world after a saved state); return the saved states and
    every action, in order."""
    now, events, saved, actions = start_ms, list(facts_events), [], []
    for delta, kind, reorder in steps:
        now += delta
        if kind is not None:
            events.append(event(kind, now - delta // 2, id=f"{kind}-{len(events)}"))
        if reorder and state.node is not None:
            # a live edit moves the step the contact waits on to the front: the steps it
            # already passed (its sends among them) now lie ahead of it
            here = [s for s in data["steps"] if s["id"] == state.node]
            edited = {**data, "steps": here + [s for s in data["steps"] if s["id"] != state.node]}
            try:
                parse_journey(edited)
                data = edited
            except AutomationError:
                pass  # a reorder that would jump backwards is refused by validation
        facts = j.Facts(contact={"time_zone": zone}, events=events)
        state, out = j.advance(state, data, now, facts)
        assert all(a.due_ms is None or a.due_ms > now for a in out if isinstance(a, j.Schedule))
        saved.append((state, now, list(events), data))
        actions.extend(out)
        if state.status == j.EXITED:
            break
    return saved, actions


@PROPERTY
@given(
    data=journeys(),
    world=inputs,
    replays=st.lists(inputs, min_size=1, max_size=3),
    zone=st.sampled_from(ZONES),
)
def test_no_two_sends_share_a_key_when_replayed_from_any_saved_state(data, world, replays, zone):
    first = j.enrol(parse_journey(data), "ana@example.com", key="t", now_ms=NOW)
    saved, actions = _run(first, data, NOW, world, [], zone)
    keys = [a.key for a in actions if isinstance(a, j.Send | j.Skip)]
    assert len(keys) == len(set(keys))
    for state, now, events, edited in [(first, NOW, [], data), *saved]:
        restored = j.Enrolment.from_dict(json.loads(json.dumps(state.to_dict())))
        assert restored == state
        already = {j.send_key(state.id, node) for node in state.done}
        for other_world in replays:  # after a crash the world may go on differently
            _, again = _run(restored, edited, now, other_world, events, zone)
            replayed = [a.key for a in again if isinstance(a, j.Send | j.Skip)]
            assert len(replayed) == len(set(replayed))
            assert not already & set(replayed)


@st.composite
def worlds(draw):
    n_campaigns = draw(st.integers(1, 4))
    campaigns = []
    for c in range(n_campaigns):
        data = draw(journeys(kinds=("send_email", "send_email", "wait", "split")))
        cap = draw(
            st.sampled_from(
                [None, {"max_sends": 1, "per_days": 1}, {"max_sends": 2, "per_days": 7}]
            )
        )
        data.update(id=f"{CAMPAIGN[:-1]}{c}", frequency_cap=cap, holdout_pct=0)
        campaigns.append(data)
    contacts = {
        f"c{i}@example.com": {
            "zone": draw(st.sampled_from(ZONES)),
            "unsubscribed_at": draw(st.one_of(st.none(), st.integers(NOW, NOW + 5 * DAY_S * 1000))),
        }
        for i in range(draw(st.integers(1, 3)))
    }
    entries = [
        (draw(st.integers(NOW, NOW + 3 * DAY_S * 1000)), contact, c)
        for contact in contacts
        for c in range(n_campaigns)
        if draw(st.booleans())
    ]
    org_cap = draw(st.sampled_from([None, {"max_sends": 3, "per_days": 2}]))
    return campaigns, contacts, entries, org_cap


@PROPERTY
@given(world=worlds())
def test_cap_quiet_hours_and_suppression_are_never_violated(world):
    campaigns, contacts, entries, org_cap_raw = world
    org_caps = [parse_frequency_cap(org_cap_raw)] if org_cap_raw else []
    queue = []
    for seq, (at_ms, contact, c) in enumerate(entries):
        state = j.enrol(parse_journey(campaigns[c]), contact, key=f"t{seq}", now_ms=at_ms)
        heapq.heappush(queue, (at_ms, seq, state))
    ledger: dict[str, list[int]] = {c: [] for c in contacts}
    sent = []
    seq = len(entries)
    while queue:
        now, _, state = heapq.heappop(queue)
        info = contacts[state.contact]
        unsubscribed = info["unsubscribed_at"] is not None and now >= info["unsubscribed_at"]
        facts = j.Facts(
            contact={"time_zone": info["zone"]},
            suppressions={"unsubscribed"} if unsubscribed else (),
            sends_ms=list(ledger[state.contact]),
            org_caps=org_caps,
        )
        c = next(i for i, d in enumerate(campaigns) if d["id"] == state.campaign_id)
        state, actions = j.advance(state, campaigns[c], now, facts)
        for action in actions:
            if isinstance(action, j.Send):
                sent.append((now, state.contact, c, list(ledger[state.contact])))
                ledger[state.contact].append(now)
            elif isinstance(action, j.Schedule):
                assert action.due_ms is not None and action.due_ms > now
                seq += 1
                heapq.heappush(queue, (action.due_ms, seq, state))
    for at_ms, contact, c, before in sent:
        info = contacts[contact]
        assert info["unsubscribed_at"] is None or at_ms < info["unsubscribed_at"]
        quiet = parse_quiet_hours(campaigns[c]["quiet_hours"])
        assert not in_quiet_hours(quiet, ZoneInfo(info["zone"]), at_ms)
        cap = parse_frequency_cap(campaigns[c]["frequency_cap"])
        for limit in [cap, *org_caps]:
            if limit is not None:
                recent = [t for t in before if at_ms - limit.per_s * 1000 < t <= at_ms]
                assert len(recent) < limit.max_sends
    if org_caps:  # every window of the org cap's length holds at most max_sends
        limit = org_caps[0]
        for times in ledger.values():
            for t in times:
                assert sum(1 for u in times if t <= u < t + limit.per_s * 1000) <= limit.max_sends


@PROPERTY
@given(
    quiet=st.sampled_from(QUIET[1:] + ("01:00-02:00", "00:30-01:30", "02:15-03:05")),
    zone=st.sampled_from(ZONES),
    now=st.one_of(
        st.integers(NOW - 400 * DAY_S * 1000, NOW + 400 * DAY_S * 1000),
        st.builds(
            lambda t, d: t + d,
            st.sampled_from(CLOCK_CHANGES),
            st.integers(-6 * HOUR_MS, 6 * HOUR_MS),
        ),
    ),
)
def test_the_next_allowed_time_is_outside_quiet_hours_and_within_a_day(quiet, zone, now):
    from shared.automation.guards import next_allowed_ms

    window, tz = parse_quiet_hours(quiet), ZoneInfo(zone)
    allowed = next_allowed_ms(window, tz, now)
    assert allowed >= now and not in_quiet_hours(window, tz, allowed)
    assert allowed - now <= 26 * HOUR_MS
    assert (allowed == now) == (not in_quiet_hours(window, tz, now))
