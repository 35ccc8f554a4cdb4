"""The ROI report: every analytics figure for a window, assembled into one JSON-ready dict.

Sections: ``summary`` (total ROI, attributed revenue, viral coefficient, conversion rate, CAC,
NPS), ``attribution`` (all seven models per channel and per campaign), ``campaigns`` (ROI rows),
``channels``, ``viral``, ``ltv``, ``growth`` (month over month), ``predictions`` (churn and
conversion models with held-out AUC/Brier), ``insights`` (forecasts), ``recommendations``.
The report is a pure function of the frame, the campaigns and the options.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .events import EventFrame
from .models import MODELS, run_model
from .paths import DEFAULT_LOOKBACK_MS, build_paths
from .predict import churn_model, conversion_model, forecast
from .recommend import REFERRAL_TYPES, recommend
from .roi import (
    CostModel,
    campaign_roi,
    channel_performance,
    couple_ltv,
    monthly_growth,
    new_customers,
    nps,
    supplier_ltv,
)
from .viral import viral_metrics

REPORT_VERSION = 1


def _clean(value: Any) -> Any:
    """JSON-ready: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build_roi_report(
    frame: EventFrame,
    *,
    from_ms: int,
    to_ms: int,
    campaigns: list[dict] | None = None,
    cost_model: CostModel | None = None,
    lookback_ms: int = DEFAULT_LOOKBACK_MS,
    roi_model: str = "linear",
    markov_order: int = 1,
    top: int = 10,
    shapley_permutations: int = 200,
) -> dict:
    """Assemble the ROI report for ``[from_ms, to_ms)``. ``roi_model`` attributes campaign
    revenue (one of ``MODELS``). Sampled Shapley (more than 15 players, e.g. campaigns) uses
    ``shapley_permutations`` permutations; its standard errors are in the details."""
    campaigns = list(campaigns or [])
    cost = cost_model or CostModel()
    journeys = build_paths(frame, from_ms=from_ms, to_ms=to_ms, lookback_ms=lookback_ms)
    by_channel = {m: run_model(journeys.channels, m, order=markov_order) for m in MODELS}
    by_campaign = {
        m: run_model(journeys.campaigns, m, order=markov_order, permutations=shapley_permutations)
        for m in MODELS
    }
    roi_rows = campaign_roi(
        frame, campaigns, by_campaign[roi_model], from_ms=from_ms, to_ms=to_ms, cost=cost
    )
    channels = channel_performance(frame, by_channel, from_ms=from_ms, to_ms=to_ms, cost=cost)
    names = {c["id"]: c.get("name") for c in campaigns}
    viral = viral_metrics(frame, from_ms=from_ms, to_ms=to_ms, campaign_names=names, top=top)

    conv = frame.rows_of("conversion", lo=from_ms, hi=to_ms)
    revenue = float(frame.value_cents[conv].sum()) / 100.0
    p = journeys.channels
    attributed_revenue = float(p.value.sum())
    paths_total = float(p.conversions.sum() + p.nulls.sum())
    campaign_cost = sum(r["cost"] for r in roi_rows)
    channel_cost = sum(ch["cost"] for ch in channels if ch["channel"] != "email")
    marketing_cost = campaign_cost + channel_cost
    customers = new_customers(frame, from_ms=from_ms, to_ms=to_ms)
    campaign_revenue = sum(r["revenue"] for r in roi_rows)
    nps_figures = nps(frame, from_ms=from_ms, to_ms=to_ms)

    churn = churn_model(frame, cutoff_ms=to_ms)
    propensity = conversion_model(frame, cutoff_ms=to_ms)
    at_risk: list[dict] = []
    if churn.get("trained"):
        who, risk = churn["_scores"]
        order = np.argsort(-risk)[:top]
        at_risk = [
            {"contact": frame.contacts[who[i]], "risk": float(risk[i])}
            for i in order.tolist()
            if risk[i] > 0.5
        ]
    if propensity.get("trained"):
        who, score = propensity["_scores"]
        order = np.argsort(-score)[:top]
        propensity["top_contacts"] = [
            {"contact": frame.contacts[who[i]], "propensity": float(score[i])}
            for i in order.tolist()
        ]
        propensity["expected_conversions_next_30d"] = float(score.sum())
    churn["at_risk"] = at_risk

    enrolled = _enrolled(
        frame, campaigns, to_ms, among=[s["contact"] for s in viral["super_connectors"]]
    )
    recs = recommend(
        campaigns=roi_rows,
        channels=channels,
        super_connectors=viral["super_connectors"],
        enrolled=enrolled,
        viral_coefficient=viral["viral_coefficient"],
        at_risk=at_risk,
    )
    total_ratio = campaign_revenue / marketing_cost if marketing_cost else None
    report = {
        "version": REPORT_VERSION,
        "window": {"from_ms": from_ms, "to_ms": to_ms, "lookback_ms": lookback_ms},
        "summary": {
            "revenue": revenue,
            "attributed_revenue": attributed_revenue,
            "unattributed_revenue": p.unattributed_value,
            "campaign_attributed_revenue": campaign_revenue,
            "marketing_cost": marketing_cost,
            "total_roi_ratio": total_ratio,
            "total_roi_pct": None if total_ratio is None else (total_ratio - 1) * 100,
            "conversions": int(len(conv)),
            "conversion_rate": p.conversions.sum() / paths_total if paths_total else None,
            "viral_coefficient": viral["viral_coefficient"],
            "new_customers": customers,
            "cac": marketing_cost / customers if customers else None,
            "nps": nps_figures["nps"],
        },
        "attribution": {
            "roi_model": roi_model,
            "markov_order": markov_order,
            "paths": {
                "converting": int((p.conversions > 0).sum()),
                "non_converting": int((p.nulls > 0).sum()),
                "unattributed_conversions": p.unattributed_conversions,
                "examples": p.path_strings(limit=5, sep=" → "),
            },
            "channels": {m: _credit(c) for m, c in by_channel.items()},
            "campaigns": {m: _credit(c) for m, c in by_campaign.items()},
        },
        "campaigns": roi_rows,
        "channels": channels,
        "viral": viral,
        "ltv": {
            "suppliers": supplier_ltv(frame, to_ms=to_ms, margin=cost.margin),
            "couples": couple_ltv(frame, to_ms=to_ms),
            "cac": marketing_cost / customers if customers else None,
            "nps": nps_figures,
        },
        "growth": monthly_growth(frame, from_ms=from_ms, to_ms=to_ms),
        "predictions": {"churn": churn, "conversion": propensity},
        "insights": {"forecast": forecast(frame, to_ms=to_ms)},
        "recommendations": recs,
    }
    return _clean(report)


def _credit(c) -> dict:
    out = {"credit": c.as_dict()}
    if c.extra:
        out["details"] = c.extra
    return out


def _enrolled(
    frame: EventFrame, campaigns: list[dict], to_ms: int, *, among: list[str]
) -> set[str]:
    """Those of ``among`` who received a send from a referral-type campaign up to ``to_ms``
    (recommendations only ask about super-connectors)."""
    ids = {c["id"] for c in campaigns if c.get("type") in REFERRAL_TYPES}
    referral = np.zeros(len(frame.campaigns) + 1, dtype=bool)  # last slot: no campaign (-1)
    referral[[i for i, c in enumerate(frame.campaigns) if c in ids]] = True
    sends = frame.rows_of("send", hi=to_ms)
    who = frame.contact[sends[referral[frame.campaign[sends]]]]
    reached = np.zeros(frame.n_contacts + 1, dtype=bool)  # last slot: no contact (-1)
    reached[who] = True
    return {c for c in among if reached[frame.contact_code(c)] and frame.contact_code(c) >= 0}
