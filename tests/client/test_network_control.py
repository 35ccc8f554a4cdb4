"""The tester's network control in the sync engine: online, offline, flaky."""

from __future__ import annotations

import asyncio
import random

import pytest

from client.network_control import NetworkConditions, NetworkMode, NetworkState
from client.sync import OfflineError, SyncError


def capture(engine, n: int) -> None:
    replica = engine.replica
    replica.capture_many([replica.make_event(kind="conversion", value_cents=100) for _ in range(n)])


async def test_offline_refuses_to_connect_and_online_resumes(server):
    a = await server.device("a")
    a.network = NetworkConditions()
    capture(a, 20)
    a.network.set(NetworkMode.OFFLINE)
    with pytest.raises(OfflineError):
        await a.sync_once()
    assert a.replica.queue_depths()[0] == 20
    a.network.set(NetworkMode.ONLINE)
    await a.sync_once()
    assert server.stats()["events"]["total"] == 20


async def test_switching_offline_cuts_the_live_connection(server):
    a = await server.device("a")
    a.network = NetworkConditions()
    seen = []
    a.network.subscribe(lambda state: seen.append(state.mode))
    stop = asyncio.Event()
    reports: asyncio.Queue = asyncio.Queue()
    live = asyncio.create_task(a.run_forever(stop, on_report=reports.put_nowait))
    first = await asyncio.wait_for(reports.get(), 10)
    assert not isinstance(first, Exception)
    a.network.set(NetworkMode.OFFLINE)
    cut = await asyncio.wait_for(reports.get(), 10)
    assert isinstance(cut, SyncError)  # the open session died at once
    stop.set()
    await asyncio.wait_for(live, 10)
    assert seen == [NetworkMode.OFFLINE]


async def test_flaky_network_delays_and_drops_frames_yet_syncs_each_event_once(server):
    a = await server.device("a")
    a.batch_size = 10
    a.timeout_s = 0.5
    a.network = NetworkConditions(
        NetworkState(mode=NetworkMode.FLAKY, loss=0.1, latency_ms=5), rng=random.Random(3)
    )
    capture(a, 200)
    for _ in range(60):
        try:
            await a.sync_once()
        except SyncError:
            continue
        if not any(a.replica.queue_depths().values()):
            break
    assert server.stats()["events"]["total"] == 200
    assert a.replica.rejected_count() == 0


def test_conditions_are_validated():
    conditions = NetworkConditions()
    with pytest.raises(ValueError):
        conditions.set(loss=2)
    with pytest.raises(ValueError):
        conditions.set("sideways")
    assert conditions.set("flaky", latency_ms=50).latency_ms == 50
