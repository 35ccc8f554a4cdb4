import numpy as np

from shared.analytics.events import EventFrame
from shared.analytics.paths import DAY_MS, build_paths
from shared.analytics.synthetic import generate

T0 = 1_700_000_000_000
CAMP = "01HZZZZZZZZZZZZZZZZZZZZZZZ"


def row(i, kind, day, contact, *, channel=None, campaign=None, value=None, payload=None):
    return (
        f"id{i}",
        kind,
        T0 + int(day * DAY_MS),
        contact,
        campaign,
        channel,
        value,
        payload or {},
    )


def test_paths_follow_occurred_at_not_arrival_order():
    rows = [
        row(1, "touchpoint", 5, "ann", channel="email"),
        row(2, "conversion", 6, "ann", value=5000),
        # captured offline at a fair on day 1, synced (arrives) last
        row(3, "touchpoint", 1, "ann", channel="wedding_fair"),
    ]
    paths = build_paths(EventFrame.from_rows(rows)).channels
    assert paths.path_strings() == ["wedding_fair > email"]
    assert paths.value.tolist() == [50.0]


def test_lookback_previous_conversion_and_null_paths():
    rows = [
        row(1, "touchpoint", 0, "ann", channel="instagram"),  # 40 days before: outside
        row(2, "touchpoint", 35, "ann", channel="email"),
        row(3, "conversion", 40, "ann", value=100),
        row(4, "touchpoint", 41, "ann", channel="referral"),
        row(5, "conversion", 42, "ann", value=200),
        row(6, "touchpoint", 43, "ann", channel="paid_search"),  # after the last conversion
        row(7, "send", 10, "bob", campaign=CAMP),
        row(8, "open", 11, "bob", campaign=CAMP),
        row(9, "conversion", 12, "cat", value=300),  # no touches: unattributed
    ]
    journeys = build_paths(EventFrame.from_rows(rows), scope="all")
    paths = journeys.channels
    assert paths.path_strings() == ["email", "referral", "paid_search", "email > email"]
    assert paths.conversions.tolist() == [1, 1, 0, 0]
    assert paths.nulls.tolist() == [0, 0, 1, 1]
    assert paths.unattributed_conversions == 1
    assert paths.unattributed_value == 3.0
    assert journeys.campaigns.path_strings()[3] == f"{CAMP} > {CAMP}"
    shorter = build_paths(EventFrame.from_rows(rows), lookback_ms=3 * DAY_MS, scope="all").channels
    assert shorter.path_strings()[0] == "referral"


def test_window_keeps_conversions_inside_and_touches_before_it():
    rows = [
        row(1, "touchpoint", 1, "ann", channel="email"),
        row(2, "conversion", 3, "ann", value=100),
        row(3, "touchpoint", 4, "bob", channel="direct"),
        row(4, "conversion", 20, "bob", value=100),
    ]
    paths = build_paths(
        EventFrame.from_rows(rows), from_ms=T0 + 2 * DAY_MS, to_ms=T0 + 10 * DAY_MS
    ).channels
    # ann converts inside; bob converts after the window ends, so as of then he has not
    assert paths.path_strings() == ["email", "direct"]
    assert paths.conversions.tolist() == [1, 0]


