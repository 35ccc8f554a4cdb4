"""Connected devices, grouped by org, and live fan-out to them.

Each connection has its own bounded outgoing queue (in frames and in bytes) and sender task, so
a slow device never stalls the others or the writer. A device whose queue overflows with live
frames is disconnected (logged once per connection): on reconnect it pulls, so it misses
nothing. A pull's answer instead waits for room (``send_wait``), and a device that reads nothing
for ``timeout_s`` is disconnected. One connection per device: a device's new connection replaces
its old one. Revoking a device or disabling a user closes their connections at once
(``close_where``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable

from aiohttp import web

from .auth import Principal
from .logs import get_logger

log = get_logger(__name__)


class Connection:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        principal: Principal,
        queue_frames: int,
        queue_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.ws = ws
        self.principal = principal
        self._out: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_frames)
        self._queue_bytes = queue_bytes
        self.queued_bytes = 0
        self._room = asyncio.Event()
        self._room.set()
        self.closing = False
        self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    def _full(self, size: int) -> bool:
        return self._out.full() or (
            self.queued_bytes > 0 and self.queued_bytes + size > self._queue_bytes
        )

    def send(self, frame: bytes) -> bool:
        """Queue a frame without waiting; a device whose queue is full is disconnected."""
        if self.closing:
            return False
        if self._full(len(frame)):
            self.disconnect(1013, b"too slow")
            log.warning("device %s is not reading; disconnecting it", self.principal.device_id)
            return False
        self._put(frame)
        return True

    async def send_wait(self, frame: bytes, timeout_s: float = 30.0) -> bool:
        """Queue a frame, waiting (up to ``timeout_s``) for the device to read what is queued."""
        try:
            async with asyncio.timeout(timeout_s):
                while not self.closing and self._full(len(frame)):
                    self._room.clear()
                    await self._room.wait()
        except TimeoutError:
            self.disconnect(1013, b"too slow")
            log.warning(
                "device %s read nothing for %s s; disconnecting it",
                self.principal.device_id,
                timeout_s,
            )
            return False
        if self.closing:
            return False
        self._put(frame)
        return True

    def _put(self, frame: bytes) -> None:
        self.queued_bytes += len(frame)
        self._out.put_nowait(frame)

    def disconnect(self, code: int, message: bytes) -> None:
        """Close the socket (once); the connection's handler then ends."""
        if self.closing:
            return
        self.closing = True
        self._room.set()
        asyncio.get_running_loop().create_task(self.ws.close(code=code, message=message))

    async def _send_loop(self) -> None:
        while True:
            frame = await self._out.get()
            try:
                await self.ws.send_bytes(frame)
            except (ConnectionError, RuntimeError):
                return
            finally:
                self.queued_bytes -= len(frame)
                self._room.set()

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
        """Add a device's connection; one it had already is closed (one socket per device)."""
        device = conn.principal.device_id
        if device is not None:
            self.close_where(
                lambda p: p.device_id == device, reason=b"replaced by a new connection"
            )
        self._by_org[conn.principal.org_id][conn] = None

    def close_where(
        self, match: Callable[[Principal], bool], *, reason: bytes = b"session ended"
    ) -> int:
        """Close every connection whose principal matches (a revoked device, a disabled user);
        how many."""
        closed = 0
        for conns in list(self._by_org.values()):
            for conn in list(conns):
                if match(conn.principal):
                    conn.disconnect(4401, reason)
                    closed += 1
        return closed

    def principals(self) -> list[Principal]:
        return [c.principal for conns in self._by_org.values() for c in conns]

    def count_org(self, org_id: str) -> int:
        return len(self._by_org.get(org_id, ()))

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
