"""The adversarial suite's server: the real app on 127.0.0.1 behind its connection guard (as
`wedsync server` runs it), real SQLite files, the users of ``tests.conftest`` (two orgs, every
role), and helpers that speak raw websocket frames."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import msgpack
import pytest
from aiohttp import web

from client.credentials import account_for
from server import admin
from server.app import create_app
from server.config import ServerConfig
from shared.protocol import messages as m
from tests.conftest import PASSWORD, USERS, RunningServer, free_port


async def start_guarded(tmp_path: Path, **config) -> RunningServer:
    data_dir = tmp_path / "server"
    if not (data_dir / "server.sqlite").exists():
        for email, role, org in USERS.values():
            admin.create_user(data_dir, email=email, password=PASSWORD, role=role, org=org)
    port = free_port()
    cfg = ServerConfig(data_dir=data_dir, port=port, **config)
    app = create_app(cfg)
    runner = web.AppRunner(app, keepalive_timeout=getattr(cfg, "idle_timeout_s", 75.0))
    await runner.setup()
    try:
        from server.app import start_site
    except ImportError:  # a server without a connection guard: the suite shows what it lacks
        await web.TCPSite(runner, "127.0.0.1", port).start()
    else:
        await start_site(runner, app, cfg)
    return RunningServer(f"http://127.0.0.1:{port}", data_dir, app, runner, tmp_path)


async def stop(running: RunningServer) -> None:
    for engine in running.engines:
        await engine.close()
        engine.replica.close()
    await running.runner.cleanup()


@pytest.fixture
async def guarded(tmp_path: Path):
    running = await start_guarded(tmp_path)
    yield running
    await stop(running)


async def login(url: str, user: str, session: aiohttp.ClientSession) -> str:
    """A device token of ``user`` (a key of ``USERS``)."""
    async with session.post(
        f"{url}/api/v1/login", json={"email": USERS[user][0], "password": PASSWORD}
    ) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["token"]


async def token_of(server: RunningServer, engine) -> str:
    return server.tokens.get(account_for(engine.replica.device_id))


async def open_ws(url: str, token: str | None, session: aiohttp.ClientSession):
    """A websocket to the sync endpoint, past its HELLO when ``token`` is given."""
    ws = await session.ws_connect(url.replace("http", "ws", 1) + "/api/v1/sync", max_msg_size=0)
    if token is not None:
        await ws.send_bytes(m.hello(token=token, device_id="security-test"))
        frame = msgpack.unpackb((await ws.receive(timeout=10)).data)
        assert frame["t"] == m.MsgType.WELCOME, frame
    return ws


async def until(condition: Callable[[], bool | Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Wait until ``condition()`` holds, checking each loop turn; TimeoutError after
    ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while True:
            value = condition()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return
            await asyncio.sleep(0.01)


def rows(data_dir: Path, sql: str, args: tuple = ()) -> list[tuple]:
    """Rows of ``sql`` on the server's SQLite file (the suite's servers run on SQLite)."""
    import sqlite3

    conn = sqlite3.connect(Path(data_dir) / "server.sqlite")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()
