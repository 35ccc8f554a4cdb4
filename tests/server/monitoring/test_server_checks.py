"""Content, sync and storage checks driven by real conditions on a real server: generations
reported over HTTP, a writer held busy with work queued behind it, a device that goes quiet,
a disk that fills (a RAM disk, so the test does not depend on the machine's own disk)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import pytest

from server.monitoring.status import Status
from tests.conftest import PASSWORD, USERS

from .conftest import monitored_server

MiB = 1 << 20


def _one(checks, name, org_id=None):
    (found,) = [c for c in checks if c.name == name and c.org_id == org_id]
    return found


async def _until(monitor, name, status, org_id=None, timeout_s=20.0):
    """Read the checks until ``name`` has ``status`` (time has to pass for some)."""
    async with asyncio.timeout(timeout_s):
        while True:
            check = _one(await monitor.evaluate(business=False), name, org_id)
            if check.status is status:
                return check
            await asyncio.sleep(0.05)


async def _token(server, user):
    async with aiohttp.ClientSession() as http:
        r = await http.post(
            server.url + "/api/v1/login", json={"email": USERS[user][0], "password": PASSWORD}
        )
        return {"Authorization": f"Bearer {(await r.json())['token']}"}


async def test_content_generation_success_is_graded_from_what_devices_report(
    tmp_path, stop_servers
):
    server, monitor = await monitored_server(tmp_path, None)
    stop_servers.append(server)
    org = server.ctx.storage.org_id("Org A")
    marketer, viewer = await _token(server, "marketer"), await _token(server, "viewer")

    def records(n, ok=True, latency_ms=600.0):
        source = "offline" if ok else "none"
        return [{"requested": "offline", "source": source, "ok": ok, "latency_ms": latency_ms}] * n

    async with aiohttp.ClientSession() as http:

        async def report(items, headers=marketer):
            r = await http.post(
                server.url + "/api/v1/monitor/generations",
                json={"generations": items},
                headers=headers,
            )
            return r.status, await r.json()

        assert await report(records(10)) == (200, {"recorded": 10})
        check = _one(await monitor.evaluate(business=False), "content.success_rate", org)
        assert check.status is Status.HEALTHY and "10 generations" in check.message
        latency = _one(monitor.checks.values(), "content.latency_p99_s", org)
        assert latency.status is Status.HEALTHY and latency.value == 0.6

        await report(records(1, ok=False))  # 10 of 11
        check = _one(await monitor.evaluate(business=False), "content.success_rate", org)
        assert check.status is Status.WARNING and check.message.startswith(
            "Content generation success 90.9 %"
        )
        await report(records(1, ok=False, latency_ms=6000))  # 10 of 12, and a 6 s one
        checks = await monitor.evaluate(business=False)
        assert _one(checks, "content.success_rate", org).status is Status.CRITICAL
        assert _one(checks, "content.latency_p99_s", org).status is Status.CRITICAL

        await report(records(120))  # 130 of 132; the slow one is under the 99th percentile
        checks = await monitor.evaluate(business=False)
        assert _one(checks, "content.success_rate", org).status is Status.HEALTHY
        assert _one(checks, "content.latency_p99_s", org).status is Status.HEALTHY

        status, body = await report([{"requested": "offline", "ok": True, "latency_ms": "x"}])
        assert status == 400 and "generations[0]" in body["error"]["message"]
        status, _ = await report(records(1), headers=viewer)
        assert status == 403


THRESHOLDS = """
[thresholds."sync.lag_s.attribution"]
healthy = 0.2
critical = 0.8
[thresholds."sync.queue_items.attribution"]
healthy = 5
critical = 50
[thresholds."sync.device_silence_s"]
healthy = 0.3
critical = 1.0
"""


async def test_a_held_writer_shows_as_queue_lag_and_depth_then_busy_share(tmp_path, stop_servers):
    server, monitor = await monitored_server(tmp_path, None, THRESHOLDS)
    stop_servers.append(server)
    writer = server.ctx.writer
    checks = await monitor.evaluate(business=False)
    assert _one(checks, "sync.lag_s.attribution").status is Status.HEALTHY

    started, release = threading.Event(), threading.Event()

    def slow(storage, seq):  # a commit that takes as long as the test holds it
        started.set()
        release.wait(30)

    first = writer.enqueue(0, 1, slow)
    assert await asyncio.to_thread(started.wait, 10)  # the writer is in that commit
    second = writer.enqueue(0, 10, lambda storage, seq: None)  # waits behind it in the queue
    try:
        depth = _one(await monitor.evaluate(business=False), "sync.queue_items.attribution")
        assert depth.status is Status.WARNING and depth.value == 11
        lag = await _until(monitor, "sync.lag_s.attribution", Status.WARNING)
        assert lag.message.startswith("Sync lag, attribution") and lag.value > 0.2
        third = writer.enqueue(0, 50, lambda storage, seq: None)
        depth = _one(await monitor.evaluate(business=False), "sync.queue_items.attribution")
        assert depth.status is Status.CRITICAL and depth.value == 61
        lag = await _until(monitor, "sync.lag_s.attribution", Status.CRITICAL)
        assert lag.value > 0.8
        assert monitor.view(None)["overall"]["status"] == "critical"
    finally:
        release.set()
    await asyncio.gather(first, second, third)
    checks = await monitor.evaluate(business=False)
    assert _one(checks, "sync.lag_s.attribution").status is Status.HEALTHY
    assert _one(checks, "sync.queue_items.attribution").value == 0
    busy = _one(checks, "sync.writer_busy_ratio")  # the held commit counts as busy time
    assert busy.status is Status.CRITICAL and busy.value > 0.95
    busy = _one(await monitor.evaluate(business=False), "sync.writer_busy_ratio")
    assert busy.status is Status.HEALTHY


async def test_an_orgs_devices_going_quiet_turns_warning_then_critical(tmp_path, stop_servers):
    server, monitor = await monitored_server(tmp_path, None, THRESHOLDS)
    stop_servers.append(server)
    org = server.ctx.storage.org_id("Org A")
    silence = _one(await monitor.evaluate(business=False), "sync.device_silence_s", org)
    assert silence.status is Status.UNKNOWN  # nothing has synced yet

    laptop = await server.device("laptop")
    stop = asyncio.Event()
    live = asyncio.create_task(laptop.run_forever(stop))
    try:
        check = await _until(monitor, "sync.device_silence_s", Status.HEALTHY, org)
        assert "1 device connected now" in check.message
    finally:
        stop.set()
        await asyncio.wait_for(live, 30)
    async with asyncio.timeout(10):  # the server saw the socket close
        while server.ctx.hub.count_org(org):
            await asyncio.sleep(0.02)
    check = await _until(monitor, "sync.device_silence_s", Status.WARNING, org)
    assert "0 devices connected now" in check.message
    await _until(monitor, "sync.device_silence_s", Status.CRITICAL, org)

    laptop.replica.capture(kind="touchpoint", channel="email", contact="x@y.test")
    await laptop.sync_once()  # a push while connected: the org synced
    check = _one(await monitor.evaluate(business=False), "sync.device_silence_s", org)
    assert check.status is Status.HEALTHY and check.value < 0.3


@pytest.fixture
def ram_dir():
    if not Path("/dev/shm").is_dir():
        pytest.skip("no RAM disk (/dev/shm) on this machine to fill")
    path = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="wedsync-monitor-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_a_filling_disk_turns_warning_then_critical_and_recovers(ram_dir, stop_servers):
    free = shutil.disk_usage(ram_dir).free
    bands = (
        '[thresholds."storage.disk_free_bytes"]\n'
        f"healthy = {free - 64 * MiB}\ncritical = {free - 192 * MiB}\n"
    )
    server, monitor = await monitored_server(ram_dir, None, bands)
    stop_servers.append(server)
    disk = _one(await monitor.evaluate(business=False), "storage.disk_free_bytes")
    assert disk.status is Status.HEALTHY

    block = b"\0" * MiB
    filler = [ram_dir / "fill-1", ram_dir / "fill-2"]
    try:
        for path, status in zip(filler, (Status.WARNING, Status.CRITICAL), strict=True):
            with path.open("wb") as f:
                for _ in range(128):
                    f.write(block)
            disk = _one(await monitor.evaluate(business=False), "storage.disk_free_bytes")
            assert disk.status is status, disk.message
        assert disk.message.startswith("Disk free space ") and "critical" in disk.message
    finally:
        for path in filler:
            path.unlink(missing_ok=True)
    disk = _one(await monitor.evaluate(business=False), "storage.disk_free_bytes")
    assert disk.status is Status.HEALTHY

    wal = _one(monitor.checks.values(), "storage.wal_bytes")
    on_disk = sum(p.stat().st_size for p in (ram_dir / "server").glob("*-wal"))
    assert wal.status is Status.HEALTHY and 0 < wal.value and abs(wal.value - on_disk) < MiB
    started = time.perf_counter()
    reachable = _one(monitor.checks.values(), "storage.reachable")
    assert reachable.status is Status.HEALTHY and time.perf_counter() - started < 1
