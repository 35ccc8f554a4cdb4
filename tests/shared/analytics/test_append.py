"""``EventFrame.append`` equals building the frame from all the rows, and a frame does not depend
on the order its rows were given in."""

import dataclasses

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.analytics import EventFrame
from shared.analytics.report import build_roi_report
from shared.analytics.synthetic import generate

NAMES = [f"p{i}@x" for i in range(4)]
KINDS = [
    "contact",
    "contact",
    "invite_sent",
    "invite_accepted",
    "conversion",
    "health_score",
    "survey",
    "touchpoint",
    "click",
    "send",
    "enrolment",
    "spend",
]


@st.composite
def a_row(draw, event_id: str):
    kind = draw(st.sampled_from(KINDS))
    contact = draw(st.none() | st.sampled_from(NAMES))
    payload: dict | None = None
    if kind == "contact":
        payload = {"fields": {"role": draw(st.sampled_from(["supplier", "couple", "other"]))}}
    elif kind in ("invite_sent", "invite_accepted"):
        key = "invitee" if kind == "invite_sent" else "inviter"
        payload = {key: draw(st.sampled_from(NAMES))}
    elif kind == "conversion":
        payload = draw(
            st.sampled_from(
                [
                    {"type": "booking"},
                    {"type": "subscription"},
                    {"type": "gift"},
                    {"conversion_type": "renewal"},
                    {"conversion_type": "new_booking", "type": "subscription"},
                    {"conversion_type": "gift"},
                    None,
                ]
            )
        )
    elif kind == "enrolment":
        payload = {"enrolment": "e", "holdout": draw(st.none() | st.booleans())}
    elif kind == "spend":
        payload = {"days": draw(st.none() | st.integers(0, 30))}
    elif kind in ("health_score", "survey"):
        payload = {"score" if kind == "health_score" else "nps": draw(st.integers(0, 10))}
    return (
        event_id,
        kind,
        draw(st.integers(0, 12)),  # few distinct times: many ties, decided by id
        contact,
        draw(st.none() | st.sampled_from(["c1", "c2", "c3"])),
        draw(st.none() | st.sampled_from(["email", "sms", "web"])),
        draw(st.none() | st.integers(0, 5000)),
        payload,
    )


@st.composite
def batches(draw):
    """Rows with unique ids in random order, split into an initial part and some appends."""
    ids = draw(
        st.lists(st.text("abcdef", min_size=1, max_size=4), unique=True, min_size=8, max_size=40)
    )
    rows = [draw(a_row(i)) for i in ids]
    parts = draw(st.lists(st.integers(0, 3), min_size=len(rows), max_size=len(rows)))
    return [[r for r, p in zip(rows, parts, strict=True) if p == k] for k in range(4)]


def assert_same(a: EventFrame, b: EventFrame) -> None:
    for f in dataclasses.fields(EventFrame):
        if f.name in ("_cache", "_carry"):
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, list):
            assert x == y, f.name
        else:
            assert x.dtype == y.dtype, f.name
            assert np.array_equal(x, y, equal_nan=f.name == "score"), f.name


@settings(max_examples=300, deadline=None)
@given(batches())
@example(
    [  # an appended contact event earlier than the one that set the role
        [("b", "contact", 20, "p1@x", None, None, None, {"fields": {"role": "couple"}})],
        [("a", "contact", 10, "p1@x", None, None, None, {"fields": {"role": "supplier"}})],
        [],
        [],
    ]
)
def test_append_equals_building_from_all_rows(parts):
    everything = [r for part in parts for r in part]
    whole = EventFrame.from_rows(everything)
    frame = EventFrame.from_rows(parts[0])
    for part in parts[1:]:
        frame = frame.append(part)
    assert_same(frame, whole)
    assert_same(EventFrame.from_rows(everything[::-1]), whole)  # input order does not matter


def test_append_resolves_invites_and_roles_brought_by_new_rows():
    old = [
        ("a", "invite_sent", 10, "p1@x", None, None, None, {"invitee": "p2@x"}),
        ("b", "contact", 20, "p1@x", None, None, None, {"fields": {"role": "couple"}}),
    ]
    new = [
        ("0", "contact", 5, "p2@x", None, None, None, {"fields": {"role": "supplier"}}),  # earlier
        ("c", "contact", 30, "p1@x", None, None, None, {"fields": {"role": "supplier"}}),
        ("d", "click", 20, "p3@x", "camp", "sms", None, None),  # a tie at 20: ids decide
    ]
    frame = EventFrame.from_rows(old)
    assert frame.other.tolist() == [-1, -1] and frame.unresolved_names == ["p2@x"]
    after = frame.append(new)
    assert_same(after, EventFrame.from_rows(old + new))
    assert after.contacts == ["p1@x", "p2@x", "p3@x"]
    assert after.ids.tolist() == ["0", "a", "b", "d", "c"]
    assert after.other[1] == 1 and after.unresolved_names == []
    assert after.role.tolist() == [1, 1, 0]


def test_report_after_appends_equals_report_of_rebuilt_frame():
    data = generate(seed=4, suppliers=15, couples=150, campaigns=4, days=40, events=False)
    rng = np.random.default_rng(0)
    late = set(rng.choice(len(data.rows), size=len(data.rows) // 5, replace=False).tolist())
    first = [r for i, r in enumerate(data.rows) if i not in late]
    rest = [r for i, r in enumerate(data.rows) if i in late]
    frame = EventFrame.from_rows(first)
    for i in range(0, len(rest), 97):
        frame = frame.append(rest[i : i + 97])
    whole = EventFrame.from_rows(data.rows)
    assert_same(frame, whole)
    args = {"from_ms": data.start_ms, "to_ms": data.end_ms, "campaigns": data.campaigns}
    assert build_roi_report(frame, **args) == build_roi_report(whole, **args)
