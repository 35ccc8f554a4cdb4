import pytest

from shared.analytics.events import EventFrame
from shared.analytics.paths import DAY_MS
from shared.analytics.report import build_roi_report
from shared.analytics.roi import CostModel, nps, supplier_ltv, tier
from shared.analytics.viral import viral_metrics

T0 = 1_704_067_200_000  # 2024-01-01
A = "01HAAAAAAAAAAAAAAAAAAAAAAA"
B = "01HBBBBBBBBBBBBBBBBBBBBBBB"
CAMPAIGNS = [
    {
        "id": A,
        "name": "Spring nurture",
        "type": "nurture",
        "status": "active",
        "budget_cents": 1000,
    },
    {"id": B, "name": "Premium", "type": "premium", "status": "active", "budget_cents": 2000},
]


def ev(n, kind, day, contact, *, campaign=None, channel=None, value=None, payload=None):
    return (f"e{n}", kind, T0 + int(day * DAY_MS), contact, campaign, channel, value, payload or {})


def fixture_rows():
    rows = []
    n = 0
    # campaign A: 4 sends, 2 opens, 1 click; campaign B: 2 sends, 1 open
    for who in ("ann", "bob", "cat", "dan"):
        n += 1
        rows.append(ev(n, "send", 1, who, campaign=A, channel="email"))
    rows += [
        ev(10, "open", 2, "ann", campaign=A, channel="email"),
        ev(11, "open", 2, "bob", campaign=A, channel="email"),
        ev(12, "click", 2, "ann", campaign=A, channel="email"),
        ev(13, "send", 3, "eve", campaign=B, channel="email"),
        ev(14, "send", 3, "ann", campaign=B, channel="email"),
        ev(15, "open", 4, "eve", campaign=B, channel="email"),
    ]
    # conversions: ann after A then B (linear: 100 split 2 sends + open + click of A, send of B)
    rows += [
        ev(20, "conversion", 5, "ann", value=10_000, payload={"type": "booking"}),
        ev(21, "conversion", 5, "eve", value=30_000, payload={"type": "booking"}),
    ]
    # invites: ann invites bob and cat (bob accepts after 2 days), eve invites fay (accepts)
    rows += [
        ev(30, "invite_sent", 6, "ann", payload={"invitee": "bob"}),
        ev(31, "invite_sent", 6, "ann", payload={"invitee": "cat"}),
        ev(32, "invite_accepted", 8, "bob", channel="referral", payload={"inviter": "ann"}),
        ev(33, "invite_sent", 7, "eve", payload={"invitee": "fay"}),
        ev(34, "invite_accepted", 11, "fay", channel="referral", payload={"inviter": "eve"}),
        ev(35, "contact", 0, "fay", payload={"fields": {"role": "couple"}}),
    ]
    # surveys: 10, 9, 7, 3 -> promoters 2/4, detractors 1/4 -> NPS 25
    for i, score in enumerate((10, 9, 7, 3)):
        rows.append(ev(40 + i, "survey", 9, f"s{i}", payload={"nps": score}))
    return rows


def test_tiers_by_threshold():
    assert tier(5.01) == "excellent"
    assert tier(5.0) == "good"
    assert tier(3.5) == "good"
    assert tier(1.2) == "profitable"
    assert tier(1.0) == "needs_optimization"
    assert tier(None) == "needs_optimization"


def test_campaign_roi_by_hand():
    frame = EventFrame.from_rows(fixture_rows())
    report = build_roi_report(
        frame,
        from_ms=T0,
        to_ms=T0 + 30 * DAY_MS,
        campaigns=CAMPAIGNS,
        cost_model=CostModel(per_send_cents=50, premium_per_send_cents=25),
        roi_model="linear",
    )
    rows = {r["campaign"]: r for r in report["campaigns"]}
    a, b = rows[A], rows[B]
    assert (a["sends"], a["opens"], a["clicks"]) == (4, 2, 1)
    assert a["open_rate"] == 0.5 and a["click_rate"] == 0.5
    # ann's path: send A, open A, click A, send B -> linear gives A 3/4, B 1/4 of $100;
    # eve's path: send B, open B -> B gets all of $300
    assert a["conversions"] == pytest.approx(0.75)
    assert a["revenue"] == pytest.approx(75.0)
    assert a["conversion_rate"] == pytest.approx(0.75 / 4)
    assert a["cost"] == pytest.approx((4 * 50 + 1000) / 100)  # $12
    assert a["roi_ratio"] == pytest.approx(75 / 12)
    assert a["roi_pct"] == pytest.approx((75 - 12) / 12 * 100)
    assert a["tier"] == "excellent"
    assert b["revenue"] == pytest.approx(325.0)
    assert b["cost"] == pytest.approx((2 * (50 + 25) + 2000) / 100)  # premium: +25c a send
    assert b["tier"] == "excellent"
    assert report["summary"]["nps"] == pytest.approx(25.0)
    assert report["summary"]["revenue"] == pytest.approx(400.0)
    assert report["summary"]["new_customers"] == 2
    assert report["summary"]["cac"] == pytest.approx((12 + 21.5) / 2)


