"""The monitor's cost, printed as JSON: request latency with metrics on and off in the same run,
a push through the writer on and off, a scrape of /metrics and one reading of the checks.

One server in this process with the health monitor running (its loop, its commit listener,
the request-id middleware); metrics are switched on and off between rounds
(``Metrics.enabled``: off, the request middleware passes straight through and commits are not
observed). Rounds alternate, and which setting goes first alternates too, so the machine's load
(two shared cores) falls on both alike; requests go one at a time on a kept-alive connection.
Two servers or two processes compared instead differ by more than the metrics do: the noise
between two identically configured servers measured 14 % (in one process) and 29 % (two
processes) on this machine. ``--same`` keeps metrics on in both halves: the difference it
prints is this method's noise floor.

Usage: python bench/bench_monitoring.py [--rounds N] [--requests N] [--events N] [--same]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.monitoring.routes import METRICS, MONITOR  # noqa: E402
from tests.conftest import PASSWORD, USERS, start_server  # noqa: E402

TOKEN = "b" * 32


async def _timed(
    http: aiohttp.ClientSession, url: str, headers: dict, n: int
) -> tuple[list[float], float]:
    """Each request's wall time (µs), and the event loop thread's CPU time per request over
    the block (µs): the second is what this process spent, whatever else the machine runs."""
    out = []
    cpu = time.thread_time()
    for _ in range(n):
        started = time.perf_counter()
        async with http.get(url, headers=headers) as r:
            await r.read()
            assert r.status == 200, r.status
        out.append((time.perf_counter() - started) * 1e6)
    return out, (time.thread_time() - cpu) / n * 1e6


def _summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "n": len(samples),
        "median_us": round(statistics.median(ordered), 1),
        "mean_us": round(statistics.fmean(ordered), 1),
        "p90_us": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
    }


def _overhead(on: dict, off: dict) -> dict:
    return {
        k: round((on[k] - off[k]) / off[k] * 100, 2) for k in ("median_us", "mean_us", "p90_us")
    }


async def _middleware_cost(metrics, app, blocks: int = 40, per_block: int = 2000) -> dict:
    """What the metrics middleware adds to one request, timed directly: a request for a real
    route through the middleware and without it, in alternating blocks of pure CPU work (no I/O),
    the fastest block of each kept."""
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    match = await app.router.resolve(make_mocked_request("GET", "/api/v1/me", app=app))
    request = make_mocked_request("GET", "/api/v1/me", app=app, match_info=match)
    request._match_info = match
    response = web.Response(status=200)

    async def handler(_: web.Request) -> web.Response:
        return response

    middleware = metrics.middleware()
    times: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(blocks):
        for name in ("on", "off") if i % 2 == 0 else ("off", "on"):
            started = time.perf_counter()
            if name == "on":
                for _ in range(per_block):
                    await middleware(request, handler)
            else:
                for _ in range(per_block):
                    await handler(request)
            times[name].append((time.perf_counter() - started) / per_block * 1e6)
    # the least disturbed block of each (timeit's rule): other processes only ever add time
    on, off = min(times["on"]), min(times["off"])
    return {"with_us": round(on, 2), "without_us": round(off, 2), "added_us": round(on - off, 2)}


async def main(rounds: int, requests: int, events: int, same: bool) -> dict:
    import os

    os.environ["BENCH_METRICS_TOKEN"] = TOKEN
    base = Path(tempfile.mkdtemp(prefix="wedsync-bench-monitoring-"))
    (base / "server").mkdir()
    (base / "server" / "monitoring.toml").write_text(
        "[monitor]\ninterval_s = 15\nbusiness_interval_s = 900\n"
        '[metrics]\ntoken_env = "BENCH_METRICS_TOKEN"\n'
    )
    server = await start_server(base)
    metrics = server.app[METRICS]
    result: dict = {"rounds": rounds, "requests_per_round": requests, "same_settings": same}

    def switch(name: str) -> None:
        metrics.enabled = same or name == "on"

    def order(i: int) -> tuple[str, str]:
        return ("on", "off") if i % 2 == 0 else ("off", "on")

    try:
        async with aiohttp.ClientSession() as http:
            r = await http.post(
                server.url + "/api/v1/login",
                json={"email": USERS["admin"][0], "password": PASSWORD},
            )
            token = {"Authorization": f"Bearer {(await r.json())['token']}"}
            for path in ("/healthz", "/api/v1/me"):
                await _timed(http, server.url + path, token, 200)  # warm up
                samples: dict[str, list[float]] = {"on": [], "off": []}
                cpu: dict[str, list[float]] = {"on": [], "off": []}
                for i in range(rounds):
                    for name in order(i):
                        switch(name)
                        wall, per_request = await _timed(http, server.url + path, token, requests)
                        samples[name] += wall
                        cpu[name].append(per_request)
                stats = {name: _summary(s) for name, s in samples.items()}
                cpu_us = {name: round(statistics.median(v), 1) for name, v in cpu.items()}
                result[path] = {
                    **stats,
                    "overhead_pct": _overhead(stats["on"], stats["off"]),
                    "loop_cpu_us_per_request": {
                        **cpu_us,
                        "overhead_pct": round(
                            (cpu_us["on"] - cpu_us["off"]) / cpu_us["off"] * 100, 2
                        ),
                    },
                }

            pushes: dict[str, list[float]] = {"on": [], "off": []}
            for i in range(rounds):
                for name in order(i):
                    switch(name)
                    device = await server.device(f"bench-{name}-{i}")
                    replica = device.replica
                    replica.capture_many(
                        replica.make_event(
                            kind="touchpoint", contact=f"c{n}@x.test", channel="email"
                        )
                        for n in range(events)
                    )
                    started = time.perf_counter()
                    await device.sync_once()
                    pushes[name].append(events / (time.perf_counter() - started))
            push = {n: round(statistics.median(v)) for n, v in pushes.items()}
            result["push_events_per_s"] = {
                **push,
                "overhead_pct": round((push["off"] - push["on"]) / push["off"] * 100, 2),
                "events_per_push": events,
            }

            metrics.enabled = True
            scrape = []
            for _ in range(20):
                started = time.perf_counter()
                async with http.get(
                    server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                ) as r:
                    body = await r.read()
                scrape.append((time.perf_counter() - started) * 1000)
            result["scrape"] = {
                "median_ms": round(statistics.median(scrape), 2),
                "bytes": len(body),
                "series": sum(
                    1 for line in body.decode().splitlines() if line and not line.startswith("#")
                ),
            }
            added = await _middleware_cost(metrics, server.app)
            me = result["/api/v1/me"]["off"]["median_us"]
            healthz = result["/healthz"]["off"]["median_us"]
            result["middleware"] = {
                **added,
                "share_of_me_pct": round(added["added_us"] / me * 100, 2),
                "share_of_healthz_pct": round(added["added_us"] / healthz * 100, 2),
            }
            monitor = server.app[MONITOR]
            readings = {}
            for business in (False, True):
                started = time.perf_counter()
                await monitor.evaluate(business=business)
                readings["with_reports" if business else "checks"] = round(
                    (time.perf_counter() - started) * 1000, 1
                )
            result["evaluation_ms"] = readings
    finally:
        for engine in server.engines:
            await engine.close()
            engine.replica.close()
        await server.runner.cleanup()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--same", action="store_true", help="metrics on in both halves")
    args = parser.parse_args()
    print(
        json.dumps(asyncio.run(main(args.rounds, args.requests, args.events, args.same)), indent=2)
    )
