"""The ``spend`` kind: its rules on the wire (the column-wise fast paths agree with the
per-event check), and what a person types turned into its fields or refused with a code."""

from datetime import date

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.protocol import messages as m
from shared.protocol.errors import ErrorCode, ProtocolError
from shared.protocol.events import event_from_row, event_from_wire, validate_batch
from shared.protocol.ids import new_id
from shared.protocol.kinds import EVENT_CLASSES, LATER_KINDS, MARKETING
from shared.protocol.spend import (
    BAD_AMOUNT,
    BAD_CHANNEL,
    BAD_DATE,
    BAD_NOTE,
    BAD_PERIOD,
    SpendError,
    spend_fields,
    spend_period,
)

TODAY = date(2026, 11, 30)
MAY_1 = 1_777_593_600_000  # 2026-05-01T00:00:00Z


def wire(**over):
    fields = {
        "contact": None,
        "campaign": None,
        "channel": "wedding_fair",
        "value_cents": 120_000,
        "payload": {"days": 31, "note": "Harrogate fair stand"},
    }
    fields.update(over)
    return [
        new_id(),
        "spend",
        MAY_1,
        MAY_1 << 16,
        fields["contact"],
        fields["campaign"],
        fields["channel"],
        fields["value_cents"],
        fields["payload"],
    ]


def test_spend_is_a_later_marketing_kind():
    assert EVENT_CLASSES["spend"] == MARKETING and "spend" in LATER_KINDS


def test_cli_fields_make_a_valid_event():
    fields = spend_fields(
        channel="wedding_fair",
        amount="1200",
        from_day="2026-05-01",
        to_day="2026-05-31",
        note="stand",
        today=TODAY,
    )
    assert fields["value_cents"] == 120_000 and fields["occurred_at_ms"] == MAY_1
    assert fields["payload"] == {"days": 31, "note": "stand"}
    assert spend_period(MAY_1, 31) == ("2026-05-01", "2026-05-31")
    one_day = spend_fields(
        channel="paid_search",
        amount="0.05",
        from_day="2026-05-01",
        to_day="2026-05-01",
        today=TODAY,
    )
    assert one_day["value_cents"] == 5 and one_day["payload"] == {"days": 1}


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"amount": "0"}, BAD_AMOUNT),
        ({"amount": "-5"}, BAD_AMOUNT),
        ({"amount": "12.345"}, BAD_AMOUNT),
        ({"amount": "nan"}, BAD_AMOUNT),
        ({"amount": "1e3"}, BAD_AMOUNT),
        ({"amount": "£1200"}, BAD_AMOUNT),
        ({"channel": "Wedding Fair"}, BAD_CHANNEL),
        ({"channel": "tv > radio"}, BAD_CHANNEL),
        ({"channel": ""}, BAD_CHANNEL),
        ({"from_day": "2026-05-31", "to_day": "2026-05-01"}, BAD_PERIOD),
        ({"from_day": "2025-01-01", "to_day": "2026-05-01"}, BAD_PERIOD),
        ({"from_day": "01/05/2026"}, BAD_DATE),
        ({"from_day": "2026-02-30"}, BAD_DATE),
        ({"from_day": "1999-12-31"}, BAD_DATE),
        ({"from_day": "2026-12-01", "to_day": "2026-12-31"}, BAD_DATE),  # after today
        ({"note": "x" * 501}, BAD_NOTE),
    ],
)
def test_bad_input_is_refused_with_its_code(over, code):
    given_fields = {
        "channel": "wedding_fair",
        "amount": "1200",
        "from_day": "2026-05-01",
        "to_day": "2026-05-31",
        "today": TODAY,
    }
    given_fields.update(over)
    with pytest.raises(SpendError) as refused:
        spend_fields(**given_fields)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("over", "says"),
    [
        ({"channel": None}, "bad_channel"),
        ({"value_cents": 0}, "bad_amount"),
        ({"value_cents": -100}, "bad_amount"),
        ({"value_cents": None}, "bad_amount"),
        ({"contact": "ann@example.com"}, "bad_spend"),
        ({"payload": None}, "bad_period"),
        ({"payload": {"days": 0}}, "bad_period"),
        ({"payload": {"days": 400}}, "bad_period"),
        ({"payload": {"days": 2.5}}, "bad_period"),
        ({"payload": {"days": True}}, "bad_period"),
        ({"payload": {"days": 3, "note": 7}}, "bad_note"),
    ],
)
def test_the_wire_refuses_a_bad_spend_in_every_path(over, says):
    bad = wire(**over)
    with pytest.raises(ProtocolError) as refused:
        event_from_wire(bad)
    assert refused.value.code == ErrorCode.BAD_EVENT and says in refused.value.message
    # the batch paths (column-wise, then typed decode) refuse it too, naming the event
    good = wire()
    with pytest.raises(ProtocolError) as refused:
        validate_batch([good, bad], MARKETING)
    assert "event 1" in refused.value.message and says in refused.value.message
    frame = m.push_events_raw(1, MARKETING, [msgpack.packb(e) for e in (good, bad)])
    with pytest.raises(ProtocolError) as refused:
        m.decode_frame(frame)
    assert says in refused.value.message


@given(
    channel=st.sampled_from(["wedding_fair", "paid_search", "instagram"]),
    cents=st.integers(1, 10**13),
    days=st.integers(1, 366),
    note=st.one_of(st.none(), st.text(max_size=500)),
    campaign=st.one_of(st.none(), st.builds(new_id)),
)
def test_a_valid_spend_survives_the_wire(channel, cents, days, note, campaign):
    payload = {"days": days} if note is None else {"days": days, "note": note}
    item = wire(channel=channel, value_cents=cents, payload=payload, campaign=campaign)
    frame = m.decode_frame(m.push_events_raw(3, MARKETING, [msgpack.packb(item)]))
    (row,) = frame["events"]
    assert event_from_row(row) == event_from_wire(item)
    assert validate_batch([item], MARKETING) == [item]


def test_welcome_lists_the_later_kinds_and_an_older_one_lists_none():
    welcome = m.decode_frame(
        m.welcome(device_id="d", org="o", role="admin", user="u", server_time_ms=MAY_1)
    )
    assert welcome["ek"] == ["spend"] and m.later_kinds_of(welcome) == {"spend"}
    older = {"t": m.MsgType.WELCOME, "v": 2, "device": "d"}
    assert m.later_kinds_of(older) == frozenset()
    # names this app does not know are not taken for ones it does
    assert m.later_kinds_of({**older, "ek": ["spend", "future_kind", 3]}) == {"spend"}
