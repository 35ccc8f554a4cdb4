"""`wedsync chaos-proxy`: a TCP proxy that puts network faults between real processes.

Point a device at the proxy instead of the server (``--server http://127.0.0.1:<listen port>``).
Each accepted connection is relayed to the target. The proxy reads the first HTTP exchange: when
the server answers ``101 Switching Protocols`` the rest of the connection is a websocket and the
proxy relays it frame by frame (RFC 6455 framing, no re-termination: the bytes are the
endpoints' own), otherwise it relays raw byte chunks. What each fault does:

============  ===============================================  ==============================
fault         websocket connection (per frame)                 plain HTTP connection (chunks)
============  ===============================================  ==============================
latency       each frame is held ``latency`` ms (± jitter),    each chunk is held likewise
              order kept
loss          a whole data frame is dropped and the            not applied (dropping bytes
              connection stays up: the receiver never sees     would corrupt the stream; TCP
              it (no websocket sequence numbers), the sender   itself never loses them)
              finds out by its own timeouts
duplicate     a whole data frame is sent twice, byte for       not applied (would corrupt the
              byte (a masked client frame stays valid)         stream)
reorder       a data frame is held back and sent after the     not applied
              next one
cut-every N   every N-th frame is cut in the middle: half of   every N-th chunk likewise
              its bytes go out, then both sockets are closed
              abruptly, as when a link dies mid-frame
offline       new connections are closed at once, open ones    same
              are cut
============  ===============================================  ==============================

Control frames (ping, pong, close) and fragments are only delayed and cut, never lost,
duplicated or reordered, so a connection's liveness stays observable. Every choice is drawn from
one ``random.Random(seed)``; with concurrent connections the interleaving of draws follows real
timing, so a proxy run is repeatable in its fault rates, not frame for frame.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import signal
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_FRAME_BYTES = 64 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
DATA_OPCODES = (0x1, 0x2)


@dataclass(frozen=True)
class Faults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    cut_every: int | None = None
    offline: bool = False

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1")
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise ValueError("latency and jitter must not be negative")
        if self.cut_every is not None and self.cut_every < 1:
            raise ValueError("cut-every must be at least 1")


class _Cut(Exception):
    """The proxy cut the connection on purpose."""


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, int(port)


class ChaosProxy:
    def __init__(
        self,
        *,
        target: tuple[str, int],
        listen: tuple[str, int] = ("127.0.0.1", 0),
        faults: Faults | None = None,
        seed: int = 0,
    ) -> None:
        self.target = target
        self.listen = listen
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.Task, list[asyncio.StreamWriter]] = {}

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None, "start() first"
        return self._server.sockets[0].getsockname()[:2]

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._accept, *self.listen)
        return self.address

    def set_faults(self, faults: Faults) -> None:
        """Change the faults of new frames at once; going offline cuts open connections."""
        self.faults = faults
        if faults.offline:
            self.cut_all()

    def cut_all(self) -> int:
        cut = 0
        for writers in list(self._open.values()):
            for writer in writers:
                writer.transport.abort()
            cut += 1
        return cut

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.cut_all()  # the relays end on their own once their sockets are gone
        if self._open:
            await asyncio.wait(list(self._open), timeout=5)
        for task in list(self._open):
            task.cancel()
        if self._server is not None:
            await self._server.wait_closed()

    # ------------------------------------------------------------------ relaying

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if self.faults.offline:
            self.counts["refused_offline"] += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self.counts["target_unreachable"] += 1
            writer.transport.abort()
            return
        self.counts["connections"] += 1
        self._open[task] = [writer, up_writer]
        try:
            request = await _read_head(reader)
            up_writer.write(request)
            if b"upgrade: websocket" in request.lower():  # the client waits for the answer
                response = await _read_head(up_reader)
                writer.write(response)
                websocket = response.startswith(b"HTTP/1.1 101")
                self.counts["websockets"] += websocket
                pumps = [
                    asyncio.create_task(self._pump(reader, up_writer, websocket)),
                    asyncio.create_task(self._pump(up_reader, writer, websocket)),
                ]
            else:  # a plain request: its body goes up while the answer is awaited
                pumps = [asyncio.create_task(self._pump(reader, up_writer, False))]
                response = await _read_head(up_reader)
                # One request per proxied connection: a client that kept it alive could send its
                # websocket upgrade on it, and the proxy would not see the frames.
                writer.write(_connection_close(response))
                pumps.append(asyncio.create_task(self._pump(up_reader, writer, False)))
            done, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            cut = any(not p.cancelled() and isinstance(p.exception(), _Cut) for p in done)
            if pending and not cut:  # one side finished: give the other time to finish too
                await asyncio.wait(pending, timeout=5)
            for pump in pumps:
                pump.cancel()
                with contextlib.suppress(BaseException):
                    await pump
        except (OSError, asyncio.IncompleteReadError, _HeadTooLarge):
            pass
        finally:
            self._open.pop(task, None)
            for w in (writer, up_writer):
                w.transport.abort()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, websocket: bool
    ) -> None:
        """Relay one direction: read frames (or chunks), apply faults, send on time and in
        order through a queue so that latency never throttles throughput."""
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        sender = asyncio.create_task(self._send(queue, writer))
        held: bytes | None = None
        count = 0
        try:
            while True:
                if websocket:
                    unit, opcode, fin = await _read_frame(reader)
                else:
                    unit = await reader.read(CHUNK_BYTES)
                    opcode, fin = 0, True
                if not unit:
                    break
                count += 1
                faults = self.faults
                if faults.offline:
                    raise _Cut("offline")
                if faults.cut_every and count % faults.cut_every == 0:
                    self.counts["cut_mid_frame"] += 1
                    await queue.put((self._due(faults), unit[: max(1, len(unit) // 2)]))
                    await queue.put(None)
                    await sender
                    raise _Cut("cut")
                data = websocket and fin and opcode in DATA_OPCODES
                copies = 1
                if data and faults.loss and self.rng.random() < faults.loss:
                    self.counts["loss"] += 1
                    continue
                if data and faults.duplicate and self.rng.random() < faults.duplicate:
                    self.counts["duplicate"] += 1
                    copies = 2
                if data and held is None and faults.reorder and self.rng.random() < faults.reorder:
                    self.counts["reorder"] += 1
                    held = unit
                    continue
                await queue.put((self._due(faults), unit * copies))
                if held is not None:
                    await queue.put((self._due(faults), held))
                    held = None
            if held is not None:
                await queue.put((self._due(self.faults), held))
            await queue.put(None)
            await sender
            if writer.can_write_eof():
                writer.write_eof()  # pass the end of the stream on
        finally:
            sender.cancel()

    def _due(self, faults: Faults) -> float:
        delay_ms = faults.latency_ms
        if faults.jitter_ms:
            delay_ms += self.rng.uniform(-faults.jitter_ms, faults.jitter_ms)
        return asyncio.get_running_loop().time() + max(delay_ms, 0.0) / 1000

    @staticmethod
    async def _send(queue: asyncio.Queue, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await queue.get()
            if item is None:
                return
            due, data = item
            wait_s = due - loop.time()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            writer.write(data)
            await writer.drain()


class _HeadTooLarge(Exception):
    pass


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    """An HTTP request or response head, up to and including the blank line."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise _HeadTooLarge() from None


