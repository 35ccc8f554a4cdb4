"""The sync engine: push the outbox by priority class, pull campaign docs by change cursor (by
state vector until the replica has a cursor).

No Qt here. Replica work runs on one worker thread so the event loop (and, in the desktop app,
the GUI thread it shares) never waits on disk.

Invariants:
* classes drain strictly in order: every batch of class c is acked before class c+1 is sent;
* a row leaves the outbox only when its batch is acked (commit-then-ack on the server), so a crash
  or cut at any moment resends at worst, and the server's dedup by id stores it once;
* a batch the server refuses for good (bad event, forbidden) is moved to ``rejected``, kept and
  reported, never dropped; a transient refusal ends the sync to be retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from shared.protocol import messages as m
from shared.protocol.errors import ErrorCode, ProtocolError
from shared.protocol.kinds import (
    CAMPAIGN_UPDATE_CLASS,
    EVENT_CLASSES,
    LATER_KINDS,
    PRIORITY_CLASSES,
)
from shared.protocol.transport import Transport, WebSocketTransport

from .credentials import TokenStore, account_for
from .network_control import NetworkConditions
from .store import Replica

log = logging.getLogger(__name__)

PERMANENT = {
    str(ErrorCode.BAD_EVENT),
    str(ErrorCode.BAD_UPDATE),
    str(ErrorCode.FORBIDDEN),
    str(ErrorCode.TOO_LARGE),
    str(ErrorCode.BAD_FRAME),
}


class SyncError(Exception):
    code = "sync_failed"


class BadServerURL(SyncError):
    code = "bad_server_url"


def server_base_url(text: str) -> str:
    """The server's base URL from what a person typed: ``http(s)://host[:port][/prefix]``, or
    ``host:port`` / ``host`` meaning http. Anything else is refused, saying what is wrong."""
    from urllib.parse import urlsplit

    raw = text.strip()
    if not raw:
        raise BadServerURL("the server URL is empty; for example http://127.0.0.1:8765")
    if "://" not in raw:
        raw = "http://" + raw  # host:port, as people type it
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https"):
        raise BadServerURL(
            f"{text!r}: the server URL must start with http:// or https://, not {parts.scheme}://"
        )
    try:
        port = parts.port
    except ValueError:
        raise BadServerURL(f"{text!r}: the port is not a number between 0 and 65535") from None
    if not parts.hostname:
        raise BadServerURL(f"{text!r} names no host; for example http://127.0.0.1:8765")
    if parts.query or parts.fragment:
        raise BadServerURL(f"{text!r}: a server URL has no ?query or #fragment")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


class OfflineError(SyncError):
    code = "offline"


class WorkingOffline(OfflineError):
    """The profile works offline (the user's choice): no attempt to connect is made."""


class ServerUnreachable(SyncError):
    """No connection to the server at all (refused, no route, DNS, timeout)."""

    code = "server_unreachable"


class NotLoggedIn(SyncError):
    code = "not_logged_in"


class RemoteError(SyncError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"server refused ({code}): {message}")
        self.code = code
        self.message = message


class VersionMismatch(RemoteError):
    """The server does not speak this app's sync protocol. Nothing was sent: the queue stays
    as it is, and syncs again once the app (or the server) is updated."""

    def __init__(self, *, ours: int, theirs: tuple[int, int] | None, queued: int, said: str):
        items = f"{queued} queued item{' is' if queued == 1 else 's are'}"
        if theirs is not None and ours > theirs[1]:
            text = (
                f"The server is older than this app (it speaks sync protocol {theirs[1]}, this "
                f"app {ours}): ask your administrator to upgrade it; your {items} safe"
            )
        else:
            text = (
                f"Update the app to sync; your {items} safe and will sync after the update "
                f"(the server said: {said})"
            )
        super().__init__(str(ErrorCode.BAD_VERSION), text)
        self.ours, self.theirs, self.queued = ours, theirs, queued


def _versions_said(frame: dict[str, Any]) -> tuple[int, int] | None:
    """The range of protocol versions a refusing server speaks: ``vr`` (servers from version
    2 on), else read from a version 1 server's message ("... this server speaks 1")."""
    import re

    given = frame.get("vr")
    if isinstance(given, list) and len(given) == 2 and all(isinstance(v, int) for v in given):
        return given[0], given[1]
    found = re.search(r"this server speaks (\d+)$", frame.get("msg", ""))
    return (int(found.group(1)), int(found.group(1))) if found else None


@dataclass
class SyncReport:
    pushed: dict[int, int] = field(default_factory=lambda: dict.fromkeys(PRIORITY_CLASSES, 0))
    duplicates: int = 0
    rejected: int = 0
    pulled: int = 0
    #: items of kinds the server does not take yet (an older server): kept queued, not sent
    held: int = 0
    class_done_ms: dict[int, float] = field(default_factory=dict)
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "pushed": {str(k): v for k, v in self.pushed.items()},
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "pulled": self.pulled,
            "held": self.held,
            "class_done_ms": {str(k): round(v, 1) for k, v in self.class_done_ms.items()},
            "duration_ms": round(self.duration_ms, 1),
        }


