"""Several server processes sharing one PostgreSQL database: nothing lost, nothing doubled.

Real `wedsync server` processes on 127.0.0.1, each with its own writer, behind distinct ports
(as a load balancer's backends) or one port (`--workers`). Devices are real replicas.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine, SyncError
from tests.conftest import (
    PASSWORD,
    SECRET_ENV,
    USERS,
    add_users,
    free_port,
    start_server_process,
)

pytestmark = pytest.mark.slow
N = 20_000


class Cluster:
    def __init__(self, url: str, tmp: Path) -> None:
        self.url = url
        self.tmp = tmp
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.ports: dict[str, int] = {}
        self.tokens = MemoryTokens()
        self.engines: list[SyncEngine] = []

    async def start(self, name: str) -> None:
        port = self.ports.setdefault(name, free_port())
        state = ("--data-dir", str(self.tmp / "state"))  # one host's local files, shared
        self.procs[name] = await start_server_process(self.url, port, None, *state)

    def http(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    async def device(self, name: str, via: str, user: str = "marketer") -> SyncEngine:
        engine = SyncEngine(Replica(self.tmp / "profiles" / name), tokens=self.tokens)
        await engine.login(self.http(via), USERS[user][0], PASSWORD, name)
        self.engines.append(engine)
        return engine

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        from tests.conftest import query_store

        return query_store(self.url, sql, args)

    async def stop(self) -> None:
        for engine in self.engines:
            await engine.close()
            engine.replica.close()
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            await asyncio.wait_for(proc.wait(), 60)


@pytest.fixture
async def cluster(pg_url, tmp_path):
    add_users(pg_url)
    running = Cluster(pg_url, tmp_path)
    await asyncio.gather(running.start("a"), running.start("b"))
    yield running
    await running.stop()


def via(engine: SyncEngine, cluster: Cluster, name: str) -> None:
    """Send the device's next sync to process ``name`` (a load balancer's choice)."""
    engine.replica.set_setting("server_url", cluster.http(name))


async def test_an_event_pushed_twice_through_two_processes_is_stored_once(cluster):
    a = await cluster.device("a", "a")
    b = await cluster.device("b", "b")
    events = [
        a.replica.make_event(kind="conversion", value_cents=100, contact=f"c{i}@x.test")
        for i in range(2_000)
    ]
    a.replica.capture_many(events)
    b.replica.capture_many(events)  # the same ids queued on a second device, as after a restore
    first, second = await asyncio.gather(a.sync_once(), b.sync_once())
    # every event acked to both devices, stored by one process, a duplicate for the other
    assert first.pushed[0] + second.pushed[0] == 2_000
    assert first.duplicates + second.duplicates == 2_000
    assert a.replica.queue_depths()[0] == b.replica.queue_depths()[0] == 0
    assert cluster.rows("SELECT count(*), count(DISTINCT id) FROM events") == [(2_000, 2_000)]
    again = await b.sync_once()
    assert sum(again.pushed.values()) == 0


async def test_a_process_killed_mid_push_loses_nothing_and_the_other_takes_over(cluster):
    laptop = await cluster.device("laptop", "a")
    laptop.batch_size = 50
    laptop.replica.capture_many(
        [laptop.replica.make_event(kind="conversion", value_cents=100) for _ in range(N)]
    )
    killed = asyncio.Event()

    def kill_on_first_ack(step, *_):
        if step == "acked" and not killed.is_set():
            cluster.procs["a"].send_signal(signal.SIGKILL)  # acked: committed
            killed.set()

    laptop.trace.append(kill_on_first_ack)
    with pytest.raises(SyncError):
        await laptop.sync_once()
    await cluster.procs["a"].wait()
    (at_kill,) = cluster.rows("SELECT count(*) FROM events")[0]
    assert 0 < at_kill < N, "the kill must land in the middle of the push"
    via(laptop, cluster, "b")
    await laptop.sync_once()
    assert laptop.replica.queue_depths()[0] == 0
    assert cluster.rows("SELECT count(*), count(DISTINCT id) FROM events") == [(N, N)]


async def test_concurrent_edits_through_two_processes_merge_and_flag_one_conflict(cluster):
    a = await cluster.device("a", "a")
    b = await cluster.device("b", "b", "marketer2")
    c = await cluster.device("c", "a", "marketer3")
    cid, _ = a.replica.create_campaign(name="Spring open day")
    a.replica.set_campaign_field(cid, "budget_cents", 40_000)
    await a.sync_once()
    await b.sync_once()
    await c.sync_once()
    a.replica.set_campaign_field(cid, "budget_cents", 50_000)
    b.replica.set_campaign_field(cid, "budget_cents", 60_000)
    a.replica.set_campaign_field(cid, "description", "Barn in May.")
    b.replica.set_campaign_field(cid, "owner", "ben@a.test")
    await asyncio.gather(a.sync_once(), b.sync_once())  # at once, one through each process
    for engine in (a, b, c, a):
        await engine.sync_once()
    snaps = [e.replica.campaign(cid) for e in (a, b, c)]
    for snap in snaps:
        snap.pop("updated_at_ms")
    assert snaps[0] == snaps[1] == snaps[2]
    assert snaps[0]["description"] == "Barn in May." and snaps[0]["owner"] == "ben@a.test"
    assert cluster.rows(
        "SELECT count(*) FROM conflicts WHERE campaign_id = ? AND field = 'budget_cents'", (cid,)
    ) == [(1,)]
    (stored,) = cluster.rows("SELECT snapshot FROM campaigns WHERE id = ?", (cid,))[0]
    assert json.loads(stored)["budget_cents"] == snaps[0]["budget_cents"]
    # one log for every process: seqs distinct and in commit order, a pull sees each once
    seqs = [s for (s,) in cluster.rows("SELECT seq FROM campaign_updates ORDER BY seq")]
    assert len(seqs) == len(set(seqs)) >= 4
    cursor_before = c.replica.get_setting("docs_cursor")
    assert cursor_before is None or int(cursor_before) <= seqs[-1]


async def test_a_device_on_one_process_sees_a_change_committed_by_another_live(cluster):
    writer = await cluster.device("writer", "b")
    watcher = await cluster.device("watcher", "a", "marketer2")
    cid, _ = writer.replica.create_campaign(name="Live across processes")
    await writer.sync_once()
    await watcher.sync_once()
    session = await watcher.connect()  # stays connected to process a and listens
    try:
        changed = asyncio.get_running_loop().create_future()
        watcher.replica.subscribe(
            lambda ch: (
                cid in ch.campaigns
                and not changed.done()
                and changed.get_loop().call_soon_threadsafe(changed.set_result, True)
            )
        )
        writer.replica.add_campaign_note(cid, "Florist confirmed")
        await writer.sync_once()  # committed by process b
        await asyncio.wait_for(changed, 10)
        assert [n["text"] for n in watcher.replica.campaign(cid)["notes"]] == ["Florist confirmed"]
    finally:
        await session.close()


async def test_a_dashboard_on_one_process_counts_what_another_committed(cluster):
    writer = await cluster.device("writer", "b")
    reader = await cluster.device("reader", "a", "viewer")

    async def conversions() -> int:
        report = await reader.api("GET", "/api/v1/reports/roi")
        return report["summary"]["conversions"]

    assert await conversions() == 0  # process a builds and keeps its frame
    session = await reader.connect()  # the reader's app stays connected to process a
    try:
        told = asyncio.get_running_loop().create_future()
        reader.notice_callbacks.append(
            lambda kind, body: (
                kind == "report_changed" and not told.done() and told.set_result(body)
            )
        )
        writer.replica.capture_many(
            [
                writer.replica.make_event(
                    kind="conversion", value_cents=12_345, contact=f"{i}@y.test"
                )
                for i in range(3)
            ]
        )
        await writer.sync_once()  # committed by process b
        body = await asyncio.wait_for(told, 10)  # process a announces it (LISTEN/NOTIFY)
        assert body["as_of_ms"] > 0
        assert await conversions() == 3
    finally:
        await session.close()


async def test_workers_share_one_port_and_a_killed_worker_is_replaced(pg_url, tmp_path):
    add_users(pg_url)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wedsync",
        "server",
        "--database-url",
        pg_url,
        "--port",
        str(port),
        "--workers",
        "2",
        "--data-dir",
        str(tmp_path / "state"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **SECRET_ENV},
    )
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
        assert "listening" in line and "2 workers" in line, line
        started = {int(p) for p in line.rsplit(":", 1)[1].strip(" )\n").split(",")}
        assert await readyz_pids(port, until=started) == started  # the kernel spreads them
        victim = min(started)
        os.kill(victim, signal.SIGKILL)
        restarted = None
        while restarted is None:  # the parent says when the new worker listens
            log = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
            assert log, "the parent exited"
            if "restarted as pid" in log:
                restarted = int(log.rsplit("pid", 1)[1].split()[0])
        assert restarted not in started
        assert restarted in await readyz_pids(port, until={restarted})
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)


async def readyz_pids(port: int, *, until: set[int], attempts: int = 300) -> set[int]:
    """The pids answering /readyz on new connections, until ``until`` have all answered."""
    seen: set[int] = set()
    async with aiohttp.ClientSession() as http:
        for _ in range(attempts):
            async with http.get(
                f"http://127.0.0.1:{port}/readyz", headers={"Connection": "close"}
            ) as resp:
                assert resp.status == 200
                seen.add((await resp.json())["pid"])
            if until <= seen:
                break
    return seen


HAPROXY_CFG = Path(__file__).resolve().parents[2] / "packaging" / "haproxy" / "wedsync.cfg"


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
async def test_devices_sync_through_haproxy_with_the_packaged_config(cluster, tmp_path):
    """The documented HAProxy configuration, with this test's ports: websocket upgrade, health
    checks on /readyz, any backend for any device."""
    front = free_port()
    backends = "\n".join(
        f"    server s{i} 127.0.0.1:{cluster.ports[name]} check"
        for i, name in enumerate(("a", "b"), start=1)
    )
    text = HAPROXY_CFG.read_text()
    text = text.replace("bind 127.0.0.1:8765", f"bind 127.0.0.1:{front}")
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("server s")]
    config = tmp_path / "haproxy.cfg"
    config.write_text("\n".join(lines) + "\n" + backends + "\n")
    proxy = await asyncio.create_subprocess_exec(
        "haproxy", "-db", "-f", str(config), stderr=asyncio.subprocess.PIPE
    )
    try:
        cluster.ports["lb"] = front
        await wait_listening(front)
        a = await cluster.device("via-lb-a", "lb")
        b = await cluster.device("via-lb-b", "lb", "marketer2")
        a.replica.capture_many([a.replica.make_event(kind="conversion", value_cents=1)])
        cid, _ = a.replica.create_campaign(name="Through the balancer")
        await a.sync_once()
        await b.sync_once()
        assert b.replica.campaign(cid)["name"] == "Through the balancer"
        assert cluster.rows("SELECT count(*) FROM events") == [(1,)]
    finally:
        proxy.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proxy.wait(), 30)


async def wait_listening(port: int, attempts: int = 200) -> None:
    """Until something accepts on ``port`` (each attempt waits on the connect itself)."""
    for _ in range(attempts):
        try:
            _, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.02)  # nothing listens yet: the connect failed at once
    raise TimeoutError(f"nothing listens on {port}")
