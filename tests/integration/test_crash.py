"""kill -9 the client or the server in the middle of a sync: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine, SyncError
from server import admin
from server.commits import Commit
from tests.conftest import PASSWORD, USERS, free_port, start_server, start_server_process

pytestmark = pytest.mark.slow
N = 20_000


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The tests' own file keyring in a temporary home, never the user's.
    env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    return env


async def wedsync(env, *args, check=True):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wedsync",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    if check:
        assert proc.returncode == 0, err.decode()
    return proc.returncode, out.decode(), err.decode()


def count(data_dir: Path) -> int:
    conn = sqlite3.connect(data_dir / "server.sqlite", timeout=10)
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def queue(profile: Path, n: int) -> set[str]:
    replica = Replica(profile)
    events = [
        replica.make_event(kind="touchpoint", channel="email", contact=f"c{i}@x.test")
        for i in range(n)
    ]
    replica.capture_many(events)
    replica.close()
    return {e.id for e in events}


class KillOnce:
    """SIGKILLs ``proc`` the first time it is called: a hook that runs once the server has
    stored part of the sync lands the kill in the middle of it, with no polling."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.killed = asyncio.Event()

    def __call__(self) -> None:
        if not self.killed.is_set():
            self.proc.send_signal(signal.SIGKILL)
            self.killed.set()

    async def wait(self, timeout_s: float = 60) -> None:
        await asyncio.wait_for(self.killed.wait(), timeout_s)
        await self.proc.wait()


class KillOnFirstEvents:
    """A server commit listener: the first commit that stores events kills (before its acks)."""

    def __init__(self, kill: KillOnce) -> None:
        self.kill = kill

    def committed(self, commit: Commit) -> None:
        if any(changes.events is None or changes.events for changes in commit.orgs.values()):
            self.kill()


async def test_client_killed_mid_sync_then_resynced_stores_each_event_once(tmp_path):
    server = await start_server(tmp_path)
    env = cli_env(tmp_path)
    profile = tmp_path / "laptop"
    try:
        await wedsync(
            env,
            "client",
            "--profile",
            str(profile),
            "login",
            "--server",
            server.url,
            "--email",
            USERS["marketer"][0],
            "--password",
            PASSWORD,
        )
        ids = queue(profile, N)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wedsync",
            "client",
            "--profile",
            str(profile),
            "sync",
            "--batch-size",
            "50",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        kill = KillOnce(proc)
        server.ctx.writer.add_listener(KillOnFirstEvents(kill))
        await kill.wait()
        at_kill = count(server.data_dir)
        assert 0 < at_kill < N, "the kill must land in the middle of the sync"
        await wedsync(env, "client", "--profile", str(profile), "sync", "--json")
        conn = sqlite3.connect(server.data_dir / "server.sqlite")
        stored = [r[0] for r in conn.execute("SELECT id FROM events")]
        conn.close()
        assert len(stored) == N and set(stored) == ids
        _, out, _ = await wedsync(env, "client", "--profile", str(profile), "status", "--json")
        assert '"0": 0' in out
    finally:
        await server.runner.cleanup()


async def test_server_killed_mid_batch_then_restarted_stores_each_event_once(tmp_path):
    data_dir = tmp_path / "server"
    for email, role, org in USERS.values():
        admin.create_user(data_dir, email=email, password=PASSWORD, role=role, org=org)
    port = free_port()
    env = cli_env(tmp_path)

    async def start():
        return await start_server_process(data_dir, port, env)

    proc = await start()
    replica = Replica(tmp_path / "laptop")
    engine = SyncEngine(replica, tokens=MemoryTokens())
    engine.batch_size = 50
    try:
        await engine.login(f"http://127.0.0.1:{port}", USERS["marketer"][0], PASSWORD, "laptop")
        replica.capture_many(
            [replica.make_event(kind="conversion", value_cents=100) for _ in range(N)]
        )
        kill = KillOnce(proc)
        engine.trace.append(lambda step, *_: step == "acked" and kill())  # acked: committed
        sync = asyncio.create_task(engine.sync_once())
        await kill.wait()
        at_kill = count(data_dir)
        assert 0 < at_kill < N, "the kill must land in the middle of the sync"
        with pytest.raises(SyncError):
            await sync
        assert replica.queue_depths()[0] > 0
        proc = await start()
        await engine.sync_once()
        assert count(data_dir) == N
        assert replica.queue_depths()[0] == 0
        conn = sqlite3.connect(data_dir / "server.sqlite")
        assert conn.execute("SELECT count(DISTINCT id) FROM events").fetchone()[0] == N
        conn.close()
    finally:
        await engine.close()
        replica.close()
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
