"""Recommendations: rules over the report's figures, each returned with its evidence.

Rules (thresholds are arguments, documented in docs/analytics.md):

* ``regenerate_subject_lines``: a campaign with at least ``min_sends`` sends whose open rate is
  below the median open rate of campaigns of the same type (its segment);
* ``shift_budget_to_channel``: a priced channel (one with a recorded cost) whose ROI under the
  report's ROI model is above 1 and at least ``budget_ratio`` times the median ROI of the
  priced channels (at least two priced channels are needed to compare);
* ``reduce_channel_budget``: a priced channel whose ROI is at most 1 (it returns less than it
  costs), none of whose campaigns is in the excellent or good tier;
* ``record_channel_spend``: channels with touches but no recorded cost (their ROI is unknown:
  record their spend to compare them);
* ``enrol_super_connectors``: super-connectors who received no send from a viral_referral or
  super_connector campaign;
* ``optimise_campaign``: campaigns in the needs_optimization tier that had sends;
* ``boost_referrals``: the cycle viral coefficient (the stable one, see ``viral.py``) below
  ``k_target``;
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
    channel_tiers: dict[str, list[str]] | None = None,
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
    priced = [ch for ch in channels if ch.get("priced") and ch.get("roi_ratio") is not None]
    if len(priced) >= 2:
        median = statistics.median(ch["roi_ratio"] for ch in priced)
        strong = {"excellent", "good"}
        for ch in priced:
            evidence = {
                "roi_ratio": ch["roi_ratio"],
                "median_priced_roi_ratio": median,
                "cost": ch["cost"],
                "priced_channels": len(priced),
            }
            tiers = channel_tiers.get(ch["channel"], []) if channel_tiers else []
            if ch["roi_ratio"] > 1 and ch["roi_ratio"] >= budget_ratio * median:
                out.append(
                    {
                        "action": "shift_budget_to_channel",
                        "channel": ch["channel"],
                        "evidence": evidence,
                    }
                )
            elif ch["roi_ratio"] <= 1 and not strong.intersection(tiers):
                out.append(
                    {
                        "action": "reduce_channel_budget",
                        "channel": ch["channel"],
                        "evidence": evidence,
                    }
                )
    unpriced = sorted(
        ch["channel"] for ch in channels if ch.get("touches") and not ch.get("priced")
    )
    if unpriced:
        out.append(
            {
                "action": "record_channel_spend",
                "channels": unpriced,
                "evidence": {"reason": "touches but no recorded cost: their ROI is unknown"},
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
                "evidence": {
                    "viral_coefficient": viral_coefficient,
                    "definition": "cycle K",
                    "target": k_target,
                },
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
