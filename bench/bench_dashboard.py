"""Live dashboard latency at the seed-demo's size, printed as JSON.

Usage: python bench/bench_dashboard.py [--samples N] [--period-days D]

A ``wedsync server`` process on 127.0.0.1 with the seed-demo's data (its defaults: 300
suppliers, 3,000 couples, 12 campaigns, 180 days; about 32,000 events). Two devices log in (real
``SyncEngine``s): a venue laptop that pushes, and the planner's app that stays connected. Per
sample, the laptop captures one conversion (a value of its own) and syncs; times from the start
of that push:

* ``push_ms``: until the server acknowledged it (the commit);
* ``notice_ms``: until the ``report_changed`` notice reached the connected app;
* ``report_ms``: until the app's re-fetched ``GET /api/v1/reports/roi`` (the last
  ``--period-days`` days) contained the conversion (its revenue and count);
* ``report_fetch_ms``: that fetch alone (the report's incremental rebuild and its transfer);
* ``browser_event_ms`` / ``browser_report_ms``: the same for the CMO's dashboard over HTTP: a
  signed-in session's ``/dashboard/events`` stream, then ``/dashboard/report`` (the page's
  requests, without the drawing; its window ends at the request, so it is another report).

The app and the dashboard react at once, as when both are open: their two reports take turns on
the server's report thread.

``--browser``: the dashboard is the real page in headless Chromium (Debian's ``chromium`` and
``chromium-driver``, Selenium) instead of its requests: ``browser_repaint_ms`` is the time to the
first animation frame after the page redrew its tiles with the new revenue (a
``MutationObserver`` notes it in the page; page and benchmark read the same clock).

Samples are spaced beyond the notices' throttle interval (250 ms), so each notice is the first
of its interval; p50, p95 and max of each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine
from devtools.seed import seed_demo
from server import admin

PASSWORD = "bench horse battery"
DAY_MS = 86_400_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "max": round(ordered[-1], 1),
    }


async def _sign_in(http: aiohttp.ClientSession, url: str, email: str) -> None:
    async with http.get(f"{url}/dashboard/login") as r:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
    form = {"email": email, "password": PASSWORD, "csrf": csrf}
    async with http.post(f"{url}/dashboard/login", data=form, allow_redirects=False) as r:
        if r.status != 303:
            raise RuntimeError(f"dashboard sign-in failed: {r.status}")


async def _next_event(response: aiohttp.ClientResponse) -> str:
    name = None
    while True:
        line = (await response.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line == "" and name is not None:
            return name


class ChromiumPage:
    """The dashboard in headless Chromium, signed in, noting when its tiles are redrawn."""

    OBSERVE = """
        window.paints = [];
        new MutationObserver(() => {
          const t = document.querySelector("[data-kpi=attributed_revenue] .target");
          const text = t ? t.textContent : "";
          requestAnimationFrame(() => window.paints.push([Date.now(), text]));
        }).observe(document.getElementById("kpis"), {childList: true, subtree: true});
    """

    def __init__(self, url: str, email: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=en-US"):
            options.add_argument(arg)
        service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
        self.driver = driver = webdriver.Chrome(options=options, service=service)
        driver.get(f"{url}/dashboard")
        driver.find_element(By.ID, "email").send_keys(email)
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "sign-in").click()
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(self.READY))
        driver.execute_script(self.OBSERVE)

    READY = "return document.body.dataset.asOf && document.getElementById('status')"
    READY += ".textContent.startsWith('Live')"

    def revenue_text(self) -> str:
        return self.driver.execute_script(
            "return document.querySelector('[data-kpi=attributed_revenue] .target').textContent"
        )

    def painted_after(self, before: str, timeout_s: float = 10) -> int:
        """The wall-clock ms of the first frame whose tiles say something else than ``before``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for at, text in self.driver.execute_script("return window.paints"):
                if text != before:
                    return at
            time.sleep(0.005)
        raise RuntimeError("the page did not redraw its tiles")

    def close(self) -> None:
        self.driver.quit()


