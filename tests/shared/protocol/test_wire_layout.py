"""The event wire array has one layout, named once: every index constant finds its field."""

import dataclasses

from shared.protocol import events
from shared.protocol.events import WIRE_FIELDS, WIRE_INDEX, Event, event_from_row


def test_each_index_constant_names_its_field_in_a_wire_array():
    event = Event(
        "01J0000000000000000000000A",
        "conversion",
        1_700_000_000_000,
        7,
        contact="ana@x.test",
        campaign="01J0000000000000000000000B",
        channel="email",
        value_cents=1250,
        payload={"type": "booking"},
    )
    wire = event.to_wire()
    for name in WIRE_FIELDS:
        index = getattr(events, f"WIRE_{name.upper()}")
        assert index == WIRE_INDEX[name]
        assert wire[index] == getattr(event, name), name
    assert event_from_row(wire) == event


def test_the_event_fields_are_in_wire_order():
    assert tuple(f.name for f in dataclasses.fields(Event)) == WIRE_FIELDS
    assert sorted(WIRE_INDEX.values()) == list(range(len(WIRE_FIELDS)))
