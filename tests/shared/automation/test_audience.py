"""Audiences: named segments, rules over contact fields, everyone when none is chosen."""

from __future__ import annotations

import pytest

from shared.automation import AutomationError, parse_audience
from shared.automation.errors import AutomationCode


def test_no_audience_is_everyone_and_a_named_segment_is_listed_in_the_contact():
    assert parse_audience(None).matches({})
    vip = parse_audience("vip")
    assert vip.matches({"segments": ["vip", "north"]})
    assert vip.matches({"segments": "north, vip"})
    assert not vip.matches({"segments": ["north"]}) and not vip.matches({})


def test_rules_over_contact_fields_compare_as_the_engine_does():
    active = parse_audience(
        {
            "match": "all",
            "rules": [
                {"field": "role", "op": "eq", "value": "supplier"},
                {"field": "contact.days_since_active", "op": "lte", "value": 90},
            ],
        }
    )
    assert active.matches({"role": "supplier", "days_since_active": "30"})  # typed as text
    assert not active.matches({"role": "supplier", "days_since_active": 120})
    assert not active.matches({"role": "supplier"})  # a missing field never satisfies lte


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"all": []}, None, "no setting 'all'"),
        ({"match": "most", "rules": []}, None, "'all' or 'any'"),
        ({"rules": [{"field": "role", "op": "in", "value": "x"}]}, "rules[0]", "list value"),
        ("", None, "1 to 100 characters"),
        (7, None, "JSON object"),
    ],
)
def test_bad_audiences_name_the_rule_at_fault(raw, field, fragment):
    with pytest.raises(AutomationError) as err:
        parse_audience(raw)
    assert err.value.code == AutomationCode.AUDIENCE_INVALID
    assert err.value.field == field and fragment in err.value.message
