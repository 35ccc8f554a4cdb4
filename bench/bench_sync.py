"""Sync benchmarks: end-to-end throughput beside a raw SQLite insert, capture latency, reconnect.

Prints JSON. Run: python bench/bench_sync.py [--events 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from client.credentials import MemoryTokens  # noqa: E402
from client.store import Replica  # noqa: E402
from client.sync import SyncEngine  # noqa: E402
from server import admin  # noqa: E402
from shared.protocol.ids import new_id  # noqa: E402
from tests.conftest import free_port, start_server_process  # noqa: E402

PASSWORD = "benchmark-password"


def make_events(replica: Replica, n: int, kinds=("touchpoint", "open", "conversion", "click")):
    return [
        replica.make_event(
            kind=kinds[i % len(kinds)],
            contact=f"c{i % 5000}@x.test",
            channel="email",
            value_cents=1000 if i % 4 == 2 else None,
        )
        for i in range(n)
    ]


def raw_insert_rate(path: Path, events, org_id: str, device_id: str) -> float:
    """The baseline: the rows the server stores for ``events`` (same table, same values) into a
    WAL database with one executemany in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE events (id TEXT PRIMARY KEY, org_id TEXT, device_id TEXT, kind TEXT, "
        "priority INTEGER, occurred_at_ms INTEGER, hlc INTEGER, contact TEXT, campaign TEXT, "
        "channel TEXT, value_cents INTEGER, payload BLOB, received_at_ms INTEGER, commit_seq INTEGER"
        ") WITHOUT ROWID"
    )
    received_at_ms = time.time_ns() // 1_000_000
    rows = [
        (
            e.id,
            org_id,
            device_id,
            e.kind,
            e.priority,
            e.occurred_at_ms,
            e.hlc,
            e.contact,
            e.campaign,
            e.channel,
            e.value_cents,
            None,
            received_at_ms,
            1,
        )
        for e in events
    ]
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


class ServerProcess:
    """The real server in its own process (`wedsync server`), as in production."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def cleanup(self) -> None:
        self.proc.terminate()
        await self.proc.wait()


async def start(tmp: Path):
    data_dir = tmp / "server"
    admin.create_user(
        data_dir, email="bench@x.test", password=PASSWORD, role="marketer", org="Bench"
    )
    port = free_port()
    proc = await start_server_process(data_dir, port)
    return ServerProcess(proc), f"http://127.0.0.1:{port}"


async def device(tmp: Path, name: str, url: str) -> SyncEngine:
    engine = SyncEngine(Replica(tmp / name), tokens=MemoryTokens())
    await engine.login(url, "bench@x.test", PASSWORD, name)
    return engine


async def bench(n_events: int, n_rounds: int, n_reconnect: int, captures: int) -> dict:
    result: dict = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        }
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        runner, url = await start(tmp)
        try:
            # 1. end-to-end sync beside the raw insert of the same rows. The VM's speed drifts by
            # up to 2x within a minute, so each round measures the two back to back and the
            # figure is the median of the rounds' ratios.
            rounds = []
            for r in range(n_rounds):
                engine = await device(tmp, f"sync{r}", url)
                events = make_events(engine.replica, n_events)
                engine.replica.capture_many(events)
                raw = raw_insert_rate(
                    tmp / f"raw{r}.sqlite", events, org_id=new_id(), device_id=new_id()
                )
                started = time.perf_counter()
                report = await engine.sync_once()
                elapsed = time.perf_counter() - started
                assert sum(report.pushed.values()) == n_events, report
                rounds.append(
                    {
                        "sync_per_s": round(n_events / elapsed),
                        "raw_per_s": round(raw),
                        "ratio": round(n_events / elapsed / raw, 3),
                    }
                )
                if r < n_rounds - 1:
                    await engine.close()
            result["sync"] = {
                "events": n_events,
                "events_per_s": statistics.median(x["sync_per_s"] for x in rounds),
                "raw_sqlite_executemany_per_s": statistics.median(x["raw_per_s"] for x in rounds),
                "ratio_to_raw": statistics.median(x["ratio"] for x in rounds),
                "rounds": rounds,
                "goal_ratio": 0.5,
            }
            # 2. capture latency
            replica = engine.replica
            samples = []
            for i in range(captures):
                t0 = time.perf_counter()
                replica.capture(kind="lead", contact=f"lead{i}@x.test", channel="wedding_fair")
                samples.append((time.perf_counter() - t0) * 1000)
            samples.sort()
            result["capture"] = {
                "captures": captures,
                "p50_ms": round(statistics.median(samples), 3),
                "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
                "goal_p99_ms": 5,
            }
            # 3. reconnect with 10,000 queued class-0/1 events
            other = await device(tmp, "reconnect", url)
            other.replica.capture_many(
                make_events(other.replica, n_reconnect, ("touchpoint", "open"))
            )
            started = time.perf_counter()
            report = await other.sync_once()
            result["reconnect"] = {
                "events": n_reconnect,
                "seconds_until_all_acked": round(time.perf_counter() - started, 3),
                "class_done_ms": report.to_dict()["class_done_ms"],
                "goal_s": 1.0,
            }
            await engine.close()
            await other.close()
        finally:
            await runner.cleanup()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reconnect-events", type=int, default=10_000)
    parser.add_argument("--captures", type=int, default=2_000)
    args = parser.parse_args()
    result = asyncio.run(bench(args.events, args.rounds, args.reconnect_events, args.captures))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
