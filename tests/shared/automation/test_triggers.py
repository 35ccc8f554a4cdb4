from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shared.automation import triggers as t
from shared.automation.errors import AutomationCode, AutomationError
from shared.protocol.events import Event

DAY_MS = 86_400_000
NOW = 1_780_000_000_000  # 2026-05-28
CHURN = {"event": "health_score", "band": {"enter": ["at_risk", "critical"]}}


def ms(text: str, tz: str = "UTC") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def score(n: int, contact: str = "ana@example.com", at: int = NOW, eid: str | None = None):
    eid = eid or f"E{at}{n}"
    return {
        "id": eid,
        "kind": "health_score",
        "occurred_at_ms": at,
        "hlc": at << 16,
        "contact": contact,
        "payload": {"score": n},
    }


def fires(raw, event, **kw):
    kw.setdefault("now_ms", NOW)
    return t.match_event(t.parse_trigger(raw), event, **kw)


def test_event_trigger_matches_kind_fields_payload_and_contact():
    raw = {
        "event": "conversion",
        "conditions": [
            {"field": "payload.type", "op": "eq", "value": "new_booking"},
            {"field": "value_cents", "op": "gte", "value": 10_000},
            {"field": "contact.supplier_type", "op": "in", "value": ["venue", "florist"]},
        ],
    }
    event = Event(
        id="01J0000000000000000000000A",
        kind="conversion",
        occurred_at_ms=NOW - 1000,
        hlc=0,
        contact="ana@example.com",
        value_cents=25_000,
        payload={"type": "new_booking"},
    )
    contact = {"supplier_type": "venue"}
    assert fires(raw, event, contact=contact).reason == t.MATCHED
    assert fires(raw, event, contact={"supplier_type": "band"}).reason == t.CONDITIONS_NOT_MET
    assert fires({"event": "lead"}, event).reason == t.WRONG_KIND


def test_the_builders_trigger_form_is_understood():
    raw = {
        "event": "lead",
        "conditions": [{"field": "channel", "op": "is", "value": "wedding_fair"}],
    }
    lead = {
        "id": "L1",
        "kind": "lead",
        "occurred_at_ms": NOW,
        "contact": "a@x",
        "channel": "wedding_fair",
    }
    assert fires(raw, lead)
    assert not fires(raw, {**lead, "channel": "instagram"})


def test_a_bare_path_reads_the_event_then_the_payload_then_the_contact():
    fact = t.as_fact(
        {
            "id": "x",
            "kind": "lead",
            "occurred_at_ms": NOW,
            "channel": "email",
            "payload": {"city": "Bath"},
        }
    )
    contact = {"city": "York", "tier": "gold"}
    assert t.resolve_path(fact, contact, "channel") == "email"
    assert t.resolve_path(fact, contact, "city") == "Bath"
    assert t.resolve_path(fact, contact, "tier") == "gold"
    assert t.resolve_path(fact, contact, "contact.city") == "York"


def test_an_event_without_a_contact_never_triggers():
    assert (
        fires({"event": "lead"}, {"id": "x", "kind": "lead", "occurred_at_ms": NOW}).reason
        == t.NO_CONTACT
    )


def test_an_event_older_than_the_freshness_window_does_not_trigger():
    raw = {"event": "lead", "freshness_s": 3 * 86_400}
    lead = {"id": "L", "kind": "lead", "contact": "a@x", "occurred_at_ms": NOW - 3 * DAY_MS}
    assert fires(raw, lead).fired
    assert fires(raw, {**lead, "occurred_at_ms": NOW - 3 * DAY_MS - 1}).reason == t.STALE
    default_window = {"event": "lead"}
    assert fires(default_window, {**lead, "occurred_at_ms": NOW - 8 * DAY_MS}).reason == t.STALE


def test_health_score_entering_at_risk_or_critical_fires_churn_prevention():
    previous = score(72, at=NOW - 5 * DAY_MS)
    result = fires(CHURN, score(45), history=[previous])
    assert (result.fired, result.band, result.previous_band) == (True, "at_risk", "healthy")
    assert fires(CHURN, score(31), history=[previous]).band == "critical"  # below 35


