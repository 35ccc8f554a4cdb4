"""Shared fixtures: a real server on 127.0.0.1 with real SQLite files, logged-in replicas, and a
keyring of the tests' own (never the user's)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports PySide6

import asyncio
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import hypothesis  # noqa: F401  (imported here, not lazily at session end: CPython 3.11.7's

#                   ast.parse can fail with "recursion depth mismatch" when pytest rewrites it late)
import keyring
import keyring.backend
import pytest
from aiohttp import web

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine
from server import admin
from server.app import create_app
from server.config import ServerConfig
from server.sync_ws import CTX

PASSWORD = "correct horse battery"


class InMemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture(autouse=True)
def test_keyring():
    previous = keyring.get_keyring()
    backend = InMemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


async def start_server_process(
    data_dir: Path, port: int, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """`wedsync server` in its own process, as in production; returns once it listens."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wedsync",
        "server",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if b"listening" not in line:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"the server did not start: {line!r}")
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


USERS = {
    "admin": ("admin@a.test", "admin", "Org A"),
    "marketer": ("marketer@a.test", "marketer", "Org A"),
    "marketer2": ("marketer2@a.test", "marketer", "Org A"),
    "marketer3": ("marketer3@a.test", "marketer", "Org A"),
    "viewer": ("viewer@a.test", "viewer", "Org A"),
    "other": ("marketer@b.test", "marketer", "Org B"),
    "other_admin": ("admin@b.test", "admin", "Org B"),
}


@dataclass
class RunningServer:
    url: str
    data_dir: Path
    app: web.Application
    runner: web.AppRunner
    tmp: Path
    tokens: MemoryTokens = field(default_factory=MemoryTokens)
    engines: list[SyncEngine] = field(default_factory=list)

    @property
    def ctx(self):
        return self.app[CTX]

    async def device(self, name: str, user: str = "marketer") -> SyncEngine:
        """A new replica in its own profile directory, logged in as ``user``."""
        replica = Replica(self.tmp / "profiles" / name)
        engine = SyncEngine(replica, tokens=self.tokens)
        await engine.login(self.url, USERS[user][0], PASSWORD, name)
        self.engines.append(engine)
        return engine

    def stats(self) -> dict:
        return admin.stats(self.data_dir)


async def start_server(tmp_path: Path, **config) -> RunningServer:
    data_dir = tmp_path / "server"
    if not (data_dir / "server.sqlite").exists():
        for email, role, org in USERS.values():
            admin.create_user(data_dir, email=email, password=PASSWORD, role=role, org=org)
    port = config.pop("port", None) or free_port()
    app = create_app(ServerConfig(data_dir=data_dir, port=port, **config))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return RunningServer(f"http://127.0.0.1:{port}", data_dir, app, runner, tmp_path)


@pytest.fixture
async def server(tmp_path: Path):
    running = await start_server(tmp_path)
    yield running
    for engine in running.engines:
        await engine.close()
        engine.replica.close()
    await running.runner.cleanup()
