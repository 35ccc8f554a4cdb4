"""The websocket sync endpoint: one socket per device, msgpack frames.

Order of business on a socket: HELLO (version, token) -> WELCOME; then PUSH batches, each answered
by ACK only after the writer committed it (or by ERROR with the batch id, nothing stored); PULL by
state vector answered by DOCS. Every malformed frame gets an ERROR with its code and the socket
keeps serving; only a failed handshake closes it. Nothing a device sends can stop the server.
What a push changed reaches the other devices through the writer's commit listeners
(``server.fanout``), not from here.

Bounds per connection, so a few frames cannot stall the server: before HELLO, a frame of at most
``preauth_frame_bytes`` (the connection guard closes a socket that sends more); after it, at
most ``max_inflight_per_connection`` PUSH batches and ``max_pulls_per_connection`` PULLs at once
(the next such frame is not read until one is answered), a bounded outgoing queue (``Hub``), and
an error frame for anything else. Reads run in the org's turn (``server.fair``), and
authentication on its own thread. Once the socket is a websocket, every failure is an error
frame or a close code, never an HTTP response.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from shared.protocol import messages as m
from shared.protocol.errors import ErrorCode, ProtocolError
from shared.protocol.transport import Transport, WebSocketTransport

from .auth import Principal
from .campaigns import AppliedUpdate, pull_changes
from .connections import GUARD, GuardedConnection
from .context import ServerContext
from .errors import Forbidden, ServerError
from .fair import TURN
from .hub import Connection
from .ingest import ApplyCampaignUpdates, StoreEvents
from .logs import get_logger

log = get_logger(__name__)
CTX: web.AppKey[ServerContext] = web.AppKey("ctx", ServerContext)
REPORTS: web.AppKey = web.AppKey("reports")
DOCS_CHUNK_BYTES = 1 << 20


async def sync_handler(request: web.Request) -> web.WebSocketResponse:
    ctx = request.app[CTX]
    guard = request.app.get(GUARD)
    tcp = guard.of(request.transport) if guard is not None else None
    ws = web.WebSocketResponse(
        max_msg_size=ctx.config.max_frame_bytes * 4, heartbeat=30, compress=False
    )
    if tcp is not None:
        tcp.expect_hello()
    await ws.prepare(request)
    try:
        await serve_connection(ctx, WebSocketTransport(ws), tcp=tcp)
    except Exception:  # a bug: close the websocket; an HTTP answer cannot follow an upgrade
        log.exception("sync connection failed")
        with contextlib.suppress(Exception):
            await ws.close(code=1011, message=b"internal error")
    return ws


async def serve_connection(
    ctx: ServerContext, ws: Transport, *, tcp: GuardedConnection | None = None
) -> None:
    """Serve one device's connection until it closes (any ``Transport``: a websocket, or the
    simulator's channel)."""
    principal = await _handshake(ws, ctx, tcp)
    if principal is None:
        return
    TURN.set(principal.org_id)  # this connection's reads take its org's turn
    conn = Connection(
        ws, principal, ctx.config.outgoing_queue_frames, ctx.config.outgoing_queue_bytes
    )
    ctx.hub.add(conn)
    inflight = asyncio.Semaphore(ctx.config.max_inflight_per_connection)
    pulls = asyncio.Semaphore(ctx.config.max_pulls_per_connection)
    tasks: dict[asyncio.Task, None] = {}  # insertion-ordered: teardown is reproducible
    try:
        while True:
            data = await ws.receive()
            if isinstance(data, str):
                conn.send(m.error(ErrorCode.BAD_FRAME, "text frame: frames must be binary msgpack"))
                continue
            if data is None:
                break
            try:
                frame = m.decode_frame(data, max_bytes=ctx.config.max_frame_bytes)
            except ProtocolError as exc:
                conn.send(m.error(exc.code, exc.message, batch=_batch_id(data)))
                continue
            kind = frame["t"]
            if kind == m.MsgType.PUSH:
                await inflight.acquire()
                task = asyncio.create_task(_push(ctx, conn, frame, inflight))
            elif kind == m.MsgType.PULL:
                await pulls.acquire()
                task = asyncio.create_task(_pull(ctx, conn, frame, pulls))
            else:
                conn.send(m.error(ErrorCode.BAD_FRAME, f"unexpected {kind.name} frame after hello"))
                continue
            tasks[task] = None
            task.add_done_callback(lambda t: tasks.pop(t, None))
        if tasks:  # let committed batches be acked before the socket goes
            await asyncio.wait(tasks, timeout=30)
            await conn.drain()
    finally:
        ctx.hub.remove(conn)
        for task in list(tasks):
            task.cancel()
        await conn.close()


def _batch_id(data: Any) -> int | None:
    """Best effort: the batch id of a frame that failed validation, so the device can match it."""
    try:
        frame = m.msgpack.unpackb(data, raw=False)
        batch = frame.get("b") if isinstance(frame, dict) else None
        return batch if isinstance(batch, int) and not isinstance(batch, bool) else None
    except Exception:  # noqa: BLE001 - the frame is already known to be malformed
        return None


