"""Desktop app benchmarks (prints JSON).

* cold_start_ms: a fresh process imports the app, opens a profile and shows the main window with
  its views loaded (offscreen); measured from process start to the first full paint.
* max_stall_ms: with the window open, 100,000 captured events sync to a real server on
  127.0.0.1, running in its own process as it does in production; a 5 ms Qt timer measures the
  longest gap between its ticks (how long the GUI thread could not react). Also the p99 gap and
  the sync duration.

    python bench/bench_ui.py [--events 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.conftest

COLD = r"""
import time, os, sys
t0 = float(sys.argv[1])
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import asyncio
from client.ui.app import application, new_event_loop
from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine
from client.ui.main_window import MainWindow
app = application()
loop = new_event_loop(app); asyncio.set_event_loop(loop)
async def main():
    replica = Replica(sys.argv[2]); engine = SyncEngine(replica, tokens=MemoryTokens())
    w = MainWindow(engine); w.show(); w.start()
    await w.ops.drain(); w.repaint(); app.processEvents()
    print(round((time.time() - t0) * 1000, 1))
    await w.shutdown(); await engine.close(); replica.close()
with loop: loop.run_until_complete(main())
"""


def cold_start(profile: Path, runs: int = 5) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.time()
        res = subprocess.run(
            [sys.executable, "-c", COLD, str(t0), str(profile)],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return out


async def stall(events: int) -> dict:
    from PySide6.QtCore import QTimer

    from client.credentials import MemoryTokens
    from client.store import Replica
    from client.sync import SyncEngine
    from client.ui.main_window import MainWindow
    from server import admin
    from tests.conftest import start_server_process

    base = Path(tempfile.mkdtemp(prefix="wedsync-bench-ui-"))
    admin.create_user(base / "server", email="b@bench.test", password="benchmark!", role="admin")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = await start_server_process(base / "server", port)
    replica = Replica(base / "laptop")
    engine = SyncEngine(replica, tokens=MemoryTokens())
    await engine.login(f"http://127.0.0.1:{port}", "b@bench.test", "benchmark!", "bench")
    replica.set_offline(True)
    now = int(time.time() * 1000)
    kinds = ("conversion", "touchpoint", "lead", "open", "click")
    for start in range(0, events, 10_000):
        replica.capture_many(
            replica.make_event(
                kind=kinds[i % 5],
                contact=f"c{i % 5000}@example.com",
                occurred_at_ms=now - i,
                value_cents=10_000 if i % 5 == 0 else None,
            )
            for i in range(start, min(events, start + 10_000))
        )
    window = MainWindow(engine)
    window.show()
    window.start()
    await window.ops.drain()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        t = time.perf_counter()
        gaps.append((t - last[0]) * 1000)
        last[0] = t

    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    timer.start()
    started = time.perf_counter()
    window.set_offline(False)  # the user turns Work offline off: background sync drains the queue
    while sum((await engine.run_db(replica.queue_depths)).values()) > 0:
        await asyncio.sleep(0.05)
    duration = time.perf_counter() - started
    timer.stop()
    await window.shutdown()
    window.close()
    await engine.close()
    replica.close()
    server.terminate()
    await server.wait()
    gaps.sort()
    return {
        "events": events,
        "sync_s": round(duration, 2),
        "max_stall_ms": round(gaps[-1], 1),
        "p99_gap_ms": round(gaps[int(len(gaps) * 0.99)], 1),
        "ticks": len(gaps),
        "timer_interval_ms": 5,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    profile = Path(tempfile.mkdtemp(prefix="wedsync-cold-"))
    cold = cold_start(profile)
    from client.ui.app import new_event_loop

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    with loop:
        result = loop.run_until_complete(stall(args.events))
    print(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "cold_start_ms": {
                    "runs": cold,
                    "max": max(cold),
                    "median": sorted(cold)[len(cold) // 2],
                },
                "sync_while_open": result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
