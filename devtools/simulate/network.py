"""The simulated network between devices and the server: channels with latency and faults.

Each device has one link to the server with ``LinkConditions``; every connection it opens is a
pair of ``SimEnd`` objects (``Transport``s) on that link. Frames are whole websocket messages.
What each fault does, frame by frame:

* ``online=False``: new connections are refused and open ones are cut;
* ``latency_ms`` (lo, hi): each frame is delivered after a uniform draw; frames of one direction
  keep their order (TCP) unless ``reorder`` is set;
* ``reorder``: frames of one direction are delivered by their own draw, so they may overtake;
* ``loss``: a frame is dropped while the connection stays up (a black-holed frame: the sender
  learns of it only through its own timeouts);
* ``duplicate``: a frame is delivered twice;
* ``cut_after_frames`` = n: the n-th next frame on the link is cut in the middle: it never arrives
  (a websocket receiver drops a partial frame) and the connection is closed on both sides.

Loss, duplication and reordering inside one connection are harsher than TCP allows; they stand for
middleboxes, proxies and the overlap of an old and a new connection of one device. The protocol
must survive them: every frame is idempotent and matched by batch id.

Every choice comes from the network's seeded ``random.Random``; ``observers`` see every frame
sent and delivered, which is the history the checkers read.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from shared.protocol.transport import Transport

UP, DOWN = "up", "down"  # device -> server, server -> device

#: observer(device, connection number, direction, stage "sent"|"delivered", frame)
Observer = Callable[[str, int, str, str, bytes], None]


@dataclass(frozen=True)
class LinkConditions:
    online: bool = True
    latency_ms: tuple[float, float] = (1.0, 20.0)
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: bool = False
    cut_after_frames: int | None = None

    def describe(self) -> str:
        if not self.online:
            return "offline"
        parts = [f"latency {self.latency_ms[0]:.0f}-{self.latency_ms[1]:.0f} ms"]
        if self.loss:
            parts.append(f"loss {self.loss:.2f}")
        if self.duplicate:
            parts.append(f"duplicate {self.duplicate:.2f}")
        if self.reorder:
            parts.append("reorder")
        if self.cut_after_frames is not None:
            parts.append(f"cut after {self.cut_after_frames} frames")
        return ", ".join(parts)


PERFECT = LinkConditions()


class SimEnd:
    """One side of a simulated connection; a ``Transport``."""

    def __init__(self, net: SimNetwork, device: str, conn: int, direction: str) -> None:
        self._net = net
        self.device = device
        self.conn = conn
        self.direction = direction  # the direction of the frames this end sends
        self.peer: SimEnd | None = None
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False
        self._close_code: int | None = None
        self.last_delivery_s = 0.0  # FIFO: no frame toward this end arrives before this time

    @property
    def close_code(self) -> int | None:
        return self._close_code

    async def send_bytes(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("connection closed")
        self._net.transmit(self, bytes(data))

    async def receive(self, timeout_s: float | None = None) -> bytes | str | None:
        if timeout_s is None:
            return await self._inbox.get()
        async with asyncio.timeout(timeout_s):
            return await self._inbox.get()

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        if self.closed:
            return False
        self._shut(code)
        self._net._forget(self)
        peer = self.peer
        if peer is not None and not peer.closed:
            self._net.deliver_close(peer, code)
        return True

    # ---------------------------------------------------------------- network side

    def _shut(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            self._close_code = code
            self._inbox.put_nowait(None)

    def _arrive(self, data: bytes) -> None:
        if not self.closed:
            self._inbox.put_nowait(data)


class SimNetwork:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.links: dict[str, LinkConditions] = {}
        self.faults: Counter[str] = Counter()
        self.observers: list[Observer] = []
        self._open: dict[str, list[SimEnd]] = {}  # device -> its client ends, oldest first
        self._conns = 0
        #: accept(server end) -> None, or None while the server is down
        self.accept: Callable[[SimEnd], None] | None = None

    # ---------------------------------------------------------------- conditions

    def conditions(self, device: str) -> LinkConditions:
        return self.links.get(device, PERFECT)

    def set_conditions(self, device: str, conditions: LinkConditions) -> None:
        self.links[device] = conditions
        if not conditions.online:
            self.cut(device, reason="offline")

    def cut(self, device: str, *, reason: str) -> int:
        """Close every open connection of ``device`` on both sides at once."""
        ends = self._open.pop(device, [])
        for end in ends:
            end._shut(1006)
            if end.peer is not None:
                end.peer._shut(1006)
        return len(ends)

    def cut_all(self) -> None:
        for device in sorted(self._open):
            self.cut(device, reason="server down")

    # ---------------------------------------------------------------- connections

    def connector(self, device: str) -> Callable[[str], asyncio.Future]:
        async def connect(url: str) -> Transport:
            cond = self.conditions(device)
            await asyncio.sleep(self._latency_s(cond))  # the handshake's round trip
            if not self.conditions(device).online:
                raise ConnectionRefusedError(f"{device}: network is offline")
            if self.accept is None:
                raise ConnectionRefusedError(f"{device}: server is down")
            self._conns += 1
            client = SimEnd(self, device, self._conns, UP)
            server = SimEnd(self, device, self._conns, DOWN)
            client.peer, server.peer = server, client
            self._open.setdefault(device, []).append(client)
            self.accept(server)
            return client

        return connect

    def _latency_s(self, cond: LinkConditions) -> float:
        lo, hi = cond.latency_ms
        return self.rng.uniform(lo, hi) / 1000

    def transmit(self, src: SimEnd, data: bytes) -> None:
        dest = src.peer
        assert dest is not None
        for observer in self.observers:
            observer(src.device, src.conn, src.direction, "sent", data)
        cond = self.conditions(src.device)
        if not cond.online:  # the link went down under an open connection
            self.cut(src.device, reason="offline")
            return
        if cond.cut_after_frames is not None:
            left = cond.cut_after_frames - 1
            self.links[src.device] = replace(cond, cut_after_frames=left if left > 0 else None)
            if left <= 0:
                self.faults["cut_mid_frame"] += 1
                self._cut_pair(src)
                return
        if cond.loss and self.rng.random() < cond.loss:
            self.faults["loss"] += 1
            return
        copies = 1
        if cond.duplicate and self.rng.random() < cond.duplicate:
            self.faults["duplicate"] += 1
            copies = 2
        loop = asyncio.get_running_loop()
        for _ in range(copies):
            at = loop.time() + self._latency_s(cond)
            if cond.reorder:
                if at < dest.last_delivery_s:
                    self.faults["reorder"] += 1
                dest.last_delivery_s = max(dest.last_delivery_s, at)
            else:
                at = max(at, dest.last_delivery_s)
                dest.last_delivery_s = at
            loop.call_at(at, self.deliver, src, dest, data)

    def deliver(self, src: SimEnd, dest: SimEnd, data: bytes) -> None:
        if dest.closed:
            return
        for observer in self.observers:
            observer(src.device, src.conn, src.direction, "delivered", data)
        dest._arrive(data)

    def deliver_close(self, dest: SimEnd, code: int) -> None:
        """A graceful close reaches the other side after the frames sent before it."""
        loop = asyncio.get_running_loop()
        at = max(loop.time() + self._latency_s(self.conditions(dest.device)), dest.last_delivery_s)
        loop.call_at(at, self._closed_by_peer, dest, code)

    def _closed_by_peer(self, dest: SimEnd, code: int) -> None:
        dest._shut(code)
        self._forget(dest)

    def _cut_pair(self, end: SimEnd) -> None:
        end._shut(1006)
        if end.peer is not None:
            end.peer._shut(1006)
        self._forget(end)

    def _forget(self, end: SimEnd) -> None:
        client = end if end.direction == UP else end.peer
        with contextlib.suppress(ValueError, KeyError):
            self._open[end.device].remove(client)