async def _handshake(
    ws: Transport, ctx: ServerContext, tcp: GuardedConnection | None = None
) -> Principal | None:
    async def refuse(code: ErrorCode, message: str) -> None:
        versions = None
        if code == ErrorCode.BAD_VERSION:  # the range this server speaks: the app says what to do
            versions = (m.OLDEST_PROTOCOL_VERSION, m.PROTOCOL_VERSION)
        await ws.send_bytes(m.error(code, message, versions=versions))
        await ws.close(code=4401 if code == ErrorCode.UNAUTHENTICATED else 4400)

    try:
        data = await ws.receive(timeout_s=ctx.config.hello_timeout_s)
    except TimeoutError:
        await refuse(ErrorCode.UNAUTHENTICATED, "no HELLO within the time limit")
        return None
    if not isinstance(data, bytes):
        if isinstance(data, str):
            await refuse(ErrorCode.BAD_FRAME, "text frame: frames must be binary msgpack")
        return None
    try:
        frame = m.decode_frame(data, max_bytes=ctx.config.preauth_frame_bytes)
    except ProtocolError as exc:
        await refuse(exc.code, exc.message)
        return None
    if frame["t"] != m.MsgType.HELLO:
        await refuse(
            ErrorCode.UNAUTHENTICATED, f"{frame['t'].name} before HELLO: authenticate first"
        )
        return None
    try:
        principal = await ctx.authenticate(frame["token"])
    except ServerError as exc:
        await refuse(exc.code, exc.message)
        return None
    if tcp is not None:  # before WELCOME: the device may send a full frame as soon as it has it
        tcp.authenticated()
    now = ctx.now_ms()
    await ws.send_bytes(
        m.welcome(
            device_id=principal.device_id or "",
            org=principal.org_id,
            role=principal.role,
            user=principal.email,
            server_time_ms=now,
            version=min(frame["v"], m.PROTOCOL_VERSION),
        )
    )
    with contextlib.suppress(Exception):
        await ctx.writer.run_exclusive(lambda st: st.touch_device(principal.device_id, now))
    return principal


async def _push(
    ctx: ServerContext, conn: Connection, frame: dict, inflight: asyncio.Semaphore
) -> None:
    batch = frame["b"]
    principal = conn.principal
    try:
        if "events" in frame:
            action = "capture"
            principal.require("capture")
            stored, dup = await ctx.writer.submit(
                frame["c"],
                len(frame["events"]),
                StoreEvents(principal, frame["c"], frame["events"]),
            )
            conn.send(m.ack(batch, stored=stored, duplicates=dup))
        else:
            action = "edit_campaigns"
            principal.require("edit_campaigns")
            updates = frame["updates"]
            applied: list[AppliedUpdate] = await ctx.writer.submit(
                frame["c"], len(updates), ApplyCampaignUpdates(ctx.docs, principal, updates)
            )
            conn.send(
                m.ack(
                    batch,
                    stored=sum(a.changed for a in applied),
                    duplicates=sum(not a.changed for a in applied),
                )
            )
    except Forbidden as exc:
        conn.send(m.error(exc.code, exc.message, batch=batch))
        await ctx.refuse(principal, exc, action=action, target=_target(frame))
    except ServerError as exc:
        conn.send(m.error(exc.code, exc.message, batch=batch))
    except ConnectionAbortedError:
        conn.send(m.error(ErrorCode.UNAVAILABLE, "server shutting down; retry", batch=batch))
    except Exception as exc:  # a bug: the device retries later, the server keeps serving
        log.exception("push batch %s from device %s failed", batch, principal.device_id)
        conn.send(
            m.error(ErrorCode.INTERNAL, f"internal error ({type(exc).__name__})", batch=batch)
        )
    finally:
        inflight.release()


def _target(frame: dict) -> str | None:
    updates = frame.get("updates")
    return ",".join(sorted({u[0] for u in updates})) if updates else None


async def _pull(
    ctx: ServerContext, conn: Connection, frame: dict, pulls: asyncio.Semaphore
) -> None:
    try:
        await _answer_pull(ctx, conn, frame)
    finally:
        pulls.release()


async def _answer_pull(ctx: ServerContext, conn: Connection, frame: dict) -> None:
    cursor, epoch = frame.get("k"), ctx.log_epoch
    if cursor and epoch is not None and not epoch.honours(frame.get("e")):
        # a cursor into another history of the log (a restore since): by state vector
        log.info("pull of device %s: cursor of another log epoch", conn.principal.device_id)
        cursor = None
    try:
        answer = await ctx.read(pull_changes, conn.principal.org_id, frame["s"], cursor)
    except ServerError as exc:  # e.g. the org's turn is full: retry later
        conn.send(m.error(exc.code, exc.message))
        return
    except Exception as exc:
        log.exception("pull for device %s failed", conn.principal.device_id)
        conn.send(m.error(ErrorCode.INTERNAL, f"pull failed ({type(exc).__name__})"))
        return
    chunk: list[tuple[str, bytes]] = []
    size = 0
    for campaign_id, update in answer.updates:
        if chunk and size + len(update) > DOCS_CHUNK_BYTES:
            if not await conn.send_wait(m.docs(chunk, done=False)):
                return
            chunk, size = [], 0
        chunk.append((campaign_id, update))
        size += len(update)
    await conn.send_wait(
        m.docs(
            chunk,
            done=True,
            cursor=answer.cursor,
            items=len(answer.updates),
            epoch=epoch.epoch if epoch is not None else None,
        )
    )
