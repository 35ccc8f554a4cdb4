"""Consistency checks: figures in two sections of one report that must agree.

Each check returns ``{"name", "ok", "detail"}``; the report lists them all under ``checks``
and the tests fail when one does not hold. A failed check in a served report means a bug, not
bad data: bad or missing data is described in ``notes``.
"""

from __future__ import annotations

import math

TOLERANCE = 1e-6


def _close(a: float, b: float, scale: float = 1.0) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=TOLERANCE * max(1.0, scale))


def run_checks(report: dict) -> list[dict]:
    s = report["summary"]
    out: list[dict] = []

    def check(name: str, ok: bool, detail: str) -> None:
        out.append({"name": name, "ok": bool(ok), "detail": detail})

    # every model hands out exactly the conversions of the scope (the rest is unattributed)
    paths = report["attribution"]["paths"]
    scoped = s["attribution_scope_conversions"]
    bad = []
    for model, section in report["attribution"]["channels"].items():
        credited = sum(c["conversions"] for c in section["credit"].values())
        if not _close(credited + paths["unattributed_conversions"], scoped, scoped):
            bad.append(f"{model}: {credited:.6f} + {paths['unattributed_conversions']}")
    check(
        "attribution_adds_up",
        not bad,
        f"credited + unattributed = {scoped} {s['attribution_scope']} conversions"
        + (f"; not for {', '.join(bad)}" if bad else ""),
    )
    # conversions and revenue split by class add up to the totals
    classes = ("acquisition", "retention", "expansion")
    n = sum(s[f"{c}_conversions"] for c in classes)
    r = sum(s[f"{c}_revenue"] for c in classes)
    check(
        "conversion_classes_add_up",
        n == s["conversions"] and _close(r, s["revenue"], s["revenue"]),
        f"{n} of {s['conversions']} conversions, {r:.2f} of {s['revenue']:.2f} revenue",
    )
    # one cost ledger: channels, campaigns and segments agree with the total
    costs = report["costs"]
    total = costs["total"]
    by_channel = sum(ch["cost"] for ch in report["channels"])
    by_campaign = sum(c["cost"] for c in report["campaigns"])
    by_segment = sum(costs["by_segment"].values())
    check(
        "costs_add_up",
        abs(by_channel - total) <= 0.01 * max(1, len(report["channels"]))
        and by_campaign <= total + 0.01 * max(1, len(report["campaigns"]))
        and abs(by_segment - total) <= 0.01
        and _close(s["marketing_cost"], total, total),
        f"channels {by_channel:.2f}, campaigns {by_campaign:.2f} (<=), segments "
        f"{by_segment:.2f}, summary {s['marketing_cost']:.2f}, ledger {total:.2f}",
    )
    # a channel the models credit was touched
    untouched = sorted(
        ch["channel"]
        for ch in report["channels"]
        if ch["touches"] == 0
        and any(
            isinstance(v, dict) and v.get("conversions", 0) > 0
            for k, v in ch.items()
            if k in report["attribution"]["channels"]
        )
    )
    check(
        "credited_channels_have_touches",
        not untouched,
        "every credited channel has touches" if not untouched else f"no touches: {untouched}",
    )
    # budget advice agrees with the ROI tables
    recs = report["recommendations"]
    channels = {ch["channel"]: ch for ch in report["channels"]}
    tiers: dict[str, set[str]] = {}
    for c in report["campaigns"]:
        tiers.setdefault(c.get("channel") or "email", set()).add(c["tier"])
    wrong = []
    for rec in recs:
        ch = channels.get(rec.get("channel"))
        if rec["action"] == "reduce_channel_budget":
            if not ch or not ch["priced"] or ch["roi_ratio"] is None or ch["roi_ratio"] > 1:
                wrong.append(f"reduce {rec['channel']}: ROI above 1 or unpriced")
            elif {"excellent", "good"} & tiers.get(rec["channel"], set()):
                wrong.append(f"reduce {rec['channel']}: it has excellent or good campaigns")
        if rec["action"] == "shift_budget_to_channel" and (not ch or not ch["priced"]):
            wrong.append(f"shift to {rec['channel']}: unpriced")
    check("budget_advice_matches_roi", not wrong, "; ".join(wrong) or "consistent")
    # the viral figure the recommendations use is the summary's (cycle K)
    k = s["viral_coefficient"]
    boost = [r for r in recs if r["action"] == "boost_referrals"]
    viral = report["viral"]
    ok = all(r["evidence"]["viral_coefficient"] == k for r in boost) and (
        viral["acceptance_rate"] is None or viral["acceptance_rate"] <= 1
    )
    check("viral_consistent", ok, f"cycle K {k}; acceptance rate {viral['acceptance_rate']}")
    # the propensity model's expected acquisitions fit inside the acquisition forecast
    conv = report["predictions"]["conversion"]
    fc = report["insights"]["forecast"]["classes"]["acquisition"]["conversions"]
    expected = conv.get("expected_conversions_next_30d")
    check(
        "propensity_within_forecast",
        expected is None or expected <= fc["high"] + TOLERANCE,
        f"propensity over the current funnel {expected}; acquisition forecast "
        f"{fc['expected']:.1f} [{fc['low']:.1f}, {fc['high']:.1f}]",
    )
    # no growth figure compares a partial month with a whole one
    partial_compared = [
        g["month"] for g in report["growth"] if g["growth_pct"] is not None and g["partial"]
    ]
    check(
        "growth_compares_whole_months",
        not partial_compared,
        "partial months have no month-over-month growth"
        if not partial_compared
        else f"compared: {partial_compared}",
    )
    # campaigns cannot be credited more revenue than the attributed total
    campaign_rev = sum(c["revenue"] for c in report["campaigns"])
    check(
        "campaign_revenue_within_attributed",
        campaign_rev <= s["attributed_revenue"] + 0.01 * max(1, len(report["campaigns"])),
        f"campaigns {campaign_rev:.2f} of attributed {s['attributed_revenue']:.2f}",
    )
    # LTV: per segment, and the couples' figure does not count referred revenue twice
    seg = report["ltv"]["segments"]
    couples = report["ltv"]["couples"]
    check(
        "ltv_counts_revenue_once",
        couples.get("ltv") is None or couples["ltv"] == couples["booking_value"],
        "couple LTV is their own revenue; referral value reported beside it",
    )
    cac_cost = sum(v["cost"] for v in seg.values())
    check(
        "segment_costs_within_total",
        cac_cost <= total + 0.01,
        f"segments' cost {cac_cost:.2f} of {total:.2f}",
    )
    return out
