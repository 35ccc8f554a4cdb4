"""The report's sections on data with a known answer: viral K of a stationary process, holdout
lift from enrolment events, the cost ledger, partial months, empty windows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shared.analytics.costs import CostModel, SpendEntry
from shared.analytics.events import EventFrame
from shared.analytics.paths import DAY_MS
from shared.analytics.report import build_roi_report
from shared.analytics.viral import viral_metrics

T0 = 1_704_067_200_000  # 2024-01-01
BOOKING = {"conversion_type": "new_booking"}


class Rows:
    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, kind, t_ms, contact, *, campaign=None, channel=None, value=None, payload=None):
        self.rows.append(
            (f"r{len(self.rows):07d}", kind, int(t_ms), contact, campaign, channel, value, payload)
        )


def stationary_viral(seed: int, *, days: int, rate: float, accept: float) -> list[tuple]:
    """New users join at a steady rate; each sends Poisson(``rate``) invites within 10 days of
    joining, each accepted with probability ``accept`` 1–5 days later (the invitee joins then,
    and invites in turn). Twenty suppliers who were customers before the data invite all
    along. The true cycle K (new users' invites) is rate × accept."""
    rng = np.random.default_rng(seed)
    out = Rows()
    queue = [(float(t), f"seed{i}") for i, t in enumerate(np.sort(rng.uniform(0, days, 3 * days)))]
    n = 0
    # suppliers who were customers before the data (renewals only: no cohort) invite all along
    for s in range(20):
        out.add(
            "conversion", T0 + DAY_MS, f"sup{s}", value=4900, payload={"conversion_type": "renewal"}
        )
        for sent in np.sort(rng.uniform(0, days, rng.poisson(1.0 * days))).tolist():
            n += 1
            out.add("invite_sent", T0 + sent * DAY_MS, f"sup{s}", payload={"invitee": f"inv{n}"})
            if rng.random() < accept:
                at = sent + rng.uniform(1, 5)
                out.add(
                    "invite_accepted", T0 + at * DAY_MS, f"inv{n}", payload={"inviter": f"sup{s}"}
                )
                queue.append((at, f"inv{n}"))
    queue.sort()
    while queue:
        joined, who = queue.pop()
        if joined >= days:
            continue
        if who.startswith("seed"):
            out.add("conversion", T0 + joined * DAY_MS, who, value=10_000, payload=BOOKING)
        for _ in range(rng.poisson(rate)):
            sent = joined + rng.uniform(0, 10)
            n += 1
            invitee = f"inv{n}"
            out.add("invite_sent", T0 + sent * DAY_MS, who, payload={"invitee": invitee})
            if rng.random() < accept:
                at = sent + rng.uniform(1, 5)
                out.add("invite_accepted", T0 + at * DAY_MS, invitee, payload={"inviter": who})
                queue.append((at, invitee))
    # every invitee must be a contact for the pair to resolve
    for i in range(1, n + 1):
        out.add("contact", T0, f"inv{i}", payload={"fields": {"role": "couple"}})
    return out.rows


def test_cycle_k_recovers_a_stationary_k_whatever_the_window():
    true_k = 2.0 * 0.3
    frame = EventFrame.from_rows(stationary_viral(1, days=240, rate=2.0, accept=0.3))
    for lo, hi in ((0, 90), (0, 150), (0, 240), (60, 120), (150, 240)):
        v = viral_metrics(frame, from_ms=T0 + lo * DAY_MS, to_ms=T0 + hi * DAY_MS)
        assert v["acceptance_rate"] <= 1
        # the cycle K is the truth in every window; the window formula is not
        assert v["cycle"]["k"] == pytest.approx(true_k, abs=0.05), (lo, hi)
        assert v["viral_coefficient"] > true_k + 0.2
    short = viral_metrics(frame, from_ms=T0, to_ms=T0 + 30 * DAY_MS)
    assert short["cycle"]["k"] is None and "60-day" in short["cycle"]["reason"]
    late = viral_metrics(frame, from_ms=T0 + 150 * DAY_MS, to_ms=T0 + 240 * DAY_MS)
    complete = [b for b in late["trend"]["buckets"] if b["complete"]]
    assert complete and all(b["k"] is not None for b in complete if b["joined"])


def test_duplicate_and_early_acceptances_are_not_counted():
    r = Rows()
    r.add("contact", T0, "bob", payload={"fields": {"role": "couple"}})
    r.add("contact", T0, "cat", payload={"fields": {"role": "couple"}})
    r.add("invite_sent", T0 - 5 * DAY_MS, "ann", payload={"invitee": "bob"})  # before
    r.add("invite_accepted", T0 + DAY_MS, "bob", payload={"inviter": "ann"})
    r.add("invite_sent", T0 + 2 * DAY_MS, "ann", payload={"invitee": "cat"})
    for day in (3, 3.5, 4):  # one acceptance captured three times
        r.add("invite_accepted", T0 + day * DAY_MS, "cat", payload={"inviter": "ann"})
    v = viral_metrics(EventFrame.from_rows(r.rows), from_ms=T0, to_ms=T0 + 10 * DAY_MS)
    assert v["invites_sent"] == 1 and v["invites_accepted"] == 1
    assert v["acceptance_rate"] == 1.0  # was 4 / 1 before: every row of every acceptance
    assert v["acceptances_not_counted"] == {
        "duplicate_rows": 2,
        "invite_sent_before_window": 1,
        "no_invite_found": 0,
    }
    assert v["cycle_time_days"]["median"] == pytest.approx(1.0)


def holdout_rows(seed, *, treated=3000, held=1000, p_held=0.05, lift=0.04, value=50_000):
    """A nurture campaign enrols contacts (a quarter held out); treated ones are sent an email
    and convert at p_held + lift within 30 days; some convert after the window (not counted)."""
    rng = np.random.default_rng(seed)
    r = Rows()
    camp = "01HCAMPAIGNAAAAAAAAAAAAAAA"
    for i in range(treated + held):
        who = f"c{i}"
        is_held = i >= treated
        t = T0 + rng.uniform(0, 20) * DAY_MS
        r.add(
            "enrolment", t, who, campaign=camp, payload={"enrolment": f"e{i}", "holdout": is_held}
        )
        if not is_held:
            r.add("send", t + 1000, who, campaign=camp, channel="email")
        r.add("touchpoint", t - DAY_MS, who, channel="instagram")
        p = p_held if is_held else p_held + lift
        if rng.random() < p:
            r.add("conversion", t + rng.uniform(1, 29) * DAY_MS, who, value=value, payload=BOOKING)
        elif rng.random() < 0.05:  # converts, but 40 days after enrolment: outside the window
            r.add("conversion", t + 40 * DAY_MS, who, value=value, payload=BOOKING)
    campaigns = [{"id": camp, "name": "Spring nurture", "type": "nurture", "budget_cents": 0}]
    return r.rows, campaigns


def test_holdout_lift_from_enrolment_events_beside_attributed_revenue():
    rows, campaigns = holdout_rows(3)
    frame = EventFrame.from_rows(rows)
    report = build_roi_report(frame, from_ms=T0, to_ms=T0 + 90 * DAY_MS, campaigns=campaigns)
    json.dumps(report, allow_nan=False)
    (test,) = report["incrementality"]["tests"]
    assert test["treated"]["contacts"] == 3000 and test["holdout"]["contacts"] == 1000
    low, high = test["rate_difference_ci"]
    assert low <= 0.04 <= high
    assert test["verdict"] == "lift"
    assert test["outcome"] == "acquisition" and test["window_days"] == 30
    row = report["campaigns"][0]
    assert row["incremental_revenue"] == pytest.approx(test["incremental_revenue_cents"] / 100)
    assert row["lift_verdict"] == "lift"
    assert report["summary"]["incremental_revenue"] == pytest.approx(row["incremental_revenue"])
    # calibration: the models credit the campaign with more than it caused
    cal = report["attribution"]["calibration"]["linear"]
    assert cal["calibrated"] and cal["channel"] == "email"
    assert cal["incremental_conversions"] == pytest.approx(test["incremental_conversions"])
    assert 0 < cal["factor"] < 1
    assert all(c["ok"] for c in report["checks"]), report["checks"]


def test_no_enrolments_no_tests_and_a_note_saying_so():
    rows, campaigns = holdout_rows(4, treated=20, held=0)
    rows = [r for r in rows if r[1] != "enrolment"]
    report = build_roi_report(
        EventFrame.from_rows(rows), from_ms=T0, to_ms=T0 + 60 * DAY_MS, campaigns=campaigns
    )
    assert report["incrementality"]["tests"] == []
    assert report["attribution"]["calibration"] == {}
    assert any("holdout" in n for n in report["notes"])


def test_cost_ledger_prices_every_channel_from_sends_budgets_and_spend():
    r = Rows()
    camp = "01HCAMPAIGNBBBBBBBBBBBBBBB"
    prem = "01HCAMPAIGNCCCCCCCCCCCCCCC"
    for i in range(10):
        r.add(
            "contact", T0, f"s{i}", payload={"fields": {"role": "supplier" if i < 4 else "couple"}}
        )
        r.add("send", T0 + i * DAY_MS, f"s{i}", campaign=camp, channel="email")
        r.add("send", T0 + 40 * DAY_MS, f"s{i}", campaign=camp, channel="email")  # after
    r.add("send", T0 + DAY_MS, "s9", campaign=prem, channel="email")
    r.add("touchpoint", T0 + 2 * DAY_MS, "s5", channel="wedding_fair")
    r.add("touchpoint", T0 + 2 * DAY_MS, "s6", channel="instagram")
    r.add("conversion", T0 + 3 * DAY_MS, "s5", value=100_000, payload=BOOKING)
    r.add("conversion", T0 + 3 * DAY_MS, "s6", value=100_000, payload=BOOKING)
    # a fair stand recorded by an admin as a spend event: £300 over 10 days, 5 in the window
    r.add(
        "spend", T0 + 25 * DAY_MS, None, channel="wedding_fair", value=30_000, payload={"days": 10}
    )
    campaigns = [
        {"id": camp, "type": "nurture", "budget_cents": 20_000},
        {"id": prem, "type": "premium", "budget_cents": 0},
    ]
    report = build_roi_report(
        EventFrame.from_rows(r.rows),
        from_ms=T0,
        to_ms=T0 + 30 * DAY_MS,
        campaigns=campaigns,
        cost_model=CostModel(spend=(SpendEntry("paid_search", 9_000, T0, T0 + 90 * DAY_MS),)),
    )
    rows = {c["campaign"]: c for c in report["campaigns"]}
    # 10 sends at 2c, and the budget: its sends up to the window's end are all inside it
    assert rows[camp]["cost"] == pytest.approx(0.20 + 200.0)
    assert rows[prem]["cost"] == pytest.approx(0.02 + 0.05)
    channels = {c["channel"]: c for c in report["channels"]}
    assert channels["wedding_fair"]["cost"] == pytest.approx(150.0)
    assert channels["paid_search"]["cost"] == pytest.approx(30.0)  # a third of $90
    assert channels["email"]["cost"] == pytest.approx(200.27)
    assert not channels["instagram"]["priced"] and channels["instagram"]["roi_ratio"] is None
    assert report["costs"]["unpriced_channels"] == ["instagram"]
    assert report["summary"]["marketing_cost"] == pytest.approx(200.27 + 150 + 30)
    seg = report["costs"]["by_segment"]
    assert sum(seg.values()) == pytest.approx(report["summary"]["marketing_cost"])
    assert seg["suppliers"] == pytest.approx(4 * 0.02 + 200.0 * 0.4)
    later = build_roi_report(
        EventFrame.from_rows(r.rows),
        from_ms=T0 + 20 * DAY_MS,
        to_ms=T0 + 45 * DAY_MS,
        campaigns=campaigns,
    )
    # ten of the campaign's twenty sends so far fall in this window: half its budget
    assert {c["campaign"]: c for c in later["campaigns"]}[camp]["cost"] == pytest.approx(
        0.20 + 100.0
    )
    assert any(a["action"] == "record_channel_spend" for a in report["recommendations"])
    assert all(c["ok"] for c in report["checks"]), report["checks"]


def test_a_partial_month_is_marked_and_not_compared_with_a_whole_one():
    r = Rows()
    for day in (5, 10, 40, 45, 62):  # January, February, and two days into March
        r.add("conversion", T0 + day * DAY_MS, f"c{day}", value=10_000, payload=BOOKING)
    report = build_roi_report(EventFrame.from_rows(r.rows), from_ms=T0, to_ms=T0 + 62 * DAY_MS + 1)
    growth = {g["month"]: g for g in report["growth"]}
    assert not growth["2024-01"]["partial"] and not growth["2024-02"]["partial"]
    assert growth["2024-02"]["growth_pct"] == pytest.approx(0.0)
    march = growth["2024-03"]
    assert march["partial"] and march["growth_pct"] is None
    assert march["days_covered"] == pytest.approx(2, abs=0.01)
    # per covered day, March's one booking in two days is far above February's two in 29
    assert march["daily_growth_pct"] > 0


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [("a", "touchpoint", T0, "ann", None, "instagram", None, {})],
        [("a", "send", T0, "ann", "01HCAMPAIGNBBBBBBBBBBBBBBB", "email", None, {})],
        [("a", "conversion", T0, "ann", None, None, 500, {})],
    ],
    ids=["nothing", "a touch", "a send", "a conversion without touches"],
)
def test_empty_and_sparse_windows_give_a_valid_report_that_says_what_is_missing(rows):
    report = build_roi_report(EventFrame.from_rows(rows), from_ms=T0 - DAY_MS, to_ms=T0 + DAY_MS)
    json.dumps(report, allow_nan=False)
    assert report["notes"]
    assert all(c["ok"] for c in report["checks"]), report["checks"]
    if not any(r[1] == "conversion" for r in rows):
        assert any("no conversion" in n for n in report["notes"])


