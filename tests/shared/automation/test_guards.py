from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shared.automation import guards as g
from shared.automation.errors import AutomationCode, AutomationError

DAY_MS = 86_400_000
LONDON = ZoneInfo("Europe/London")


def at(text: str, tz: ZoneInfo = LONDON) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=tz).timestamp() * 1000)


def test_suppression_reasons_from_fields_and_from_the_list():
    assert g.suppression_reason({}) is None
    assert g.suppression_reason({"unsubscribed": True}) == "unsubscribed"
    assert g.suppression_reason({"do_not_contact": True}, {"bounced"}) == "bounced"
    assert g.suppression_reason({"complained": "yes"}) is None  # only a real true counts
    assert g.suppression_reason(None, {"spam_trap"}) == "spam_trap"


def test_the_cap_counts_sends_in_the_window_across_campaigns():
    cap = g.parse_frequency_cap({"max_sends": 2, "per_days": 7})
    now = at("2026-06-10T12:00")
    sends = [now - 8 * DAY_MS, now - 6 * DAY_MS, now - DAY_MS]
    assert g.capped_by([cap], sends, now_ms=now) == cap
    # a week after the first of the two, one slot opens again
    assert g.capped_by([cap], sends, now_ms=now - 6 * DAY_MS + 7 * DAY_MS) is None
    assert g.capped_by([cap], sends, now_ms=now, channel="sms") is None


def test_a_zero_or_empty_cap_is_no_cap_and_bad_caps_are_refused():
    assert g.parse_frequency_cap({"max_sends": 0, "per_days": 7}) is None
    assert g.parse_frequency_cap(None) is None
    assert g.parse_frequency_cap({"max_sends": 3, "per_s": 3600}) == g.FrequencyCap(3, 3600)
    for bad in ({"max_sends": -1}, {"max_sends": 1, "per_days": 0}, "3 a week"):
        with pytest.raises(AutomationError) as err:
            g.parse_frequency_cap(bad)
        assert err.value.code == AutomationCode.GUARD_INVALID


def test_quiet_hours_wrap_midnight_and_release_at_the_end():
    quiet = g.parse_quiet_hours("21:00-08:00")
    assert g.in_quiet_hours(quiet, LONDON, at("2026-06-10T22:15"))
    assert g.in_quiet_hours(quiet, LONDON, at("2026-06-10T07:59"))
    assert not g.in_quiet_hours(quiet, LONDON, at("2026-06-10T08:00"))
    assert g.next_allowed_ms(quiet, LONDON, at("2026-06-10T22:15")) == at("2026-06-11T08:00")
    assert g.next_allowed_ms(quiet, LONDON, at("2026-06-10T03:00")) == at("2026-06-10T08:00")
    noon = at("2026-06-10T12:00")
    assert g.next_allowed_ms(quiet, LONDON, noon) == noon


def test_quiet_hours_are_in_the_contacts_zone():
    quiet = g.parse_quiet_hours({"start": "21:00", "end": "08:00"})
    tokyo = ZoneInfo("Asia/Tokyo")
    moment = at("2026-06-10T14:00")  # 22:00 in Tokyo
    assert not g.in_quiet_hours(quiet, LONDON, moment)
    assert g.next_allowed_ms(quiet, tokyo, moment) == at("2026-06-11T08:00", tokyo)


def test_quiet_hours_across_a_clock_change():
    quiet = g.parse_quiet_hours("00:30-01:30")
    # 25 October 2026: 01:00-02:00 BST happens, then 01:00-02:00 GMT happens again
    second_pass = at("2026-10-25T01:10") + 3600_000  # 01:10 GMT, the second time round
    allowed = g.next_allowed_ms(quiet, LONDON, second_pass)
    assert allowed > second_pass
    assert not g.in_quiet_hours(quiet, LONDON, allowed)
    assert allowed - second_pass == 20 * 60_000


def test_empty_quiet_hours_are_none_and_bad_or_equal_ones_refused():
    assert g.parse_quiet_hours("") is None
    with pytest.raises(AutomationError, match="different times"):
        g.parse_quiet_hours("09:00-09:00")
    for bad in ("21-08", "25:00-08:00", 2100):
        with pytest.raises(AutomationError) as err:
            g.parse_quiet_hours(bad)
        assert err.value.code == AutomationCode.GUARD_INVALID
