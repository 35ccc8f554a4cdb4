"""How fast the automation engine's rounds read committed events (what it adds to every sync).

Seeds an org with synthetic history (``seed-demo``: suppliers, couples, active campaigns with
their triggers and flows), then runs the engine's event rounds from the first commit to the
last, as the writer does (one transaction per round), and prints JSON: events read per
second, rounds, enrolments made. Median of ``--rounds`` runs, each on a fresh copy.

    python bench/bench_engine_events.py [--couples 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from devtools.seed import seed_demo
from server.automation.index import CampaignIndex
from server.automation.rounds import CURSOR_KEY, Rounds
from server.storage import open_storage


def one_run(source: Path, work: Path) -> dict[str, float]:
    shutil.copytree(source, work)
    storage = open_storage(work)
    try:
        rounds = Rounds(CampaignIndex())
        with storage.transaction():
            storage.set_automation_meta(CURSOR_KEY, "0:")
        read = enrolled = count = 0
        started = time.perf_counter()
        while True:
            with storage.transaction():
                done = rounds.events(storage, storage.begin_commit(), int(time.time() * 1000))
            if not done.read:
                break
            read, enrolled, count = read + done.read, enrolled + done.enrolled, count + 1
        took = time.perf_counter() - started
    finally:
        storage.close()
    return {"events": read, "rounds": count, "enrolled": enrolled, "seconds": took}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--couples", type=int, default=3000)
    parser.add_argument("--suppliers", type=int, default=300)
    parser.add_argument("--campaigns", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "seeded"
        seed_demo(
            source,
            org="Bench",
            seed=1,
            suppliers=args.suppliers,
            couples=args.couples,
            campaigns=args.campaigns,
            days=120,
        )
        runs = [one_run(source, Path(tmp) / f"run{i}") for i in range(args.rounds)]
    rates = [r["events"] / r["seconds"] for r in runs]
    print(
        json.dumps(
            {
                "events": runs[0]["events"],
                "active_campaigns": args.campaigns,
                "rounds": runs[0]["rounds"],
                "enrolled": runs[0]["enrolled"],
                "events_per_s_median": round(statistics.median(rates)),
                "events_per_s_runs": [round(r) for r in rates],
            }
        )
    )


if __name__ == "__main__":
    main()