def backoff_delays(base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None):
    """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        yield rng.uniform(0, min(cap_s, base_s * 2**attempt))
        attempt += 1


#: Opens a transport to a sync URL (``ws://host:port/api/v1/sync``).
Connector = Callable[[str], Awaitable[Transport]]


class _Session:
    """One open connection: a reader task matching ACKs to batches and applying DOCS."""

    def __init__(
        self, engine: SyncEngine, ws: Transport, later_kinds: frozenset[str] = frozenset()
    ) -> None:
        self.engine = engine
        self.ws = ws
        #: the event kinds added since the protocol version shipped that the server accepts
        self.later_kinds = later_kinds
        self.pending: dict[int, asyncio.Future] = {}
        self.pull_waiter: asyncio.Future | None = None
        self.pull_items = 0  # updates received for the pull in progress (not live ones)
        self.pulled = 0
        self.failure: asyncio.Future = asyncio.get_running_loop().create_future()
        self._batch_ids = iter(range(1, 2**62))
        self.reader = asyncio.get_running_loop().create_task(self._read())

    def next_batch_id(self) -> int:
        return next(self._batch_ids)

    async def _read(self) -> None:
        try:
            while True:
                data = await self.ws.receive()
                if not isinstance(data, bytes):
                    break
                await self.dispatch(m.decode_frame(data))
            self._fail(SyncError(f"server closed the connection ({self.ws.close_code})"))
        except ProtocolError as exc:
            self._fail(SyncError(f"server sent an invalid frame: {exc.message}"))
        except (aiohttp.ClientError, ConnectionError) as exc:
            self._fail(SyncError(f"connection lost: {exc}"))

    def _fail(self, exc: Exception, *, pending: Exception | None = None) -> None:
        if not self.failure.done():
            self.failure.set_exception(exc)
        for fut in list(self.pending.values()) + [self.pull_waiter]:
            if fut is not None and not fut.done():
                fut.set_exception(pending or exc)

    async def dispatch(self, frame: dict[str, Any]) -> None:
        """Act on one decoded frame from the server (the reader calls this for each frame)."""
        kind = frame["t"]
        if kind == m.MsgType.ACK:
            fut = self._settle(frame["b"])
            if fut is not None:
                fut.set_result(frame)
        elif kind == m.MsgType.ERROR:
            err = RemoteError(frame["code"], frame["msg"])
            fut = self._settle(frame["b"]) if "b" in frame else None
            if fut is not None:
                fut.set_exception(err)
            elif not frame.get("b"):
                # A refusal of the connection, not of a batch: the batches in flight are not
                # at fault, so they fail as a transient error and are sent again later.
                self._fail(err, pending=SyncError(f"connection refused by the server: {err}"))
        elif kind == m.MsgType.DOCS:
            updates = [(c, bytes(u)) for c, u in frame["u"]]
            live = bool(frame.get("live"))
            if not live:
                self.pull_items += len(updates)
            waiting = self.pull_waiter is not None and not self.pull_waiter.done()
            cursor: int | None | bool = False  # False: leave the stored cursor as it is
            if frame.get("done") and not live and waiting:
                if "k" not in frame:
                    cursor = None  # a server without change cursors: pull by state vector
                elif frame.get("n") == self.pull_items:
                    cursor = frame["k"]  # every update of the answer is here
            if updates or cursor is not False:
                changes = await self.engine.run_db(
                    functools.partial(
                        self.engine.replica.apply_remote_updates,
                        updates,
                        cursor=cursor,
                        epoch=frame.get("e"),
                    )
                )
                self.pulled += len(changes.campaigns)
            if frame.get("done") and self.pull_waiter is not None and not self.pull_waiter.done():
                self.pull_waiter.set_result(None)
        elif kind == m.MsgType.NOTICE:
            for callback in self.engine.notice_callbacks:
                callback(frame["kind"], frame["body"])

    def _settle(self, batch: int) -> asyncio.Future | None:
        """The waiting future of ``batch``, if any. A batch already failed with the connection
        stays in ``pending`` so that ``close`` retrieves its error (a late or duplicated answer
        does not orphan it)."""
        fut = self.pending.get(batch)
        if fut is None or fut.done():
            return None
        del self.pending[batch]
        return fut

    async def send(self, data: bytes) -> None:
        if self.failure.done():
            self.failure.result()  # raises the failure
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        # Batches left in flight when the connection failed: their error is the session's error.
        for fut in [*self.pending.values(), self.failure, self.pull_waiter]:
            if fut is not None and fut.done() and not fut.cancelled():
                fut.exception()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.reader
        await self.ws.close()


class SyncEngine:
    def __init__(
        self,
        replica: Replica,
        *,
        tokens: TokenStore,
        batch_size: int = 1000,
        window: int = 8,
        timeout_s: float = 60.0,
        connector: Connector | None = None,
        executor: Executor | None = None,
        rng: random.Random | None = None,
        ca_file: str | None = None,
    ) -> None:
        """``connector`` opens the sync connection (default: ``ws_connect``, an aiohttp
        websocket); ``executor`` runs replica work (default: one worker thread); ``rng`` draws
        the reconnect jitter. The simulator passes its own three to run the engine on virtual
        time, deterministically."""
        self.replica = replica
        self.tokens = tokens
        self.batch_size = batch_size
        self.window = window
        self.timeout_s = timeout_s
        self.notice_callbacks: list[Callable[[str, dict], None]] = []
        #: observers of the push: callback(step, priority, item_type, items) with step "sent" or
        #: "acked" (the app's sync log, tests of the priority order)
        self.trace: list[Callable[[str, int, str, int], None]] = []
        #: observers of the live loop (``run_forever``): callback(reason) each time it starts to
        #: wait, reason "offline" (until the profile goes online), "caught_up" (connected, all
        #: sent, until something changes) or "retry" (backoff after a failure)
        self.live_waits: list[Callable[[str], None]] = []
        self._executor = executor or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="wedsync-replica"
        )
        #: opens the sync connection; replace it to put something between engine and server
        self.connector: Connector = connector or self.ws_connect
        self._rng = rng
        #: the tester's network control (online / offline / flaky), consulted on every connect
        self.network: NetworkConditions | None = None
        #: the sync protocol version this engine speaks in its HELLO (tests speak older ones)
        self.protocol_version = m.PROTOCOL_VERSION
        self._http: aiohttp.ClientSession | None = None
        #: a CA certificate file that https/wss servers' certificates are verified against (in
        #: addition to the system's); certificates are always verified
        self.ca_file = ca_file

    async def run_db(self, fn: Callable, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._executor.shutdown(wait=True)

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            connector = None
            if self.ca_file:
                import ssl

                context = ssl.create_default_context(cafile=self.ca_file)
                connector = aiohttp.TCPConnector(ssl=context)
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), connector=connector
            )
        return self._http

    # ------------------------------------------------------------------ login

    async def login(self, server_url: str, email: str, password: str, device_name: str) -> dict:
        """Log in, keep the device token in the token store, remember server and user."""
        url = server_base_url(server_url)
        body = {
            "email": email,
            "password": password,
            "device_name": device_name,
            "device_id": self.replica.device_id,
        }
        try:
            async with self._client().post(f"{url}/api/v1/login", json=body) as resp:
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServerUnreachable(f"cannot reach {url}: {exc}") from None
        except ValueError:
            raise SyncError(f"{url} did not answer like a WedSync server") from None
        if resp.status != 200:
            err = data.get("error", {}) if isinstance(data, dict) else {}
            raise RemoteError(err.get("code", str(resp.status)), err.get("message", "login failed"))
        self.tokens.set(account_for(self.replica.device_id), data["token"])
        for key, value in (
            ("server_url", url),
            ("user_email", data["user"]),
            ("org", data["org"]),
            ("role", data["role"]),
            ("server_device_id", data["device_id"]),
            ("tls_ca_file", self.ca_file),  # later commands verify the server the same way
            ("pull_cursor", None),  # a cursor belongs to one server's log: pull afresh
            ("pull_epoch", None),
            # what the last sync attempts said was about the server before this one
            ("server_reachable", None),
            ("last_error", None),
        ):
            await self.run_db(self.replica.set_setting, key, value)
        return {k: v for k, v in data.items() if k != "token"}

    async def logout(self) -> bool:
        """Revoke this device's token on the server (``POST /api/v1/logout``), then forget it
        here whatever happened. True if the server revoked it; False if it could not be asked
        (offline, unreachable, the token already unknown there)."""
        try:
            await self.api("POST", "/api/v1/logout")
            revoked = True
        except (SyncError, aiohttp.ClientError):
            revoked = False
        self.tokens.delete(account_for(self.replica.device_id))
        await self.run_db(self.replica.set_setting, "user_email", None)
        return revoked

    async def rotate_token(self) -> None:
        """Swap this device's token for a new one (the old one stops working on the server).
        The device, its queue and its cursor stay as they are."""
        data = await self.api("POST", "/api/v1/token/rotate")
        self.tokens.set(account_for(self.replica.device_id), data["token"])

    async def api(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        """Call the server's JSON API as this device (``path`` like ``/api/v1/conflicts``)."""
        if await self._offline():
            raise WorkingOffline("this profile is offline: `wedsync client offline off` first")
        url, token = await self.run_db(self._token)
        try:
            async with self._client().request(
                method, url + path, json=body, headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServerUnreachable(f"cannot reach {url}: {exc}") from None
        except ValueError:
            raise SyncError(f"{url}{path} did not answer JSON") from None
        if resp.status >= 400:
            err = data.get("error", {}) if isinstance(data, dict) else {}
            raise RemoteError(
                err.get("code", str(resp.status)), err.get("message", resp.reason or "")
            )
        return data

    async def _offline(self) -> bool:
        # Read on the replica's worker like every other store call: on the loop thread it would
        # wait for the worker's transaction to release the replica's lock (a stalled GUI).
        return await self.run_db(lambda: self.replica.offline)

    def _token(self) -> tuple[str, str]:
        url = self.replica.get_setting("server_url")
        token = self.tokens.get(account_for(self.replica.device_id)) if url else None
        if not url or not token:
            raise NotLoggedIn("this profile is not logged in: run `wedsync client login` first")
        return url, token

    # ------------------------------------------------------------------ one sync

    async def connect(self) -> _Session:
        if await self._offline():
            raise WorkingOffline("this profile is offline: `wedsync client offline off` to sync")
        url, token = await self.run_db(self._token)
        ws_url = (
            url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/api/v1/sync"
        )
        network = self.network
        if network is not None and network.offline:
            raise OfflineError("the network is switched off (tester control)")
        try:
            ws = await self.connector(ws_url)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ServerUnreachable(f"cannot reach {url}: {exc}") from None
        if network is not None:
            ws = network.wrap(ws)
        await ws.send_bytes(
            m.hello(token=token, device_id=self.replica.device_id, version=self.protocol_version)
        )
        try:
            data = await ws.receive(timeout_s=self.timeout_s)
        except TimeoutError:
            await ws.close()
            raise SyncError(f"no answer to HELLO within {self.timeout_s:.0f} s") from None
        if not isinstance(data, bytes):
            await ws.close()
            what = "a text frame" if isinstance(data, str) else f"close code {ws.close_code}"
            raise SyncError(f"server closed the connection during the handshake ({what})")
        frame = m.decode_frame(data)
        if frame["t"] == m.MsgType.ERROR:
            await ws.close()
            if frame["code"] == str(ErrorCode.BAD_VERSION):
                depths = await self.run_db(self.replica.queue_depths)
                raise VersionMismatch(
                    ours=self.protocol_version,
                    theirs=_versions_said(frame),
                    queued=sum(depths.values()),
                    said=frame["msg"],
                )
            raise RemoteError(frame["code"], frame["msg"])
        if frame["t"] != m.MsgType.WELCOME:
            await ws.close()
            raise SyncError(f"expected WELCOME, got {frame['t'].name}")
        await self.run_db(self.replica.observe_server_time, frame.get("now"))
        return _Session(self, ws, m.later_kinds_of(frame))

    async def ws_connect(self, ws_url: str) -> Transport:
        """The default connector: an aiohttp websocket to ``ws_url``."""
        ws = await self._client().ws_connect(
            ws_url, compress=0, max_msg_size=m.MAX_FRAME_BYTES * 4, heartbeat=30
        )
        return WebSocketTransport(ws)

    async def sync_once(self) -> SyncReport:
        """Connect, push everything queued by class, pull what is missing, disconnect. Every
        attempt is recorded (``Replica.status``), a failed connect included: whether the server
        was reachable, and what failed."""
        try:
            session = await self.connect()
        except (WorkingOffline, NotLoggedIn):
            raise  # no attempt was made
        except SyncError as exc:
            await self._record_failure(exc)
            raise
        try:
            report = await self._exchange(session)
        except (aiohttp.ClientError, ConnectionError) as exc:
            # the server went away mid-exchange: what was not acked stays queued for next time
            error = SyncError(f"connection lost during sync ({type(exc).__name__}); retry")
            await self._record(ok=False, summary={"error": str(error)}, reached=True)
            raise error from exc
        except Exception as exc:
            await self._record(ok=False, summary={"error": str(exc)}, reached=True)
            raise
        finally:
            await session.close()
        await self._record(ok=True, summary=report.to_dict())
        return report

    async def _record(self, *, ok: bool, summary: dict, **kw: Any) -> None:
        await self.run_db(lambda: self.replica.record_sync(ok=ok, summary=summary, **kw))

    async def _record_failure(self, exc: SyncError, *, log_repeat: bool = True) -> None:
        """A failed connect: the server was unreachable (or the tester's network is off), or it
        answered and refused."""
        await self._record(
            ok=False,
            summary={"error": str(exc)},
            reached=not isinstance(exc, ServerUnreachable | OfflineError),
            log_repeat=log_repeat,
        )

    async def _exchange(self, session: _Session) -> SyncReport:
        report = SyncReport()
        started = time.perf_counter()
        await self.push(session, report, started)
        await self.pull(session)
        report.pulled = session.pulled
        report.duration_ms = (time.perf_counter() - started) * 1000
        return report

    async def push(self, session: _Session, report: SyncReport, started: float) -> None:
        for priority in PRIORITY_CLASSES:
            await self._drain(session, report, priority, "event")
            # kinds an older server would refuse wait in the queue until the server takes them
            for kind in sorted(LATER_KINDS):
                if EVENT_CLASSES[kind] != priority:
                    continue
                if kind in session.later_kinds:
                    await self._drain(session, report, priority, f"event:{kind}")
                    continue
                held = await self.run_db(self.replica.queued, priority, f"event:{kind}")
                if held:
                    report.held += held
                    log.info(
                        "%s %s event(s) kept queued: the server does not take them", held, kind
                    )
            if priority == CAMPAIGN_UPDATE_CLASS:
                await self._drain(session, report, priority, "campaign")
            report.class_done_ms[priority] = (time.perf_counter() - started) * 1000

    async def _drain(
        self, session: _Session, report: SyncReport, priority: int, item_type: str
    ) -> None:
        """Send every queued item of one class and type, ``window`` batches in flight."""
        after = 0
        inflight: dict[asyncio.Future, tuple[int, int, int]] = {}
        exhausted = False
        while True:
            while not exhausted and len(inflight) < self.window:
                if item_type != "campaign":
                    batch = await self.run_db(
                        self.replica.next_event_batch, priority, after, self.batch_size, item_type
                    )
                    frame_items = len(batch.packed) if batch else 0
                else:
                    batch = await self.run_db(self.replica.next_update_batch, after, 100)
                    frame_items = len(batch.updates) if batch else 0
                if batch is None:
                    exhausted = True
                    break
                after = batch.last_seq
                batch_id = session.next_batch_id()
                fut = asyncio.get_running_loop().create_future()
                session.pending[batch_id] = fut
                inflight[fut] = (batch.first_seq, batch.last_seq, frame_items)
                if item_type != "campaign":
                    await session.send(m.push_events_raw(batch_id, priority, batch.packed))
                else:
                    await session.send(m.push_updates(batch_id, batch.updates))
                for observer in self.trace:
                    observer("sent", priority, item_type, frame_items)
            if not inflight:
                return
            done, _ = await asyncio.wait(
                inflight, timeout=self.timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                raise SyncError(f"no ACK from the server within {self.timeout_s:.0f} s")
            for fut in [f for f in inflight if f in done]:  # in send order: reproducible runs
                first, last, count = inflight.pop(fut)
                try:
                    ack = fut.result()
                except RemoteError as exc:
                    if exc.code not in PERMANENT:
                        raise
                    await self.run_db(
                        functools.partial(
                            self.replica.reject,
                            priority,
                            item_type,
                            first,
                            last,
                            code=exc.code,
                            reason=exc.message,
                        )
                    )
                    report.rejected += count
                    log.warning("server refused %s %s item(s): %s", count, item_type, exc.message)
                    continue
                await self.run_db(self.replica.ack, priority, item_type, first, last)
                for observer in self.trace:
                    observer("acked", priority, item_type, count)
                report.pushed[priority] += ack.get("n", 0)
                report.duplicates += ack.get("d", 0)

    async def pull(self, session: _Session) -> None:
        """Ask for what changed since the change cursor, or, without one (first sync, a new
        login), for what the replica lacks by state vector. The cursor advances only with the
        last frame of a complete answer, in the transaction that applies it; live updates never
        move it (they may arrive out of order)."""
        cursor = await self.run_db(self.replica.pull_cursor)
        vectors = {} if cursor else await self.run_db(self.replica.state_vectors)
        # the epoch of the log the cursor counts in (protocol 2): after a restore of the
        # server's store, a cursor of the old epoch is answered by state vector
        epoch = await self.run_db(self.replica.pull_epoch) if self.protocol_version >= 2 else None
        session.pull_items = 0
        session.pull_waiter = asyncio.get_running_loop().create_future()
        await session.send(m.pull(vectors, cursor=cursor or None, epoch=epoch))
        # asyncio.wait, not wait_for: on 3.11 wait_for swallows a cancellation that arrives as
        # the waiter completes, and a cancelled live loop would then carry on.
        done, _ = await asyncio.wait({session.pull_waiter}, timeout=self.timeout_s)
        if not done:
            raise SyncError(f"no DOCS from the server within {self.timeout_s:.0f} s")
        session.pull_waiter.result()

    # ------------------------------------------------------------------ live

    async def run_forever(
        self,
        stop: asyncio.Event,
        *,
        on_report: Callable[[SyncReport | Exception], None] | None = None,
        poll_s: float = 1.0,
    ) -> None:
        """Stay connected: sync, then push whatever is captured and apply live updates as they
        come; reconnect with backoff and jitter; wait while the profile is offline."""
        delays = backoff_delays(rng=self._rng)
        changed = asyncio.Event()
        loop = asyncio.get_running_loop()
        # New work only (a capture, an edit): an ack also changes the outbox, and waking for it
        # would follow every exchange with an empty one.
        # A settings change (work offline on or off) wakes it too.
        unsubscribe = self.replica.subscribe(
            lambda ch: (
                loop.call_soon_threadsafe(changed.set)
                if (ch.outbox and (ch.events or ch.campaigns or ch.contacts)) or ch.settings
                else None
            )
        )
        try:
            while not stop.is_set():
                if await self._offline():
                    self._live_wait("offline")
                    await _wait_any(stop, changed, timeout_s=poll_s)
                    changed.clear()
                    continue
                try:
                    session = await self.connect()
                except NotLoggedIn:
                    raise
                except SyncError as exc:
                    if not isinstance(exc, WorkingOffline):
                        # recorded for `status`; a failure that repeats adds no row to the log
                        await self._record_failure(exc, log_repeat=False)
                    if on_report:
                        on_report(exc)
                    self._live_wait("retry")
                    await _wait_any(stop, timeout_s=next(delays))
                    continue
                try:
                    delays = backoff_delays(rng=self._rng)
                    while not stop.is_set() and not await self._offline():
                        changed.clear()
                        report = await self._exchange(session)
                        await self._record(ok=True, summary=report.to_dict())
                        if on_report:
                            on_report(report)
                        self._live_wait("caught_up")
                        await _wait_any(stop, changed, session.failure, timeout_s=30)
                        if session.failure.done():
                            session.failure.result()
                except (SyncError, aiohttp.ClientError, ConnectionError) as exc:
                    # connected, then failed: the server was reached at this attempt
                    await self._record(ok=False, summary={"error": str(exc)}, reached=True)
                    if on_report:
                        on_report(exc)
                    self._live_wait("retry")
                    await _wait_any(stop, timeout_s=next(delays))
                finally:
                    await session.close()
        finally:
            unsubscribe()

    def _live_wait(self, reason: str) -> None:
        for observer in self.live_waits:
            observer(reason)


async def _wait_any(*waitables: Any, timeout_s: float) -> None:
    tasks = []
    for w in waitables:
        if isinstance(w, asyncio.Event):
            tasks.append(asyncio.ensure_future(w.wait()))
        elif isinstance(w, asyncio.Future):
            tasks.append(asyncio.ensure_future(asyncio.shield(w)))
    try:
        await asyncio.wait(tasks, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        if tasks:  # wait for them without swallowing a cancellation of the caller
            await asyncio.wait(tasks)