def test_viral_by_hand():
    frame = EventFrame.from_rows(fixture_rows())
    v = viral_metrics(frame, from_ms=T0, to_ms=T0 + 30 * DAY_MS)
    assert v["invites_sent"] == 3
    assert v["invites_accepted"] == 2
    assert v["inviting_users"] == 2
    assert v["viral_coefficient"] == pytest.approx(1.0)
    assert v["invites_per_inviter"] == pytest.approx(1.5)
    assert v["acceptance_rate"] == pytest.approx(2 / 3)
    assert v["cycle_time_days"]["median"] == pytest.approx(3.0)  # 2 and 4 days
    # sends to bob and cat on day 1 fall within 7 days before ann's invites on day 6
    assert v["marketing_assisted_invites"] == 2
    assert v["campaigns_by_viral_effect"][0]["campaign"] == A
    assert v["campaigns_by_viral_effect"][0]["assisted_accepted_invites"] == 1
    top = v["super_connectors"]
    # eve's invitee fay has no revenue, ann's invitee bob neither: tie on invites -> by contact
    assert [s["contact"] for s in top] == ["ann", "eve"]
    assert top[0]["downstream_invites"] == 1


def test_second_generation_counts_for_super_connectors():
    rows = [
        ev(1, "invite_accepted", 1, "b", payload={"inviter": "a"}),
        ev(2, "invite_accepted", 2, "c", payload={"inviter": "b"}),
        ev(3, "invite_accepted", 2, "d", payload={"inviter": "b"}),
        ev(4, "conversion", 3, "c", value=5000),
        ev(5, "invite_sent", 0, "a", payload={"invitee": "b"}),
    ]
    v = viral_metrics(EventFrame.from_rows(rows), from_ms=T0, to_ms=T0 + 10 * DAY_MS)
    top = {s["contact"]: s for s in v["super_connectors"]}
    assert top["a"]["accepted_invites"] == 1
    assert top["a"]["second_generation_invites"] == 2
    assert top["a"]["downstream_invites"] == 3
    assert top["a"]["downstream_revenue"] == pytest.approx(50.0)
    assert top["a"]["second_generation_revenue"] == pytest.approx(50.0)  # c, b's invitee
    assert top["b"]["second_generation_revenue"] == 0
    assert v["super_connectors"][0]["contact"] == "a"


def test_nps_and_supplier_ltv_by_hand():
    rows = [ev(i, "survey", 1, f"s{i}", payload={"nps": s}) for i, s in enumerate((9, 9, 0))]
    frame = EventFrame.from_rows(rows)
    assert nps(frame, from_ms=T0, to_ms=T0 + DAY_MS * 5)["nps"] == pytest.approx(100 / 3)
    # x pays 3 months (Jan-Mar), y pays Jan only -> 4 account-months, revenue 4 x $50,
    # y churned (no payment in the last two months of a window ending in April)
    sub = {"type": "subscription"}
    rows = [
        ev(1, "conversion", 0, "x", value=5000, payload=sub),
        ev(2, "conversion", 31, "x", value=5000, payload=sub),
        ev(3, "conversion", 61, "x", value=5000, payload=sub),
        ev(4, "conversion", 0, "y", value=5000, payload=sub),
    ]
    ltv = supplier_ltv(EventFrame.from_rows(rows), to_ms=T0 + 100 * DAY_MS, margin=0.8)
    assert ltv["arpa"] == pytest.approx(50.0)
    assert ltv["monthly_churn_rate"] == pytest.approx(1 / 4)
    assert ltv["ltv"] == pytest.approx(50 * 0.8 / 0.25)
