"""Connected devices, grouped by org, and live fan-out to them.

Each connection has its own bounded outgoing queue and sender task, so a slow device never stalls
the others or the writer. A device whose queue overflows is disconnected: on reconnect it pulls by
state vector, so it misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from aiohttp import web

from .auth import Principal

log = logging.getLogger(__name__)


class Connection:
    def __init__(self, ws: web.WebSocketResponse, principal: Principal, queue_frames: int) -> None:
        self.ws = ws
        self.principal = principal
        self._out: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_frames)
        self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    def send(self, frame: bytes) -> bool:
        try:
            self._out.put_nowait(frame)
            return True
        except asyncio.QueueFull:
            log.warning("device %s is not reading; disconnecting it", self.principal.device_id)
            asyncio.get_running_loop().create_task(self.ws.close(code=1013, message=b"too slow"))
            return False

    async def _send_loop(self) -> None:
        while True:
            frame = await self._out.get()
            try:
                await self.ws.send_bytes(frame)
            except (ConnectionError, RuntimeError):
                return

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until queued frames are handed to the socket (before a close)."""
        with contextlib.suppress(asyncio.TimeoutError):
            async with asyncio.timeout(timeout_s):
                while not self._out.empty() and not self._sender.done():  # sender gone: socket dead
                    await asyncio.sleep(0.005)

    async def close(self) -> None:
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender


class Hub:
    def __init__(self) -> None:
        # Connections in arrival order (a dict, not a set): fan-out order is reproducible.
        self._by_org: dict[str, dict[Connection, None]] = defaultdict(dict)

    def add(self, conn: Connection) -> None:
        self._by_org[conn.principal.org_id][conn] = None

    def remove(self, conn: Connection) -> None:
        conns = self._by_org.get(conn.principal.org_id)
        if conns is not None:
            conns.pop(conn, None)
            if not conns:
                del self._by_org[conn.principal.org_id]

    def broadcast(
        self,
        org_id: str,
        frame: bytes,
        *,
        exclude_device: str | None = None,
        roles: tuple[str, ...] | None = None,
    ) -> int:
        """Queue ``frame`` to the org's connections, but those of ``exclude_device`` and those
        whose role is not in ``roles`` (None: every role); how many took it."""
        sent = 0
        for conn in list(self._by_org.get(org_id, ())):
            if exclude_device is not None and conn.principal.device_id == exclude_device:
                continue
            if roles is not None and conn.principal.role not in roles:
                continue
            sent += conn.send(frame)
        return sent

    def count(self) -> int:
        return sum(len(c) for c in self._by_org.values())

    async def close_all(self) -> None:
        for conns in list(self._by_org.values()):
            for conn in list(conns):
                await conn.ws.close(code=1001, message=b"server shutting down")
