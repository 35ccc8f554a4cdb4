"""A real server for the app's tests, on a thread and an asyncio loop of its own.

The app runs on qasync, whose callbacks Qt dispatches: whenever Qt processes events outside the
test's loop (pytest-qt between fixtures, a widget shown), a task of a server sharing that loop
would take a step with no running loop, or bind a queue to the wrong one. A server in a real
deployment is another process; here it is another thread, reached over 127.0.0.1 like one, and
tests that look inside it do so with ``call`` (run on the server's loop, awaited on theirs).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
START_TIMEOUT_S = 30.0


class ServerThread:
    """``app`` served on 127.0.0.1:``port`` from its own thread until ``stop``."""

    def __init__(self, app: web.Application, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app)
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"test-server-{port}", daemon=True
        )

    async def start(self) -> ServerThread:
        self._thread.start()
        await asyncio.wait_for(self.call(self._serve), START_TIMEOUT_S)
        return self

    async def _serve(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` on the server's loop; the result (or error) comes back here."""
        future = asyncio.run_coroutine_threadsafe(_call(fn, *args), self._loop)
        return await asyncio.wrap_future(future)

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.call(self._runner.cleanup), START_TIMEOUT_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 10)
            if not self._thread.is_alive():
                self._loop.close()


async def _call(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await fn(*args)
