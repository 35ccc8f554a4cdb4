"""A real server with seed-demo data for the dashboard's tests, on a thread and loop of its own
(so synchronous tests, a browser among them, and devices on the test's own loop reach it over
127.0.0.1 like any client)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from aiohttp import web

from devtools.seed import seed_demo
from server import admin
from server.app import create_app
from server.config import ServerConfig
from server.sync_ws import CTX
from tests.conftest import PASSWORD, free_port

#: who signs in: the CMO (a viewer) and a marketer of the seeded org, and another org's user
CMO = "cmo@a.test"
MARKETER = "marketer@a.test"
OTHER = "cmo@b.test"
SEEDED_ORG = "Org A"


def seed_store(data_dir: Path, **size: int) -> dict:
    """The seed-demo's data (its default size unless told) in org A; users of org A and B."""
    seeded = seed_demo(
        data_dir,
        org=SEEDED_ORG,
        seed=7,
        suppliers=size.get("suppliers", 300),
        couples=size.get("couples", 3000),
        campaigns=size.get("campaigns", 12),
        days=size.get("days", 180),
    )
    admin.create_user(data_dir, email=CMO, password=PASSWORD, role="viewer", org=SEEDED_ORG)
    admin.create_user(data_dir, email=MARKETER, password=PASSWORD, role="marketer", org=SEEDED_ORG)
    admin.create_user(data_dir, email=OTHER, password=PASSWORD, role="admin", org="Org B")
    return seeded


class ThreadedServer:
    """``create_app(config)`` served on 127.0.0.1 from its own thread until ``stop``."""

    def __init__(self, data_dir: Path, *, port: int | None = None, **config) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(ServerConfig(data_dir=data_dir, port=self.port, **config))
        self.loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(self.app)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> ThreadedServer:
        self._thread.start()
        self.call(self._serve(), timeout_s=60)
        return self

    async def _serve(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def call(self, coro, *, timeout_s: float = 30):
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    @property
    def ctx(self):
        return self.app[CTX]

    def stop(self) -> None:
        try:
            self.call(self._runner.cleanup(), timeout_s=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            if not self._thread.is_alive():
                self.loop.close()
