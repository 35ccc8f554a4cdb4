import pytest

from shared.automation.conditions import MISSING, compare, lookup, parse_conditions
from shared.automation.errors import AutomationCode, AutomationError

CODE = AutomationCode.TRIGGER_INVALID


@pytest.mark.parametrize(
    ("op", "actual", "want", "expected"),
    [
        ("eq", 31, 31.0, True),
        ("eq", 31, "31", True),  # the builder stores typed numbers as text
        ("eq", True, 1, False),  # booleans are not numbers
        ("ne", "a", "b", True),
        ("lt", 31, 35, True),
        ("lte", 35, "35", True),
        ("gt", "2026-06-01", "2026-05-31", True),  # ISO dates order as strings
        ("gte", 10, "ten", False),  # not comparable: false, not an error
        ("in", "venue", ["venue", "florist"], True),
        ("not_in", "venue", ["florist"], True),
        ("contains", ["a", "b"], "b", True),
        ("contains", "wedding fair", "fair", True),
        ("contains", 12, "1", False),
        ("exists", 0, True, True),
        ("exists", MISSING, False, True),
        ("at least", 50, "50", True),
        ("is not", "x", "y", True),
    ],
)
def test_compare(op, actual, want, expected):
    assert compare(op, actual, want) is expected


@pytest.mark.parametrize("op", ["eq", "lt", "lte", "gt", "gte", "in", "contains"])
def test_a_missing_field_fails_every_positive_test(op):
    assert compare(op, MISSING, [1] if op == "in" else 1) is False
    assert compare(op, None, [1] if op == "in" else 1) is False


def test_a_missing_field_is_not_equal_and_not_in():
    assert compare("ne", MISSING, 1) is True
    assert compare("not_in", None, [1]) is True
    assert compare("exists", MISSING, None) is False


def test_match_any_and_all():
    any_of = parse_conditions(
        {"match": "any", "rules": [{"field": "a", "op": "eq", "value": 1}, {"field": "b"}]},
        code=CODE,
        where="t",
    )
    values = {"a": 2, "b": MISSING}
    assert any_of.test(lambda p: values[p]) is False
    values["a"] = 1
    assert any_of.test(lambda p: values[p]) is True
    assert parse_conditions(None, code=CODE, where="t").test(lambda p: MISSING) is True


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"match": "most", "rules": []}, "match"),
        ([{"op": "eq"}], "needs a field"),
        ([{"field": "a", "op": "like"}], "op must be one of"),
        ([{"field": "a", "op": "in", "value": 3}], "list value"),
        ([{"field": "a", "op": "exists", "value": "yes"}], "true or false"),
        ("a == 1", "list of rules"),
    ],
)
def test_bad_conditions_are_refused_with_the_callers_code(raw, fragment):
    with pytest.raises(AutomationError) as err:
        parse_conditions(raw, code=CODE, where="trigger")
    assert err.value.code == CODE
    assert fragment in err.value.message


def test_lookup_follows_dots_and_treats_null_as_missing():
    data = {"a": {"b": 3, "c": None}}
    assert lookup(data, "a.b") == 3
    assert lookup(data, "a.c") is MISSING
    assert lookup(data, "a.b.x") is MISSING
