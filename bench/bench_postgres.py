"""PostgreSQL and scale-out benchmarks: ingest through 1, 2 and 4 server processes sharing one
PostgreSQL database against one process on SQLite, the raw COPY / executemany baseline of the
same rows, and a thundering herd of devices reconnecting at once.

Everything runs on this machine: real `wedsync server` processes on 127.0.0.1, the local
PostgreSQL (``WEDSYNC_TEST_POSTGRES_URL`` or the default trust URL), a database made for the run
and dropped after. Devices are websocket clients speaking the sync protocol (HELLO, PUSH by
class, ACK), with tokens registered in the store beforehand; the herd's clients come from eight
loopback addresses (127.0.0.2-9), as devices behind several networks would, under the server's
per-address connection limit. Traffic is bounded: a fixed number of events and devices.

Prints JSON. Run: python bench/bench_postgres.py [--events 200000] [--rounds 3] [--herd 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import msgpack  # noqa: E402
import psycopg  # noqa: E402

from server.auth import hash_token  # noqa: E402
from server.storage import open_storage  # noqa: E402
from shared.protocol import messages as m  # noqa: E402
from shared.protocol.events import Event  # noqa: E402
from shared.protocol.ids import new_id  # noqa: E402
from tests.conftest import free_port  # noqa: E402

ADMIN_URL = (
    os.environ.get("WEDSYNC_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = {"WEDSYNC_SERVER_SECRET": secrets.token_hex(32)}
BATCH = 1_000
INFLIGHT = 8


def with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


class Database:
    """A database for one configuration, dropped with its connections afterwards."""

    def __init__(self) -> None:
        self.name = f"wedsync_bench_{secrets.token_hex(4)}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = with_db(ADMIN_URL, self.name)

    def drop(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{self.name}" WITH (FORCE)')


def register_devices(location, n: int) -> list[tuple[str, str]]:
    """``n`` devices of one marketer, as (device id, token)."""
    store = open_storage(location)
    try:
        org = store.ensure_org("Bench org")
        user = store.create_user(
            org_id=org, email="bench@a.test", password_hash="!", role="marketer"
        )
        devices = []
        with store.transaction():
            for i in range(n):
                token = secrets.token_urlsafe(24)
                device = store.create_device(
                    user_id=user, org_id=org, name=f"d{i}", token_hash=hash_token(token)
                )
                devices.append((device, token))
        return devices
    finally:
        store.close()


def packed_events(n: int, kind: str) -> list[bytes]:
    base = 1_700_000_000_000
    return [
        msgpack.packb(
            Event(new_id(), kind, base + i, i, f"c{i % 5000}@x.test", None, "email").to_wire()
        )
        for i in range(n)
    ]


async def start_servers(
    location, count: int, tmp: Path
) -> list[tuple[asyncio.subprocess.Process, int]]:
    async def one(i: int):
        port = free_port()
        store = (
            ["--database-url", location, "--data-dir", str(tmp / "state")]
            if isinstance(location, str)
            else ["--data-dir", str(location)]
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wedsync", "server", *store, "--port", str(port),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, **SECRET},
        )  # fmt: skip
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if b"listening" not in line:
            raise RuntimeError(f"server {i} did not start")
        return proc, port

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def stop_servers(servers) -> list[float]:
    rss = [peak_rss_mb(p.pid) for p, _ in servers]
    for proc, _ in servers:
        proc.send_signal(signal.SIGTERM)
    for proc, _ in servers:
        await asyncio.wait_for(proc.wait(), 60)
    return rss


class Device:
    def __init__(self, session, port: int, device_id: str, token: str) -> None:
        self.session, self.port, self.device_id, self.token = session, port, device_id, token
        self.ws = None
        self.batch = 0

    async def connect(self) -> None:
        self.ws = await self.session.ws_connect(
            f"http://127.0.0.1:{self.port}/api/v1/sync", max_msg_size=64 << 20, autoping=True
        )
        await self.ws.send_bytes(m.hello(token=self.token, device_id=self.device_id))
        frame = msgpack.unpackb(await self.ws.receive_bytes())
        if frame["t"] != m.MsgType.WELCOME:
            raise RuntimeError(f"refused: {frame}")

    async def push(self, priority: int, events: list[bytes], inflight: int = INFLIGHT) -> None:
        """Every batch of ``events`` acked, ``inflight`` batches in flight at most."""
        batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
        pending: set[int] = set()
        sent = 0
        while sent < len(batches) or pending:
            while sent < len(batches) and len(pending) < inflight:
                self.batch += 1
                pending.add(self.batch)
                await self.ws.send_bytes(m.push_events_raw(self.batch, priority, batches[sent]))
                sent += 1
            frame = msgpack.unpackb(await self.ws.receive_bytes())
            if frame["t"] == m.MsgType.ACK:
                pending.discard(frame["b"])
            elif frame["t"] == m.MsgType.ERROR:
                raise RuntimeError(f"push refused: {frame}")

    async def close(self) -> None:
        await self.ws.close()


def connector(index: int) -> aiohttp.TCPConnector:
    """Clients from 127.0.0.2..9: under the server's connections-per-address limit."""
    return aiohttp.TCPConnector(limit=0, local_addr=(f"127.0.0.{2 + index % 8}", 0))


