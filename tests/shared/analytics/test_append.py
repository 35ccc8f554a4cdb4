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
        if f.name in ("_cache", "_carry", "_fits"):
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


KIND_SETS = [("conversion",), ("send",), ("click", "open", "touchpoint"), ("contact",)]


def warm(frame: EventFrame) -> None:
    """Fill the cache entries ``append`` carries over."""
    for kinds in KIND_SETS:
        frame.rows_of(*kinds)
    frame.conversion_class()
    frame.contact_code("p0@x")


@settings(max_examples=200, deadline=None)
@given(batches())
def test_caches_carried_over_appends_equal_a_fresh_build(parts):
    everything = [r for part in parts for r in part]
    frame = EventFrame.from_rows(parts[0])
    for part in parts[1:]:
        warm(frame)
        frame = frame.append(part)
    whole = EventFrame.from_rows(everything)
    carried = dict(frame._cache)
    for kinds in KIND_SETS:
        key = ("rows_of", tuple(sorted(kinds)))
        if any(parts[1:]):
            assert key in carried, key  # carried, not rebuilt
        rows, times = frame._cache[key]
        fresh_rows, fresh_times = whole._rows_and_times(kinds)
        assert rows.tolist() == fresh_rows.tolist() and times.tolist() == fresh_times.tolist()
        assert (
            frame.rows_of(*kinds, lo=3, hi=9).tolist() == whole.rows_of(*kinds, lo=3, hi=9).tolist()
        )
    assert frame.conversion_class().tolist() == whole.conversion_class().tolist()
    for name in [*NAMES, "nobody"]:
        assert frame.contact_code(name) == whole.contact_code(name)


def test_conversion_classes_and_contact_index_carried_only_while_valid():
    old = [
        ("a", "conversion", 10, "p1@x", None, None, 100, None),
        ("b", "click", 11, "p1@x", None, "sms", None, None),
    ]
    frame = EventFrame.from_rows(old)
    warm(frame)
    same = frame.append([("c", "click", 5, "p1@x", None, "sms", None, None)])
    assert "conversion_class" in same._cache and "contact_index" in same._cache
    # an earlier conversion of the same contact makes the old one a renewal: rebuilt
    earlier = frame.append([("d", "conversion", 5, "p1@x", None, None, 50, None)])
    assert "conversion_class" not in earlier._cache
    assert earlier.conversion_class().tolist() == [1, 2, 0]
    # a new contact shifts codes: the index is rebuilt
    other = frame.append([("e", "click", 12, "p0@x", None, "sms", None, None)])
    assert "contact_index" not in other._cache
    assert other.contact_code("p1@x") == 1 and other.contact_code("p0@x") == 0


FITTED = (("predictions",), ("insights",), ("ltv", "repeat_purchase"))


def section(report: dict, path: tuple[str, ...]):
    for key in path:
        report = report[key]
    return report


def test_report_after_appends_keeps_fits_within_the_staleness_bound():
    from shared.analytics.events import FIT_STALE_GROWTH

    data = generate(seed=4, suppliers=15, couples=150, campaigns=4, days=40, events=False)
    rng = np.random.default_rng(1)
    late = rng.choice(len(data.rows), size=len(data.rows) // 20, replace=False).tolist()
    late_set = set(late)
    first = [r for i, r in enumerate(data.rows) if i not in late_set]
    rest = [data.rows[i] for i in late]
    args = {"from_ms": data.start_ms, "to_ms": data.end_ms, "campaigns": data.campaigns}
    frame = EventFrame.from_rows(first)
    before = build_roi_report(frame, **args)
    fits = [
        before["predictions"]["churn"],
        before["predictions"]["conversion"],
        before["insights"]["forecast"],
        *before["ltv"]["repeat_purchase"].values(),
    ]
    for fit in fits:
        assert fit["as_of"] == {"events": len(first), "cutoff_ms": data.end_ms}
    bound = int(len(first) * FIT_STALE_GROWTH)
    used = 0
    # appends within the bound: every fit is the one made on the first frame
    for size in (1, 3, bound - 4):
        frame = frame.append(rest[used : used + size])
        used += size
        report = build_roi_report(frame, **args)
        for path in FITTED:
            assert section(report, path) == section(before, path), path
        for model in ("churn", "conversion"):
            assert report["predictions"][model]["as_of"]["events"] == len(first)
        whole = EventFrame.from_rows(first + rest[:used])
        assert len(frame) - len(first) <= len(first) * FIT_STALE_GROWTH
        # everything else equals a fresh build given the same fits
        whole._fits.update(frame._fits)
        assert report == build_roi_report(whole, **args)
        fresh = build_roi_report(EventFrame.from_rows(first + rest[:used]), **args)
        assert report["summary"] == fresh["summary"]
        assert report["attribution"] == fresh["attribution"]
    # beyond the bound: refitted, the report equals one built from scratch
    frame = frame.append(rest[used : used + 5])
    used += 5
    assert len(frame) - len(first) > len(first) * FIT_STALE_GROWTH
    report = build_roi_report(frame, **args)
    assert report == build_roi_report(EventFrame.from_rows(first + rest[:used]), **args)
    assert report["predictions"]["churn"]["as_of"]["events"] == len(frame)
    assert report["insights"]["forecast"]["as_of"]["events"] == len(frame)
    # a cutoff on another day is refitted too, one on the same day is not
    same_day = {**args, "to_ms": data.end_ms // 86_400_000 * 86_400_000 + 1}
    next_day = {**args, "to_ms": same_day["to_ms"] + 86_400_000}
    build_roi_report(frame, **same_day)
    later = frame.append(rest[used : used + 1])
    assert build_roi_report(later, **same_day)["predictions"]["churn"]["as_of"] == {
        "events": len(frame),
        "cutoff_ms": same_day["to_ms"],
    }
    assert build_roi_report(later, **next_day)["predictions"]["churn"]["as_of"] == {
        "events": len(later),
        "cutoff_ms": next_day["to_ms"],
    }
