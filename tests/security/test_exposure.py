"""What anyone who reaches the port can cost the server (issue 12, point 2): a small frame before
HELLO, connection limits per address and in total, header and idle timeouts, the unit's file
limits, a fair share of reports per org, and coalesced audit repeats."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
from pathlib import Path

import aiohttp
import pytest

from server import reports as reports_module
from tests.security.conftest import login, start_guarded, stop

UNIT = Path(__file__).resolve().parents[2] / "packaging" / "wedsync-server.service"


async def _raw(port: int, source: str = "127.0.0.1"):
    """A raw TCP connection to the server from ``source`` (any 127/8 address)."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return asyncio.open_connection(sock=sock)


async def _closed(reader: asyncio.StreamReader, timeout_s: float) -> bool:
    """Whether the server closes the connection within ``timeout_s`` (reading what it sends)."""
    try:
        async with asyncio.timeout(timeout_s):
            while await reader.read(65536):
                pass
        return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


async def _upgrade(port: int):
    """A websocket upgrade by hand; returns the stream after the 101."""
    reader, writer = await await_(_raw(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /api/v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert status.startswith(b"HTTP/1.1 101"), status
    return reader, writer


async def await_(coro):
    return await (await coro)


async def test_a_large_frame_before_hello_is_cut_off_not_buffered(tmp_path):
    """An unauthenticated peer announces an 8 MB binary frame and streams it: the server closes
    the connection after its small pre-HELLO allowance instead of taking all of it."""
    server = await start_guarded(tmp_path)
    try:
        reader, writer = await _upgrade(_port(server))
        size = 8 * 1024 * 1024
        mask = os.urandom(4)
        writer.write(bytes([0x82, 0xFF]) + size.to_bytes(8, "big") + mask)
        sent = 0
        chunk = bytes(256 * 1024)
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            while sent < size:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
            # everything went out: the server read it all; it answers only now
            assert await _closed(reader, 10)
        assert sent < size
        writer.close()
    finally:
        await stop(server)


async def test_connections_are_limited_per_address_and_in_total(tmp_path):
    server = await start_guarded(
        tmp_path, max_connections_per_address=4, max_connections=6, header_timeout_s=30
    )
    port = _port(server)
    held = []
    try:
        for _ in range(4):
            held.append(await await_(_raw(port, "127.0.0.1")))
        # a fifth from the same address is refused at once, with a 503
        reader, writer = await await_(_raw(port, "127.0.0.1"))
        answer = await asyncio.wait_for(reader.read(), 10)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        writer.close()
        # another address still gets in, until the total is reached
        for _ in range(2):
            held.append(await await_(_raw(port, "127.0.0.2")))
        reader, writer = await await_(_raw(port, "127.0.0.3"))
        answer = await asyncio.wait_for(reader.read(), 10)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        writer.close()
        # a connection that leaves frees its place
        _r, w = held.pop(0)
        w.close()
        await w.wait_closed()
        async with aiohttp.ClientSession() as session:
            for _attempt in range(50):
                async with session.post(server.url + "/api/v1/login", json={}) as resp:
                    if resp.status != 503:
                        break
                await asyncio.sleep(0.02)  # the server sees the close a moment later
            assert resp.status == 400
    finally:
        for _r, w in held:
            w.close()
        await stop(server)


async def test_partial_headers_and_idle_connections_are_closed(tmp_path):
    server = await start_guarded(tmp_path, header_timeout_s=0.5, idle_timeout_s=0.5)
    port = _port(server)
    try:
        # slowloris: a request line and one header, never finished
        reader, writer = await await_(_raw(port))
        writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        assert await _closed(reader, 5)
        # a silent connection
        reader, writer = await await_(_raw(port))
        assert await _closed(reader, 5)
        # a keep-alive connection after its answer: idle, then closed
        reader, writer = await await_(_raw(port))
        writer.write(b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 400")
        assert await _closed(reader, 5)
    finally:
        await stop(server)


def test_the_service_unit_raises_the_file_limit_and_keeps_files_private():
    settings = dict(
        line.split("=", 1)
        for line in UNIT.read_text().splitlines()
        if "=" in line and line[0] != "#"
    )
    assert int(settings["LimitNOFILE"]) >= 65536
    assert settings["UMask"] == "0077"


async def test_reports_take_turns_between_orgs(tmp_path, monkeypatch):
    """Org A's viewer asks for several reports at once; org B's report runs next, not after
    all of them. Beyond its queue, org A is told to retry (503)."""
    server = await start_guarded(tmp_path, reports_queued_per_org=4)
    ran: list[str] = []
    gate = threading.Event()
    first = threading.Event()

    def recorded(self, org_id, from_ms, to_ms):
        ran.append(org_id)
        if len(ran) == 1:
            first.set()
            assert gate.wait(30)
        return {"org": org_id}  # the order is the point, not the figures

    monkeypatch.setattr(reports_module.ReportService, "roi_sync", recorded)
    try:
        async with aiohttp.ClientSession() as session:
            a = {"Authorization": f"Bearer {await login(server.url, 'viewer', session)}"}
            b = {"Authorization": f"Bearer {await login(server.url, 'other', session)}"}

            async def report(headers, start):
                start += 1_700_000_000_000  # a window in range, one per request
                url = f"{server.url}/api/v1/reports/roi?from={start}&to={start + 10**9}"
                async with session.get(url, headers=headers) as resp:
                    return resp.status

            org_a = [asyncio.create_task(report(a, 1)) for _ in range(1)]
            assert await asyncio.to_thread(first.wait, 10)
            org_a += [asyncio.create_task(report(a, 2 + i)) for i in range(6)]
            await asyncio.sleep(0)  # the loop is the server's: let the requests be queued
            for _ in range(200):
                if reports_queued(server) >= 4:
                    break
                await asyncio.sleep(0.01)
            org_b = asyncio.create_task(report(b, 1))
            for _ in range(200):
                if reports_queued(server) >= 5:
                    break
                await asyncio.sleep(0.01)
            gate.set()
            statuses = await asyncio.gather(*org_a)
            assert await org_b == 200
        org_b_id = server.ctx.reader.user_by_email("marketer@b.test").org_id
        # after the one that was running and at most one more of org A's, not after all
        assert ran.index(org_b_id) <= 2 < len(ran) - 1
        # beyond its queue org A is told to retry; the rest are answered
        assert 503 in statuses and set(statuses) == {200, 503}
    finally:
        gate.set()
        await stop(server)


def reports_queued(server) -> int:
    executor = server.app[_reports_key()]._executor
    queued = getattr(executor, "queued", None)
    if queued is None:  # a plain pool: its work queue
        return executor._work_queue.qsize()
    return sum(executor.queued(k) for k in list(executor._queues))


def _reports_key():
    from server.sync_ws import REPORTS

    return REPORTS


async def test_repeated_forbidden_requests_are_one_audit_entry_with_a_count(tmp_path):
    server = await start_guarded(tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            viewer = {"Authorization": f"Bearer {await login(server.url, 'viewer', session)}"}
            admin = {"Authorization": f"Bearer {await login(server.url, 'admin', session)}"}
            for _ in range(300):
                async with session.get(server.url + "/api/v1/users", headers=viewer) as resp:
                    assert resp.status == 403

            async def refusals():
                async with session.get(server.url + "/api/v1/audit", headers=admin) as resp:
                    entries = (await resp.json())["entries"]
                return [e for e in entries if e["outcome"].startswith("refused")]

            for _ in range(300):
                entries = await refusals()
                if sum(e.get("repeats", 1) for e in entries) >= 300:
                    break
                await asyncio.sleep(0.05)  # the count is written within a second
            assert len(entries) == 1
            assert entries[0]["repeats"] == 300
            assert entries[0]["last_at_ms"] >= entries[0]["at_ms"]
    finally:
        await stop(server)