def test_the_conversion_window_is_the_campaigns_goal_window():
    from shared.analytics.incrementality import DEFAULT_WINDOW_DAYS, window_days

    goal = {"id": "g", "kind": "goal", "config": {"event": "conversion", "within_days": 14}}
    assert window_days({"steps": [{"id": "s", "kind": "wait", "config": {}}, goal]}) == 14
    seconds = {"kind": "goal", "config": {"event": "conversion", "within_s": 3 * 86_400}}
    assert window_days({"steps": [seconds]}) == 3
    assert window_days({"conversion_window_days": 45}) == 45
    assert window_days({}) == DEFAULT_WINDOW_DAYS
    # a 14-day goal: the conversions 15–29 days after enrolment no longer count
    rows, campaigns = holdout_rows(5, treated=1000, held=1000, lift=0.0)
    frame = EventFrame.from_rows(rows)
    wide = build_roi_report(frame, from_ms=T0, to_ms=T0 + 90 * DAY_MS, campaigns=campaigns)
    narrow = build_roi_report(
        frame, from_ms=T0, to_ms=T0 + 90 * DAY_MS, campaigns=[{**campaigns[0], "steps": [goal]}]
    )
    (w,), (n,) = wide["incrementality"]["tests"], narrow["incrementality"]["tests"]
    assert n["window_days"] == 14
    assert n["treated"]["converters"] < w["treated"]["converters"]


