"""Staying connected: reconnect with backoff when the server is away, offline switch, live push."""

import asyncio

from aiohttp import web

from client.store import Replica
from server.app import create_app
from server.config import ServerConfig
from tests.conftest import start_server


async def test_live_engine_reconnects_when_the_server_comes_back_and_honours_offline(tmp_path):
    server = await start_server(tmp_path)
    engine = await server.device("live")
    port = int(server.url.rsplit(":", 1)[1])
    await server.runner.cleanup()  # the server goes away

    engine.replica.capture(kind="conversion", value_cents=100)
    reports: list = []
    failed = asyncio.Event()
    synced = asyncio.Event()
    parked_offline = asyncio.Event()  # set each time the live loop starts to wait offline

    def on_report(item):
        reports.append(item)
        if isinstance(item, Exception):
            failed.set()
        elif engine.replica.queue_depths()[0] == 0:
            synced.set()

    engine.live_waits.append(lambda reason: reason == "offline" and parked_offline.set())
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run_forever(stop, on_report=on_report))
    try:
        await asyncio.wait_for(failed.wait(), 10)  # failures are reported while the server is down
        runner = web.AppRunner(create_app(ServerConfig(data_dir=server.data_dir, port=port)))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.wait_for(synced.wait(), 60)  # backoff is capped at 30 s; jitter below it
        assert server.stats()["events"]["total"] == 1

        # offline: captures stay queued while the live loop runs
        # (each wait below can only end once the loop has looked again, after the write)
        engine.replica.set_offline(True)
        parked_offline.clear()
        await asyncio.wait_for(parked_offline.wait(), 10)  # the loop saw the switch
        engine.replica.capture(kind="touchpoint", channel="email")
        parked_offline.clear()
        await asyncio.wait_for(parked_offline.wait(), 10)  # and the capture, and kept waiting
        assert engine.replica.queue_depths()[0] == 1
        assert server.stats()["events"]["total"] == 1
        synced.clear()
        engine.replica.set_offline(False)
        await asyncio.wait_for(synced.wait(), 30)
        assert server.stats()["events"]["total"] == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await engine.close()
        engine.replica.close()
        await runner.cleanup()


async def test_profile_reopens_with_its_queue_after_a_restart(tmp_path):
    replica = Replica(tmp_path / "p")
    replica.capture(kind="conversion", value_cents=5)
    device = replica.device_id
    replica.close()
    again = Replica(tmp_path / "p")
    assert again.device_id == device and again.queue_depths()[0] == 1
    assert again.clock.last > 0
    again.close()
