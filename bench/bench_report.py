"""ROI report benchmark on seed-demo data, printed as JSON.

Usage: python bench/bench_report.py [--couples N] [--suppliers N] [--repeat N]

The defaults (200,000 couples, 10,000 suppliers, 50 campaigns, 180 days) give about 1.57M
events and 102k converting paths: the issue's "1M events / 100k conversion paths" (the
converting paths are the binding count: each needs about 13–17 events on this generator).

The frame is built once (as the server does per data version). Two timings of the report:

* ``report_warm_ms``: after one warm-up report. Structures that depend on the data alone
  (paths of the window, per-kind rows, path weights, Markov chains, Shapley sets, prediction
  features) are reused from the frame's cache; every model, figure and fit is recomputed.
* ``report_cold_ms``: the frame's caches cleared before each run: everything recomputed.

Times are medians (and minima) of ``--repeat`` runs, wall clock and process CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from shared.analytics import EventFrame
from shared.analytics.report import build_roi_report
from shared.analytics.synthetic import generate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--couples", type=int, default=200_000)
    ap.add_argument("--suppliers", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    t = time.perf_counter()
    data = generate(seed=1, suppliers=args.suppliers, couples=args.couples, campaigns=50,
                    days=180, events=False)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    frame = EventFrame.from_rows(data.rows)
    frame_s = time.perf_counter() - t

    def run(cached: bool):
        if not cached:
            frame._cache.clear()
        t, c = time.perf_counter(), time.process_time()
        report = build_roi_report(frame, from_ms=data.start_ms, to_ms=data.end_ms,
                                  campaigns=data.campaigns)
        return (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000, report

    def stats(runs):
        wall, cpu = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
        return {"median": wall[len(wall) // 2], "min": wall[0], "cpu_median": cpu[len(cpu) // 2]}

    cold = [run(False)[:2] for _ in range(max(3, args.repeat // 3))]
    run(True)  # warm-up
    warm = [run(True)[:2] for _ in range(args.repeat)]
    _, _, report = run(True)
    print(json.dumps({
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "events": len(frame),
        "paths": report["attribution"]["paths"]["converting"]
        + report["attribution"]["paths"]["non_converting"],
        "converting_paths": report["attribution"]["paths"]["converting"],
        "campaigns": len(data.campaigns),
        "generate_s": gen_s,
        "frame_from_rows_s": frame_s,
        "report_warm_ms": stats(warm),
        "report_cold_ms": stats(cold),
        "summary": report["summary"],
        "prediction_accuracy": {
            m: report["predictions"][m].get("test") for m in ("churn", "conversion")
        },
    }, indent=2))


if __name__ == "__main__":
    main()
