"""ROI report benchmark on seed-demo data, printed as JSON.

Usage: python bench/bench_report.py [--couples N] [--suppliers N] [--repeat N]
[--dashboard-repeat N] [--append-repeat N]

The defaults (200,000 couples, 10,000 suppliers, 50 campaigns, 180 days) give about 1.57M
events and 102k converting paths: the issue's "1M events / 100k conversion paths" (the
converting paths are the binding count: each needs about 13–17 events on this generator).

The frame is built once (as the server does per data version). Two timings of the report:

* ``report_warm_ms``: after one warm-up report. Structures that depend on the data alone
  (paths of the window, per-kind rows, path weights, Markov chains, Shapley sets, prediction
  features) are reused from the frame's cache; every model, figure and fit is recomputed.
* ``report_cold_ms``: the frame's caches (and the fits it carries) cleared before each run:
  everything recomputed.

Times are medians (and minima) of ``--repeat`` runs, wall clock and process CPU time.

``report_after_append_ms``: the frame after a warm report; per repetition a batch of new events
(1, and 1,000, copies of random rows at random times of the window) is appended and the report
of the new frame timed twice, alternating: ``carried`` (what ``append`` carries: per-kind rows
merged, indexes, fits within their staleness bound) and ``uncarried`` (the same frame with an
empty cache and no kept fits but the repeat-purchase fits kept by their data: the report after
an append before caches were carried). Medians (and minima) of ``--append-repeat`` runs; the
carried frame becomes the next repetition's frame, so its fits age as they would.

``dashboard_update_ms``: the same events in a server store (SQLite in a temporary directory,
read by the server's ``ReportService``); then, per repetition, a batch of new events (1, and
1,000) is committed and the time from the commit to a report that includes them is measured
twice, the two paths alternating: ``incremental`` (the writer hands the commit to the service,
which appends the events to its frame) and ``rebuild`` (the service was not told, as after a
write by another process: it reads and encodes every event again). The incremental report
starts with what ``append`` carries (see ``report_after_append_ms``); the rebuilt one runs
cold. Medians of ``--dashboard-repeat`` runs of each.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

from shared.analytics import EventFrame
from shared.analytics.report import build_roi_report
from shared.analytics.synthetic import generate
from shared.protocol.ids import new_id


def dashboard_update(data, repeat: int) -> dict:
    from server.commits import Changes, fold
    from server.reports import ReportService
    from server.storage import open_storage

    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory() as tmp:
        storage = open_storage(tmp)
        org = storage.ensure_org("bench")
        t = time.perf_counter()
        with storage.transaction():
            for i in range(0, len(data.rows), 20_000):
                wire = [
                    [r[0], r[1], r[2], 0, r[3], r[4], r[5], r[6], r[7] or None]
                    for r in data.rows[i : i + 20_000]
                ]
                storage.insert_events(
                    org_id=org, device_id="bench", events=wire, priority=2, commit_seq=1
                )
            storage.record_commit(seq=1, priority=2, items=len(data.rows), at_ms=0)
        store_s = time.perf_counter() - t
        service = ReportService(storage.reader())
        service.frame(org)
        seq, expected = 1, len(data.rows)
        out: dict = {"store_s": store_s}
        try:
            for size in (1, 1000):
                runs: dict[str, list] = {"incremental": [], "rebuild": []}
                for rep in range(2 * repeat):
                    path = ("incremental", "rebuild")[(rep + size) % 2]  # alternate the paths
                    picks = rng.integers(0, len(data.rows), size).tolist()
                    times = rng.integers(data.start_ms, data.end_ms, size).tolist()
                    events = [
                        [new_id(), r[1], tm, 0, r[3], r[4], r[5], r[6], r[7] or None]
                        for r, tm in zip((data.rows[i] for i in picks), times, strict=True)
                    ]
                    seq += 1
                    with storage.transaction():
                        stored, _ = storage.insert_events(
                            org_id=org, device_id="bench", events=events, priority=2, commit_seq=seq
                        )
                        storage.record_commit(seq=seq, priority=2, items=size, at_ms=0)
                    t = time.perf_counter()
                    if path == "incremental":
                        service.committed(fold([Changes(org, events=tuple(events))], seq=seq))
                    frame = service.frame(org)
                    t_frame = time.perf_counter()
                    report = service.roi_sync(org, None, None)
                    t_end = time.perf_counter()
                    expected += stored
                    assert len(frame) == expected
                    runs[path].append(
                        (
                            (t_end - t) * 1000,
                            (t_frame - t) * 1000,
                            (t_end - t_frame) * 1000,
                            report["summary"],
                        )
                    )

                def med(xs):
                    return sorted(xs)[len(xs) // 2]

                res = {
                    p: {
                        "total_ms": med([r[0] for r in rs]),
                        "frame_ms": med([r[1] for r in rs]),
                        "report_ms": med([r[2] for r in rs]),
                        "total_min_ms": min(r[0] for r in rs),
                    }
                    for p, rs in runs.items()
                }
                res["rebuild_over_incremental"] = (
                    res["rebuild"]["total_ms"] / res["incremental"]["total_ms"]
                )
                out[f"{size}_events"] = res
            out["paths"] = service.stats
        finally:
            service.close()
            storage.close()
    return out


def report_after_append(data, frame: EventFrame, repeat: int) -> dict:
    import dataclasses

    rng = np.random.default_rng(3)
    out: dict = {}

    def report(f: EventFrame) -> tuple[float, float, dict]:
        t, c = time.perf_counter(), time.process_time()
        r = build_roi_report(f, from_ms=data.start_ms, to_ms=data.end_ms, campaigns=data.campaigns)
        return (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000, r

    for size in (1, 1000):
        runs: dict[str, list] = {"carried": [], "uncarried": [], "append": []}
        for _ in range(repeat):
            picks = rng.integers(0, len(data.rows), size).tolist()
            times = rng.integers(data.start_ms, data.end_ms, size).tolist()
            rows = [
                (new_id(), r[1], tm, r[3], r[4], r[5], r[6], r[7])
                for r, tm in zip((data.rows[i] for i in picks), times, strict=True)
            ]
            t, c = time.perf_counter(), time.process_time()
            new = frame.append(rows)
            runs["append"].append(
                ((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
            )
            bare = dataclasses.replace(new, _cache={}, _fits={}, _carry=dict(new._carry))
            runs["carried"].append(report(new)[:2])
            runs["uncarried"].append(report(bare)[:2])
            frame = new
        out[f"{size}_events"] = {
            p: {
                "median": sorted(r[0] for r in rs)[len(rs) // 2],
                "min": min(r[0] for r in rs),
                "cpu_median": sorted(r[1] for r in rs)[len(rs) // 2],
            }
            for p, rs in runs.items()
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--couples", type=int, default=200_000)
    ap.add_argument("--suppliers", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--dashboard-repeat", type=int, default=5)
    ap.add_argument("--append-repeat", type=int, default=5)
    args = ap.parse_args()
    t = time.perf_counter()
    data = generate(
        seed=1, suppliers=args.suppliers, couples=args.couples, campaigns=50, days=180, events=False
    )
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    frame = EventFrame.from_rows(data.rows)
    frame_s = time.perf_counter() - t

    def run(cached: bool):
        if not cached:
            frame._cache.clear()
            frame._carry.clear()  # fits kept by their data, too: everything recomputed
            frame._fits.clear()
        t, c = time.perf_counter(), time.process_time()
        report = build_roi_report(
            frame, from_ms=data.start_ms, to_ms=data.end_ms, campaigns=data.campaigns
        )
        return (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000, report

    def stats(runs):
        wall, cpu = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
        return {"median": wall[len(wall) // 2], "min": wall[0], "cpu_median": cpu[len(cpu) // 2]}

    cold = [run(False)[:2] for _ in range(max(3, args.repeat // 3))]
    run(True)  # warm-up
    warm = [run(True)[:2] for _ in range(args.repeat)]
    _, _, report = run(True)
    after_append = (
        report_after_append(data, frame, args.append_repeat) if args.append_repeat else None
    )
    dashboard = dashboard_update(data, args.dashboard_repeat) if args.dashboard_repeat else None
    print(
        json.dumps(
            {
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
                "report_after_append_ms": after_append,
                "dashboard_update_ms": dashboard,
                "summary": report["summary"],
                "prediction_accuracy": {
                    m: report["predictions"][m].get("test") for m in ("churn", "conversion")
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
