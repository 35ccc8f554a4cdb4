"""What the server's hardening costs: sync throughput and login latency of the hardened server
beside the server before it, in the same run, as ratios.

Three `wedsync server` processes run side by side: the code before the hardening (extracted
from git at ``--baseline``, run from its own tree), the hardened one as configured by default
(``--durability normal``), and the hardened one with ``--durability full``. Each round pushes the
same number of events to each (one device, 1,000-event batches, 8 in flight, as the client
does) and times logins, alternating servers so the machine's drift hits all alike; figures are
medians over rounds. Both sides are driven by the same minimal client speaking protocol 1, which
every one of these servers speaks, so only the server differs.

Prints JSON. Run: python bench/bench_security.py [--events 100000] [--rounds 3] [--logins 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import msgpack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.protocol import messages as m  # noqa: E402
from shared.protocol.events import Event  # noqa: E402
from shared.protocol.ids import new_id  # noqa: E402
from tests.conftest import free_port  # noqa: E402

PASSWORD = "benchmark-password"
EMAIL = "bench@x.test"
#: the last commit before the hardening
BASELINE = "44a67c7"
#: dropped from sys.meta_path in the baseline's processes, so that modules the old tree lacks
#: are not found in this editable install's tree
_NO_EDITABLE = (
    "import sys\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in "
    "getattr(f, '__name__', type(f).__name__)]\n"
)


def baseline_tree(ref: str, into: Path) -> dict[str, str]:
    """The code at ``ref`` in ``into``; the environment that runs it."""
    tree = into / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    site = into / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_NO_EDITABLE)
    return dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{tree}")


class Server:
    def __init__(self, name: str, env: dict[str, str], data: Path, extra: list[str]) -> None:
        self.name, self.env, self.data, self.extra = name, env, data, extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "wedsync", "admin", "--data-dir", str(self.data)]
            + ["create-user", "--email", EMAIL, "--password", PASSWORD, "--role", "marketer"],
            env=self.env,
            check=True,
            capture_output=True,
        )
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wedsync",
            "server",
            "--data-dir",
            str(self.data),
            "--port",
            str(self.port),
            *self.extra,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if b"listening" not in line:
            raise RuntimeError(f"{self.name} did not start: {line!r}")

    async def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            await self.proc.wait()


async def login(session: aiohttp.ClientSession, url: str, password: str = PASSWORD) -> tuple:
    started = time.perf_counter()
    async with session.post(
        url + "/api/v1/login", json={"email": EMAIL, "password": password}
    ) as resp:
        body = await resp.json()
    return (time.perf_counter() - started) * 1000, resp.status, body


def batches(n: int, size: int = 1000) -> list[list[bytes]]:
    events = [
        Event(new_id(), "touchpoint", 1_700_000_000_000 + i, i + 1, contact=f"c{i % 5000}@x.test",
              channel="email").to_wire()
        for i in range(n)
    ]  # fmt: skip
    packed = [msgpack.packb(e) for e in events]
    return [packed[i : i + size] for i in range(0, n, size)]


async def push(session: aiohttp.ClientSession, url: str, token: str, work: list) -> float:
    """Events per second for one device pushing ``work`` (8 batches in flight)."""
    ws = await session.ws_connect(url.replace("http", "ws", 1) + "/api/v1/sync", max_msg_size=0)
    await ws.send_bytes(m.hello(token=token, device_id="bench", version=1))
    welcome = msgpack.unpackb((await ws.receive(timeout=30)).data)
    assert welcome["t"] == m.MsgType.WELCOME, welcome
    started = time.perf_counter()
    sent = acked = stored = 0
    while acked < len(work):
        while sent < len(work) and sent - acked < 8:
            await ws.send_bytes(m.push_events_raw(sent + 1, 0, work[sent]))
            sent += 1
        frame = msgpack.unpackb((await ws.receive(timeout=60)).data)
        assert frame["t"] == m.MsgType.ACK, frame
        acked += 1
        stored += frame["n"]
    elapsed = time.perf_counter() - started
    await ws.close()
    assert stored == sum(map(len, work)), (stored, "events were not all stored")
    return stored / elapsed


async def bench(n_events: int, rounds: int, logins: int, ref: str) -> dict:
    result: dict = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "baseline": ref,
        "events_per_round": n_events,
        "rounds": rounds,
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        here = dict(os.environ)
        servers = [
            Server("baseline", baseline_tree(ref, tmp), tmp / "base", []),
            Server("hardened", here, tmp / "hard", []),
            Server("hardened_full", here, tmp / "full", ["--durability", "full"]),
        ]
        for server in servers:
            await server.start()
        try:
            sync: dict[str, list[float]] = {s.name: [] for s in servers}
            ok: dict[str, list[float]] = {s.name: [] for s in servers}
            wrong: dict[str, list[float]] = {s.name: [] for s in servers}
            async with aiohttp.ClientSession() as session:
                for r in range(rounds):
                    # each round in another order: no server always goes first (or last)
                    for server in servers[r % 3 :] + servers[: r % 3]:
                        work = batches(n_events)
                        _ms, status, body = await login(session, server.url)
                        assert status == 200, body
                        sync[server.name].append(
                            await push(session, server.url, body["token"], work)
                        )
                    for _ in range(max(1, logins // rounds)):
                        for server in servers:
                            ms, status, _ = await login(session, server.url)
                            assert status == 200
                            ok[server.name].append(ms)
                            ms, status, _ = await login(session, server.url, "not the password")
                            assert status == 401, status
                            wrong[server.name].append(ms)
                            await login(session, server.url)  # a success clears the count
        finally:
            for server in servers:
                await server.stop()

    def med(samples: list[float]) -> float:
        return round(statistics.median(samples), 1)

    result["sync_events_per_s"] = {k: round(statistics.median(v)) for k, v in sync.items()}
    result["login_ms_median"] = {k: med(v) for k, v in ok.items()}
    result["failed_login_ms_median"] = {k: med(v) for k, v in wrong.items()}
    base = result["sync_events_per_s"]["baseline"]
    result["ratios"] = {
        "sync_hardened_to_baseline": round(result["sync_events_per_s"]["hardened"] / base, 3),
        "sync_full_to_normal": round(
            result["sync_events_per_s"]["hardened_full"] / result["sync_events_per_s"]["hardened"],
            3,
        ),
        "login_hardened_to_baseline": round(
            result["login_ms_median"]["hardened"] / result["login_ms_median"]["baseline"], 3
        ),
    }
    result["samples"] = {"sync": sync, "login_ms": ok}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--logins", type=int, default=15)
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the server before")
    args = parser.parse_args()
    result = asyncio.run(bench(args.events, args.rounds, args.logins, args.baseline))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
