"""What a peer that has not logged in can cost the server: bounded, per connection and per address.

``ConnectionGuard`` sits between the listening socket and aiohttp: every TCP connection passes
through a ``GuardedConnection`` (an ``asyncio.Protocol`` that forwards to aiohttp's) which

* refuses a connection beyond ``max_connections`` in total or ``max_per_address`` from one IP
  address (``503`` and close, before any byte is read), so a few peers cannot take every file
  descriptor;
* closes a connection whose request headers are not complete ``header_timeout_s`` after it
  opened or after its first byte of a new request (slowloris), and one idle between requests
  for ``idle_timeout_s``;
* closes a websocket that sends more than ``preauth_bytes`` before its HELLO is accepted, so an
  unauthenticated peer never makes the server buffer a large frame (``expect_hello`` /
  ``authenticated``, called by the sync endpoint).

Time spent inside a request (a handler reading a body, a websocket's life) is the handler's to
bound: bodies have their own timeout (``server.http_api``), websockets their HELLO timeout and
heartbeat.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .logs import get_logger

log = get_logger(__name__)

_BUSY_BODY = b'{"error": {"code": "unavailable", "message": "too many connections; retry later"}}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Connection: close\r\nRetry-After: 5\r\nContent-Length: %d\r\n\r\n" % len(_BUSY_BODY)
) + _BUSY_BODY


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 4096
    max_per_address: int = 128
    header_timeout_s: float = 10.0
    idle_timeout_s: float = 60.0
    preauth_bytes: int = 64 * 1024


@dataclass
class GuardStats:
    refused_total: int = 0
    refused_per_address: int = 0
    header_timeouts: int = 0
    idle_timeouts: int = 0
    preauth_overflows: int = 0
    by_address: Counter = field(default_factory=Counter)


class ConnectionGuard:
    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.stats = GuardStats()
        self._open: dict[Any, GuardedConnection] = {}  # transport -> its guard

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def factory(self, inner: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: GuardedConnection(self, inner)

    def of(self, transport: Any) -> GuardedConnection | None:
        """The guard of a request's connection (``request.transport``); None when the app runs
        behind another site (tests' plain ``TCPSite``, the simulator)."""
        return self._open.get(transport)

    def _admit(self, conn: GuardedConnection) -> bool:
        address = conn.address
        if len(self._open) >= self.limits.max_connections:
            self.stats.refused_total += 1
            log.warning("connection from %s refused: %d open in total", address, len(self._open))
            return False
        if self.stats.by_address[address] >= self.limits.max_per_address:
            self.stats.refused_per_address += 1
            log.warning("connection from %s refused: too many from that address", address)
            return False
        self._open[conn.transport] = conn
        self.stats.by_address[address] += 1
        return True

    def _release(self, conn: GuardedConnection) -> None:
        if self._open.pop(conn.transport, None) is not None:
            self.stats.by_address[conn.address] -= 1
            if self.stats.by_address[conn.address] <= 0:
                del self.stats.by_address[conn.address]


class GuardedConnection(asyncio.Protocol):
    """One TCP connection: limits and timers, then everything forwarded to aiohttp."""

    def __init__(self, guard: ConnectionGuard, inner_factory: Callable[[], asyncio.Protocol]):
        self.guard = guard
        self._inner_factory = inner_factory
        self.inner: asyncio.Protocol | None = None
        self.transport: Any = None
        self.address = "?"
        self._timer: asyncio.TimerHandle | None = None
        self._state = "headers"  # headers | request | idle
        self._preauth_left: int | None = None

    # ---------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.address = peer[0] if isinstance(peer, tuple) and peer else "?"
        if not self.guard._admit(self):
            transport.write(_BUSY)
            transport.close()
            return
        self._arm(self.guard.limits.header_timeout_s, "header")
        self.inner = self._inner_factory()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            return
        if self._state == "idle":  # a new request begins: its headers have a deadline
            self._state = "headers"
            self._arm(self.guard.limits.header_timeout_s, "header")
        if self._preauth_left is not None:
            self._preauth_left -= len(data)
            if self._preauth_left < 0:
                self.guard.stats.preauth_overflows += 1
                log.warning("websocket from %s sent too much before HELLO; closed", self.address)
                self._preauth_left = None
                self.transport.abort()
                return
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        if self.inner is None:
            return
        self.guard._release(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    # ---------------------------------------------------------------- told by the app

    def request_started(self) -> None:
        """The headers of a request are in: the handler bounds what follows."""
        self._state = "request"
        self._cancel()

    def request_finished(self) -> None:
        """A request was answered: the connection may idle until the next one."""
        if self.transport is None or self.transport.is_closing():
            return
        self._state = "idle"
        self._arm(self.guard.limits.idle_timeout_s, "idle")

    def expect_hello(self) -> None:
        """The request became a websocket: until ``authenticated``, a small budget of bytes."""
        self._preauth_left = self.guard.limits.preauth_bytes

    def authenticated(self) -> None:
        self._preauth_left = None

    # ---------------------------------------------------------------- timers

    def _arm(self, delay_s: float, what: str) -> None:
        self._cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay_s, self._expire, what)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, what: str) -> None:
        self._timer = None
        if self._state == "request" or self.transport is None:
            return
        if what == "header":
            self.guard.stats.header_timeouts += 1
        else:
            self.guard.stats.idle_timeouts += 1
        self.transport.abort()


GUARD: web.AppKey[ConnectionGuard] = web.AppKey("guard", ConnectionGuard)


@web.middleware
async def guard_middleware(request: web.Request, handler: Callable) -> Any:
    """Tell the connection's guard when a request's headers are in and when it was answered."""
    guard = request.app.get(GUARD)
    conn = guard.of(request.transport) if guard is not None else None
    if conn is not None:
        conn.request_started()
    try:
        return await handler(request)
    finally:
        if conn is not None:
            conn.request_finished()


class GuardedSite(web.TCPSite):
    """A ``TCPSite`` whose connections pass through a ``ConnectionGuard``."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        guard: ConnectionGuard,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = 512,
        reuse_port: bool | None = None,
    ) -> None:
        super().__init__(
            runner, host, port, ssl_context=ssl_context, backlog=backlog, reuse_port=reuse_port
        )
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self._server = await loop.create_server(
            self.guard.factory(server),
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1]