def _connection_close(head: bytes) -> bytes:
    """The response head with ``Connection: close`` instead of any Connection header."""
    lines = head[:-4].split(b"\r\n")
    kept = [line for line in lines if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n"


async def _read_frame(reader: asyncio.StreamReader) -> tuple[bytes, int, bool]:
    """One websocket frame as raw bytes, with its opcode and FIN bit; b"" at end of stream."""
    try:
        head = await reader.readexactly(2)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return b"", 0, True
        raise
    length = head[1] & 0x7F
    extended = b""
    if length == 126:
        extended = await reader.readexactly(2)
        length = int.from_bytes(extended, "big")
    elif length == 127:
        extended = await reader.readexactly(8)
        length = int.from_bytes(extended, "big")
    if length > MAX_FRAME_BYTES:
        raise _Cut(f"frame of {length} bytes")
    mask = await reader.readexactly(4) if head[1] & 0x80 else b""
    payload = await reader.readexactly(length)
    return head + extended + mask + payload, head[0] & 0x0F, bool(head[0] & 0x80)


# ---------------------------------------------------------------------- CLI


def faults_from_args(args: argparse.Namespace) -> Faults:
    return Faults(
        latency_ms=args.latency,
        jitter_ms=args.jitter,
        loss=args.loss,
        duplicate=args.duplicate,
        reorder=args.reorder,
        cut_every=args.cut_every,
    )


def run_proxy(args: argparse.Namespace) -> dict[str, Any]:
    proxy = ChaosProxy(
        target=parse_address(args.target),
        listen=parse_address(args.listen),
        faults=faults_from_args(args),
        seed=args.seed,
    )

    async def main() -> None:
        host, port = await proxy.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"wedsync chaos proxy listening on {host}:{port} -> {args.target}", flush=True)
        try:
            await stop.wait()
        finally:
            await proxy.close()

    asyncio.run(main())
    return {"faults": asdict(proxy.faults), "counts": dict(sorted(proxy.counts.items()))}
