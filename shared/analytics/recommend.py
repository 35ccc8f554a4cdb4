"""Recommendations: rules over the report's figures, each returned with its evidence.

Rules (thresholds are arguments, documented in docs/analytics.md):

* ``regenerate_subject_lines``: a campaign with at least ``min_sends`` sends whose open rate is
  below the median open rate of campaigns of the same type (its segment);
* ``shift_budget_to_channel`` / ``reduce_channel_budget``: a channel whose Markov share of
  conversions is at least ``budget_ratio`` times (or at most 1/``budget_ratio`` of) its share of
  channel cost (channels without a cost in the cost model are left out);
* ``enrol_super_connectors``: super-connectors who received no send from a viral_referral or
  super_connector campaign;
* ``optimise_campaign``: campaigns in the needs_optimization tier that had sends;
* ``boost_referrals``: viral coefficient below ``k_target``;
* ``run_churn_prevention``: suppliers whose predicted churn risk exceeds ``churn_risk``.
"""

from __future__ import annotations

import statistics

REFERRAL_TYPES = ("viral_referral", "super_connector")


def recommend(
    *,
    campaigns: list[dict],
    channels: list[dict],
    super_connectors: list[dict],
    enrolled: set[str],
    viral_coefficient: float | None,
    at_risk: list[dict],
    min_sends: int = 50,
    budget_ratio: float = 2.0,
    k_target: float = 1.2,
) -> list[dict]:
    out: list[dict] = []
    by_type: dict[str, list[float]] = {}
    for c in campaigns:
        if c["sends"] >= min_sends and c["open_rate"] is not None:
            by_type.setdefault(c["type"] or "", []).append(c["open_rate"])
    for c in campaigns:
        rates = by_type.get(c["type"] or "", [])
        if c["sends"] >= min_sends and c["open_rate"] is not None and len(rates) > 1:
            median = statistics.median(rates)
            if c["open_rate"] < median:
                out.append(
                    {
                        "action": "regenerate_subject_lines",
                        "campaign": c["campaign"],
                        "evidence": {
                            "open_rate": c["open_rate"],
                            "segment": c["type"],
                            "segment_median_open_rate": median,
                            "sends": c["sends"],
                        },
                    }
                )
    total_cost = sum(ch["cost"] for ch in channels)
    total_conv = sum(ch.get("markov", {}).get("conversions", 0.0) for ch in channels)
    if total_cost > 0 and total_conv > 0:
        for ch in channels:
            cost_share = ch["cost"] / total_cost
            conv_share = ch.get("markov", {}).get("conversions", 0.0) / total_conv
            evidence = {"markov_conversion_share": conv_share, "cost_share": cost_share}
            if cost_share > 0 and conv_share >= budget_ratio * cost_share:
                out.append(
                    {
                        "action": "shift_budget_to_channel",
                        "channel": ch["channel"],
                        "evidence": evidence,
                    }
                )
            elif cost_share > 0 and conv_share * budget_ratio <= cost_share:
                out.append(
                    {
                        "action": "reduce_channel_budget",
                        "channel": ch["channel"],
                        "evidence": evidence,
                    }
                )
    missing = [s for s in super_connectors if s["contact"] not in enrolled]
    if missing:
        out.append(
            {
                "action": "enrol_super_connectors",
                "contacts": [s["contact"] for s in missing],
                "evidence": {
                    "downstream_invites": {s["contact"]: s["downstream_invites"] for s in missing}
                },
            }
        )
    for c in campaigns:
        if c["tier"] == "needs_optimization" and c["sends"] > 0:
            out.append(
                {
                    "action": "optimise_campaign",
                    "campaign": c["campaign"],
                    "evidence": {
                        "roi_ratio": c["roi_ratio"],
                        "revenue": c["revenue"],
                        "cost": c["cost"],
                    },
                }
            )
    if viral_coefficient is not None and viral_coefficient < k_target:
        out.append(
            {
                "action": "boost_referrals",
                "evidence": {"viral_coefficient": viral_coefficient, "target": k_target},
            }
        )
    if at_risk:
        out.append(
            {
                "action": "run_churn_prevention",
                "contacts": [r["contact"] for r in at_risk],
                "evidence": {"churn_risk": {r["contact"]: r["risk"] for r in at_risk}},
            }
        )
    return out
