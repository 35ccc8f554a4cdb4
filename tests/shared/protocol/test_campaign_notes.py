"""Notes are entries (author, time, text) appended to the campaign document: concurrent
additions stay separate, every replica shows them in the same order, and a document written
when notes were one text still opens. The description keeps merging by character."""

from __future__ import annotations

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.protocol import campaign as schema
from shared.protocol.errors import ProtocolError


def _fork(doc: pycrdt.Doc, client_id: int) -> pycrdt.Doc:
    return schema.doc_from_state(doc.get_update(), client_id=client_id)


def _exchange(*docs: pycrdt.Doc) -> None:
    updates = [d.get_update() for d in docs]
    for d in docs:
        for u in updates:
            d.apply_update(u)


def test_two_planners_adding_notes_offline_get_two_entries():
    base = schema.new_doc(client_id=1)
    with base.transaction():
        schema.set_field(base, "name", "Autumn fair")
    anna, mia = _fork(base, 2), _fork(base, 3)
    with anna.transaction():
        schema.add_note(anna, text="book stand 14", author="anna@x.test", at_ms=1_000)
    with mia.transaction():
        schema.add_note(mia, text="bring brochures", author="mia@x.test", at_ms=2_000)
    _exchange(anna, mia)

    notes = schema.snapshot(anna)["notes"]
    assert [(n["author"], n["at_ms"], n["text"]) for n in notes] == [
        ("anna@x.test", 1_000, "book stand 14"),
        ("mia@x.test", 2_000, "bring brochures"),
    ]
    assert schema.snapshot(mia)["notes"] == notes


def test_the_description_still_merges_by_character():
    base = schema.new_doc(client_id=1)
    with base.transaction():
        schema.set_field(base, "description", "Invite couples to the barn.")
    anna, mia = _fork(base, 2), _fork(base, 3)
    with anna.transaction():
        schema.set_field(anna, "description", "Invite couples to the barn in May.")
    with mia.transaction():
        schema.set_field(mia, "description", "Warmly invite couples to the barn.")
    _exchange(anna, mia)
    assert schema.snapshot(anna)["description"] == "Warmly invite couples to the barn in May."


def test_a_document_with_notes_as_one_text_opens_with_that_text_as_the_first_entry():
    old = pycrdt.Doc(client_id=5)  # as earlier versions wrote it: a Text root named "notes"
    with old.transaction():
        old.get("name", type=pycrdt.Text).insert(0, "Spring open day")
        old.get("notes", type=pycrdt.Text).insert(0, "Anna: book stand 14Mia: bring brochures")
    doc = schema.doc_from_state(old.get_update())
    with doc.transaction():
        schema.add_note(doc, text="confirmed", author="ben@x.test", at_ms=3_000)
    snap = schema.snapshot(doc)
    assert snap["name"] == "Spring open day"
    assert [(n["id"], n["author"], n["text"]) for n in snap["notes"]] == [
        ("legacy", None, "Anna: book stand 14Mia: bring brochures"),
        (snap["notes"][1]["id"], "ben@x.test", "confirmed"),
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: schema.add_note(d, text="  ", author="a", at_ms=1), "needs some text"),
        (lambda d: schema.add_note(d, text="x" * 10_001, author="a", at_ms=1), "at most"),
        (lambda d: schema.add_note(d, text="x", author="a", at_ms=-1), "epoch milliseconds"),
        (lambda d: schema.set_field(d, "notes", "one text"), "separate entries"),
    ],
)
def test_malformed_notes_are_refused_saying_why(call, message):
    doc = schema.new_doc()
    with pytest.raises(ProtocolError) as refused, doc.transaction():
        call(doc)
    assert message in refused.value.message


@settings(max_examples=40, deadline=None)
@given(
    notes=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10), st.text(min_size=1, max_size=12)),
        max_size=12,
    ),
    order=st.permutations(range(4)),
)
def test_replicas_converge_on_every_note_exactly_once_in_one_order(notes, order):
    base = schema.new_doc(client_id=1)
    replicas = [_fork(base, 10 + i) for i in range(4)]
    added = []
    for who, at, text in notes:
        if not text.strip():
            continue
        with replicas[who].transaction():
            note_id = schema.add_note(replicas[who], text=text, author=f"p{who}", at_ms=at)
        added.append((note_id, text.strip()))
    # each replica receives the others' updates in its own order
    updates = [r.get_update() for r in replicas]
    for i, replica in enumerate(replicas):
        for j in order[i:] + order[:i]:
            replica.apply_update(updates[j])
    seen = [schema.snapshot(r)["notes"] for r in replicas]
    assert all(s == seen[0] for s in seen)
    assert sorted((n["id"], n["text"]) for n in seen[0]) == sorted(added)