def test_renewals_end_no_acquisition_path_and_existing_customers_are_not_failures():
    renewal = {"conversion_type": "renewal"}
    rows = [
        # a supplier paying monthly, emailed between payments: renewals, not acquisitions
        row(1, "send", 1, "sup", campaign=CAMP),
        row(2, "conversion", 2, "sup", value=4900, payload=renewal),
        row(3, "send", 20, "sup", campaign=CAMP),
        row(4, "conversion", 32, "sup", value=4900, payload=renewal),
        row(5, "open", 40, "sup", campaign=CAMP),  # after a renewal: not a failed acquisition
        # a couple's new booking after a fair
        row(6, "touchpoint", 3, "cou", channel="wedding_fair"),
        row(7, "conversion", 5, "cou", value=150_000, payload={"conversion_type": "new_booking"}),
        # an untyped first conversion counts as acquisition (the documented default)
        row(8, "touchpoint", 6, "old", channel="instagram"),
        row(9, "conversion", 7, "old", value=1000),
        row(10, "touchpoint", 8, "old", channel="instagram"),
        row(11, "conversion", 9, "old", value=1000),  # untyped, not the first: retention
    ]
    frame = EventFrame.from_rows(rows)
    acquisition = build_paths(frame).channels
    assert acquisition.path_strings() == ["wedding_fair", "instagram"]
    assert acquisition.nulls.sum() == 0
    assert acquisition.value.tolist() == [1500.0, 10.0]
    everything = build_paths(frame, scope="all").channels
    assert everything.conversions.sum() == 5 and everything.nulls.sum() == 1
    renewals = build_paths(frame, scope="retention").channels
    assert sorted(renewals.path_strings()) == ["email", "email", "email", "instagram"]
    assert renewals.conversions.sum() == 3 and renewals.nulls.sum() == 1  # the open after


def test_touches_without_any_conversion_give_null_paths_not_an_error():
    # the audit's crash: a window with touches and no conversion (every new org hits it)
    rows = [row(1, "touchpoint", 1, "ann", channel="instagram"), row(2, "send", 2, "bob")]
    paths = build_paths(EventFrame.from_rows(rows), from_ms=T0, to_ms=T0 + 5 * DAY_MS).channels
    assert sorted(paths.path_strings()) == ["email", "instagram"]
    assert paths.conversions.sum() == 0 and paths.nulls.sum() == 2


def test_top_paths_group_identical_sequences_by_conversions():
    rows = []
    n = 0
    # three contacts convert after fair -> email, one after instagram alone, one does not convert
    for who, channels, value in (
        ("ann", ("wedding_fair", "email"), 100),
        ("bob", ("wedding_fair", "email"), 300),
        ("cat", ("wedding_fair", "email"), 200),
        ("dan", ("instagram",), 900),
    ):
        for day, channel in enumerate(channels):
            n += 1
            rows.append(row(n, "touchpoint", day, who, channel=channel))
        n += 1
        rows.append(row(n, "conversion", 5, who, value=value * 100))
    rows.append(row(99, "touchpoint", 1, "eve", channel="pinterest"))
    paths = build_paths(EventFrame.from_rows(rows)).channels
    top = paths.top_paths()
    assert top == [
        {"path": ["wedding_fair", "email"], "conversions": 3.0, "value": 600.0},
        {"path": ["instagram"], "conversions": 1.0, "value": 900.0},
    ]
    assert paths.top_paths(limit=1) == top[:1]


def test_top_paths_equal_grouping_path_by_path():
    data = generate(seed=5, suppliers=10, couples=300, campaigns=4, days=60, events=False)
    journeys = build_paths(
        EventFrame.from_rows(data.rows), from_ms=data.start_ms, to_ms=data.end_ms
    )
    for paths in (journeys.channels, journeys.campaigns):
        grouped: dict[tuple, list[float]] = {}
        for p in np.flatnonzero(paths.conversions > 0).tolist():
            seq = tuple(
                paths.labels[c] for c in paths.touch_label[paths.offsets[p] : paths.offsets[p + 1]]
            )
            figures = grouped.setdefault(seq, [0.0, 0.0])
            figures[0] += float(paths.conversions[p])
            figures[1] += float(paths.value[p])
        expected = sorted(grouped.items(), key=lambda kv: (-kv[1][0], -kv[1][1], list(kv[0])))
        top = paths.top_paths(limit=len(expected) + 1)
        assert len(top) == len(expected) > 12
        want = [
            {"path": list(seq), "conversions": n, "value": round(v, 2)} for seq, (n, v) in expected
        ]
        assert top == want
        top[0]["path"].append("x")  # a copy: the kept result is not changed
        assert paths.top_paths(limit=3) == want[:3]
