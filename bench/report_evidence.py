"""The seed-demo report read as a CMO would, with the generator's truth beside it (JSON).

Usage: python bench/report_evidence.py [--seed 42] [--windows]

Builds the data ``wedsync seed-demo`` writes (same defaults: 300 suppliers, 3,000 couples,
12 campaigns, 180 days) in memory, runs the report with ``truth`` = the generator's channel
shares, and prints the figures docs/analytics.md quotes: per section the figure and, where the
generator knows it, the truth. ``--windows`` adds viral K over several windows, and the
attribution of the same data when renewals are counted as conversions (what the audit found).
"""

from __future__ import annotations

import argparse
import json

from shared.analytics import EventFrame, build_roi_report, generate
from shared.analytics.models import MODELS, run_model
from shared.analytics.paths import DAY_MS, build_paths
from shared.analytics.synthetic import attribution_accuracy
from shared.analytics.viral import viral_metrics


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--windows", action="store_true")
    args = ap.parse_args()
    data = generate(
        seed=args.seed, suppliers=300, couples=3000, campaigns=12, days=180, events=False
    )
    frame = EventFrame.from_rows(data.rows)
    truth = data.truth["shares"]
    r = build_roi_report(
        frame,
        from_ms=data.start_ms,
        to_ms=data.end_ms,
        campaigns=data.campaigns,
        truth=truth,
    )
    s = r["summary"]
    shares = {
        m: {
            k: v["conversions"] / max(s["attribution_scope_conversions"], 1)
            for k, v in sec["credit"].items()
        }
        for m, sec in r["attribution"]["channels"].items()
    }
    out = {
        "events": len(frame),
        "summary": s,
        "conversion_types": r["conversion_types"]["by_class"],
        "truth_shares": truth,
        "email_share": {m: sh.get("email") for m, sh in shares.items()},
        "accuracy": r["attribution"]["accuracy"],
        "disagreement": {
            "max_pairwise_total_variation": r["attribution"]["disagreement"][
                "max_pairwise_total_variation"
            ],
            "most_different_models": r["attribution"]["disagreement"]["most_different_models"],
            "widest_channel": max(
                r["attribution"]["disagreement"]["channels"].items(),
                key=lambda kv: kv[1]["spread"],
            ),
        },
        "campaign_tiers": [c["tier"] for c in r["campaigns"]],
        "campaign_roi_range": [
            min(c["roi_ratio"] or 0 for c in r["campaigns"]),
            max(c["roi_ratio"] or 0 for c in r["campaigns"]),
        ],
        "costs": r["costs"],
        "viral": {
            "cycle": r["viral"]["cycle"],
            "window_k": r["viral"]["viral_coefficient"],
            "acceptance_rate": r["viral"]["acceptance_rate"],
            "not_counted": r["viral"]["acceptances_not_counted"],
            "cycle_time_days": r["viral"]["cycle_time_days"],
            "slope_per_week": r["viral"]["trend"]["slope_per_week"],
        },
        "ltv": {k: r["ltv"][k] for k in ("segments", "couples")},
        "ltv_suppliers": {
            k: r["ltv"]["suppliers"][k] for k in ("ltv", "arpa", "monthly_churn_rate")
        },
        "repeat_purchase": r["ltv"]["repeat_purchase"],
        "predictions": {
            m: {
                "test": r["predictions"][m].get("test"),
                "baseline": r["predictions"][m].get("baseline"),
            }
            for m in ("churn", "conversion")
        },
        "propensity_next_30d": r["predictions"]["conversion"].get("expected_conversions_next_30d"),
        "forecast": {
            k: {"conversions": v["conversions"], "backtest": v["backtest"]}
            for k, v in r["insights"]["forecast"]["classes"].items()
        },
        "growth": r["growth"],
        "recommendations": [
            {k: v for k, v in rec.items() if k != "evidence"} for rec in r["recommendations"]
        ],
        "incrementality": {
            "tests": [
                {
                    "campaign": t["campaign"],
                    "treated": t["treated"]["contacts"],
                    "held_out": t["holdout"]["contacts"],
                    "incremental_conversions": t["incremental_conversions"],
                    "ci": t["incremental_conversions_ci"],
                    "verdict": t["verdict"],
                    "true_incremental_conversions": data.truth["holdouts"][t["campaign"]][
                        "incremental_conversions"
                    ],
                }
                for t in r["incrementality"]["tests"]
            ],
            "estimated_total": sum(
                t["incremental_conversions"] for t in r["incrementality"]["tests"]
            ),
            "ci_total": [
                sum(t["incremental_conversions_ci"][i] for t in r["incrementality"]["tests"])
                for i in (0, 1)
            ],
            "true_total": sum(
                v["incremental_conversions"] for v in data.truth["holdouts"].values()
            ),
        },
        "checks": r["checks"],
        "notes": r["notes"],
        "truth": {k: v for k, v in data.truth.items() if k not in ("effects", "popularity")},
    }
    if args.windows:
        out["viral_windows"] = {
            days: {
                "window_k": (
                    v := viral_metrics(
                        frame, from_ms=data.start_ms, to_ms=data.start_ms + days * DAY_MS
                    )
                )["viral_coefficient"],
                "cycle_k": v["cycle"]["k"],
            }
            for days in (7, 30, 90, 120, 180)
        }
        everything = build_paths(frame, from_ms=data.start_ms, to_ms=data.end_ms, scope="all")
        out["all_conversions_as_acquisition"] = {
            m: {
                "email_share": (sh := run_model(everything.channels, m).shares()).get("email"),
                "total_variation": attribution_accuracy(sh, truth)["total_variation"],
            }
            for m in MODELS
        }
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