async def ingest(location, processes: int, events: int, devices: int, tmp: Path) -> dict:
    registered = register_devices(location, devices)
    share = events // devices
    payloads = [packed_events(share, "touchpoint") for _ in range(devices)]
    servers = await start_servers(location, processes, tmp)
    sessions = [aiohttp.ClientSession(connector=connector(i)) for i in range(8)]
    try:
        clients = [
            Device(sessions[i % 8], servers[i % processes][1], d, t)
            for i, (d, t) in enumerate(registered)
        ]
        await asyncio.gather(*(c.connect() for c in clients))
        started = time.perf_counter()
        await asyncio.gather(*(c.push(0, p) for c, p in zip(clients, payloads, strict=True)))
        elapsed = time.perf_counter() - started
        await asyncio.gather(*(c.close() for c in clients))
    finally:
        for s in sessions:
            await s.close()
        rss = await stop_servers(servers)
    stored = stored_count(location)
    if stored != share * devices:
        raise RuntimeError(f"stored {stored} of {share * devices}")
    return {"events_per_s": round(stored / elapsed), "seconds": round(elapsed, 2), "rss_mb": rss}


def stored_count(location) -> int:
    store = open_storage(location)
    try:
        return store.stats()["events"]["total"]
    finally:
        store.close()


def raw_baselines(rows_n: int) -> dict:
    """The same rows (the server's events table and values) into PostgreSQL: COPY, executemany,
    and the server's own statement (INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING)."""
    db = Database()
    try:
        store = open_storage(db.url)
        store.close()
        received = time.time_ns() // 1_000_000
        rows = [
            (new_id(), "org", "dev", "touchpoint", 0, 1_700_000_000_000 + i, i, f"c{i % 5000}@x.test",
             None, "email", None, None, received, 1)
            for i in range(rows_n)
        ]  # fmt: skip
        cols = (
            "id, org_id, device_id, kind, priority, occurred_at_ms, hlc, contact, campaign, "
            "channel, value_cents, payload, received_at_ms, commit_seq"
        )
        out = {}
        with psycopg.connect(db.url, autocommit=True) as conn:
            for name in ("copy", "executemany"):
                conn.execute("TRUNCATE events")
                started = time.perf_counter()
                with conn.transaction(), conn.cursor() as cur:
                    if name == "copy":
                        with cur.copy(f"COPY events ({cols}) FROM STDIN") as copy:
                            for r in rows:
                                copy.write_row(r)
                    else:
                        cur.executemany(
                            f"INSERT INTO events ({cols}) VALUES "
                            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                            rows,
                        )
                out[name] = round(rows_n / (time.perf_counter() - started))
        store = open_storage(db.url)
        wire = [[r[0], r[3], r[5], r[6], r[7], r[8], r[9], r[10], None] for r in rows]
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute("TRUNCATE events")
        started = time.perf_counter()
        with store.transaction():
            for i in range(0, rows_n, 20_000):
                store.insert_events(
                    org_id="org",
                    device_id="dev",
                    events=wire[i : i + 20_000],
                    priority=0,
                    commit_seq=1,
                )
        out["server_statement"] = round(rows_n / (time.perf_counter() - started))
        store.close()
        return out
    finally:
        db.drop()


