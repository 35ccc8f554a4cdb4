"""The ROI report: every analytics figure for a window, assembled into one JSON-ready dict.

Sections (every field is described in docs/analytics.md, "The report"): ``summary``,
``conversion_types`` (what each conversion counted as), ``retention`` (renewals and upsells,
apart from acquisition), ``attribution`` (all seven models per channel and per campaign on
acquisition paths by default, with ``accuracy`` against a known truth, the models'
``disagreement`` and lift ``calibration``), ``campaigns`` (ROI rows, incremental revenue
beside attributed), ``channels``, ``costs`` (the ledger), ``incrementality`` (holdout tests),
``viral``, ``ltv`` (per segment, repeat-purchase models), ``growth``, ``predictions`` (with
baselines), ``insights`` (forecasts with backtests), ``recommendations``, ``checks`` (sections
that must agree) and ``notes`` (what is missing or was left out, in words).

The report is a pure function of the frame, the campaigns and the options.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .accuracy import CAVEAT, accuracy, disagreement
from .checks import run_checks
from .clv import segment_value
from .costs import CostModel, compute_costs
from .events import CLASS_NAMES, TYPE_NAMES, EventFrame, FitAsOf
from .incrementality import (
    METHOD,
    MIN_CONTACTS_PER_ARM,
    MIN_CONVERSIONS,
    calibrate,
    holdout_tests,
)
from .models import MODELS, run_model
from .paths import DAY_MS, DEFAULT_LOOKBACK_MS, SCOPES, build_paths
from .predict import churn_model, conversion_model, forecast
from .recommend import REFERRAL_TYPES, recommend
from .roi import (
    campaign_roi,
    channel_performance,
    couple_ltv,
    monthly_growth,
    new_customers,
    nps,
    supplier_ltv,
)
from .viral import viral_metrics

REPORT_VERSION = 2
#: converting paths the report lists with their conversions (``attribution.paths.top``)
TOP_PATHS = 12
DEFAULT_TYPE_RULE = (
    "a conversion without conversion_type: the legacy type booking counts as a new booking; "
    "otherwise (no type, legacy subscription, or an unrecognised value) it is acquisition when "
    "it is the contact's first conversion and retention after that"
)


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


def _memo(frame: EventFrame, key: tuple, build):
    """A section that depends on the frame and ``key`` alone, computed once per frame (its
    value is shared: callers copy before adding to it)."""
    return frame.cached(("report",) + key, build)


def _fit(frame: EventFrame, key: tuple, to_ms: int, build) -> tuple[dict, FitAsOf]:
    """A model fit (a section of the report) for ``key`` and the cutoff ``to_ms``: computed
    once per frame, and kept across appends (``EventFrame.fitted``) for cutoffs of the same UTC
    day until the data has grown by more than ``FIT_STALE_GROWTH``. A copy, with ``as_of``:
    the events and the cutoff it was fitted on."""
    value, as_of = frame.fitted(key + (to_ms,), key + (to_ms // DAY_MS,), build)
    return {**value, "as_of": {"events": as_of.events, "cutoff_ms": as_of.key[-1]}}, as_of


def _conversion_types(frame: EventFrame, rows: np.ndarray) -> dict:
    codes = frame.conv_type[rows]
    cls = frame.conversion_class()[rows]
    value = frame.value_cents[rows] / 100.0
    by_type = {}
    for code in np.unique(codes).tolist():
        m = codes == code
        by_type[TYPE_NAMES[code]] = {
            "conversions": int(m.sum()),
            "revenue": float(value[m].sum()),
            "classes": {
                CLASS_NAMES[c]: int((cls[m] == c).sum()) for c in np.unique(cls[m]).tolist()
            },
        }
    typed = int(((codes >= 1) & (codes <= 5)).sum())
    return {
        "payload_field": "conversion_type",
        "by_type": by_type,
        "by_class": {
            name: {"conversions": int((cls == c).sum()), "revenue": float(value[cls == c].sum())}
            for c, name in CLASS_NAMES.items()
        },
        "typed": typed,
        "default_applied": int(len(rows)) - typed,
        "default_rule": DEFAULT_TYPE_RULE,
    }


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
    scope: str = "acquisition",
    truth: dict[str, float] | None = None,
) -> dict:
    """Assemble the ROI report for ``[from_ms, to_ms)``. ``roi_model`` attributes campaign
    revenue (one of ``MODELS``); ``scope`` picks the conversions paths end in (acquisition by
    default, see ``paths.SCOPES``); ``truth`` (channel → true share of conversions, as the
    seed-demo generator knows it) adds each model's distance from it. Sampled Shapley (more
    than 15 players, e.g. campaigns) uses ``shapley_permutations`` permutations."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}")
    campaigns = list(campaigns or [])
    cost = cost_model or CostModel()
    notes: list[str] = []
    journeys = build_paths(
        frame, from_ms=from_ms, to_ms=to_ms, lookback_ms=lookback_ms, scope=scope
    )
    by_channel = {m: run_model(journeys.channels, m, order=markov_order) for m in MODELS}
    by_campaign = {
        m: run_model(journeys.campaigns, m, order=markov_order, permutations=shapley_permutations)
        for m in MODELS
    }
    costs = compute_costs(frame, campaigns, from_ms=from_ms, to_ms=to_ms, cost=cost)
    roi_rows = campaign_roi(
        frame, campaigns, by_campaign[roi_model], from_ms=from_ms, to_ms=to_ms, costs=costs
    )
    channels = channel_performance(by_channel, costs=costs, roi_model=roi_model)
    names = {c["id"]: c.get("name") for c in campaigns}
    viral = _memo(
        frame,
        ("viral", from_ms, to_ms, top, tuple(sorted(names.items(), key=str))),
        lambda: viral_metrics(frame, from_ms=from_ms, to_ms=to_ms, campaign_names=names, top=top),
    )

    conv = frame.rows_of("conversion", lo=from_ms, hi=to_ms)
    cls = frame.conversion_class()[conv]
    values = frame.value_cents[conv] / 100.0
    revenue = float(values.sum())
    class_rev = {n: float(values[cls == c].sum()) for c, n in CLASS_NAMES.items()}
    class_n = {n: int((cls == c).sum()) for c, n in CLASS_NAMES.items()}
    scope_classes = SCOPES[scope]
    scope_n = int(np.isin(cls, scope_classes).sum())
    p = journeys.channels
    attributed_revenue = float(p.value.sum())
    paths_total = float(p.conversions.sum() + p.nulls.sum())
    marketing_cost = costs.total_cents / 100
    customers = new_customers(frame, from_ms=from_ms, to_ms=to_ms)
    campaign_revenue = sum(r["revenue"] for r in roi_rows)
    nps_figures = nps(frame, from_ms=from_ms, to_ms=to_ms)
    data_from = int(frame.time_ms[0]) if len(frame) else None
    data_to = int(frame.time_ms[-1]) + 1 if len(frame) else None

    # fitted once per frame and cutoff, kept across appends within the staleness bound;
    # copied, as the report adds to them
    churn, churn_as_of = _fit(frame, ("churn",), to_ms, lambda: churn_model(frame, cutoff_ms=to_ms))
    propensity, propensity_as_of = _fit(
        frame, ("conversion",), to_ms, lambda: conversion_model(frame, cutoff_ms=to_ms)
    )
    at_risk: list[dict] = []
    if churn.get("trained"):
        who, risk = churn["_scores"]
        order = np.argsort(-risk)[:top]
        at_risk = [
            {"contact": churn_as_of.contacts[who[i]], "risk": float(risk[i])}
            for i in order.tolist()
            if risk[i] > 0.5
        ]
    if propensity.get("trained"):
        who, score = propensity["_scores"]
        order = np.argsort(-score)[:top]
        propensity["top_contacts"] = [
            {"contact": propensity_as_of.contacts[who[i]], "propensity": float(score[i])}
            for i in order.tolist()
        ]
        propensity["expected_conversions_next_30d"] = float(score.sum())
        propensity["expected_conversions_next_30d_covers"] = (
            "contacts touched in the last 30 days who have not converted (not new arrivals)"
        )
    churn["at_risk"] = at_risk

    # holdout tests: incremental revenue beside attributed, and lift-calibrated credit
    tests = holdout_tests(frame, campaigns, from_ms=from_ms, to_ms=to_ms)
    by_test = {t["campaign"]: t["lift"] for t in tests}
    for row in roi_rows:
        lift = by_test.get(row["campaign"])
        row["incremental_revenue"] = None if lift is None else lift.incremental_revenue_cents / 100
        row["incremental_roi_ratio"] = (
            None
            if lift is None or not row["cost"]
            else (lift.incremental_revenue_cents / 100) / row["cost"]
        )
        row["lift_verdict"] = None if lift is None else lift.verdict
    calibration = (
        {m: calibrate(tests, by_campaign[m], by_channel[m]) for m in MODELS} if tests else {}
    )

    # campaigns reach contacts by their sends, which are email touches
    channel_tiers: dict[str, list[str]] = {}
    for row in roi_rows:
        row["channel"] = "email"
        channel_tiers.setdefault(row["channel"], []).append(row["tier"])
    cycle_k = viral["cycle"]["k"]
    enrolled = _enrolled(
        frame, campaigns, to_ms, among=[s["contact"] for s in viral["super_connectors"]]
    )
    recs = recommend(
        campaigns=roi_rows,
        channels=channels,
        super_connectors=viral["super_connectors"],
        enrolled=enrolled,
        viral_coefficient=cycle_k,
        at_risk=at_risk,
        channel_tiers=channel_tiers,
    )
    margin = cost.margin
    segments = {}
    for name, role in (("suppliers", 1), ("couples", 2)):
        seg_cost = costs.by_segment[name] / 100
        new = new_customers(frame, from_ms=from_ms, to_ms=to_ms, role=role)
        segments[name] = {
            "cost": seg_cost,
            "new_customers": new,
            "cac": seg_cost / new if new else None,
        }
    supplier = _memo(
        frame,
        ("supplier_ltv", to_ms, margin),
        lambda: supplier_ltv(frame, to_ms=to_ms, margin=margin),
    )
    couple = _memo(frame, ("couple_ltv", to_ms), lambda: couple_ltv(frame, to_ms=to_ms))
    segments["suppliers"]["ltv"] = supplier["ltv"]
    segments["couples"]["ltv"] = couple["ltv"] * margin if couple["ltv"] is not None else None
    for seg in segments.values():
        seg["ltv_to_cac"] = (
            seg["ltv"] / seg["cac"] if seg["ltv"] is not None and seg["cac"] else None
        )
    repeat = {
        name: _fit(
            frame,
            ("segment_value", role, margin),
            to_ms,
            lambda role=role: segment_value(frame, role=role, cutoff_ms=to_ms, margin=margin),
        )[0]
        for name, role in (("suppliers", 1), ("couples", 2))
    }
    total_ratio = campaign_revenue / marketing_cost if marketing_cost else None
    incremental_total = sum(t["lift"].incremental_revenue_cents for t in tests) / 100
    fc = _fit(
        frame,
        ("forecast", data_from),
        to_ms,
        lambda: forecast(frame, to_ms=to_ms, data_start_ms=data_from),
    )[0]

    if not len(frame.rows_of("conversion", lo=from_ms, hi=to_ms)):
        notes.append("no conversion in the window: attribution, ROI and LTV have nothing to credit")
    if not p.n_paths:
        notes.append("no touch in the window or its lookback: there are no paths")
    if p.unattributed_conversions:
        notes.append(
            f"{p.unattributed_conversions:g} {scope} conversions had no touch in the lookback "
            f"(${p.unattributed_value:,.2f}): no model credits them"
        )
    if class_n["retention"] + class_n["expansion"] and scope == "acquisition":
        notes.append(
            f"{class_n['retention'] + class_n['expansion']} retention and expansion conversions "
            f"(${class_rev['retention'] + class_rev['expansion']:,.2f}) are reported under "
            "retention, not attributed to channels or campaigns"
        )
    if costs.unpriced_channels:
        notes.append(
            f"no cost recorded for {', '.join(costs.unpriced_channels)}: their ROI is unknown"
        )
    if viral["cycle"]["k"] is None:
        notes.append(f"cycle K: {viral['cycle']['reason']}")
    if not tests:
        notes.append("no holdout test in the window: no incremental lift to report")
    for model_name in ("churn", "conversion"):
        model = churn if model_name == "churn" else propensity
        if not model.get("trained"):
            notes.append(f"{model_name} model not trained: {model.get('reason')}")
    types = _conversion_types(frame, conv)
    if types["default_applied"]:
        notes.append(
            f"{types['default_applied']} conversions had no recognised conversion_type: "
            "classed by the default rule (conversion_types.default_rule)"
        )

    report = {
        "version": REPORT_VERSION,
        "window": {
            "from_ms": from_ms,
            "to_ms": to_ms,
            "lookback_ms": lookback_ms,
            "data_from_ms": data_from,
            "data_to_ms": data_to,
        },
        "summary": {
            "revenue": revenue,
            **{f"{n}_revenue": v for n, v in class_rev.items()},
            "attributed_revenue": attributed_revenue,
            "unattributed_revenue": p.unattributed_value,
            "campaign_attributed_revenue": campaign_revenue,
            "incremental_revenue": incremental_total if tests else None,
            "marketing_cost": marketing_cost,
            "total_roi_ratio": total_ratio,
            "total_roi_pct": None if total_ratio is None else (total_ratio - 1) * 100,
            "conversions": int(len(conv)),
            **{f"{n}_conversions": v for n, v in class_n.items()},
            "attribution_scope": scope,
            "attribution_scope_conversions": scope_n,
            "conversion_rate": p.conversions.sum() / paths_total if paths_total else None,
            "viral_coefficient": cycle_k,
            "viral_coefficient_window": viral["viral_coefficient"],
            "new_customers": customers,
            "cac": marketing_cost / customers if customers else None,
            "nps": nps_figures["nps"],
        },
        "conversion_types": types,
        "retention": {
            "conversions": class_n["retention"] + class_n["expansion"],
            "revenue": class_rev["retention"] + class_rev["expansion"],
            "renewals": {"conversions": class_n["retention"], "revenue": class_rev["retention"]},
            "expansion": {"conversions": class_n["expansion"], "revenue": class_rev["expansion"]},
            "attributed": scope in ("retention", "expansion", "all"),
        },
        "attribution": {
            "roi_model": roi_model,
            "markov_order": markov_order,
            "scope": scope,
            "caveat": CAVEAT,
            "paths": {
                "converting": int((p.conversions > 0).sum()),
                "non_converting": int((p.nulls > 0).sum()),
                "unattributed_conversions": p.unattributed_conversions,
                "examples": p.path_strings(limit=5, sep=" → "),
                "top": p.top_paths(limit=TOP_PATHS),
            },
            "channels": {m: _credit(c) for m, c in by_channel.items()},
            "campaigns": {m: _credit(c) for m, c in by_campaign.items()},
            "accuracy": accuracy(by_channel, truth)
            if truth
            else {"available": False, "reason": "no ground truth known for these data"},
            "disagreement": disagreement(by_channel),
            "calibration": calibration,
        },
        "campaigns": roi_rows,
        "channels": channels,
        "costs": {
            "model": cost.describe(),
            "total": marketing_cost,
            "by_item": {k: v / 100 for k, v in costs.by_item.items()},
            "by_segment": {k: v / 100 for k, v in costs.by_segment.items()},
            "unpriced_channels": costs.unpriced_channels,
            "spend_entries": costs.spend_entries,
        },
        "incrementality": {
            "method": METHOD,
            "min_contacts_per_arm": MIN_CONTACTS_PER_ARM,
            "min_conversions": MIN_CONVERSIONS,
            "tests": [
                {**{k: v for k, v in t.items() if k != "lift"}, **t["lift"].to_dict()}
                for t in tests
            ],
        },
        "viral": viral,
        "ltv": {
            "suppliers": supplier,
            "couples": couple,
            "cac": marketing_cost / customers if customers else None,
            "nps": nps_figures,
            "segments": segments,
            "repeat_purchase": repeat,
        },
        "growth": _memo(
            frame,
            ("growth", from_ms, to_ms),
            lambda: monthly_growth(frame, from_ms=from_ms, to_ms=to_ms, data_end_ms=data_to),
        ),
        "predictions": {"churn": churn, "conversion": propensity},
        "insights": {"forecast": fc},
        "recommendations": recs,
        "notes": notes,
    }
    report = _clean(report)
    report["checks"] = run_checks(report)
    return report


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