def test_staying_in_a_band_is_not_entering_it():
    history = [score(45, at=NOW - DAY_MS)]
    assert fires(CHURN, score(40), history=history).reason == t.BAND_NOT_ENTERED
    # moving from at-risk down to critical is entering critical
    assert fires(CHURN, score(30), history=history).fired


def test_a_first_score_enters_its_band():
    assert fires(CHURN, score(31)).fired
    assert fires(CHURN, score(80)).reason == t.BAND_NOT_ENTERED


def test_band_thresholds_are_configurable_and_the_caller_may_give_the_previous_score():
    raw = {
        "event": "health_score",
        "band": {"enter": "critical", "at_risk_below": 60, "critical_below": 40},
    }
    assert fires(raw, score(39), previous_score=55).fired
    assert fires(raw, score(45), previous_score=80).reason == t.BAND_NOT_ENTERED


def test_score_31_then_70_does_not_start_churn_prevention():
    low, high = score(31, at=NOW - 2 * DAY_MS, eid="A"), score(70, at=NOW - DAY_MS, eid="B")
    history = [low, high]  # both synced at once, a week late: evaluated in any order
    assert fires(CHURN, low, history=history).reason == t.SUPERSEDED
    assert not fires(CHURN, high, history=history).fired


def test_a_later_score_in_the_same_band_does_not_supersede():
    first, second = score(45, at=NOW - 2 * DAY_MS, eid="A"), score(40, at=NOW - DAY_MS, eid="B")
    history = [score(80, at=NOW - 9 * DAY_MS, eid="0"), first, second]
    assert fires(CHURN, first, history=history).fired  # entered at-risk and still there
    assert fires(CHURN, second, history=history).reason == t.BAND_NOT_ENTERED


def test_45_then_31_starts_churn_prevention_once_from_the_critical_score():
    first, second = score(45, at=NOW - 2 * DAY_MS, eid="A"), score(31, at=NOW - DAY_MS, eid="B")
    history = [first, second]
    verdicts = [fires(CHURN, e, history=history) for e in history]
    assert [v.fired for v in verdicts] == [False, True]
    assert verdicts[1].band == "critical"


def test_later_means_the_larger_hybrid_clock_stamp_not_the_device_time():
    # a device with a slow clock captured the 70 after the 31 had synced
    low = {**score(31, eid="A"), "occurred_at_ms": NOW - 1000, "hlc": (NOW - 1000) << 16}
    high = {**score(70, eid="B"), "occurred_at_ms": NOW - 5000, "hlc": ((NOW - 1000) << 16) + 1}
    assert fires(CHURN, low, history=[low, high]).reason == t.SUPERSEDED


def test_supersession_is_off_for_facts_unless_asked():
    a = {"id": "A", "kind": "conversion", "contact": "c", "occurred_at_ms": NOW - 10}
    b = {**a, "id": "B", "occurred_at_ms": NOW}
    assert fires({"event": "conversion"}, a, history=[a, b]).fired
    assert (
        fires({"event": "conversion", "supersede": True}, a, history=[a, b]).reason == t.SUPERSEDED
    )


def test_a_score_event_without_a_score_is_reported():
    event = {**score(31), "payload": {}}
    assert fires(CHURN, event).reason == t.NO_SCORE


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ([], "must be a JSON object"),
        ({"event": "send"}, "the trigger fires on one of"),
        ({"event": "lead", "kind": "lead"}, "no setting 'kind'"),
        ({}, "needs an event kind"),
        ({"event": "lead", "freshness_s": 0}, "freshness_s"),
        ({"event": "health_score", "band": {"enter": ["sad"]}}, "band.enter"),
        (
            {"event": "health_score", "band": {"at_risk_below": 30, "critical_below": 40}},
            "critical_below",
        ),
        ({"event": "lead", "supersede": "yes"}, "supersede"),
        ({"date": {"field": "wedding_date", "at": "25:00"}}, "date.at"),
        ({"date": {"field": "wedding_date", "days_before": 3, "offset_days": 1}}, "give one of"),
        ({"date": {"field": "wedding_date"}, "event": "lead"}, "no event"),
    ],
)
def test_bad_triggers_are_refused_with_trigger_invalid(raw, fragment):
    with pytest.raises(AutomationError) as err:
        t.parse_trigger(raw)
    assert err.value.code == AutomationCode.TRIGGER_INVALID
    assert fragment in err.value.message


