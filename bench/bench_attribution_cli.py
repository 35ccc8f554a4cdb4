"""Markov order 1 from the command line, start-up included: ``wedsync attribution FILE
--model markov`` against ChannelAttribution's ``markov_model`` in a fresh interpreter (its
import, reading the file with pandas, the model), on the same file, alternating, in one run.
Prints JSON.

Usage: python bench/bench_attribution_cli.py [--repeat 5] [--file PATHS.csv]

Files: the package's demo paths (``../shared/data/channelattribution_demo_paths.csv``, when
present) and the acquisition paths of seed-demo's default data (written to a temporary file).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared.analytics import EventFrame, build_paths, generate
from shared.analytics.aggregated import to_csv

REFERENCE = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "channelattribution_demo_paths.csv"
)

THEIRS = """
import contextlib, io, sys
with contextlib.redirect_stdout(io.StringIO()):
    import pandas as pd
    import ChannelAttribution as ca
    df = pd.read_csv(sys.argv[1])
    ca.markov_model(df, "path", "total_conversions", var_value="total_conversion_value",
                    var_null="total_null", sep=">", order=1, seed=1, verbose=0)
"""


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {done.stderr[-500:]}")
    return elapsed * 1000


def compare(path: str, repeat: int) -> dict:
    ours_cmd = [sys.executable, "-m", "wedsync", "attribution", path, "--model", "markov", "--json"]
    theirs_cmd = [sys.executable, "-c", THEIRS, path]
    try:
        timed(theirs_cmd)
    except RuntimeError as exc:
        return {"available": False, "reason": str(exc)}
    timed(ours_cmd)  # warm the file cache for both
    ours, theirs = [], []
    for i in range(repeat):
        for name in ("ours", "theirs") if i % 2 == 0 else ("theirs", "ours"):
            (ours if name == "ours" else theirs).append(
                timed(ours_cmd if name == "ours" else theirs_cmd)
            )

    def median(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]

    return {
        "ours_ms": median(ours),
        "theirs_ms": median(theirs),
        "ours_runs_ms": ours,
        "theirs_runs_ms": theirs,
        "theirs_over_ours": median(theirs) / median(ours),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--file", type=Path)
    args = ap.parse_args()
    out: dict = {"machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()}}
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        if args.file:
            files[args.file.name] = str(args.file)
        else:
            if REFERENCE.exists():
                files["channelattribution_demo_paths"] = str(REFERENCE)
            data = generate(
                seed=42, suppliers=300, couples=3000, campaigns=12, days=180, events=False
            )
            paths = build_paths(EventFrame.from_rows(data.rows)).channels
            seed = Path(tmp) / "seed_demo_paths.csv"
            seed.write_text(to_csv(paths), encoding="utf-8")
            files["seed_demo_acquisition_paths"] = str(seed)
        for name, path in files.items():
            out[name] = compare(path, args.repeat)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