async def herd(location, processes: int, devices: int, per_device: int, tmp: Path) -> dict:
    """``devices`` reconnect at once, each with ``per_device`` queued events, half class 0
    (conversions and touchpoints) and half class 1 (opens); each sends class 0 first and class 1
    only once class 0 is acked, as the client does."""
    registered = register_devices(location, devices)
    zero = [packed_events(per_device // 2, "conversion") for _ in range(devices)]
    one = [packed_events(per_device - per_device // 2, "open") for _ in range(devices)]
    servers = await start_servers(location, processes, tmp)
    sessions = [aiohttp.ClientSession(connector=connector(i)) for i in range(8)]
    zero_done: list[float] = []
    all_done: list[float] = []
    try:
        clients = [
            Device(sessions[i % 8], servers[i % processes][1], d, t)
            for i, (d, t) in enumerate(registered)
        ]
        started = time.perf_counter()

        async def run(i: int, c: Device) -> None:
            await c.connect()
            await c.push(0, zero[i])
            zero_done.append(time.perf_counter() - started)
            await c.push(1, one[i])
            all_done.append(time.perf_counter() - started)

        await asyncio.gather(*(run(i, c) for i, c in enumerate(clients)))
        await asyncio.gather(*(c.close() for c in clients))
    finally:
        for s in sessions:
            await s.close()
        rss = await stop_servers(servers)
    stored = stored_count(location)
    return {
        "devices": devices,
        "events": stored,
        "all_class0_acked_s": round(max(zero_done), 2),
        "all_acked_s": round(max(all_done), 2),
        "server_peak_rss_mb": [round(r) for r in rss],
        "class1_events_committed_before_the_last_class0_commit": class1_before_last_class0(
            location
        ),
    }


def class1_before_last_class0(location) -> int:
    sql = (
        "SELECT count(*) FROM events WHERE priority = 1 AND commit_seq < "
        "(SELECT max(commit_seq) FROM events WHERE priority = 0)"
    )
    if isinstance(location, str):
        with psycopg.connect(location) as conn:
            return conn.execute(sql).fetchone()[0]
    import sqlite3

    conn = sqlite3.connect(Path(location) / "server.sqlite")
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--herd", type=int, default=1_000)
    parser.add_argument("--herd-events", type=int, default=100)
    args = parser.parse_args()
    result: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "events": args.events,
        "devices": args.devices,
        "ingest": {},
    }
    counts = [int(c) for c in args.processes.split(",")]
    rounds: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for r in range(args.rounds):
            rounds.setdefault("sqlite_1", []).append(
                await ingest(tmp / f"sqlite{r}", 1, args.events, args.devices, tmp)
            )
            for n in counts:
                db = Database()
                try:
                    rounds.setdefault(f"postgres_{n}", []).append(
                        await ingest(db.url, n, args.events, args.devices, tmp)
                    )
                finally:
                    db.drop()
        sqlite_rate = statistics.median(x["events_per_s"] for x in rounds["sqlite_1"])
        for name, runs in rounds.items():
            rate = statistics.median(x["events_per_s"] for x in runs)
            result["ingest"][name] = {
                "events_per_s_median": round(rate),
                "rounds": [x["events_per_s"] for x in runs],
                "ratio_to_sqlite_1": round(rate / sqlite_rate, 2),
                "peak_rss_mb": [round(v) for v in runs[-1]["rss_mb"]],
            }
        result["raw_postgres_rows_per_s"] = raw_baselines(args.events)
        if args.herd:
            result["herd"] = {
                "sqlite_1": await herd(tmp / "herd-sqlite", 1, args.herd, args.herd_events, tmp)
            }
            for n in (2,):
                db = Database()
                try:
                    result["herd"][f"postgres_{n}"] = await herd(
                        db.url, n, args.herd, args.herd_events, tmp
                    )
                finally:
                    db.drop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
