"""ROI report benchmark on seed-demo data (default ~1M events), printed as JSON.

Usage: python bench/bench_report.py [--couples N] [--suppliers N]
The frame is built once (as the server does from its store); the report is timed after one
warm-up run with its path cache cleared each time, so every run recomputes everything.
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
    ap.add_argument("--couples", type=int, default=150_000)
    ap.add_argument("--suppliers", type=int, default=3_000)
    ap.add_argument("--repeat", type=int, default=5)
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
        t = time.perf_counter()
        report = build_roi_report(frame, from_ms=data.start_ms, to_ms=data.end_ms,
                                  campaigns=data.campaigns)
        return (time.perf_counter() - t) * 1000, report

    run(False)
    cold = [run(False)[0] for _ in range(args.repeat)]
    _, report = run(False)
    print(json.dumps({
        "machine": {"cpus": os.cpu_count()},
        "events": len(frame),
        "paths": report["attribution"]["paths"]["converting"]
        + report["attribution"]["paths"]["non_converting"],
        "converting_paths": report["attribution"]["paths"]["converting"],
        "campaigns": len(data.campaigns),
        "generate_s": gen_s,
        "frame_from_rows_s": frame_s,
        "report_ms": {"min": min(cold), "median": sorted(cold)[len(cold) // 2]},
        "summary": report["summary"],
        "prediction_accuracy": {
            m: report["predictions"][m].get("test") for m in ("churn", "conversion")
        },
    }, indent=2))


if __name__ == "__main__":
    main()
