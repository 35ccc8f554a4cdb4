"""Desktop app benchmarks (prints JSON).

* cold_start_ms: a fresh process imports the app, opens a profile and shows the main window with
  its views loaded (offscreen); measured from process start to the first full paint.
* max_stall_ms: with the window open, 100,000 captured events sync to a real server on
  127.0.0.1, running in its own process as it does in production; a 5 ms Qt timer measures the
  longest gap between its ticks (how long the GUI thread could not react). Also the p99 gap and
  the sync duration.
* dashboard: the server holds `wedsync seed-demo`'s venue (31,000 events, 12 campaigns); the
  window shows its Dashboard. Another device, in its own process, books a couple and syncs,
  ``--rounds`` times; each commit makes the server push ``report_changed``, the dashboard
  fetches both periods' reports and shows them. Measured: the longest GUI-thread stall while
  the snapshots stream (the 5 ms timer), the time ``show_snapshot`` takes on the GUI thread, and
  from the other device's acknowledgement (after the server's commit) to the repainted window.

    python bench/bench_ui.py [--events 100000] [--rounds 10]
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


OTHER_DEVICE = r"""
import asyncio, sys, time
from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine
async def main():
    engine = SyncEngine(Replica(sys.argv[1]), tokens=MemoryTokens())
    await engine.login(sys.argv[2], sys.argv[3], sys.argv[4], "bench other device")
    print("ready", flush=True)
    i = 0
    for line in sys.stdin:
        contact = f"bench{i}@example.com"  # met at a fair, then booked: every table changes
        engine.replica.capture(kind="touchpoint", contact=contact, channel="wedding_fair")
        engine.replica.capture(kind="conversion", contact=contact, value_cents=100_000)
        await engine.sync_once()
        print(time.perf_counter(), flush=True)
        i += 1
    await engine.close()
asyncio.run(main())
"""


async def dashboard_stream(rounds: int) -> dict:
    from PySide6.QtCore import QTimer

    from client.credentials import MemoryTokens
    from client.store import Replica
    from client.sync import SyncEngine
    from client.ui.main_window import MainWindow
    from devtools.seed import seed_demo
    from server import admin
    from tests.conftest import start_server_process

    base = Path(tempfile.mkdtemp(prefix="wedsync-bench-dash-"))
    for email in ("anna@bench.test", "ben@bench.test"):
        admin.create_user(
            base / "server", email=email, password="benchmark!", role="admin", org="Bench"
        )
    seed_demo(
        base / "server", org="Bench", seed=42, suppliers=300, couples=3000, campaigns=12, days=180
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = await start_server_process(base / "server", port)
    replica = Replica(base / "anna")
    engine = SyncEngine(replica, tokens=MemoryTokens())
    await engine.login(url, "anna@bench.test", "benchmark!", "bench")
    window = MainWindow(engine)
    window.show()
    window.start()
    page = window.dashboard
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while not (page.snapshot and page.snapshot.live and page.chart.ready and page.idle):
        if loop.time() > deadline:
            raise RuntimeError("the dashboard showed no report")
        await asyncio.sleep(0.05)
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", OTHER_DEVICE, str(base / "ben"), url, "ben@bench.test", "benchmark!",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert (await other.stdout.readline()).strip() == b"ready"
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        t = time.perf_counter()
        gaps.append((t - last[0]) * 1000)
        last[0] = t

    import gc

    collections: list[tuple[int, float]] = []  # (generation, ms) of the collector's passes
    gc_started = [0.0]

    def gc_watch(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            collections.append((info["generation"], (time.perf_counter() - gc_started[0]) * 1000))

    gc.callbacks.append(gc_watch)
    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    renders_before = len(page.render_ms)
    latencies: list[float] = []
    repaints: list[float] = []
    # the baseline: the same window idle as long as the rounds take, on the same machine
    timer.start()
    await asyncio.sleep(rounds * 1.4)
    idle = sorted(gaps)
    gaps.clear()
    for _ in range(rounds):
        before = page.snapshot.report["summary"]["conversions"]
        shown = loop.create_future()

        def check(before: int = before, shown: asyncio.Future = shown) -> None:
            if not shown.done() and page.snapshot.report["summary"]["conversions"] > before:
                started = time.perf_counter()
                window.repaint()  # the window painted with the new figures
                painted = time.perf_counter()
                repaints.append((painted - started) * 1000)
                shown.set_result(painted)

        page.loaded.connect(check)
        other.stdin.write(b"go\n")
        await other.stdin.drain()
        acked = float((await other.stdout.readline()).decode())
        painted = await asyncio.wait_for(shown, 30)
        page.loaded.disconnect(check)
        latencies.append((painted - acked) * 1000)
        # a quiet spell: the server sends the next notice at once (not folded into this one)
        # and the page fetches at once (not spaced from this fetch: MIN_LIVE_INTERVAL_MS)
        await asyncio.sleep(1.2)
    timer.stop()
    gc.callbacks.remove(gc_watch)
    other.stdin.close()
    await other.wait()
    renders = page.render_ms[renders_before:]
    stages = list(zip(*page.stage_ms[renders_before:], strict=True))
    await window.shutdown()
    window.close()
    await engine.close()
    replica.close()
    server.terminate()
    await server.wait()
    gaps.sort()
    latencies.sort()
    return {
        "rounds": rounds,
        "fetches": page.fetches,
        "max_stall_ms": round(gaps[-1], 1),
        "p99_gap_ms": round(gaps[int(len(gaps) * 0.99)], 1),
        "idle_baseline": {
            "max_stall_ms": round(idle[-1], 1),
            "p99_gap_ms": round(idle[int(len(idle) * 0.99)], 1),
        },
        "repaint_ms": {
            "median": round(sorted(repaints)[len(repaints) // 2], 1),
            "max": round(max(repaints), 1),
        },
        "show_snapshot_ms": {
            "median": round(sorted(renders)[len(renders) // 2], 1),
            "max": round(max(renders), 1),
        },
        "show_snapshot_steps_ms": {
            name: {"median": round(sorted(v)[len(v) // 2], 1), "max": round(max(v), 1)}
            for name, v in zip(("tiles", "chart", "tables"), stages, strict=True)
        },
        "gc_passes": {
            f"generation_{g}": {
                "count": sum(1 for gen, _ in collections if gen == g),
                "max_ms": round(max((ms for gen, ms in collections if gen == g), default=0), 1),
            }
            for g in (0, 1, 2)
        },
        "ack_to_repaint_ms": {
            "median": round(latencies[len(latencies) // 2], 1),
            "max": round(latencies[-1], 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10, help="dashboard: bookings streamed")
    parser.add_argument(
        "--only", choices=("cold", "sync", "dashboard"), help="run one measurement only"
    )
    args = parser.parse_args()
    out: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        }
    }
    if args.only in (None, "cold"):
        cold = cold_start(Path(tempfile.mkdtemp(prefix="wedsync-cold-")))
        out["cold_start_ms"] = {
            "runs": cold,
            "max": max(cold),
            "median": sorted(cold)[len(cold) // 2],
        }
    from client.ui.app import application, new_event_loop

    application()
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    with loop:
        if args.only in (None, "sync"):
            out["sync_while_open"] = loop.run_until_complete(stall(args.events))
        if args.only in (None, "dashboard"):
            out["dashboard_live"] = loop.run_until_complete(dashboard_stream(args.rounds))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