def test_90_days_before_the_wedding_at_nine_in_the_contacts_zone():
    rule = t.parse_trigger({"date": {"field": "wedding_date", "days_before": 90}}).date
    contact = {"wedding_date": "2026-09-12", "time_zone": "Europe/London"}
    assert t.fire_time_ms(rule, contact) == ms("2026-06-14T09:00", "Europe/London")
    # the same date for a couple in Sydney fires at their nine o'clock, hours earlier in UTC
    sydney = {**contact, "time_zone": "Australia/Sydney"}
    assert t.fire_time_ms(rule, sydney) == ms("2026-06-14T09:00", "Australia/Sydney")


def test_a_contact_without_the_date_or_with_a_bad_zone():
    rule = t.DateRule("wedding_date")
    assert t.fire_time_ms(rule, {}) is None
    assert t.fire_time_ms(rule, {"wedding_date": "next summer"}) is None
    bad_zone = {"wedding_date": "2026-09-12", "time_zone": "Mars/Olympus"}
    assert t.fire_time_ms(rule, bad_zone, default_tz="Europe/Paris") == ms(
        "2026-09-12T09:00", "Europe/Paris"
    )


def test_a_datetime_field_is_read_as_the_contacts_local_date():
    rule = t.DateRule("signup", offset_days=1, at=datetime.strptime("08:30", "%H:%M").time())
    # 23:30 UTC on 1 March is already 2 March in Auckland
    contact = {"signup": "2026-03-01T23:30:00Z", "time_zone": "Pacific/Auckland"}
    assert t.fire_time_ms(rule, contact) == ms("2026-03-03T08:30", "Pacific/Auckland")


def test_a_yearly_rule_finds_the_next_anniversary_and_a_one_off_rule_fires_once():
    contact = {"wedding_date": "2020-02-29"}
    yearly = t.DateRule("wedding_date", offset_days=-7, yearly=True)
    after = ms("2027-01-01T00:00")
    assert t.fire_time_ms(yearly, contact, after_ms=after) == ms("2027-02-21T09:00")  # 28 Feb - 7
    once = t.DateRule("wedding_date", offset_days=-7)
    assert t.fire_time_ms(once, contact, after_ms=after) is None


def test_a_firing_in_a_skipped_hour_lands_after_the_clock_change():
    rule = t.DateRule("day", at=datetime.strptime("02:30", "%H:%M").time())
    contact = {"day": "2026-03-29", "time_zone": "Europe/London"}  # clocks go forward at 01:00 UTC
    assert t.fire_time_ms(rule, contact) == int(
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC).timestamp() * 1000
    )


def test_due_fire_applies_the_freshness_window_and_gives_one_key_per_firing():
    trig = t.parse_trigger(
        {"date": {"field": "wedding_date", "days_before": 90}, "freshness_s": 86_400}
    )
    contact = {"wedding_date": "2026-09-12"}
    fire = ms("2026-06-14T09:00")
    assert t.due_fire_ms(trig, contact, now_ms=fire - 1) is None
    assert t.due_fire_ms(trig, contact, now_ms=fire + 3600_000) == fire
    assert t.due_fire_ms(trig, contact, now_ms=fire + 2 * DAY_MS) is None  # imported too late
    assert t.date_key(fire) == f"date:{fire}"


def test_due_fire_checks_the_contact_conditions():
    trig = t.parse_trigger(
        {
            "date": {"field": "wedding_date"},
            "conditions": [{"field": "contact.plan", "op": "eq", "value": "premium"}],
        }
    )
    fire = ms("2026-09-12T09:00")
    assert (
        t.due_fire_ms(trig, {"wedding_date": "2026-09-12", "plan": "premium"}, now_ms=fire) == fire
    )
    assert t.due_fire_ms(trig, {"wedding_date": "2026-09-12", "plan": "basic"}, now_ms=fire) is None


def test_an_event_dict_from_to_dict_is_read_with_its_iso_time():
    event = Event("01J0000000000000000000000A", "lead", NOW, NOW << 16, contact="a@x")
    assert fires({"event": "lead"}, event.to_dict()).fired