def test_generators_holdouts_measure_its_known_incremental_conversions():
    from shared.analytics.synthetic import generate

    data = generate(
        seed=1, suppliers=50, couples=30_000, campaigns=3, days=120, events=False, holdout_pct=30
    )
    report = build_roi_report(
        EventFrame.from_rows(data.rows),
        from_ms=data.start_ms,
        to_ms=data.end_ms,
        campaigns=data.campaigns,
    )
    tests = report["incrementality"]["tests"]
    assert len(tests) == 3
    truth = data.truth["holdouts"]
    for t in tests:
        assert t["verdict"] == "lift"
        assert t["treated"]["contacts"] == truth[t["campaign"]]["treated"]
        assert t["holdout"]["contacts"] == truth[t["campaign"]]["held_out"]
    # the summed intervals hold the summed truth (each campaign's sends removed from the same
    # journeys: conversions they caused within 30 days of enrolling)
    true_total = sum(truth[t["campaign"]]["incremental_conversions"] for t in tests)
    low = sum(t["incremental_conversions_ci"][0] for t in tests)
    high = sum(t["incremental_conversions_ci"][1] for t in tests)
    assert low <= true_total <= high
    cal = report["attribution"]["calibration"]["markov"]
    assert cal["calibrated"] and cal["factor_ci"][0] <= cal["factor"] <= cal["factor_ci"][1]
    assert all(c["ok"] for c in report["checks"])


