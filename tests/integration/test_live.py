"""Staying connected: reconnect with backoff when the server is away, offline switch, live push."""

import asyncio

from aiohttp import web

from client.store import Replica
from client.sync import SyncReport
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
    synced = asyncio.Event()

    def on_report(item):
        reports.append(item)
        if isinstance(item, SyncReport) and engine.replica.queue_depths()[0] == 0:
            synced.set()

    stop = asyncio.Event()
    task = asyncio.create_task(engine.run_forever(stop, on_report=on_report))
    try:
        for _ in range(200):  # failures are reported while the server is down
            if any(isinstance(r, Exception) for r in reports):
                break
            await asyncio.sleep(0.01)
        assert any(isinstance(r, Exception) for r in reports)
        runner = web.AppRunner(create_app(ServerConfig(data_dir=server.data_dir, port=port)))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.wait_for(synced.wait(), 60)  # backoff is capped at 30 s; jitter below it
        assert server.stats()["events"]["total"] == 1

        # offline: captures stay queued while the live loop runs
        engine.replica.set_offline(True)
        await asyncio.sleep(0.2)
        engine.replica.capture(kind="touchpoint", channel="email")
        await asyncio.sleep(0.5)
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
