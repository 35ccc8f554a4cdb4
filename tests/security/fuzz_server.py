"""A real server on its own event loop in a thread, for tests whose client blocks (schemathesis
calls the API with ``requests``; hypothesis drives examples synchronously)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.security.conftest import start_guarded, stop


class ThreadedServer:
    def __init__(self, tmp_path: Path, **config: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.server = self.run(start_guarded(tmp_path, **config))
        self.url = self.server.url

    def run(self, coro: Coroutine, timeout_s: float = 60.0) -> Any:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        self.run(stop(self.server))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextmanager
def threaded_server(tmp_path: Path, **config: Any) -> Iterator[ThreadedServer]:
    server = ThreadedServer(tmp_path, **config)
    try:
        yield server
    finally:
        server.close()
