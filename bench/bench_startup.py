"""Start-up benchmark: how long the console script's commands take, beside the bare interpreter.

Measured in one run, interleaved round by round (the VM's speed drifts): ``python -c pass``,
``wedsync --help``, ``wedsync client --profile P status`` (an existing profile, so the schema is
current, as on every run after the first) and ``wedsync server --help``. Each figure is the
median wall time of a fresh process, from spawn to exit. The goal: every command within 150 ms
of the bare interpreter.

Prints JSON. Run: python bench/bench_startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_MS = 150.0


def _time_ms(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    # A blocking wait (no timeout): with a timeout, Popen.wait polls with sleeps of up to 50 ms,
    # which would round every figure up to its next poll.
    code = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL).wait()
    elapsed_ms = (time.perf_counter() - started) * 1000
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {code}")
    return elapsed_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    wedsync = shutil.which("wedsync") or sys.exit("wedsync is not installed (pip install -e .)")
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="wedsync-startup-") as tmp:
        profile = str(Path(tmp) / "profile")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "wedsync --help": [wedsync, "--help"],
            "wedsync client --profile P status": [
                wedsync,
                "client",
                "--profile",
                profile,
                "status",
            ],
            "wedsync server --help": [wedsync, "server", "--help"],
        }
        for argv in commands.values():  # warm the OS cache and create the profile once
            _time_ms(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                samples[name].append(_time_ms(argv, env))
    bare = statistics.median(samples["python -c pass"])
    results = {}
    for name, values in samples.items():
        median = statistics.median(values)
        results[name] = {
            "median_ms": round(median, 1),
            "min_ms": round(min(values), 1),
            "max_ms": round(max(values), 1),
            "over_bare_ms": round(median - bare, 1),
            "within_goal": median - bare <= GOAL_MS,
        }
    print(
        json.dumps(
            {
                "benchmark": "startup",
                "rounds": args.rounds,
                "goal_over_bare_ms": GOAL_MS,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "commands": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
