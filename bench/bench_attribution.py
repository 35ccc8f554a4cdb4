"""Attribution benchmark: our seven models vs the ChannelAttribution package, printed as JSON.

Usage: python bench/bench_attribution.py [--couples N] [--paths-csv FILE] [--walks N]

1. seed-demo data (default 200,000 couples and 10,000 suppliers: ~1.57M events, ~102k
   converting paths): path building, Markov order 1..4, all seven models. Every model run gets
   a fresh copy of the paths, so nothing derived from them (weights, chains) is reused.
2. the same aggregated paths (and the reference file, if present) through
   ``ChannelAttribution.heuristic_models`` and ``markov_model``: times, ratio, largest
   difference in channel credit; where Markov differs, an independent Monte-Carlo walk of our
   chain is the referee.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import time

import numpy as np

from shared.analytics import EventFrame, build_chain, build_paths, parse_paths, run_model
from shared.analytics.aggregated import to_csv
from shared.analytics.markov import absorption, simulate_conversion_probability
from shared.analytics.models import MODELS
from shared.analytics.synthetic import attribution_accuracy, generate


def fresh(paths):
    """The same paths without the structures cached on them by earlier model runs."""
    return dataclasses.replace(paths, _cache={}, _structure={})


def best_of(fn, repeat=5):
    fn()  # warm-up
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000, out


def compare_with_channelattribution(csv_text: str, sep: str, walks: int) -> dict:
    try:
        import pandas as pd

        with contextlib.redirect_stdout(io.StringIO()):
            import ChannelAttribution as ca
    except ImportError as exc:
        return {"available": False, "reason": str(exc)}
    paths = parse_paths(csv_text, sep=sep.strip())
    df = pd.read_csv(io.StringIO(csv_text))
    quiet = contextlib.redirect_stdout(io.StringIO())

    def theirs_h():
        with contextlib.redirect_stdout(io.StringIO()):
            return (
                ca.heuristic_models(
                    df,
                    "path",
                    "total_conversions",
                    var_value="total_conversion_value",
                    sep=sep.strip(),
                    flg_adv=False,
                )
                if False
                else ca.heuristic_models(
                    df,
                    "path",
                    "total_conversions",
                    var_value="total_conversion_value",
                    sep=sep.strip(),
                )
            )

    def theirs_m():
        with contextlib.redirect_stdout(io.StringIO()):
            return ca.markov_model(
                df,
                "path",
                "total_conversions",
                var_value="total_conversion_value",
                var_null="total_null",
                sep=sep.strip(),
                order=1,
                out_more=True,
                seed=1,
            )

    with quiet:
        t_their_h, their_h = best_of(theirs_h, 3)
        t_their_m, their_m = best_of(theirs_m, 3)

    def ours_h():
        p = fresh(paths)
        return {m: run_model(p, m) for m in ("first_touch", "last_touch", "linear")}

    t_our_h, our_h = best_of(ours_h)
    t_our_m, our_m = best_of(lambda: run_model(fresh(paths), "markov"))
    their_h = their_h.set_index("channel_name")
    mapping = {"first_touch": "first_touch", "last_touch": "last_touch", "linear": "linear_touch"}
    heur_diff = {}
    for ours, col in mapping.items():
        d = our_h[ours].as_dict()
        heur_diff[ours] = max(
            abs(d[ch]["conversions"] - float(their_h.loc[ch, f"{col}_conversions"]))
            for ch in paths.labels
        )
        heur_diff[ours + "_value"] = max(
            abs(d[ch]["value"] - float(their_h.loc[ch, f"{col}_value"])) for ch in paths.labels
        )
    res = their_m["result"].set_index("channel_name")
    re_theirs = their_m["removal_effects"].set_index("channel_name")
    ours_re = our_m.extra["removal_effects"]
    d = our_m.as_dict()
    markov_diff = {
        ch: abs(d[ch]["conversions"] - float(res.loc[ch, "total_conversions"]))
        for ch in paths.labels
    }
    # referee: Monte-Carlo walks of our chain, with and without each channel
    chain = build_chain(paths, 1)
    p, _ = absorption(chain)
    referee = {}
    for i, ch in enumerate(paths.labels):
        pr, se = simulate_conversion_probability(chain, walks=walks, seed=100 + i, removed=i)
        exact_pr, _ = absorption(chain, i)
        referee[ch] = {
            "ours_exact": ours_re[ch],
            "theirs": float(re_theirs.loc[ch, "removal_effects_conversion"]),
            "referee_mc": 1 - pr / p,
            "referee_se": se / p,
            "exact_within_referee_noise": abs(exact_pr - pr) <= 4 * se,
        }
    return {
        "available": True,
        "paths": paths.n_paths,
        "heuristics_ms": {"ours": t_our_h, "theirs": t_their_h, "ratio": t_their_h / t_our_h},
        "heuristics_max_abs_diff": heur_diff,
        "markov_ms": {"ours": t_our_m, "theirs": t_their_m, "ratio": t_their_m / t_our_m},
        "markov_max_abs_credit_diff": max(markov_diff.values()),
        "markov_removal_effects": referee,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--couples", type=int, default=200_000)
    ap.add_argument("--suppliers", type=int, default=10_000)
    ap.add_argument("--paths-csv", default="/work/shared/data/channelattribution_demo_paths.csv")
    ap.add_argument("--walks", type=int, default=400_000)
    args = ap.parse_args()
    out: dict = {"machine": {"cpus": os.cpu_count()}}
    t = time.perf_counter()
    data = generate(
        seed=1, suppliers=args.suppliers, couples=args.couples, campaigns=50, days=180, events=False
    )
    out["generate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    frame = EventFrame.from_rows(data.rows)
    out["frame_s"] = time.perf_counter() - t
    out["events"] = len(frame)

    def paths_fn():
        frame._cache.clear()
        return build_paths(frame, from_ms=data.start_ms, to_ms=data.end_ms)

    out["paths_ms"], journeys = best_of(paths_fn)
    paths = journeys.channels
    out["paths"] = {"total": paths.n_paths, "converting": int((paths.conversions > 0).sum())}
    out["markov_order1_ms"], _ = best_of(lambda: run_model(fresh(paths), "markov"))
    for k in (2, 3, 4):
        out[f"markov_order{k}_ms"], _ = best_of(
            lambda k=k: run_model(fresh(paths), "markov", order=k), 2
        )
    per_model = {}
    for m in MODELS:
        per_model[m], _ = best_of(lambda m=m: run_model(fresh(paths), m))
    out["model_ms"] = per_model

    def all_seven():
        p = fresh(paths)
        return {m: run_model(p, m) for m in MODELS}

    out["all_seven_ms"], credits = best_of(all_seven)
    out["attribution_accuracy"] = {
        m: attribution_accuracy(c.shares(), data.truth["shares"]) for m, c in credits.items()
    }
    out["vs_channelattribution"] = {
        "seed_demo_paths": compare_with_channelattribution(to_csv(paths), " > ", args.walks)
    }
    if os.path.exists(args.paths_csv):
        with open(args.paths_csv, encoding="utf-8") as fh:
            out["vs_channelattribution"]["reference_file"] = compare_with_channelattribution(
                fh.read(), " > ", args.walks
            )
    print(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
