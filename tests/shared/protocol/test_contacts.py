"""Contact merge: last writer wins per field, whatever the order and however often writes arrive."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.protocol.contacts import merge_fields


@dataclass(frozen=True)
class Write:
    fields: dict[str, Any]
    hlc: int
    device_id: str


Contact = tuple[dict[str, Any], dict[str, Any]]  # (fields, clocks)

writes = st.lists(
    st.builds(
        Write,
        fields=st.dictionaries(
            st.sampled_from(["name", "phone", "role", "segments"]),
            st.one_of(st.integers(), st.text(max_size=3), st.none()),
            max_size=4,
        ),
        hlc=st.integers(min_value=0, max_value=20),
        device_id=st.sampled_from(["dev-a", "dev-b", "dev-c"]),
    ),
    max_size=8,
    unique_by=lambda w: (w.hlc, w.device_id),  # a device stamps each of its writes anew
)


def apply(ws: list[Write], start: Contact | None = None) -> Contact:
    current, clocks = copy.deepcopy(start) if start else ({}, {})
    for w in ws:
        merge_fields(current, clocks, w.fields, hlc=w.hlc, device_id=w.device_id)
    return current, clocks


def join(a: Contact, b: Contact) -> Contact:
    """Merge contact ``b`` into a copy of ``a``, one field (and its own stamp) at a time."""
    current, clocks = copy.deepcopy(a)
    for key, (hlc, device_id) in b[1].items():
        merge_fields(current, clocks, {key: b[0][key]}, hlc=hlc, device_id=device_id)
    return current, clocks


@given(writes, st.randoms())
def test_writes_in_any_order_give_the_same_contact(ws, rnd):
    shuffled = list(ws)
    rnd.shuffle(shuffled)
    assert apply(shuffled) == apply(ws)


@given(writes)
def test_each_field_holds_the_value_of_its_latest_write(ws):
    fields, clocks = apply(ws)
    for key in {k for w in ws for k in w.fields}:
        latest = max((w for w in ws if key in w.fields), key=lambda w: (w.hlc, w.device_id))
        assert fields[key] == latest.fields[key]
        assert clocks[key] == [latest.hlc, latest.device_id]
    assert set(fields) == set(clocks)


@given(writes)
def test_a_write_taken_in_twice_changes_nothing_the_second_time(ws):
    once = apply(ws)
    again = copy.deepcopy(once)
    for w in ws:
        assert not merge_fields(*again, w.fields, hlc=w.hlc, device_id=w.device_id)
    assert again == once


def _three_ways(ws: list[Write]) -> st.SearchStrategy[tuple[list[Write], ...]]:
    cuts = st.lists(st.integers(0, len(ws)), min_size=2, max_size=2).map(sorted)
    return cuts.map(lambda c: (ws[: c[0]], ws[c[0] : c[1]], ws[c[1] :]))


@given(writes.flatmap(_three_ways))
def test_merging_contacts_is_commutative_associative_and_idempotent(parts):
    ws_a, ws_b, ws_c = parts  # three replicas' writes; no stamp is in two of them
    a, b, c = apply(ws_a), apply(ws_b), apply(ws_c)
    assert join(a, b) == join(b, a)
    assert join(join(a, b), c) == join(a, join(b, c))
    assert join(a, a) == a
    assert join(a, b) == apply(ws_a + ws_b)


def test_an_older_write_loses_and_reports_no_change():
    fields, clocks = {}, {}
    assert merge_fields(fields, clocks, {"name": "Ana"}, hlc=5, device_id="dev-b")
    assert not merge_fields(fields, clocks, {"name": "Anna"}, hlc=4, device_id="dev-z")
    assert merge_fields(fields, clocks, {"name": "Anne"}, hlc=5, device_id="dev-c")  # tie: device
    assert fields == {"name": "Anne"} and clocks == {"name": [5, "dev-c"]}