def test_couple_ltv_counts_referred_revenue_once_and_cac_is_per_segment():
    r = Rows()
    for who, role in (("ann", "couple"), ("bob", "couple"), ("sue", "supplier")):
        r.add("contact", T0, who, payload={"fields": {"role": role}})
    r.add("touchpoint", T0 + DAY_MS, "ann", channel="wedding_fair")
    r.add("conversion", T0 + 2 * DAY_MS, "ann", value=200_000, payload=BOOKING)
    r.add("invite_sent", T0 + 3 * DAY_MS, "ann", payload={"invitee": "bob"})
    for day in (4, 4.5):  # one acceptance, captured twice
        r.add("invite_accepted", T0 + day * DAY_MS, "bob", payload={"inviter": "ann"})
    r.add("conversion", T0 + 6 * DAY_MS, "bob", value=100_000, payload=BOOKING)
    r.add("send", T0 + DAY_MS, "sue", campaign="01HCAMPAIGNDDDDDDDDDDDDDDD", channel="email")
    r.add(
        "conversion",
        T0 + 2 * DAY_MS,
        "sue",
        value=4_900,
        payload={"conversion_type": "subscription_start"},
    )
    report = build_roi_report(
        EventFrame.from_rows(r.rows),
        from_ms=T0,
        to_ms=T0 + 10 * DAY_MS,
        campaigns=[{"id": "01HCAMPAIGNDDDDDDDDDDDDDDD", "type": "nurture", "budget_cents": 1000}],
        cost_model=CostModel(spend=(SpendEntry("wedding_fair", 5_000, T0, T0 + 10 * DAY_MS),)),
    )
    couples = report["ltv"]["couples"]
    # $2,000 and $1,000 bookings: LTV is a couple's own revenue; ann's referral of bob is
    # reported beside it, once, however many acceptance rows there are
    assert couples["ltv"] == pytest.approx(1500.0)
    assert couples["referral_value"] == pytest.approx(1000.0 / 2)
    seg = report["ltv"]["segments"]
    assert seg["couples"]["new_customers"] == 2 and seg["suppliers"]["new_customers"] == 1
    # the fair's $50 reached couples only (its touches); the send and the budget, the supplier
    assert seg["couples"]["cost"] == pytest.approx(50.0)
    assert seg["suppliers"]["cost"] == pytest.approx(0.02 + 10.0)
    assert seg["couples"]["cac"] == pytest.approx(25.0)
    assert seg["couples"]["ltv_to_cac"] == pytest.approx(1500.0 * 0.8 / 25.0)
