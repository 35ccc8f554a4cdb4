"""The chaos proxy between a real sync engine and a real server on 127.0.0.1."""

from __future__ import annotations

import pytest

from client.store import Replica
from client.sync import SyncEngine, SyncError
from devtools.chaos_proxy import ChaosProxy, Faults, parse_address
from tests.conftest import PASSWORD, USERS


@pytest.fixture
async def proxy(server):
    chaos = ChaosProxy(target=parse_address(server.url.removeprefix("http://")), seed=11)
    await chaos.start()
    yield chaos
    await chaos.close()


async def device_via(server, proxy, name: str) -> SyncEngine:
    host, port = proxy.address
    engine = SyncEngine(Replica(server.tmp / "profiles" / name), tokens=server.tokens)
    await engine.login(f"http://{host}:{port}", USERS["marketer"][0], PASSWORD, name)
    server.engines.append(engine)
    return engine


def capture(engine: SyncEngine, n: int) -> set[str]:
    replica = engine.replica
    events = [replica.make_event(kind="touchpoint", channel="email") for _ in range(n)]
    replica.capture_many(events)
    return {e.id for e in events}


async def sync_until_empty(engine: SyncEngine, attempts: int) -> int:
    failures = 0
    for _ in range(attempts):
        try:
            await engine.sync_once()
        except (SyncError, ConnectionError):
            failures += 1
            continue
        if not any(engine.replica.queue_depths().values()):
            return failures
    raise AssertionError(f"outbox still {engine.replica.queue_depths()} after {attempts} tries")


def server_ids(server) -> list[str]:
    return [row[0] for row in server.ctx.storage.stored_events()]


async def test_clean_proxy_relays_login_api_and_sync(server, proxy):
    engine = await device_via(server, proxy, "a")
    ids = capture(engine, 300)
    await engine.sync_once()
    assert set(server_ids(server)) == ids
    assert proxy.counts["websockets"] >= 1 and proxy.counts["connections"] >= 2


async def test_cut_every_n_frames_mid_frame_loses_and_duplicates_nothing(server, proxy):
    engine = await device_via(server, proxy, "a")
    engine.batch_size = 10
    ids = capture(engine, 200)
    proxy.set_faults(Faults(cut_every=12, latency_ms=2))
    failures = await sync_until_empty(engine, attempts=40)
    stored = server_ids(server)
    assert failures > 0 and proxy.counts["cut_mid_frame"] > 0
    assert sorted(stored) == sorted(ids)  # every event once


async def test_lossy_duplicating_reordering_link_still_stores_each_event_once(server, proxy):
    engine = await device_via(server, proxy, "a")
    engine.batch_size = 10
    engine.timeout_s = 0.5
    ids = capture(engine, 300)
    proxy.set_faults(Faults(loss=0.15, duplicate=0.3, reorder=0.2, latency_ms=3, jitter_ms=2))
    await sync_until_empty(engine, attempts=80)
    assert sorted(server_ids(server)) == sorted(ids)
    assert proxy.counts["loss"] > 0 and proxy.counts["duplicate"] > 0
    assert proxy.counts["reorder"] > 0
    assert engine.replica.rejected_count() == 0


async def test_offline_proxy_refuses_and_cuts(server, proxy):
    engine = await device_via(server, proxy, "a")
    capture(engine, 5)
    proxy.set_faults(Faults(offline=True))
    with pytest.raises(SyncError):
        await engine.sync_once()
    proxy.set_faults(Faults())
    await engine.sync_once()
    assert proxy.counts["refused_offline"] >= 1 and len(server_ids(server)) == 5


def test_faults_are_validated():
    with pytest.raises(ValueError):
        Faults(loss=1.5)
    with pytest.raises(ValueError):
        parse_address("localhost")