async def run(url: str, root: Path, samples: int, period_days: int, browser: bool) -> dict:
    tokens = MemoryTokens()
    laptop = SyncEngine(Replica(root / "laptop"), tokens=tokens)
    app = SyncEngine(Replica(root / "app"), tokens=tokens)
    await laptop.login(url, "marketer@bench.test", PASSWORD, "venue laptop")
    await app.login(url, "planner@bench.test", PASSWORD, "planner app")
    notices: asyncio.Queue[float] = asyncio.Queue()
    app.notice_callbacks.append(
        lambda kind, body: kind == "report_changed" and notices.put_nowait(time.perf_counter())
    )
    session = await app.connect()
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    await _sign_in(http, url, "cmo@bench.test")
    stream = await http.get(f"{url}/dashboard/events")
    events: asyncio.Queue[float] = asyncio.Queue()

    async def read_stream() -> None:
        while True:
            if await _next_event(stream) == "report_changed":
                events.put_nowait(time.perf_counter())

    reader = asyncio.ensure_future(read_stream())
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "push_ms",
            "notice_ms",
            "report_ms",
            "report_fetch_ms",
            "browser_event_ms",
            "browser_report_ms",
            "browser_repaint_ms",
        )
    }
    loop = asyncio.get_running_loop()
    page = (
        await loop.run_in_executor(None, ChromiumPage, url, "cmo@bench.test") if browser else None
    )
    try:
        window_to = int(time.time() * 1000) + 3_600_000  # every sample's event falls inside
        query = f"from={window_to - period_days * DAY_MS - 3_600_000}&to={window_to}"
        base = await app.api("GET", f"/api/v1/reports/roi?{query}")
        revenue, count = base["summary"]["revenue"], base["summary"]["conversions"]
        for i in range(samples):
            await asyncio.sleep(0.4)  # beyond the throttle interval: a leading-edge notice
            for queue in (notices, events):  # a notice of the previous sample's later commits
                while not queue.empty():
                    queue.get_nowait()
            cents = 10_000 + 100 * i  # whole dollars: the tile's rounded revenue changes
            revenue, count = revenue + cents / 100, count + 1
            shown = await loop.run_in_executor(None, page.revenue_text) if page else ""
            if page:
                await loop.run_in_executor(None, page.driver.execute_script, "window.paints = []")
            captured_ms = int(time.time() * 1000)
            laptop.replica.capture(kind="conversion", value_cents=cents, channel="email")
            started = time.perf_counter()

            async def app_path(i=i, count=count, revenue=revenue, started=started):
                noticed = await asyncio.wait_for(notices.get(), 10)
                fetch_start = time.perf_counter()
                report = await app.api("GET", f"/api/v1/reports/roi?{query}")
                fetched = time.perf_counter()
                summary = report["summary"]
                if summary["conversions"] != count or abs(summary["revenue"] - revenue) > 0.005:
                    raise RuntimeError(f"the app's report lacks sample {i}: {summary}")
                times["notice_ms"].append((noticed - started) * 1000)
                times["report_ms"].append((fetched - started) * 1000)
                times["report_fetch_ms"].append((fetched - fetch_start) * 1000)

            async def browser_path(i=i, captured_ms=captured_ms, started=started):
                evented = await asyncio.wait_for(events.get(), 10)
                async with http.get(f"{url}/dashboard/report?period=90d") as r:
                    page = await r.json()
                browsed = time.perf_counter()
                # its window ends when it was asked for, after the commit: the sample is in it
                if page["report"]["window"]["to_ms"] <= captured_ms:
                    raise RuntimeError(f"the dashboard's report predates sample {i}")
                times["browser_event_ms"].append((evented - started) * 1000)
                times["browser_report_ms"].append((browsed - started) * 1000)

            async def page_path(shown=shown, captured_ms=captured_ms):
                painted = await loop.run_in_executor(None, page.painted_after, shown)
                times["browser_repaint_ms"].append(painted - captured_ms)

            paths = asyncio.gather(app_path(), page_path() if page else browser_path())
            await laptop.sync_once()
            times["push_ms"].append((time.perf_counter() - started) * 1000)
            await paths
    finally:
        if page is not None:
            page.close()
        reader.cancel()
        stream.close()
        await http.close()
        await session.close()
        for engine in (laptop, app):
            await engine.close()
            engine.replica.close()
    return {k: _quantiles(v) for k, v in times.items() if v}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--period-days", type=int, default=90)
    parser.add_argument("--browser", action="store_true", help="the page in headless Chromium")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wedsync-bench-") as tmp:
        root = Path(tmp)
        data = root / "server"
        seeded = seed_demo(
            data, org="Bench", seed=1, suppliers=300, couples=3000, campaigns=12, days=180
        )
        for email, role in (
            ("marketer@bench.test", "marketer"),
            ("planner@bench.test", "marketer"),
            ("cmo@bench.test", "viewer"),
        ):
            admin.create_user(data, email=email, password=PASSWORD, role=role, org="Bench")
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "wedsync", "server", "--data-dir", str(data)]
            + ["--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "WEDSYNC_LOG_LEVEL": "WARNING"},
        )
        try:
            line = proc.stdout.readline().decode()
            if "listening" not in line:
                raise RuntimeError(f"the server did not start: {line!r}")
            url = f"http://127.0.0.1:{port}"
            result = asyncio.run(run(url, root, args.samples, args.period_days, args.browser))
        finally:
            proc.terminate()
            proc.wait(30)
    print(
        json.dumps(
            {
                "bench": "dashboard",
                "events": seeded["events"],
                "samples": args.samples,
                "period_days": args.period_days,
                "browser": args.browser,
                "cpus": os.cpu_count(),
                **result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
